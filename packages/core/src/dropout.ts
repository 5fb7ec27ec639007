import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './rng';
import { DROPOUT_MASK_KERNEL } from './wasm-kernels';

/**
 * An inverted-dropout mask as a plain array: each element is 0 with probability `rate`, else
 * 1 / (1 - rate). 16 random bits per element (two per 32-bit draw); reproducible from `rng`.
 */
export function dropoutMaskArray(rng: Rng, size: number, rate: number): Float32Array {
  const out = new Float32Array(size);
  checkRate(rate);
  if (rate === 0) return out.fill(1);
  const keep = 1 / (1 - rate);
  const threshold = Math.round(rate * 65536);
  let i = 0;
  for (; i + 1 < size; i += 2) {
    const r = rng.nextUint32();
    out[i] = (r & 0xffff) >= threshold ? keep : 0;
    out[i + 1] = r >>> 16 >= threshold ? keep : 0;
  }
  if (i < size) out[i] = (rng.nextUint32() & 0xffff) >= threshold ? keep : 0;
  return out;
}

function checkRate(rate: number): void {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
}

/**
 * An inverted-dropout mask tensor of `shape`, seeded from `rng` (four 32-bit draws per call, so
 * the sequence of masks is reproducible). Generated in place on WASM (a JS loop costs ~5 ms per
 * million elements); the same distribution from a JS loop elsewhere. The two paths draw
 * different bits, so runs are reproducible per backend.
 */
export function dropoutMask(rng: Rng, shape: number[], rate: number): tf.Tensor {
  checkRate(rate);
  if (tf.getKernel(DROPOUT_MASK_KERNEL, tf.getBackend())) {
    const seed = [rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32()];
    return tf.engine().runKernel(DROPOUT_MASK_KERNEL, {}, { shape, rate, seed }) as tf.Tensor;
  }
  return tf.tensor(dropoutMaskArray(rng, tf.util.sizeFromShape(shape), rate), shape);
}
