/**
 * The cross-backbone benchmark: every registered backbone named in the spec, trained once per
 * seed on one leave-one-out split, early-stopped on validation full-ranking NDCG@10 (as RecBole
 * does), then scored by full ranking and by the sampled protocols on candidate sets drawn once
 * and saved with the run, so every model is scored on identical sets. Finished cells are written
 * to disk and never retrained, so an interrupted benchmark resumes where it stopped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync, type LeaveOneOutSplit, type ProgressListener } from '@allmrec/core';
import { createBackbone, type CFBackbone, type EpochStats, type FitResult } from '@allmrec/cf-backbones';
import {
  buildEvalSet, evaluateFullRanking, evaluateScores, scoreEvalSet, type EvalSet,
} from '@allmrec/eval';
import { loadEvalSet, saveEvalSet } from './eval-set-file';

/** What to run. */
export interface BenchSpec {
  /** Dataset name for reports. */
  dataset: string;
  /** The split every cell trains and is evaluated on. */
  split: LeaveOneOutSplit;
  /** Registered backbone names (see `listBackbones()` in @allmrec/cf-backbones). */
  backbones: string[];
  /** Training seeds; one cell per backbone and seed. */
  seeds: number[];
  /** Output directory: cells/, eval-sets/ and the reports are written here. */
  outDir: string;
  /** Maximum epochs (default: each backbone's own default). */
  epochs?: number;
  /** Early stopping: validation evaluations without improvement before stopping (default 10, RecBole's); 0 turns it off. */
  patience?: number;
  /** Validate every this many epochs (default 1). */
  evalEvery?: number;
  /** Validate on at most this many users (default all), sampled with `evalSeed`. */
  validUsers?: number;
  /** Config per backbone name, passed to its factory (e.g. { sasrec: { loss: 'ce' } }). */
  config?: Record<string, Record<string, unknown>>;
  /** Seed of the sampled protocols' candidate sets, shared by every cell (default 42). */
  evalSeed?: number;
  /**
   * Further stages run on each trained (frozen) backbone, e.g. A-LLMRec's Stage 1 and Stage 2.
   * Their numeric results are added to the cell under their own names.
   */
  stages?: BenchStage[];
  /** Fingerprint of the data (e.g. a hash of the dataset); a cell written for other data is not reused. */
  dataKey?: string;
  onProgress?: ProgressListener;
  /** One plain line per event worth logging (cell start/end, reuse). */
  log?: (line: string) => void;
}

/** A stage run after a backbone is trained (see {@link BenchSpec.stages}). */
export interface BenchStage {
  name: string;
  run(ctx: { backbone: CFBackbone; backboneName: string; seed: number; split: LeaveOneOutSplit; cellDir: string }): Promise<Record<string, number | string | null>>;
}

