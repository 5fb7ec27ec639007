import * as tf from '@tensorflow/tfjs-core';
import { LAYERNORM_GRAD_KERNEL, LAYERNORM_KERNEL } from './wasm-kernels';

/** What the LayerNorm backward pass needs from the forward pass. */
export interface LayerNormCache {
  /** Normalised input (x - mean) * rstd, [rows, d]. */
  xhat: tf.Tensor2D;
  /** 1 / sqrt(var + eps), [rows, 1]. */
  rstd: tf.Tensor2D;
  g: tf.Tensor1D;
}

/**
 * LayerNorm over the last axis of x [rows, d] with gain g and bias b. One fused kernel on WASM
 * (instead of nine ops), tfjs ops elsewhere. Returns the output and the cache for
 * {@link layerNormBackward}.
 */
export function layerNorm(
  x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number,
): { y: tf.Tensor2D; cache: LayerNormCache } {
  if (tf.getKernel(LAYERNORM_KERNEL, tf.getBackend())) {
    const [y, xhat, rstd] = tf.engine().runKernel(LAYERNORM_KERNEL, { x, g, b }, { eps }) as tf.Tensor2D[];
    return { y, cache: { xhat, rstd, g } };
  }
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps)) as tf.Tensor2D;
  const xhat = tf.mul(xc, rstd) as tf.Tensor2D;
  return { y: tf.add(tf.mul(xhat, g), b) as tf.Tensor2D, cache: { xhat, rstd, g } };
}

/** Gradients of {@link layerNorm}: dx [rows, d], dg and db [d]. */
export function layerNormBackward(
  dy: tf.Tensor2D, cache: LayerNormCache,
): { dx: tf.Tensor2D; dg: tf.Tensor1D; db: tf.Tensor1D } {
  const { xhat, rstd, g } = cache;
  if (tf.getKernel(LAYERNORM_GRAD_KERNEL, tf.getBackend())) {
    const [dx, dg, db] = tf.engine().runKernel(LAYERNORM_GRAD_KERNEL, { dy, xhat, rstd, g }, {}) as tf.Tensor[];
    return { dx: dx as tf.Tensor2D, dg: dg as tf.Tensor1D, db: db as tf.Tensor1D };
  }
  const dg = tf.sum(tf.mul(dy, xhat), 0) as tf.Tensor1D;
  const db = tf.sum(dy, 0) as tf.Tensor1D;
  const dxhat = tf.mul(dy, g);
  const m1 = tf.mean(dxhat, -1, true);
  const m2 = tf.mean(tf.mul(dxhat, xhat), -1, true);
  const dx = tf.mul(rstd, tf.sub(tf.sub(dxhat, m1), tf.mul(xhat, m2))) as tf.Tensor2D;
  return { dx, dg, db };
}
