import * as os from 'node:os';
import { selectBackend, type InteractionDataset, type LeaveOneOutSplit, type ProgressListener } from '@allmrec/core';
import { createBackbone, type CFBackbone, type FitResult } from '@allmrec/cf-backbones';
import { buildEvalSet, evaluateScores, getProtocol, scoreEvalSet, type RankMetrics } from '@allmrec/eval';
import { assertOrderFits } from './order-check';

export interface BackboneRun {
  model: CFBackbone;
  fit: FitResult;
}

/** Trains a registered backbone on the training part of `split`. */
export async function trainBackbone(opts: {
  name: string; dataset: InteractionDataset; split: LeaveOneOutSplit; seed: number; epochs?: number;
  config?: Record<string, unknown>; checkpointDir?: string; progress?: ProgressListener;
}): Promise<BackboneRun> {
  const model = createBackbone(opts.name, opts.dataset.numItems, opts.config);
  try { assertOrderFits(opts.dataset, model); } catch (err) { model.dispose(); throw err; }
  const fit = await model.fit(opts.split, {
    seed: opts.seed, epochs: opts.epochs, checkpointDir: opts.checkpointDir, onProgress: opts.progress,
  });
  return { model, fit };
}

export interface BackboneEval {
  test: RankMetrics & { users: number };
  valid: RankMetrics & { users: number };
}

/** The reference protocols: test Hit@1 over 20 candidates and validation HR/NDCG@10 over 101. */
export async function evaluateBackbone(model: CFBackbone, split: LeaveOneOutSplit, seed: number, progress?: ProgressListener): Promise<BackboneEval> {
  // The user ids let per-user backbones (BPR, LightGCN, NCF) score trained users as trained, not
  // from their history alone.
  const scorer = (h: Int32Array[], c: Int32Array[], u: Int32Array) => model.score(h, c, u);
  const run = async (name: string) => {
    const set = buildEvalSet(split, getProtocol(name), { seed });
    const r = evaluateScores(set, await scoreEvalSet(set, scorer, { onProgress: progress }));
    return { ...r.metrics, users: r.users };
  };
  return { test: await run('test-20'), valid: await run('valid-101') };
}

/** Backend and machine facts for reports. */
export async function environmentInfo(backend?: string): Promise<{ backend: string; node: string; cpu: string; cores: number }> {
  const info = await selectBackend(backend);
  return { backend: info.name, node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length };
}
