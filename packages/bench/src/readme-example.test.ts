import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { leaveOneOut, loadDataset } from '@allmrec/data';
import { buildReport, runBackboneGrid, writeReports } from './index';

test('README example: two SASRec seeds on synthetic data, reports written', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-bench-readme-'));
  try {
    const { dataset } = await loadDataset({ format: 'synthetic', numUsers: 300, numItems: 200, seed: 1 } as never);
    const split = leaveOneOut(dataset);
    const cells = await runBackboneGrid({ dataset: dataset.name, split, backbones: ['sasrec'], seeds: [1, 2], outDir: out, epochs: 5 });
    const report = writeReports(out, buildReport({
      title: 'my benchmark', dataset: dataset.name, data: { users: dataset.numUsers, items: dataset.numItems },
      settings: { epochs: 5 }, machine: {}, date: '2026-12-04', cells,
    }));
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0].full_ndcg10).toBeGreaterThan(0);
    // Two seeds train two different models: their metrics differ, so the spread is positive.
    expect(cells[0].full_valid_ndcg10).not.toBe(cells[1].full_valid_ndcg10);
    expect(report.rows[0].full_valid_ndcg10_std).toBeGreaterThan(0);
    expect(fs.existsSync(report.files!.html)).toBe(true);
    // Early stopping ran: each cell records its best epoch.
    for (const c of cells) expect(c.best_epoch).toBeGreaterThanOrEqual(1);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
