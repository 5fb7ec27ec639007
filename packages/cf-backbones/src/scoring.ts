/**
 * Scoring shared by the backbones whose score is a dot product <x_u, E_i>: candidate lists and
 * every item at once (full ranking), plus the id checks every backbone makes.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Throws a RangeError naming the model and position when an id is outside 0..numItems. */
export function checkItemIds(model: string, ids: ArrayLike<number>, numItems: number, what = 'item id'): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id > numItems) throw new RangeError(`${model}: ${what} ${id} at position ${i} is outside 0..${numItems}`);
  }
}

/** Checks a batch of histories (and users, when given, must be one per history). */
export function checkHistories(model: string, histories: ArrayLike<number>[], numItems: number, users?: ArrayLike<number>): void {
  if (users && users.length !== histories.length) throw new Error(`${model}: ${histories.length} histories but ${users.length} user ids`);
  for (let b = 0; b < histories.length; b++) checkItemIds(model, histories[b], numItems, `history ${b}: item id`);
}

/** Rows `ids` of a row-major [n, d] table. */
export function gatherRows(table: Float32Array, d: number, ids: ArrayLike<number>): Float32Array {
  const out = new Float32Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) out.set(table.subarray(ids[i] * d, ids[i] * d + d), i * d);
  return out;
}

/** score[b][j] = <reps[b], E[candidates[b][j]]>, E row-major [numItems + 1, d]. */
export function dotScores(reps: Float32Array, d: number, candidates: ArrayLike<number>[], E: Float32Array): Float32Array[] {
  return candidates.map((cands, b) => {
    const s = new Float32Array(cands.length);
    for (let j = 0; j < cands.length; j++) {
      const off = cands[j] * d;
      let acc = 0;
      for (let t = 0; t < d; t++) acc += reps[b * d + t] * E[off + t];
      s[j] = acc;
    }
    return s;
  });
}

/**
 * Every item's score for each user: reps [B, d] · Eᵀ with E [numItems + 1, d], as one row-major
 * [B, numItems + 1] array. `ET` may be passed pre-transposed ([d, numItems + 1]) to save the
 * transpose on repeated calls.
 */
export function fullDotScores(reps: Float32Array, B: number, d: number, ET: tf.Tensor2D): Float32Array {
  // Read the result outside tf.tidy: tidy walks a returned value looking for tensors, element by
  // element for a typed array (seconds for 943 x 1,683 scores).
  const S = tf.tidy(() => tf.matMul(tf.tensor2d(reps, [B, d]), ET));
  try { return S.dataSync() as Float32Array; } finally { S.dispose(); }
}

/** Eᵀ as a kept tensor ([d, n]) for {@link fullDotScores}; dispose it with the model. */
export function transposedTable(E: Float32Array, n: number, d: number): tf.Tensor2D {
  return tf.tidy(() => tf.transpose(tf.tensor2d(E, [n, d])) as tf.Tensor2D);
}

/** What every backbone's `fit` checks first: not already frozen, and the split fits the catalogue. */
export function checkCanFit(model: string, frozen: boolean, splitItems: number, numItems: number): void {
  if (frozen) throw new Error(`${model}: this model is frozen (already trained or loaded); create a new one to train again`);
  if (splitItems > numItems) throw new Error(`${model}: split has ${splitItems} items but the model was built for ${numItems}`);
}
