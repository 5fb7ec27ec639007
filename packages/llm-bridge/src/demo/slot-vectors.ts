/**
 * Slot vectors: the continuous vectors that stand in the vector slots of list documents during
 * pretraining, as F_U(x_u) and F_I(e_i) do in Stage 2 ({@link slotVectors}), and how they replace
 * token embeddings.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@allmrec/core';
import { VECTOR_ROLES } from './corpus';

/** Continuous vectors for the vector slots of a batch (see {@link slotVectors}). */
export interface SlotVectors {
  /** [B·T]: 1 where a vector replaces the token embedding. */
  mask: Float32Array;
  /** [B·T, H]: the vectors (zero rows elsewhere). */
  vectors: Float32Array;
}

/** Shape of the vectors {@link slotVectors} draws. */
export interface SlotVectorOptions {
  /** Mean norm of a slot vector (default 1, about a trained token row's norm); each slot's is scaled by 2^U(-1, 1). */
  norm?: number;
  /** Smallest cosine between the user vector and the answer's (default 0.6; the largest is 1). */
  minAnswerCosine?: number;
  /** Other candidates' cosine with the user vector stays this far below the answer's (default 0.3). */
  margin?: number;
  /**
   * Dimensions [0, k) of every vector are 0 (default 0): with `GPT2Spec.lookBack` those hold the
   * positions, and a slot vector there would blur its own position for the look-back heads.
   */
  zeroDims?: number;
  /**
   * Place the user slots' vectors in dimensions [a, b) and every other slot's in `itemDims` (same
   * width), 0 elsewhere; the cosines are drawn in that width (default: all H dimensions for every
   * slot). With `GPT2Spec.lookBack.match` these are the subspaces the wired matching head reads.
   */
  userDims?: [number, number];
  itemDims?: [number, number];
  /** Spread of the norms: each slot's is `norm`·2^U(−s, s) (default 1; 0 = every norm equal). */
  normSpread?: number;
  /**
   * History slots are decoys that may be more similar than the answer (default true); false draws
   * them as the other candidates, so the answer is the most similar of all item slots.
   */
  historyDecoys?: boolean;
  /**
   * Each user slot's norm is further scaled by a factor drawn log-uniformly from [lo, hi] (default
   * [1, 1]). A smaller user vector means a flatter matching head (its query is the user vector), so
   * the copied title is a mixture of the candidates' titles, as it is in Stage 2 where F_U and F_I
   * are only as sure as the CF model: pretraining on such mixtures teaches the LM to still name
   * the most similar candidate instead of some other title.
   */
  userScale?: [number, number];
}

/**
 * Draws the vectors of a batch's vector slots (`roles` [B·T] from {@link tokenizeDocument}, 0 =
 * a token). Each user slot draws a random direction u and a cosine ρ_a in [minAnswerCosine, 1];
 * the answer's candidate slot gets the cosine ρ_a with u, every other candidate a cosine uniform in
 * [-0.3, ρ_a − margin], and history slots one uniform in [-0.3, 1] (decoys: the answer is always a
 * candidate). A vector with cosine ρ is ρ·u + sqrt(1 − ρ²)·n, n a random unit vector orthogonal to
 * u, so the cosine is exact and the answer is always the candidate most similar to the user slot:
 * the retrieval Stage 2 asks of the LM once the slots hold F_U(x_u) and F_I(e_i). A row that
 * starts inside a document uses a fresh u until its next user slot. Returns undefined when no
 * slot is a vector slot.
 */
export function slotVectors(roles: ArrayLike<number>, B: number, T: number, H: number, rng: Rng, options: SlotVectorOptions = {}): SlotVectors | undefined {
  let any = false;
  for (let i = 0; i < roles.length && !any; i++) any = roles[i] !== 0;
  if (!any) return undefined;
  const norm = options.norm ?? 1;
  const minA = options.minAnswerCosine ?? 0.6;
  const margin = options.margin ?? 0.3;
  const z = options.zeroDims ?? 0;
  if (!(Number.isInteger(z) && z >= 0 && z < H - 1)) throw new RangeError(`slotVectors: zeroDims must be an integer in [0, ${H - 2}], got ${z}`);
  const { userDims, itemDims } = options;
  if (!userDims !== !itemDims) throw new RangeError('slotVectors: userDims and itemDims go together');
  const W = itemDims ? itemDims[1] - itemDims[0] : H; // width the cosines are drawn in
  for (const r of userDims && itemDims ? [userDims, itemDims] : []) {
    if (!(Number.isInteger(r[0]) && r[0] >= 0 && r[1] <= H && r[1] - r[0] === W && W >= 2)) throw new RangeError(`slotVectors: userDims and itemDims must be ranges of one width (at least 2) inside [0, ${H}), got [${userDims}] and [${itemDims}]`);
  }
  const spread = options.normSpread ?? 1;
  const decoys = options.historyDecoys ?? true;
  const [lo, hi] = options.userScale ?? [1, 1];
  if (!(lo > 0 && hi >= lo)) throw new RangeError(`slotVectors: userScale must be [lo, hi] with 0 < lo <= hi, got [${options.userScale}]`);
  const mask = new Float32Array(B * T);
  const vectors = new Float32Array(B * T * H);
  const unit = (): Float32Array => {
    const v = Float32Array.from({ length: W }, (_, j) => (j < z && !itemDims ? 0 : rng.normal()));
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  let u = unit();
  let rhoA = minA;
  const put = (at: number, rho: number, into = itemDims, scale = 1) => {
    const n = unit();
    let d = 0;
    for (let j = 0; j < W; j++) d += n[j] * u[j];
    for (let j = 0; j < W; j++) n[j] -= d * u[j];
    const nn = Math.hypot(...n);
    const r = scale * norm * 2 ** (spread * (2 * rng.next() - 1));
    const c = Math.sqrt(Math.max(0, 1 - rho * rho));
    const o = at * H + (into ? into[0] : 0);
    for (let j = 0; j < W; j++) vectors[o + j] = r * (rho * u[j] + (c * n[j]) / nn);
    mask[at] = 1;
  };
  const candidate = () => -0.3 + (rhoA - margin + 0.3) * rng.next();
  for (let b = 0; b < B; b++) {
    u = unit();
    rhoA = minA + (1 - minA) * rng.next();
    for (let t = 0; t < T; t++) {
      const at = b * T + t;
      switch (roles[at]) {
        case 0: break;
        case VECTOR_ROLES.user:
          u = unit();
          rhoA = minA + (1 - minA) * rng.next();
          put(at, 1, userDims, lo === hi ? lo : lo * (hi / lo) ** rng.next());
          break;
        case VECTOR_ROLES.answer: put(at, rhoA); break;
        case VECTOR_ROLES.candidate: put(at, candidate()); break;
        case VECTOR_ROLES.history: put(at, decoys ? -0.3 + 1.3 * rng.next() : candidate()); break;
        default: throw new RangeError(`slotVectors: unknown role ${roles[at]} at ${at}`);
      }
    }
  }
  return { mask, vectors };
}

/** Token embeddings `e` [..., H] with the slot positions (`slots.mask`, one per row of `e`) replaced by `slots.vectors`. */
export function withSlotVectors(e: tf.Tensor, slots: SlotVectors): tf.Tensor {
  return tf.add(tf.mul(e, tf.sub(1, tf.tensor(slots.mask, [...e.shape.slice(0, -1), 1]))), tf.tensor(slots.vectors, e.shape));
}
