/**
 * Rows of a benchmark report: one per backbone, each metric's mean over seeds with its spread
 * (sample standard deviation, 0 for one seed) as `<metric>_std`.
 */
import type { BenchCell } from './grid';

/** Metrics every row carries, in report order. */
export const ROW_METRICS = [
  'full_hr10', 'full_ndcg10', 'full_mrr10', 'full_hr20', 'full_ndcg20', 'full_mrr20', 'full_valid_ndcg10',
  'test_hit1_20', 'test_ndcg10_20', 'valid_ndcg10_101', 'valid_hr10_101', 's_per_epoch', 'epochs', 'train_s',
] as const;

/** One backbone's aggregate. Values are null when no seed measured them. */
export interface BenchRow {
  backbone: string;
  seeds: number[];
  [metric: string]: number | null | string | number[] | string[];
}

function meanStd(xs: number[]): { mean: number; std: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std };
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** Aggregates cells by backbone (in first-seen order), including numeric stage results. */
export function aggregateCells(cells: BenchCell[]): BenchRow[] {
  const by = new Map<string, BenchCell[]>();
  for (const c of cells) {
    if (!by.has(c.backbone)) by.set(c.backbone, []);
    by.get(c.backbone)!.push(c);
  }
  const rows: BenchRow[] = [];
  for (const [backbone, cs] of by) {
    const row: BenchRow = { backbone, seeds: cs.map((c) => c.seed) };
    const put = (name: string, values: (number | null | undefined)[]) => {
      const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (xs.length === 0) { row[name] = null; row[`${name}_std`] = null; return; }
      const { mean, std } = meanStd(xs);
      row[name] = r4(mean);
      row[`${name}_std`] = r4(std);
    };
    for (const m of ROW_METRICS) put(m, cs.map((c) => c[m] as number | null));
    const stageKeys = [...new Set(cs.flatMap((c) => Object.keys(c.stages)))];
    for (const k of stageKeys) put(k, cs.map((c) => (typeof c.stages[k] === 'number' ? (c.stages[k] as number) : null)));
    const notes = [...new Set(cs.flatMap((c) => c.notes))];
    if (notes.length) row.notes = notes;
    rows.push(row);
  }
  return rows;
}
