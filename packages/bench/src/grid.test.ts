import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, type LeaveOneOutSplit } from '@allmrec/core';
import { registerBackbone, type CFBackbone } from '@allmrec/cf-backbones';
import { aggregateCells } from './aggregate';
import { runBackboneGrid, type BenchCell } from './grid';
import { buildReport, writeReports } from './report';

/** A backbone that knows the fixture's answers: scores the user's test item 1, everything else 0. */
let fits = 0;
function oracle(split: LeaveOneOutSplit, withFull: boolean): CFBackbone {
  const targetOf = new Map<string, number>();
  for (let u = 1; u <= split.numUsers; u++) {
    targetOf.set(Array.from(split.train[u]).concat(split.valid[u]).join(','), split.test[u]);
    targetOf.set(Array.from(split.train[u]).join(','), split.valid[u]);
  }
  const rowOf = (h: ArrayLike<number>) => targetOf.get(Array.from(h).join(',')) ?? -1;
  const m: CFBackbone = {
    name: withFull ? 'oracle' : 'oracle-nofull', dim: 1, numItems: split.numItems, frozen: true, usesOrder: false,
    fit: async () => { fits++; return { epochs: 1, stepsPerEpoch: 1, msPerStep: 1, trainSeconds: 0.001, finalLoss: 0, resumedFrom: 0 }; },
    itemEmbeddings: (ids) => new Float32Array(ids.length),
    userRepresentations: (hs) => new Float32Array(hs.length),
    score: (hs, cs) => cs.map((c, b) => Float32Array.from(c, (i) => (i === rowOf(hs[b]) ? 1 : 0))),
    save: async () => {}, dispose: () => {},
  };
  if (withFull) m.scoreAll = (hs) => {
    const out = new Float32Array(hs.length * (split.numItems + 1));
    hs.forEach((h, b) => { out[b * (split.numItems + 1) + rowOf(h)] = 1; });
    return out;
  };
  return m;
}

describe('runBackboneGrid', () => {
  // 60 users, 150 items (the 101-candidate protocol needs 100 negatives per user), distinct items per user.
  const split: LeaveOneOutSplit = (() => {
    const rng = new Rng(3);
    const train: Int32Array[] = [new Int32Array(0)];
    const valid = new Int32Array(61);
    const test = new Int32Array(61);
    for (let u = 1; u <= 60; u++) {
      const items = Int32Array.from({ length: 150 }, (_, i) => i + 1);
      rng.shuffle(items);
      const seq = items.slice(0, 8 + (u % 5));
      train.push(seq.slice(0, -2));
      valid[u] = seq[seq.length - 2];
      test[u] = seq[seq.length - 1];
    }
    return { numUsers: 60, numItems: 150, train, valid, test };
  })();
  let dir: string;
  beforeAll(() => {
    registerBackbone('oracle', { create: () => oracle(split, true), load: async () => oracle(split, true) });
    registerBackbone('oracle-nofull', { create: () => oracle(split, false), load: async () => oracle(split, false) });
  });
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-bench-')); fits = 0; });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('scores every cell on full ranking and the shared sampled sets, and resumes without retraining', async () => {
    const spec = { dataset: 'fixture', split, backbones: ['oracle', 'oracle-nofull'], seeds: [1, 2], outDir: dir, patience: 0 };
    const cells = await runBackboneGrid(spec);
    expect(cells.map((c) => `${c.backbone}:${c.seed}`)).toEqual(['oracle:1', 'oracle:2', 'oracle-nofull:1', 'oracle-nofull:2']);
    const [o] = cells;
    // The oracle ranks its target first everywhere.
    expect(o.full_hr10).toBe(1);
    expect(o.full_ndcg10).toBe(1);
    expect(o.full_mrr10).toBe(1);
    expect(o.full_valid_ndcg10).toBe(1);
    expect(o.test_hit1_20).toBe(1);
    expect(o.valid_ndcg10_101).toBe(1);
    // Without scoreAll: sampled metrics only, and a note saying so.
    expect(cells[2].full_ndcg10).toBeNull();
    expect(cells[2].test_hit1_20).toBe(1);
    expect(cells[2].notes.join(' ')).toMatch(/cannot score all items/);
    // The candidate sets were saved once.
    expect(fs.readdirSync(path.join(dir, 'eval-sets')).sort()).toEqual(['test-20-seed42.json', 'valid-101-seed42.json']);
    expect(fits).toBe(4);
    const again = await runBackboneGrid({ ...spec, log: () => {} });
    expect(fits).toBe(4);
    expect(again).toEqual(cells);
    // Changing a setting recomputes the cells it touches.
    await runBackboneGrid({ ...spec, backbones: ['oracle'], seeds: [1], evalEvery: 2 });
    expect(fits).toBe(5);
  });

  test('rows average seeds with the sample std; the reports are written and self-contained', async () => {
    const cell = (seed: number, v: number): BenchCell => ({
      backbone: 'm', seed, full_hr10: v, full_ndcg10: v, full_mrr10: v, full_hr20: v, full_ndcg20: v, full_mrr20: v, full_valid_ndcg10: v,
      test_hit1_20: v, test_ndcg10_20: v, valid_ndcg10_101: v, valid_hr10_101: v, s_per_epoch: 1, epochs: 3, best_epoch: 2, train_s: 3, eval_s: 0,
      stages: { stage1_cold_hit1: v / 2 }, notes: [], key: '',
    });
    const rows = aggregateCells([cell(1, 0.2), cell(2, 0.4), cell(3, 0.6)]);
    expect(rows).toHaveLength(1);
    expect(rows[0].full_ndcg10).toBeCloseTo(0.4);
    expect(rows[0].full_ndcg10_std).toBeCloseTo(0.2); // sqrt(((0.2)^2 + 0 + (0.2)^2) / 2)
    expect(rows[0].stage1_cold_hit1).toBeCloseTo(0.2);
    expect(rows[0].s_per_epoch_std).toBe(0);
    const rep = writeReports(dir, buildReport({
      title: 'test', dataset: 'fixture', data: { users: 3 }, settings: { evalSeed: 42 }, machine: { cores: 2 }, date: '2026-12-04',
      cells: [cell(1, 0.2), cell(2, 0.4)],
    }));
    const html = fs.readFileSync(rep.files!.html, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('Cold vs warm');
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(fs.readFileSync(rep.files!.markdown, 'utf8')).toMatch(/\| m \| 1,2 \| 0\.3000 ± 0\.1414 \|/);
    expect(JSON.parse(fs.readFileSync(rep.files!.json, 'utf8')).rows[0].backbone).toBe('m');
  });

  test('refuses empty grids and saved candidate sets of other data', async () => {
    await expect(runBackboneGrid({ dataset: 'x', split, backbones: [], seeds: [1], outDir: dir })).rejects.toThrow(/no backbones/);
    await runBackboneGrid({ dataset: 'x', split, backbones: ['oracle'], seeds: [1], outDir: dir, dataKey: 'a', patience: 0 });
    await expect(runBackboneGrid({ dataset: 'x', split, backbones: ['oracle'], seeds: [1], outDir: dir, dataKey: 'b' })).rejects.toThrow(/saved for other data/);
  });
});
