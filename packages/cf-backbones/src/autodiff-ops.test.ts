/**
 * The custom-gradient ops against tfjs's own ops and autodiff (values and gradients), on the CPU
 * backend (tfjs-op LayerNorm) and on WASM (allmrec's fused LayerNorm kernel).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { layerNorm, lossAndGrads, matMul, softmaxCrossEntropy } from './autodiff-ops';

function rand(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale), shape);
}

function expectClose(a: tf.Tensor, b: tf.Tensor, tol = 1e-4): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let scale = 0;
  for (let i = 0; i < y.length; i++) scale = Math.max(scale, Math.abs(y[i]));
  expect(scale).toBeGreaterThan(0);
  for (let i = 0; i < x.length; i++) if (!(Math.abs(x[i] - y[i]) <= tol * (1 + scale))) throw new Error(`element ${i}: ${x[i]} vs ${y[i]}`);
}

describe.each(['cpu', 'wasm'] as const)('autodiff ops on %s', (backend) => {
  beforeAll(async () => { await selectBackend(backend); });
  afterAll(async () => { await selectBackend('wasm'); });

  test('matMul: value and gradients equal tf.matMul under autodiff', () => {
    tf.tidy(() => {
      const rng = new Rng(1);
      const a = rand(rng, [5, 3]);
      const b = rand(rng, [3, 4]);
      const up = rand(rng, [5, 4]); // a fixed upstream gradient
      const mine = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul(x as tf.Tensor2D, y as tf.Tensor2D), up)))([a, b]);
      const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), up)))([a, b]);
      expectClose(matMul(a as tf.Tensor2D, b as tf.Tensor2D), tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D));
      expectClose(mine[0], ref[0]);
      expectClose(mine[1], ref[1]);
    });
  });

  test('layerNorm: value and gradients equal the tf.moments formula under autodiff', () => {
    tf.tidy(() => {
      const rng = new Rng(2);
      const x = rand(rng, [6, 8], 2);
      const g = rand(rng, [8]);
      const b = rand(rng, [8]);
      const up = rand(rng, [6, 8]);
      const ref = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
        const { mean, variance } = tf.moments(xx, -1, true);
        return tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, 1e-8))), gg), bb);
      };
      const mineF = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(layerNorm(xx as tf.Tensor2D, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-8), up));
      const refF = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(ref(xx, gg, bb), up));
      expectClose(layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-8), ref(x, g, b));
      const mine = tf.grads(mineF)([x, g, b]);
      const want = tf.grads(refF)([x, g, b]);
      for (let i = 0; i < 3; i++) expectClose(mine[i], want[i], 1e-3);
    });
  });

  test('softmaxCrossEntropy: value and logit gradient equal tf.losses.softmaxCrossEntropy', () => {
    tf.tidy(() => {
      const rng = new Rng(3);
      const logits = rand(rng, [5, 7], 3);
      const labels = tf.oneHot(tf.tensor1d([0, 6, 3, 3, 1], 'int32'), 7).toFloat();
      const w = tf.tensor1d([0.5, 0, 1, 2, 0.25]); // a zero-weight row must contribute nothing
      const mine = tf.valueAndGrad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, labels as tf.Tensor2D, w))(logits);
      const ref = tf.valueAndGrad((l: tf.Tensor) => tf.sum(tf.mul(tf.losses.softmaxCrossEntropy(labels, l, undefined, 0, tf.Reduction.NONE), w)))(logits);
      expect(mine.value.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0], 5);
      expectClose(mine.grad, ref.grad);
      expect(Array.from(mine.grad.dataSync().slice(7, 14)).every((v) => v === 0)).toBe(true);
    });
  });

  test('lossAndGrads: every parameter gets its gradient, the padding row of item_emb none', () => {
    tf.tidy(() => {
      const rng = new Rng(4);
      const params = { item_emb: rand(rng, [4, 3]), w: rand(rng, [3, 2]) };
      const ids = tf.tensor1d([0, 1, 0, 3], 'int32');
      const f = (p: Record<string, tf.Tensor>) => tf.sum(tf.square(tf.matMul(tf.gather(p.item_emb, ids) as tf.Tensor2D, p.w as tf.Tensor2D))) as tf.Scalar;
      const { loss, grads } = lossAndGrads(params, f);
      const ref = tf.grads((e: tf.Tensor, w: tf.Tensor) => f({ item_emb: e, w }))([params.item_emb, params.w]);
      expect(loss.dataSync()[0]).toBeCloseTo(f(params).dataSync()[0], 5);
      expectClose(grads.w, ref[1]);
      const gE = grads.item_emb.dataSync();
      const rE = ref[0].dataSync();
      expect(Array.from(gE.slice(0, 3))).toEqual([0, 0, 0]);
      expect(Array.from(rE.slice(0, 3)).some((v) => v !== 0)).toBe(true); // row 0 did receive gradient
      for (let i = 3; i < 12; i++) expect(gE[i]).toBeCloseTo(rE[i], 5);
    });
  });
});
