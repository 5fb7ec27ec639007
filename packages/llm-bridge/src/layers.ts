/**
 * Building blocks shared by every decoder family, written so that the gradient w.r.t. the input
 * embeddings stays fast on tfjs WASM: weights are constants (closed over, never differentiated),
 * and every op with a large matMul in its backward pass has a custom gradient made of plain
 * (untransposed-flag) matMuls with explicit transposes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customOp, layerNorm as coreLayerNorm, layerNormBackward } from '@allmrec/core';
import type { Activation } from './decoder/arch';

export type { Activation };

/** A linear layer, weight stored [in, out] so the forward is x·W + b. */
export interface Linear {
  w: tf.Tensor2D;
  b?: tf.Tensor1D;
}

/** A LayerNorm (gain + bias) or RMSNorm (gain only). */
export interface Norm {
  kind: 'layer' | 'rms';
  g: tf.Tensor1D;
  b?: tf.Tensor1D;
  eps: number;
}

export { customOp };

function to2d(x: tf.Tensor): tf.Tensor2D {
  return x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, x.shape[x.rank - 1]]);
}

/**
 * x·W + b over the last axis of x (any rank). Gradient w.r.t. x only: dx = dy·Wᵀ with an
 * explicit transpose (the weights are frozen, so no dW is computed).
 */
export function linear<T extends tf.Tensor>(x: T, layer: Linear): T {
  const outShape = [...x.shape.slice(0, -1), layer.w.shape[1]];
  const f = customOp((x2: tf.Tensor) => {
    const value = layer.b
      ? tf.fused.matMul({ a: x2 as tf.Tensor2D, b: layer.w, bias: layer.b })
      : tf.matMul(x2 as tf.Tensor2D, layer.w);
    return { value, gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, tf.transpose(layer.w)) };
  });
  return tf.reshape(f(to2d(x)), outShape) as T;
}

/** LayerNorm or RMSNorm over the last axis. LayerNorm uses core's fused kernel with its backward. */
export function norm<T extends tf.Tensor>(x: T, n: Norm): T {
  if (n.kind === 'rms') {
    // transformers: x * rsqrt(mean(x²) + eps), then weight * that.
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(n.g, tf.mul(x, tf.rsqrt(tf.add(ms, n.eps)))) as T;
  }
  const shape = x.shape;
  const b = n.b ?? tf.zerosLike(n.g);
  const f = customOp((x2: tf.Tensor, save: tf.GradSaveFunc) => {
    const { y, cache } = coreLayerNorm(x2 as tf.Tensor2D, n.g, b, n.eps);
    save([cache.xhat, cache.rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        layerNormBackward(dy as tf.Tensor2D, { xhat: saved[0] as tf.Tensor2D, rstd: saved[1] as tf.Tensor2D, g: n.g }).dx,
    };
  });
  const y = tf.reshape(f(to2d(x)), shape) as T;
  if (!n.b) b.dispose();
  return y;
}

/** Applies an activation element-wise. */
export function activate<T extends tf.Tensor>(x: T, act: Activation): T {
  switch (act) {
    case 'relu': return tf.relu(x);
    case 'silu': return tf.mul(x, tf.sigmoid(x)) as T;
    case 'gelu': return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T;
    case 'gelu_tanh': {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner))) as T;
    }
  }
}

/**
 * Scaled dot-product attention with grouped key/value heads and an additive mask.
 * q [B, heads, Tq, dh]; k, v [B, kvHeads, Tk, dh]; bias [B, 1, Tq, Tk] (0 = attend, -1e9 = not).
 * Scores are q·kᵀ·scale, soft-capped to softcap·tanh(s / softcap) when `softcap` is given (Gemma 2),
 * then the bias is added. Query head h reads key/value head floor(h / (heads / kvHeads)), as
 * Hugging Face's repeat_kv: the queries of one group are stacked along the time axis instead of
 * repeating keys and values. Custom gradient (dq, dk, dv) with plain batched matMuls.
 */