/** The result of one backbone under one seed. */
export interface BenchCell {
  backbone: string;
  seed: number;
  /** Full ranking on the test target: HR, NDCG and MRR at 10 and 20 (null when the model cannot score all items). */
  full_hr10: number | null;
  full_ndcg10: number | null;
  full_mrr10: number | null;
  full_hr20: number | null;
  full_ndcg20: number | null;
  full_mrr20: number | null;
  /** Full ranking on the validation target (what early stopping read). */
  full_valid_ndcg10: number | null;
  /** The paper's protocols: test Hit@1 over 20 candidates, validation NDCG@10 / HR@10 over 101. */
  test_hit1_20: number;
  test_ndcg10_20: number;
  valid_ndcg10_101: number;
  valid_hr10_101: number;
  /** Median wall seconds of one training epoch (validation excluded), epochs run, best epoch, total training seconds. */
  s_per_epoch: number;
  epochs: number;
  best_epoch: number | null;
  train_s: number;
  eval_s: number;
  /** Stage results, keyed `<stage>_<metric>`. */
  stages: Record<string, number | string | null>;
  notes: string[];
  /** What the cell was computed from; a cell with another key is recomputed. */
  key: string;
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** The candidate sets of the sampled protocols, drawn once and kept in `<outDir>/eval-sets/`. */
export function benchEvalSets(split: LeaveOneOutSplit, outDir: string, evalSeed: number, dataKey = ''): { test: EvalSet; valid: EvalSet } {
  const dir = path.join(outDir, 'eval-sets');
  const get = (protocol: string): EvalSet => {
    const file = path.join(dir, `${protocol}-seed${evalSeed}.json`);
    if (fs.existsSync(file)) return loadEvalSet(file, split, dataKey);
    const set = buildEvalSet(split, protocol, { seed: evalSeed });
    saveEvalSet(file, set, dataKey);
    return set;
  };
  return { test: get('test-20'), valid: get('valid-101') };
}

/** Runs (or resumes) the grid and returns every cell, in spec order. */
export async function runBackboneGrid(spec: BenchSpec): Promise<BenchCell[]> {
  if (spec.backbones.length === 0) throw new Error('bench: no backbones given');
  if (spec.seeds.length === 0) throw new Error('bench: no seeds given');
  for (const s of spec.seeds) if (!Number.isInteger(s)) throw new Error(`bench: seed ${s} is not an integer`);
  const patience = spec.patience ?? 10;
  if (!Number.isInteger(patience) || patience < 0) throw new Error(`bench: patience must be a non-negative integer, got ${patience}`);
  const evalSeed = spec.evalSeed ?? 42;
  const log = spec.log ?? (() => {});
  fs.mkdirSync(path.join(spec.outDir, 'cells'), { recursive: true });
  const sets = benchEvalSets(spec.split, spec.outDir, evalSeed, spec.dataKey);
  const cells: BenchCell[] = [];
  const total = spec.backbones.length * spec.seeds.length;
  for (const name of spec.backbones) {
    for (const seed of spec.seeds) {
      const key = JSON.stringify({
        backbone: name, seed, data: spec.dataKey ?? '', epochs: spec.epochs ?? null, patience, evalEvery: spec.evalEvery ?? 1,
        validUsers: spec.validUsers ?? null, config: spec.config?.[name] ?? {}, evalSeed, stages: (spec.stages ?? []).map((s) => s.name),
      });
      const cellFile = path.join(spec.outDir, 'cells', `${name}-seed${seed}.json`);
      if (fs.existsSync(cellFile)) {
        const old = JSON.parse(fs.readFileSync(cellFile, 'utf8')) as BenchCell;
        if (old.key === key) {
          log(`cell ${name} seed ${seed}: done before, reused (${cellFile})`);
          cells.push(old);
          spec.onProgress?.({ task: 'bench:cells', current: cells.length, total, unit: 'cell' });
          continue;
        }
        log(`cell ${name} seed ${seed}: settings changed since ${cellFile} was written; recomputing`);
      }
      log(`cell ${name} seed ${seed}: training`);
      const cell = await runCell(spec, name, seed, patience, sets, key);
      writeFileAtomicSync(cellFile, JSON.stringify(cell, null, 2) + '\n');
      log(`cell ${name} seed ${seed}: full NDCG@10 ${cell.full_ndcg10 ?? 'n/a'}, test Hit@1/20 ${cell.test_hit1_20}, ${cell.s_per_epoch} s/epoch x ${cell.epochs}`);
      cells.push(cell);
      spec.onProgress?.({ task: 'bench:cells', current: cells.length, total, unit: 'cell' });
    }
  }
  return cells;
}

async function runCell(
  spec: BenchSpec, name: string, seed: number, patience: number, sets: { test: EvalSet; valid: EvalSet }, key: string,
): Promise<BenchCell> {
  const { split } = spec;
  const model = createBackbone(name, split.numItems, spec.config?.[name]);
  const notes: string[] = [];
  try {
    const full = typeof model.scoreAll === 'function';
    if (!full) notes.push(`backbone "${name}" has no scoreAll: it cannot score all items, so full-ranking metrics are not measured and early stopping is off`);
    const epochMs: number[] = [];
    let validS = 0;
    const fullScorer = (h: Int32Array[], u: Int32Array) => model.scoreAll!(h, u);
    const fit: FitResult = await model.fit(split, {
      seed,
      epochs: spec.epochs,
      onProgress: spec.onProgress,
      onEpochEnd: (_e: number, stats: EpochStats) => { epochMs.push(stats.ms); },
      ...(full && patience > 0 ? {
        earlyStopping: {
          patience, every: spec.evalEvery ?? 1,
          score: async () => {
            const v0 = performance.now();
            const r = await evaluateFullRanking(split, fullScorer, { target: 'valid', ks: [10], maxUsers: spec.validUsers, seed: spec.evalSeed ?? 42 });
            validS += (performance.now() - v0) / 1000;
            return r.metrics.ndcg10;
          },
        },
      } : {}),
    });
    if (full && patience > 0 && fit.bestEpoch === undefined && fit.epochs > 0) {
      notes.push(`backbone "${name}" ignored earlyStopping (it does not train through the shared loop); the last epoch is evaluated`);
    }
    const e0 = performance.now();
    const scorer = (h: Int32Array[], c: Int32Array[], u: Int32Array) => model.score(h, c, u);
    const test = evaluateScores(sets.test, await scoreEvalSet(sets.test, scorer)).metrics;
    const valid = evaluateScores(sets.valid, await scoreEvalSet(sets.valid, scorer)).metrics;
    const ft = full ? (await evaluateFullRanking(split, fullScorer, { target: 'test', ks: [10, 20], onProgress: spec.onProgress })).metrics : undefined;
    const fv = full ? (await evaluateFullRanking(split, fullScorer, { target: 'valid', ks: [10] })).metrics : undefined;
    const evalS = (performance.now() - e0) / 1000;
    const stages: Record<string, number | string | null> = {};
    for (const st of spec.stages ?? []) {
      const cellDir = path.join(spec.outDir, 'stages', `${name}-seed${seed}`, st.name);
      fs.mkdirSync(cellDir, { recursive: true });
      const res = await st.run({ backbone: model, backboneName: name, seed, split, cellDir });
      for (const [k, v] of Object.entries(res)) stages[`${st.name}_${k}`] = typeof v === 'number' ? r4(v) : v;
    }
    const sorted = [...epochMs].sort((a, b) => a - b);
    const nv = (x: number | undefined) => (x === undefined ? null : r4(x));
    return {
      backbone: name, seed,
      full_hr10: nv(ft?.hr10), full_ndcg10: nv(ft?.ndcg10), full_mrr10: nv(ft?.mrr10),
      full_hr20: nv(ft?.hr20), full_ndcg20: nv(ft?.ndcg20), full_mrr20: nv(ft?.mrr20),
      full_valid_ndcg10: nv(fv?.ndcg10),
      test_hit1_20: r4(test.hit1), test_ndcg10_20: r4(test.ndcg10), valid_ndcg10_101: r4(valid.ndcg10), valid_hr10_101: r4(valid.hit10),
      s_per_epoch: sorted.length ? r4(sorted[Math.floor(sorted.length / 2)] / 1000) : 0,
      epochs: fit.epochs, best_epoch: fit.bestEpoch ?? null,
      train_s: r4(fit.trainSeconds - validS), eval_s: r4(evalS),
      stages, notes, key,
    };
  } finally {
    model.dispose();
  }
}
