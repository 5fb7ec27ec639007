/**
 * allmrec's WASM kernels against the CPU backend's (or plain math) on the same inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng';
import { selectBackend } from './backend';
import { dropoutMask, dropoutMaskArray } from './dropout';
import { layerNorm, layerNormBackward } from './layer-norm';

function randn(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

async function onBoth<T extends ArrayLike<number>>(f: () => tf.Tensor | tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const run = async (b: string) => {
    await selectBackend(b);
    return tf.tidy(() => {
      const r = f();
      return (Array.isArray(r) ? r : [r]).map((t) => Float32Array.from(t.dataSync()));
    });
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  return [cpu, wasm];
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  expect(worst).toBeLessThan(tol);
}

describe('WASM kernels match the CPU backend', () => {
  afterAll(async () => { await selectBackend('wasm'); });
  const rng = new Rng(3);

  test('GatherV2 on axis 0, and its gradient UnsortedSegmentSum (missing from tfjs WASM)', async () => {
    const table = randn(rng, 30 * 7);
    const ids = Int32Array.from({ length: 200 }, () => rng.int(30));
    const w = randn(rng, 200 * 7);
    const [cpu, wasm] = await onBoth(() => {
      const E = tf.tensor2d(table, [30, 7]);
      const idx = tf.tensor1d(ids, 'int32');
      const g = tf.grad((e: tf.Tensor) => tf.sum(tf.mul(tf.gather(e, idx), tf.tensor2d(w, [200, 7]))))(E);
      return [tf.gather(E, idx), g];
    });
    expectClose(wasm[0], cpu[0], 1e-9);
    expectClose(wasm[1], cpu[1], 1e-6);
    // Independent check of the gradient: row r of dE = sum of w rows whose id is r.
    const expected = new Float32Array(30 * 7);
    ids.forEach((id, i) => { for (let c = 0; c < 7; c++) expected[id * 7 + c] += w[i * 7 + c]; });
    expectClose(wasm[1], expected, 1e-6);
    await selectBackend('wasm');
    expect(() => tf.gather(tf.tensor2d(table, [30, 7]), tf.tensor1d([30], 'int32'))).toThrow(/not in \[0, 29\]/);
  });

  test('Transpose (2-D) and Sum over axis 0', async () => {
    const x = randn(rng, 37 * 19);
    const [cpu, wasm] = await onBoth(() => {
      const t = tf.tensor2d(x, [37, 19]);
      return [tf.transpose(t), tf.sum(t, 0), tf.sum(t, 0, true), tf.sum(t, 1), tf.transpose(tf.reshape(t, [37, 19, 1]), [1, 0, 2])];
    });
    wasm.forEach((w, i) => expectClose(w, cpu[i], 1e-5));
  });

  test('LayerNorm forward and backward', async () => {
    const x = randn(rng, 13 * 9);
    const g = randn(rng, 9);
    const b = randn(rng, 9);
    const dy = randn(rng, 13 * 9);
    const [cpu, wasm] = await onBoth(() => {
      const { y, cache } = layerNorm(tf.tensor2d(x, [13, 9]), tf.tensor1d(g), tf.tensor1d(b), 1e-8);
      const { dx, dg, db } = layerNormBackward(tf.tensor2d(dy, [13, 9]), cache);
      return [y, dx, dg, db];
    });
    wasm.forEach((w, i) => expectClose(w, cpu[i], 1e-4));
    // Known answer: a row (1, 2, 3) normalises to (-1.2247, 0, 1.2247).
    await selectBackend('wasm');
    const y = tf.tidy(() => layerNorm(tf.tensor2d([1, 2, 3], [1, 3]), tf.ones([3]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D, 1e-8).y.dataSync());
    expectClose(y, [-1.2247449, 0, 1.2247449], 1e-5);
  });

  test('dropout masks: values, rate, determinism', async () => {
    await selectBackend('wasm');
    for (const rate of [0.1, 0.5]) {
      const m = tf.tidy(() => dropoutMask(new Rng(9), [200000], rate).dataSync());
      const again = tf.tidy(() => dropoutMask(new Rng(9), [200000], rate).dataSync());
      let zeros = 0;
      const keep = Math.fround(1 / (1 - rate));
      for (let i = 0; i < m.length; i++) {
        if (m[i] !== 0 && m[i] !== keep) throw new Error(`mask value ${m[i]} is neither 0 nor ${keep}`);
        if (m[i] === 0) zeros++;
        if (m[i] !== again[i]) throw new Error('same seed gave a different mask');
      }
      // Binomial(200000, rate): 5 standard deviations.
      expect(Math.abs(zeros / m.length - rate)).toBeLessThan(5 * Math.sqrt(rate * (1 - rate) / m.length));
    }
    const js = dropoutMaskArray(new Rng(1), 100000, 0.3);
    const zeros = js.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
    expect(Math.abs(zeros / js.length - 0.3)).toBeLessThan(0.01);
    expect(() => dropoutMaskArray(new Rng(1), 10, 1)).toThrow(/\[0, 1\)/);
  });

  test('selectBackend reports what runs and what it skipped', async () => {
    const info = await selectBackend();
    expect(['wasm', 'tensorflow']).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name);
    await expect(selectBackend('quantum')).rejects.toThrow(/unknown backend/);
  });
});
