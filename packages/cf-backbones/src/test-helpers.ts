/** Helpers the backbone tests share (not exported from the package). */
import type { LeaveOneOutSplit } from '@allmrec/core';
import type { CFBackbone } from './backbone';

/** A split whose training histories are `histories` (users 1..n), with no validation or test targets. */
export function splitOf(histories: number[][], numItems: number): LeaveOneOutSplit {
  const n = histories.length;
  return {
    numUsers: n, numItems,
    train: [new Int32Array(0), ...histories.map((h) => Int32Array.from(h))],
    valid: new Int32Array(n + 1), test: new Int32Array(n + 1),
  };
}

/** Spearman rank correlation (ties broken by position, enough for float scores). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ranks = (x: ArrayLike<number>) => {
    const idx = Array.from({ length: x.length }, (_, i) => i).sort((i, j) => x[i] - x[j]);
    const r = new Float64Array(x.length);
    idx.forEach((i, k) => { r[i] = k; });
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const mean = (n - 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - mean) * (rb[i] - mean);
    da += (ra[i] - mean) ** 2;
    db += (rb[i] - mean) ** 2;
  }
  return num / Math.sqrt(da * db);
}

/**
 * How well a model's history-only rule reproduces its trained users on the conformance fixture
 * (users walk one of four 10-item cycles; the validation item follows the cycle exactly):
 *   self         mean Spearman correlation over items between a trained user's scores and the
 *                scores from its own training history without the id;
 *   otherCycle   the same against the history-only scores of a user walking another cycle;
 *   heldOutTop10 fraction of users whose validation item is in the top 10 both ways or neither.
 */
export function foldInAgreement(model: CFBackbone, split: LeaveOneOutSplit): { self: number; otherCycle: number; heldOutTop10: number } {
  const users = Int32Array.from({ length: split.numUsers }, (_, i) => i + 1);
  const histories = Array.from(users, (u) => split.train[u]);
  const n = split.numItems + 1;
  const trained = model.scoreAll!(histories, users);
  const folded = model.scoreAll!(histories);
  const cycle = (u: number) => Math.floor((split.valid[u] - 1) / 10);
  const row = (S: Float32Array, b: number) => S.subarray(b * n + 1, b * n + n);
  const rank = (S: Float32Array, b: number) => {
    const v = S[b * n + split.valid[b + 1]];
    let r = 0;
    for (let i = 1; i < n; i++) if (S[b * n + i] > v) r++;
    return r;
  };
  let self = 0;
  let other = 0;
  let agree = 0;
  for (let b = 0; b < users.length; b++) {
    self += spearman(row(trained, b), row(folded, b));
    const o = users.findIndex((u) => cycle(u) !== cycle(b + 1));
    other += spearman(row(trained, b), row(folded, o));
    if ((rank(trained, b) < 10) === (rank(folded, b) < 10)) agree++;
  }
  return { self: self / users.length, otherCycle: other / users.length, heldOutTop10: agree / users.length };
}

/**
 * Trains `model` with early stopping whose score peaks at epoch 2 (patience 2, 5 epochs), while
 * recording user 1's full ranking at every evaluation. Returns what a test checks: the recorded
 * rankings must change from epoch to epoch (scoring between epochs reads the current weights, not
 * a stale cache), and the frozen model must rank as it did at epoch 2 (the best epoch's weights
 * are kept).
 */
export async function earlyStoppingTrace(model: CFBackbone, split: LeaveOneOutSplit): Promise<{
  bestEpoch?: number; epochs: number; byEpoch: Float32Array[]; final: Float32Array;
}> {
  const byEpoch: Float32Array[] = [];
  const h = [split.train[1]];
  const r = await model.fit(split, {
    seed: 3, epochs: 5,
    earlyStopping: { patience: 2, score: (epoch) => { byEpoch.push(model.scoreAll!(h, [1]).slice()); return epoch === 2 ? 1 : 0; } },
  });
  return { bestEpoch: r.bestEpoch, epochs: r.epochs, byEpoch, final: model.scoreAll!(h, [1]) };
}
