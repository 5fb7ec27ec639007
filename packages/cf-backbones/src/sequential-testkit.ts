/**
 * Checks the sequential backbones' tests share (gru4rec.test.ts, nextitnet.test.ts): a tiny
 * deterministic pattern to overfit, full-ranking Hit@1, tensor-leak and checkpoint/resume checks,
 * and building a frozen model from given weights. Test-only; not exported by the package.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LeaveOneOutSplit } from '@allmrec/core';
import type { CFBackbone } from './backbone';
import { ParamSet, saveParams } from './trainer';

/**
 * `numUsers` users walking the cycle 1 → 2 → … → numItems → 1 from different starting items:
 * the next item is always the current one plus one, so a sequential model can reach Hit@1 = 1.
 */
export function cycleSplit(numUsers = 6, numItems = 20, length = 14): LeaveOneOutSplit {
  const train: Int32Array[] = [new Int32Array(0)];
  const valid = new Int32Array(numUsers + 1);
  const test = new Int32Array(numUsers + 1);
  for (let u = 1; u <= numUsers; u++) {
    const seq = Array.from({ length: length + 2 }, (_, t) => ((u * 5 + t) % numItems) + 1);
    train.push(Int32Array.from(seq.slice(0, length)));
    valid[u] = seq[length];
    test[u] = seq[length + 1];
  }
  return { numUsers, numItems, train, valid, test };
}

/**
 * In-sample full-ranking Hit@1: the share of users whose last training item scores highest of all
 * items outside the rest of their training sequence, given that rest as the history (scoreAll;
 * history items excluded as full-ranking evaluation does). A model that fits its training data
 * reaches 1.
 */
export function trainHit1(model: CFBackbone, split: LeaveOneOutSplit): number {
  const users = Array.from({ length: split.numUsers }, (_, i) => i + 1);
  const histories = users.map((u) => split.train[u].subarray(0, split.train[u].length - 1));
  const scores = model.scoreAll!(histories);
  const V = split.numItems + 1;
  let hits = 0;
  users.forEach((u, r) => {
    const seen = new Set(histories[r]);
    let best = 0;
    for (let i = 1; i < V; i++) if (!seen.has(i) && (best === 0 || scores[r * V + i] > scores[r * V + best])) best = i;
    if (best === split.train[u][split.train[u].length - 1]) hits++;
  });
  return hits / users.length;
}

/** Runs `fn` and expects the number of live tensors to be unchanged afterwards. */
export function expectNoLeak(fn: () => unknown): void {
  const before = tf.memory().numTensors;
  fn();
  expect(tf.memory().numTensors).toBe(before);
}

/**
 * Trains `make()` for 6 epochs three ways: uninterrupted twice, and stopped after epoch 4 (with a
 * checkpoint every 2 epochs) then resumed by a fresh model. All three must end with the same item
 * embeddings; a checkpoint of another seed must be refused.
 */
export async function expectResumeMatches(make: () => CFBackbone, split: LeaveOneOutSplit): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-seq-ckpt-'));
  const made: CFBackbone[] = [];
  const fresh = () => { const m = make(); made.push(m); return m; };
  try {
    const full = fresh();
    await full.fit(split, { seed: 8, epochs: 6 });
    const again = fresh();
    await again.fit(split, { seed: 8, epochs: 6 });
    const first = fresh();
    await first.fit(split, { seed: 8, epochs: 6, checkpointDir: dir, checkpointEvery: 2, onEpochEnd: (e) => e === 4 });
    const resumed = fresh();
    const r = await resumed.fit(split, { seed: 8, epochs: 6, checkpointDir: dir, checkpointEvery: 2 });
    expect(r.resumedFrom).toBe(4);
    expect(r.epochs).toBe(6);
    const ids = Array.from({ length: split.numItems }, (_, i) => i + 1);
    const a = full.itemEmbeddings(ids);
    expect(Array.from(again.itemEmbeddings(ids))).toEqual(Array.from(a)); // same seed, same weights
    const b = resumed.itemEmbeddings(ids);
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i], 5);
    const h = [split.train[1]];
    const xa = full.userRepresentations(h);
    const xb = resumed.userRepresentations(h);
    for (let i = 0; i < xa.length; i++) expect(xb[i]).toBeCloseTo(xa[i], 4);
    await expect(fresh().fit(split, { seed: 9, epochs: 6, checkpointDir: dir })).rejects.toThrow(/another run/);
  } finally {
    for (const m of made) m.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Early stopping scored with `scoreAll` between epochs (while the model still trains), with a
 * score that drops after epoch 3 so training stops early: the final, frozen model must score what
 * the best epoch scored, i.e. scoreAll read the current weights every epoch and the best epoch's
 * weights were restored.
 */
export async function expectEarlyStoppingKeepsBest(model: CFBackbone, split: LeaveOneOutSplit): Promise<void> {
  const users = Array.from({ length: split.numUsers }, (_, i) => i + 1);
  const V = split.numItems + 1;
  // Mean margin of the validation item over the mean score of all items: continuous, so epochs differ.
  const margin = () => {
    const s = model.scoreAll!(users.map((u) => split.train[u]));
    let total = 0;
    users.forEach((u, r) => {
      let mean = 0;
      for (let i = 1; i < V; i++) mean += s[r * V + i] / (V - 1);
      total += s[r * V + split.valid[u]] - mean;
    });
    return total / users.length;
  };
  const seen: number[] = [];
  const items = Array.from({ length: split.numItems }, (_, i) => i + 1);
  let worstGap = 0; // scoreAll against score (a fresh read of E_i) while training
  const score = (epoch: number) => {
    const all = model.scoreAll!([split.train[1]]);
    model.score([split.train[1]], [items])[0].forEach((v, j) => { worstGap = Math.max(worstGap, Math.abs(v - all[items[j]])); });
    const m = margin();
    seen.push(m);
    return epoch > 3 ? m - 100 : m;
  };
  const r = await model.fit(split, { seed: 3, epochs: 8, earlyStopping: { patience: 2, score } });
  expect(worstGap).toBeLessThan(1e-4);
  expect(new Set(seen).size).toBe(seen.length); // the weights, and so the scores, moved every epoch
  expect(r.bestEpoch).toBeLessThanOrEqual(3);
  expect(r.epochs).toBe(r.bestEpoch! + 2); // stopped after `patience` evaluations without improvement
  expect(r.bestScore).toBe(seen[r.bestEpoch! - 1]);
  expect(margin()).toBeCloseTo(seen[r.bestEpoch! - 1], 5);
  expect(margin()).not.toBeCloseTo(seen[r.epochs - 1], 3);
}

/**
 * Writes an artifact of `kind` holding exactly `values` (as the models' `save` does) and loads it
 * with `load`: a frozen model with hand-chosen weights.
 */
export async function modelWithWeights<M extends CFBackbone>(
  kind: string, name: string, numItems: number, config: object, shapes: Record<string, number[]>,
  values: Map<string, Float32Array>, load: (dir: string) => Promise<M>,
): Promise<M> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-seq-weights-'));
  const ps = new ParamSet('test', shapes);
  try {
    ps.set(values);
    await saveParams(dir, kind, { name, numItems, config }, ps);
    return await load(dir);
  } finally {
    ps.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
