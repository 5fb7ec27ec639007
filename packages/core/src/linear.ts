/**
 * The linear layer y = x·W + b with a gradient made of plain matMuls and explicit transposes.
 * tfjs autodiff of matMul emits transposed matMuls, which the WASM backend runs 10-50x slower
 * than plain ones; every trainer in allmrec uses this one instead.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * `tf.customGrad` with loose input typing: `f(...inputs, save)` returns the value and a gradient
 * function of (dy, saved tensors). Tensors the gradient needs must go through `save`.
 */
export function customOp<T extends tf.Tensor>(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  f: (...args: any[]) => { value: T; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] },
): (...inputs: tf.Tensor[]) => T {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => T;
}

/** Gradients of y = x·W + b given dy and xᵀ: dx = dy·Wᵀ (unless `needDx` is false), dW = xᵀ·dy, db = Σ dy. */
export function linearBackward(dy: tf.Tensor2D, xT: tf.Tensor2D, w: tf.Tensor, needDx = true): { dx?: tf.Tensor2D; dW: tf.Tensor2D; db: tf.Tensor1D } {
  const dW = tf.matMul(xT, dy) as tf.Tensor2D;
  const db = tf.sum(dy, 0) as tf.Tensor1D;
  const dx = needDx ? (tf.matMul(dy, tf.transpose(w as tf.Tensor2D)) as tf.Tensor2D) : undefined;
  return { dx, dW, db };
}

/** y = x·W + b for x [n, in], W [in, out], b [out], differentiable in all three (for autodiff trainers). */
export const linear = customOp((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => {
      const g = linearBackward(dy as tf.Tensor2D, tf.transpose(xs as tf.Tensor2D), ws);
      return [g.dx!, g.dW, g.db];
    },
  };
}) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
