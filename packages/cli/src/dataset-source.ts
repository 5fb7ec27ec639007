import * as fs from 'node:fs';
import * as path from 'node:path';
import { isArtifact, type InteractionDataset } from '@allmrec/core';
import { listFormats, loadDataset, loadPreparedDataset, MissingColumnError, type PreparationReport } from '@allmrec/data';
import { columnsOption, intOption, numberOption, UsageError } from './args';
import { describeOrder, rememberOrderOptions } from './order-check';

/** The built-in default dataset: synthetic (see @allmrec/data's generateSynthetic). */
export const DEFAULT_FORMAT = 'synthetic';

/**
 * Resolves --data/--format to a prepared dataset. With neither, the built-in synthetic default.
 * A directory written by `allmrec data prepare` is recognised without --format. `--order file`
 * is recorded for the dataset (see order-check's assertOrderFits) and is an error on a dataset
 * whose order does not rest on file order alone.
 */
export async function datasetFromOptions(values: Record<string, unknown>): Promise<{ dataset: InteractionDataset; report?: PreparationReport; source: string }> {
  const r = await readDataset(values);
  const order = values.order;
  if (order === 'file' && r.dataset.order !== 'file') {
    throw new UsageError(`--order file: ${r.source} is ordered by ${describeOrder(r.dataset.order)}, not by file order alone; drop --order`);
  }
  rememberOrderOptions(r.dataset, { acceptFileOrder: order === 'file', source: r.source });
  return r;
}

/** --data/--format to a dataset (see datasetFromOptions), checking the values of --order and --columns first. */
async function readDataset(values: Record<string, unknown>): Promise<{ dataset: InteractionDataset; report?: PreparationReport; source: string }> {
  const data = values.data as string | undefined;
  let format = values.format as string | undefined;
  const columns = columnsOption(values);
  if (values.order !== undefined && values.order !== 'file') throw new UsageError(`--order must be "file" (accepts file order for data without timestamps), got "${String(values.order)}"`);
  if (data && !fs.existsSync(data)) throw new UsageError(`--data ${data}: no such file or directory`);
  if (data && (format === 'prepared' || (!format && fs.statSync(data).isDirectory() && isArtifact(data)))) {
    if (columns) throw new UsageError(`--columns names the columns of a csv file (--format csv); ${data} is a prepared dataset`);
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
  if (columns) {
    if (format !== 'csv') throw new UsageError(`--columns names the columns of a csv file and needs --format csv (got --format ${format})`);
    Object.assign(opts, columns.options);
  }
  if (format === 'synthetic') {
    opts.numUsers = intOption(values, 'synthetic-users');
    opts.numItems = intOption(values, 'synthetic-items');
    opts.seed = intOption(values, 'seed');
  }
  let r: Awaited<ReturnType<typeof loadDataset>>;
  try {
    r = await loadDataset(opts as never);
  } catch (err) {
    if (format === 'csv' && err instanceof MissingColumnError) throw columnError(err, columns?.pairs);
    throw err;
  }
  return { ...r, source: data ? path.resolve(data) : 'built-in synthetic' };
}

/** A csv column the reader did not find, as a usage error naming --columns. */
function columnError(err: MissingColumnError, pairs: [string, string][] | undefined): UsageError {
  const pair = err.given === undefined ? undefined : pairs?.find(([, name]) => name === err.given);
  if (pair) return new UsageError(`--columns ${pair[0]}=${pair[1]}: ${err.message}`);
  return new UsageError(`${err.message}; name the columns with --columns user=COL,item=COL[,rating=COL][,time=COL]`);
}
