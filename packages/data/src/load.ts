import type { InteractionDataset } from '@allmrec/core';
import { prepareDataset, type PrepareOptions, type PreparationReport } from './prepare';
import type { ReaderOptions } from './raw';
import { getFormat } from './registry';

/** Known format names (more can be added with `registerFormat`). */
export type DatasetFormatName =
  | 'movielens-100k'
  | 'movielens-1m'
  | 'movielens-latest'
  | 'amazon2018'
  | 'amazon2014'
  | 'amazon2023'
  | 'recbole'
  | 'csv'
  | 'synthetic';

/** Options of {@link loadDataset}: the format, the user's path, reader and preparation options. */
export interface LoadDatasetOptions extends ReaderOptions, PrepareOptions {
  format: DatasetFormatName | (string & {});
  /** Folder or file given by the user (not needed for 'synthetic'). */
  path?: string;
}

/**
 * Reads a dataset with the reader registered for `format` and prepares it (rating filter,
 * duplicates, one-pass minUser/minItem filter with defaults 5/5, re-indexing, item text).
 * Returns the dataset and a report of what each step did.
 *
 * @example
 * const { dataset, report } = await loadDataset({ format: 'movielens-100k', path: '/data/ml-100k' });
 */
export async function loadDataset(options: LoadDatasetOptions): Promise<{ dataset: InteractionDataset; report: PreparationReport }> {
  const format = getFormat(options.format);
  if (!format.pathless && !options.path) throw new Error(`loadDataset: format "${format.name}" needs a path`);
  const raw = await format.read(options.path ?? '', options);
  const prep: PrepareOptions = { ...format.defaults };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (prep as Record<string, unknown>)[k] = v;
  prep.format = format.name;
  return prepareDataset(raw, prep);
}
