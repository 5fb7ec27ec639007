import * as fs from 'node:fs';
import * as path from 'node:path';
import { isArtifact, type InteractionDataset } from '@allmrec/core';
import { listFormats, loadDataset, loadPreparedDataset, type PreparationReport } from '@allmrec/data';
import { intOption, numberOption, UsageError } from './args';

/** The built-in default dataset: synthetic (see @allmrec/data's generateSynthetic). */
export const DEFAULT_FORMAT = 'synthetic';

/**
 * Resolves --data/--format to a prepared dataset. With neither, the built-in synthetic default.
 * A directory written by `allmrec data prepare` is recognised without --format.
 */
export async function datasetFromOptions(values: Record<string, unknown>): Promise<{ dataset: InteractionDataset; report?: PreparationReport; source: string }> {
  const data = values.data as string | undefined;
  let format = values.format as string | undefined;
  if (data && !fs.existsSync(data)) throw new UsageError(`--data ${data}: no such file or directory`);
  if (data && (format === 'prepared' || (!format && fs.statSync(data).isDirectory() && isArtifact(data)))) {
    const r = await loadPreparedDataset(data);
    return { ...r, source: path.resolve(data) };
  }
  if (!format) {
    if (data) throw new UsageError(`--format is required with --data (one of: ${listFormats().map((f) => f.name).join(', ')}, prepared)`);
    format = DEFAULT_FORMAT;
  }
  const opts: Record<string, unknown> = {
    format,
    path: data,
    category: values.category,
    minUser: intOption(values, 'min-user'),
    minItem: intOption(values, 'min-item'),
    minRating: numberOption(values, 'min-rating'),
  };
  if (format === 'synthetic') {
    opts.numUsers = intOption(values, 'synthetic-users');
    opts.numItems = intOption(values, 'synthetic-items');
    opts.seed = intOption(values, 'seed');
  }
  const r = await loadDataset(opts as never);
  return { ...r, source: data ? path.resolve(data) : 'built-in synthetic' };
}
