import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from './backend';
import { linear } from './linear';

describe('linear with explicit-transpose gradients', () => {
  test.each(['cpu', 'wasm'] as const)('value and gradients equal autodiff of x·W + b on %s', async (backend) => {
    await selectBackend(backend);
    tf.tidy(() => {
      const x = tf.tensor2d([[1, -2, 0.5], [0.3, 0.7, -1.1]]);
      const w = tf.tensor2d([[0.2, -0.4], [1.5, 0.1], [-0.3, 0.8]]);
      const b = tf.tensor1d([0.05, -0.2]);
      const up = tf.tensor2d([[1, 2], [-3, 0.5]]); // a non-uniform upstream gradient
      const mine = tf.valueAndGrads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(linear(a, c, d), up)) as tf.Scalar)([x, w, b]);
      const ref = tf.valueAndGrads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.matMul(a as tf.Tensor2D, c as tf.Tensor2D), d), up)) as tf.Scalar)([x, w, b]);
      expect(mine.value.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0], 5);
      mine.grads.forEach((g, i) => {
        const a = g.dataSync();
        const r = ref.grads[i].dataSync();
        expect(g.shape).toEqual(ref.grads[i].shape);
        for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(r[j], 5);
      });
      // Hand-computed: dW = xᵀ·up, first entry 1*1 + 0.3*(-3) = 0.1.
      expect(mine.grads[1].dataSync()[0]).toBeCloseTo(0.1, 5);
    });
  });
});
