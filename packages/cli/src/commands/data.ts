import * as path from 'node:path';
import { datasetStats, downloadDataset, listDownloadableDatasets, savePreparedDataset, type DatasetStats } from '@allmrec/data';
import { DATA_OPTIONS, parse, UsageError, DATA_OPTIONS_HELP } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { describeOrder } from '../order-check';
import { makeOutput, table } from '../output';

export const DATA_HELP = `allmrec data <prepare|stats|download>

  data prepare --data PATH --format FORMAT --out DIR [--min-user 5] [--min-item 5] [--min-rating R]
      Reads a dataset, applies the paper's preprocessing and writes it to DIR (atomically).
  data stats [--data PATH --format FORMAT]
      Users, items, interactions, sequence lengths, what the sequences' order rests on (time,
      sequence or file) and the preparation report.
  data download NAME [--cache-dir DIR]
      Downloads a public dataset (needs internet; resumable, checksummed) and prints its path.
      Names: see "allmrec data download --list".

${DATA_OPTIONS_HELP}`;

export async function dataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(DATA_HELP + '\n');
    return sub ? 0 : 2;
  }
  if (sub === 'download') return download(rest);
  if (sub !== 'prepare' && sub !== 'stats') throw new UsageError(`unknown data command "${sub}"\n\n${DATA_HELP}`);
  const { values } = parse(rest, { ...DATA_OPTIONS, out: { type: 'string' }, seed: { type: 'string' } });
  if (values.help) { process.stdout.write(DATA_HELP + '\n'); return 0; }
  const out = makeOutput(values);
  const { dataset, report, source } = await datasetFromOptions(values);
  const stats = datasetStats(dataset);
  if (sub === 'prepare') {
    if (!values.out) throw new UsageError('data prepare needs --out DIR');
    await savePreparedDataset(values.out as string, dataset, report);
    out.log(`wrote ${path.resolve(values.out as string)}`);
  }
  out.result({ source, name: dataset.name, order: dataset.order, ...stats, report }, () => {
    process.stdout.write(`${dataset.name} (${source})\n`);
    process.stdout.write(table([...statsRows(stats), ['order', describeOrder(dataset.order)]]) + '\n');
    if (report) {
      process.stdout.write('\npreparation\n' + table(report.steps.map((s) => [s.step, s.users, s.items, s.interactions]), ['step', 'users', 'items', 'interactions']) + '\n');
      for (const n of report.notes ?? []) process.stdout.write(`note: ${n}\n`);
    }
  });
  return 0;
}

/**
 * The rows of the human stats table: numbers as they are, the sequence-length summary as one
 * cell "min / median / mean / max" (mean to 2 decimals). `--json` prints the object instead.
 */
export function statsRows(stats: DatasetStats): (string | number)[][] {
  return Object.entries(stats).map(([k, v]): (string | number)[] => {
    if (typeof v === 'number') return [k, v];
    const { min, median, mean, max } = v;
    return [`${k} (min / median / mean / max)`, `${min} / ${median} / ${mean.toFixed(2)} / ${max}`];
  });
}

async function download(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { 'cache-dir': { type: 'string' }, list: { type: 'boolean' }, force: { type: 'boolean' } });
  const out = makeOutput(values);
  if (values.list) {
    const all = listDownloadableDatasets();
    out.result(all, () => process.stdout.write(all.map((d: { name: string }) => d.name).join('\n') + '\n'));
    return 0;
  }
  const name = positionals[0];
  if (!name) throw new UsageError('data download needs a dataset name (see --list)');
  const r = await downloadDataset(name, { cacheDir: values['cache-dir'] as string | undefined, onProgress: out.progress, force: !!values.force });
  const cat = r.category ? ` --category ${r.category}` : '';
  out.result(r, () => process.stdout.write(`${name}: ${r.path}\nuse: --data ${r.path} --format ${r.format}${cat}\n`));
  return 0;
}
