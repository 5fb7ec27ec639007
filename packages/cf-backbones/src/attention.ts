/**
 * Causal multi-head scaled dot-product attention with dropout on the attention weights (as
 * PyTorch's MultiheadAttention in the reference SASRec), forward and hand-written backward.
 * Inputs are already projected: q, k, v [B*L, d]. The output is [B*L, d] before the output
 * projection. Padding keys are not masked, exactly as in the reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedCausalAttention, fusedCausalAttentionGrad, hasFusedAttention } from '@allmrec/core';

export interface AttentionCache {
  B: number;
  L: number;
  heads: number;
  dh: number;
  /** Queries [B*h, L, dh] (scaled by 1/sqrt(dh) on the tf-op path, unscaled on the fused one). */
  q: tf.Tensor3D;
  k: tf.Tensor3D;
  v: tf.Tensor3D;
  /** Softmax weights before dropout [B*h, L, L]. */
  p: tf.Tensor3D;
  /** After dropout. */
  pd: tf.Tensor3D;
  mask?: tf.Tensor3D;
  fused: boolean;
}


const causalMasks = new Map<number, tf.Tensor2D>();

/** Additive causal mask [L, L]: 0 on and below the diagonal, -1e9 above. Cached per length. */
function causalMask(L: number): tf.Tensor2D {
  let m = causalMasks.get(L);
  if (!m || m.isDisposed) {
    const a = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) a[i * L + j] = -1e9;
    m = tf.keep(tf.tensor2d(a, [L, L]));
    causalMasks.set(L, m);
  }
  return m;
}

function splitHeads(x: tf.Tensor2D, B: number, L: number, h: number, dh: number): tf.Tensor3D {
  if (h === 1) return tf.reshape(x, [B, L, dh]);
  return tf.reshape(tf.transpose(tf.reshape(x, [B, L, h, dh]), [0, 2, 1, 3]), [B * h, L, dh]);
}

function mergeHeads(x: tf.Tensor3D, B: number, L: number, h: number, dh: number): tf.Tensor2D {
  if (h === 1) return tf.reshape(x, [B * L, dh]);
  return tf.reshape(tf.transpose(tf.reshape(x, [B, h, L, dh]), [0, 2, 1, 3]), [B * L, h * dh]);
}

function bmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return tf.matMul(a, b);
}

function t3(x: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(x, [0, 2, 1]);
}

/** Forward. `mask` is an inverted-dropout mask on the weights [B*h, L, L], or none at inference. */
export function attention(
  q2: tf.Tensor2D, k2: tf.Tensor2D, v2: tf.Tensor2D, B: number, L: number, heads: number, mask?: tf.Tensor3D,
): { out: tf.Tensor2D; cache: AttentionCache } {
  const d = q2.shape[1];
  const dh = d / heads;
  if (!Number.isInteger(dh)) throw new Error(`hidden size ${d} is not divisible by ${heads} heads`);
  const scale = 1 / Math.sqrt(dh);
  const k = splitHeads(k2, B, L, heads, dh);
  const v = splitHeads(v2, B, L, heads, dh);
  if (hasFusedAttention()) {
    const q = splitHeads(q2, B, L, heads, dh);
    const { P, O } = fusedCausalAttention(q, k, v, scale, mask);
    return { out: mergeHeads(O, B, L, heads, dh), cache: { B, L, heads, dh, q, k, v, p: P, pd: P, mask, fused: true } };
  }
  const q = tf.mul(splitHeads(q2, B, L, heads, dh), scale) as tf.Tensor3D;
  const s = tf.add(bmm(q, t3(k)), causalMask(L));
  const p = tf.softmax(s) as tf.Tensor3D;
  const pd = mask ? (tf.mul(p, mask) as tf.Tensor3D) : p;
  const o = bmm(pd, v);
  return { out: mergeHeads(o, B, L, heads, dh), cache: { B, L, heads, dh, q, k, v, p, pd, mask, fused: false } };
}

/** Backward: gradients of q, k, v [B*L, d] (the 1/sqrt(dh) scale folded into dq). */
export function attentionBackward(dOut: tf.Tensor2D, c: AttentionCache): { dq: tf.Tensor2D; dk: tf.Tensor2D; dv: tf.Tensor2D } {
  const { B, L, heads, dh } = c;
  const dO = splitHeads(dOut, B, L, heads, dh);
  if (c.fused) {
    const g = fusedCausalAttentionGrad(c.q, c.k, c.v, c.p, dO, 1 / Math.sqrt(dh), c.mask);
    return { dq: mergeHeads(g.dq, B, L, heads, dh), dk: mergeHeads(g.dk, B, L, heads, dh), dv: mergeHeads(g.dv, B, L, heads, dh) };
  }
  const dv = bmm(t3(c.pd), dO);
  let dP = bmm(dO, t3(c.v));
  if (c.mask) dP = tf.mul(dP, c.mask) as tf.Tensor3D;
  // softmax backward: dS = P ⊙ (dP − Σ_j dP ⊙ P)
  const dS = tf.mul(c.p, tf.sub(dP, tf.sum(tf.mul(dP, c.p), -1, true))) as tf.Tensor3D;
  const dq = tf.mul(bmm(dS, c.k), 1 / Math.sqrt(dh)) as tf.Tensor3D;
  const dk = bmm(t3(dS), c.q);
  return {
    dq: mergeHeads(dq, B, L, heads, dh),
    dk: mergeHeads(dk, B, L, heads, dh),
    dv: mergeHeads(dv, B, L, heads, dh),
  };
}
