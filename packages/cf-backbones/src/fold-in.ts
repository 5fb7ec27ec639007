/**
 * Users the per-user backbones (BPR, LightGCN, NCF) were not trained on. `users` picks the trained
 * user's parameters when the id is known and had training items; otherwise the representation is
 * computed from the history alone. LightGCN propagates a new user node (its own rule); BPR and NCF
 * fold the user in: a fresh user vector is fitted to the history with everything else frozen,
 *
 *   pairs  = every distinct history item, each with `negatives` items outside the history, drawn
 *            from a generator seeded by the sorted distinct items (so the same set of items always
 *            gives the same pairs, whatever the order, the batch or the call);
 *   p_0    = 0;  p_{t+1} = Adam step on the model's own loss over those pairs (mean per user),
 *            for a fixed number of steps at a fixed learning rate.
 *
 * Users in a batch are independent (their losses are summed, Adam is per coordinate), so a user's
 * fold-in does not depend on who else is in the batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Adam, Rng } from '@allmrec/core';
import { drawNegative } from './sampler';
import { ParamSet } from './trainer';

/** Fold-in pairs of a batch of histories, flattened: pair k belongs to history `row[k]`. */
export interface FoldInPairs {
  row: Int32Array;
  pos: Int32Array;
  neg: Int32Array;
  /** 1 / (pairs of that row), so summing weighted pair losses gives each row's mean. */
  weight: Float32Array;
  /** Distinct items per history (0 for an empty history, whose representation stays 0). */
  counts: Int32Array;
}

/**
 * For each history b the trained user to read (its id), or 0 where the representation must come
 * from the history: no `users`, id 0, an id the model has never seen, or a user without training
 * items. `trainCounts[u]` is user u's number of training items.
 * @throws RangeError naming the position when an id is not a non-negative integer.
 */
export function trainedUsers(model: string, n: number, users: ArrayLike<number> | undefined, trainCounts: Int32Array): Int32Array {
  const out = new Int32Array(n);
  if (!users) return out;
  for (let b = 0; b < n; b++) {
    const u = users[b];
    if (!Number.isInteger(u) || u < 0) throw new RangeError(`${model}: user id ${u} at position ${b} must be a non-negative integer`);
    if (u < trainCounts.length && trainCounts[u] > 0) out[b] = u;
  }
  return out;
}

/** The distinct items of a history (padding 0 dropped), sorted ascending. */
export function distinctItems(history: ArrayLike<number>): Int32Array {
  const set = new Set<number>();
  for (let t = 0; t < history.length; t++) if (history[t] !== 0) set.add(history[t]);
  return Int32Array.from(set).sort();
}

/** FNV-1a over the items: the seed of a history's fold-in negatives. */
function historySeed(items: Int32Array): number {
  let h = 2166136261;
  for (const i of items) {
    h = Math.imul(h ^ (i & 0xffff), 16777619);
    h = Math.imul(h ^ (i >>> 16), 16777619);
  }
  return h >>> 0;
}

/**
 * The fold-in pairs of `histories` (see the file comment).
 * @throws Error when a history holds every item (no negative exists).
 */
export function foldInPairs(histories: ArrayLike<number>[], numItems: number, negatives: number): FoldInPairs {
  const row: number[] = [];
  const pos: number[] = [];
  const neg: number[] = [];
  const weight: number[] = [];
  const counts = new Int32Array(histories.length);
  histories.forEach((h, b) => {
    const items = distinctItems(h);
    counts[b] = items.length;
    if (items.length === 0) return;
    const rng = new Rng(historySeed(items));
    const exclude = new Set(items);
    const w = 1 / (items.length * negatives);
    for (const i of items) {
      for (let k = 0; k < negatives; k++) {
        row.push(b);
        pos.push(i);
        neg.push(drawNegative(rng, numItems, exclude));
        weight.push(w);
      }
    }
  });
  return { row: Int32Array.from(row), pos: Int32Array.from(pos), neg: Int32Array.from(neg), weight: Float32Array.from(weight), counts };
}

/** How a fold-in optimises: Adam (betas 0.9, 0.999, eps 1e-8) at `lr` for `steps` steps from 0. */
export interface FoldInSchedule {
  steps: number;
  lr: number;
}

/**
 * Fits fresh parameters of `shapes` (all starting at 0) with Adam; `lossAndGrads` gives the loss
 * and the gradient of each parameter (called inside tf.tidy). Returns the fitted values; every
 * tensor it made is released.
 */
export function foldIn(
  shapes: Record<string, number[]>, schedule: FoldInSchedule,
  lossAndGrads: (p: Record<string, tf.Variable>) => { grads: Record<string, tf.Tensor> },
): Map<string, Float32Array> {
  const params = new ParamSet('fold-in', shapes);
  const zeros = new Map<string, Float32Array>();
  for (const [k, s] of Object.entries(shapes)) zeros.set(k, new Float32Array(s.reduce((a, b) => a * b, 1)));
  params.set(zeros);
  const adam = new Adam(schedule.lr, 0.9, 0.999, 1e-8);
  try {
    for (let s = 0; s < schedule.steps; s++) {
      tf.tidy(() => {
        const { grads } = lossAndGrads(params.record());
        adam.apply(params.variables, grads);
      });
    }
    return params.values();
  } finally {
    adam.dispose();
    params.dispose();
  }
}
