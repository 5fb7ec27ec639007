/**
 * Differentiable ops for backbones trained with tfjs autodiff (GRU4Rec, NextItNet), with custom
 * gradients where tfjs's own are slow on the WASM backend:
 *
 *   matMul     tfjs differentiates a·b into transposed matMuls (dy·bᵀ, aᵀ·dy), which run ~10x
 *              slower than plain ones on WASM; here the transposes are explicit (a fast kernel)
 *              and every matMul is plain.
 *   layerNorm  one fused kernel forward and backward on WASM (core's layerNorm) instead of the
 *              nine-op tf.moments formula and its autodiff.
 *
 * Values and gradients equal tfjs's own ops (ops.test.ts checks them against tfjs autodiff).
 */
import * as tf from '@tensorflow/tfjs-core';
import { layerNorm as layerNormForward, layerNormBackward } from '@allmrec/core';

type CustomArgs = (tf.Tensor | tf.GradSaveFunc)[];

const matMulOp = tf.customGrad((...args: CustomArgs) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(sb)), tf.matMul(tf.transpose(sa), g)];
    },
  };
});

/** a·b for a [m, k], b [k, n], differentiable with plain matMuls only. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulOp(a, b) as tf.Tensor2D;
}

/** x·W + b (W stored [in, out]), differentiable with plain matMuls only. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  const y = matMul(x, w);
  return b ? (tf.add(y, b) as tf.Tensor2D) : y;
}

const layerNormOps = new Map<number, (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

/** LayerNorm over the last axis of x [rows, d] (gain g, bias b), differentiable. */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor2D {
  let op = layerNormOps.get(eps);
  if (!op) {
    op = tf.customGrad((...args: CustomArgs) => {
      const [xx, gg, bb, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const { y, cache } = layerNormForward(xx as tf.Tensor2D, gg as tf.Tensor1D, bb as tf.Tensor1D, eps);
      save([cache.xhat, cache.rstd, cache.g]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const [xhat, rstd, gain] = saved;
          const r = layerNormBackward(dy as tf.Tensor2D, { xhat: xhat as tf.Tensor2D, rstd: rstd as tf.Tensor2D, g: gain as tf.Tensor1D });
          return [r.dx, r.dg, r.db];
        },
      };
    }) as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
    layerNormOps.set(eps, op);
  }
  return op(x, g, b) as tf.Tensor2D;
}

/**
 * Runs `lossFn` on `params` and returns the loss with the gradient of every parameter, keyed like
 * `params` (what fitWithAdam's step returns). Call inside tf.tidy. The padding row 0 of
 * `item_emb`, when there is one, gets a zero gradient, as PyTorch's padding_idx gives it.
 */
export function lossAndGrads(
  params: Record<string, tf.Tensor>, lossFn: (p: Record<string, tf.Tensor>) => tf.Scalar,
): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const names = Object.keys(params);
  const f = (...xs: tf.Tensor[]) => {
    const p: Record<string, tf.Tensor> = {};
    names.forEach((n, i) => { p[n] = xs[i]; });
    return lossFn(p);
  };
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => params[n]));
  const out: Record<string, tf.Tensor> = {};
  names.forEach((n, i) => { out[n] = grads[i]; });
  const gE = out.item_emb as tf.Tensor2D | undefined;
  if (gE) {
    const [V, d] = gE.shape;
    out.item_emb = tf.concat([tf.zeros([1, d]), tf.slice(gE, [1, 0], [V - 1, d])], 0);
  }
  return { loss: value as tf.Scalar, grads: out };
}

const softmaxCEOp = tf.customGrad((...args: CustomArgs) => {
  const [logits, labels, weights, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  // One exp per logit: p = exp(x − max) / Σ exp(x − max), loss_row = log Σ exp(x − max) + max − x_target.
  const max = tf.max(logits, 1, true);
  const e = tf.exp(tf.sub(logits, max));
  const s = tf.sum(e, 1, true);
  const p = tf.div(e, s);
  const target = tf.sum(tf.mul(logits, labels), 1, true);
  const rows = tf.reshape(tf.sub(tf.add(tf.log(s), max), target), [-1]);
  save([p, labels, weights]);
  return {
    value: tf.sum(tf.mul(rows, weights)),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [sp, sl, sw] = saved;
      const g = tf.mul(tf.sub(sp, sl), tf.mul(tf.reshape(sw, [-1, 1]), dy as tf.Tensor));
      return [g, tf.zerosLike(sl), tf.zerosLike(sw)];
    },
  };
});

/**
 * Σ_rows w_row · (−log softmax(logits_row)[target]) with one-hot `labels` [N, V] and row weights
 * `weights` [N]; differentiable in `logits` only. One exp per logit (tfjs's softmaxCrossEntropy
 * takes three, and exp is the costliest op of a full-catalogue loss on WASM).
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor2D, weights: tf.Tensor1D): tf.Scalar {
  return softmaxCEOp(logits, labels, weights) as tf.Scalar;
}
