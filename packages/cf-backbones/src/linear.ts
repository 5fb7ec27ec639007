/**
 * A linear layer x·W + b (W stored [in, out]) and its hand-written backward, shared by the models
 * that write their backward out (SASRec, NCF).
 */
import * as tf from '@tensorflow/tfjs-core';

/** y = x·W + b. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D;
}

/**
 * dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ dy, with explicit transposes (plain matMuls are fast on WASM,
 * transposed ones 10-50x slower). `xT` is the layer input already transposed.
 */
export function linearBackward(dy: tf.Tensor2D, xT: tf.Tensor2D, w: tf.Tensor, needDx = true) {
  const dW = tf.matMul(xT, dy);
  const db = tf.sum(dy, 0);
  const dx = needDx ? (tf.matMul(dy, tf.transpose(w as tf.Tensor2D)) as tf.Tensor2D) : undefined;
  return { dx, dW, db };
}