export function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D, scale: number, softcap?: number): tf.Tensor4D {
  const [B, H, Tq, dh] = q.shape;
  const kvH = k.shape[1];
  const Tk = k.shape[2];
  const g = H / kvH;
  const rows = g * Tq;
  const biasG = g === 1 ? bias : tf.tile(bias, [1, 1, g, 1]);
  const biasR = tf.reshape(biasG, [B, 1, rows, Tk]);
  const f = customOp((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const q3 = tf.reshape(qi, [B * kvH, rows, dh]) as tf.Tensor3D;
    const k3 = tf.reshape(ki, [B * kvH, Tk, dh]) as tf.Tensor3D;
    const v3 = tf.reshape(vi, [B * kvH, Tk, dh]) as tf.Tensor3D;
    let raw = tf.mul(tf.matMul(q3, tf.transpose(k3, [0, 2, 1])), scale) as tf.Tensor3D;
    let capped: tf.Tensor3D | undefined;
    if (softcap !== undefined) {
      capped = tf.tanh(tf.div(raw, softcap)) as tf.Tensor3D;
      raw = tf.mul(capped, softcap) as tf.Tensor3D;
    }
    const s = tf.add(tf.reshape(raw, [B, kvH, rows, Tk]), biasR);
    const p = tf.reshape(tf.softmax(s), [B * kvH, rows, Tk]) as tf.Tensor3D;
    save(capped ? [q3, k3, v3, p, capped] : [q3, k3, v3, p]);
    return {
      value: tf.reshape(tf.matMul(p, v3), [B, H, Tq, dh]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp, st] = saved as tf.Tensor3D[];
        const dO = tf.reshape(dy, [B * kvH, rows, dh]) as tf.Tensor3D;
        const dP = tf.matMul(dO, tf.transpose(sv, [0, 2, 1]));
        const dV = tf.matMul(tf.transpose(sp, [0, 2, 1]), dO);
        let dS = tf.mul(tf.mul(sp, tf.sub(dP, tf.sum(tf.mul(dP, sp), -1, true))), scale) as tf.Tensor3D;
        if (st) dS = tf.mul(dS, tf.sub(1, tf.square(st))) as tf.Tensor3D;
        const dQ = tf.matMul(dS, sk);
        const dK = tf.matMul(tf.transpose(dS, [0, 2, 1]), sq);
        return [tf.reshape(dQ, [B, H, Tq, dh]), tf.reshape(dK, [B, kvH, Tk, dh]), tf.reshape(dV, [B, kvH, Tk, dh])];
      },
    };
  });
  const out = f(q, k, v) as tf.Tensor4D;
  if (biasG !== bias) biasG.dispose();
  biasR.dispose();
  return out;
}

/**
 * Rotary position embedding (Hugging Face "rotate_half" layout) of the first `cos.shape[3]`
 * dimensions of x [B, heads, T, dh] with cos, sin [B, 1, T, rd]; the other dh - rd pass through
 * (partial rotary: GPT-NeoX, Phi-3).
 */
export function rope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const dh = x.shape[3];
  const rd = cos.shape[3];
  const [xr, xp] = rd === dh ? [x, undefined] : (tf.split(x, [rd, dh - rd], 3) as [tf.Tensor4D, tf.Tensor4D]);
  const half = rd / 2;
  const [x1, x2] = tf.split(xr, [half, half], 3);
  const rotated = tf.concat([tf.neg(x2), x1], 3);
  const y = tf.add(tf.mul(xr, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  return xp ? (tf.concat([y, xp], 3) as tf.Tensor4D) : y;
}

/**
 * Positions of the last `T` columns of a mask [B, total]: cumsum(mask) - 1 clamped at 0.
 */
export function positionsFromMask(mask: ArrayLike<number>, B: number, total: number, T: number): Int32Array {
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let c = 0;
    for (let j = 0; j < total; j++) {
      c += mask[b * total + j] ? 1 : 0;
      if (j >= total - T) out[b * T + j - (total - T)] = Math.max(c - 1, 0);
    }
  }
  return out;
}

/**
 * Additive attention mask [B, 1, T, total] for the last T query positions of a mask [B, total]:
 * a query at absolute index i sees key j when j <= i, mask[j] = 1 and, with a sliding `window`
 * W > 0, i - j < W (transformers' sliding_window_overlay). Rows that see nothing (padding queries)
 * get -1e9 everywhere: a uniform, harmless softmax instead of NaN.
 */
export function attentionBiasData(mask: ArrayLike<number>, B: number, total: number, T: number, window = 0): Float32Array {
  const out = new Float32Array(B * T * total);
  const past = total - T;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = past + t;
      const row = (b * T + t) * total;
      for (let j = 0; j < total; j++) {
        if (j > i || !mask[b * total + j] || (window > 0 && i - j >= window)) out[row + j] = -1e9;
      }
    }
  }
  return out;
}

/** {@link attentionBiasData} as a tensor. */
export function attentionBias(mask: ArrayLike<number>, B: number, total: number, T: number, window = 0): tf.Tensor4D {
  return tf.tensor4d(attentionBiasData(mask, B, total, T, window), [B, 1, T, total]);
}

/**
 * logits = h·headEV for h [n, E], with headEV [E, V] and the same matrix as headVE [V, E]: the
 * backward pass is dh = dlogits·headVE, a plain matMul (a transpose flag is slow on WASM).
 */
export function headLogits(h: tf.Tensor2D, headEV: tf.Tensor2D, headVE: tf.Tensor2D): tf.Tensor2D {
  const f = customOp((hi: tf.Tensor) => ({
    value: tf.matMul(hi as tf.Tensor2D, headEV),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, headVE),
  }));
  return f(h) as tf.Tensor2D;
}

/**
 * Mean cross-entropy of `targets` (one per row) given logits [n, V]. Custom gradient:
 * (softmax - one-hot) / n, without the broadcast Equal that makes logSumExp's gradient slow on WASM.
 */
export function crossEntropyFromLogits(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  const [n, V] = logits.shape;
  const f = customOp((li: tf.Tensor, save: tf.GradSaveFunc) => {
    const lse = tf.logSumExp(li, -1, true);
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), V), 'float32');
    const picked = tf.sum(tf.mul(li, onehot), -1, true);
    save([li, lse, onehot]);
    return {
      value: tf.div(tf.sum(tf.sub(lse, picked)), n),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [lg, l, oh] = saved;
        return tf.mul(tf.sub(tf.exp(tf.sub(lg, l)), oh), tf.div(dy, n));
      },
    };
  });
  return f(logits) as tf.Scalar;
}
