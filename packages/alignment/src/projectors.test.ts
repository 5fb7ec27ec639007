import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { Projector, createProjectors } from './projectors';

beforeAll(async () => { await selectBackend('wasm'); });

function setWeights(p: Projector, vals: Record<string, number[]>) {
  for (const [k, v] of Object.entries(vals)) p.weights.get(k)!.assign(tf.tensor(v, p.weights.get(k)!.shape));
}

test('F_I on a hand-computed example (Linear, LayerNorm, exact GELU, Linear)', () => {
  const p = new Projector('F_I', 1, 2, 'gelu', new Rng(1));
  setWeights(p, { w1: [1, -1], b1: [0, 0], ln_g: [1, 1], ln_b: [0, 0], w2: [1, 0, 0, 1], b2: [0.5, 0] });
  // x = 2 → h = (2, -2) → LayerNorm: mean 0, var 4 → (1, -1)·(4/(4+1e-5))^½ ≈ (0.99999875, -0.99999875)
  // GELU(1) = 0.8413447, GELU(-1) = -0.1586553 → + b2 = (1.3413447, -0.1586553)
  const y = tf.tidy(() => p.apply(tf.tensor2d([2], [1, 1])).dataSync());
  expect(y[0]).toBeCloseTo(1.3413447, 4);
  expect(y[1]).toBeCloseTo(-0.1586553, 4);
  p.dispose();
});

test('F_U uses LeakyReLU with slope 0.01', () => {
  const p = new Projector('F_U', 1, 2, 'leaky_relu', new Rng(1));
  setWeights(p, { w1: [1, -1], b1: [0, 0], ln_g: [1, 1], ln_b: [0, 0], w2: [1, 0, 0, 1], b2: [0, 0] });
  const y = tf.tidy(() => p.apply(tf.tensor2d([3], [1, 1])).dataSync());
  expect(y[0]).toBeCloseTo(1, 4);
  expect(y[1]).toBeCloseTo(-0.01, 4);
  p.dispose();
});

test('gradients reach every projector weight and match finite differences', () => {
  const { fu, fi } = createProjectors(4, 6, 8, 3);
  const x = tf.tensor2d(Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), [3, 4]);
  const loss = () => tf.sum(tf.square(fu.apply(x))) as tf.Scalar;
  const { grads } = tf.variableGrads(loss, [...fu.weights.values()]);
  for (const [k, v] of fu.weights) {
    const g = grads[v.name].dataSync();
    expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(0);
    // Finite difference on the first element.
    const orig = v.dataSync().slice();
    const eps = 1e-2;
    const bump = (d: number) => { const a = orig.slice(); a[0] += d; v.assign(tf.tensor(a, v.shape)); return tf.tidy(() => loss().dataSync()[0]); };
    const fd = (bump(eps) - bump(-eps)) / (2 * eps);
    v.assign(tf.tensor(orig, v.shape));
    expect(Math.abs(fd - g[0])).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    void k;
  }
  expect(fi.apply(tf.zeros([2, 6]) as tf.Tensor2D).shape).toEqual([2, 8]);
  tf.dispose(Object.values(grads));
  fu.dispose();
  fi.dispose();
});

test('values/load round trip and shape check; loading leaves no tensor behind', () => {
  const a = createProjectors(4, 6, 8, 1);
  const b = createProjectors(4, 6, 8, 2);
  const vals = new Map(Object.entries({ ...a.fu.values(), ...a.fi.values() }));
  const mem = tf.memory();
  b.fu.load(vals);
  b.fi.load(vals);
  expect(tf.memory().numTensors).toBe(mem.numTensors);
  expect(tf.memory().numBytes).toBe(mem.numBytes);
  const x = tf.tensor2d(Float32Array.from({ length: 8 }, (_, i) => i / 8), [2, 4]);
  expect(Array.from(b.fu.apply(x).dataSync())).toEqual(Array.from(a.fu.apply(x).dataSync()));
  const bad = new Map(vals);
  bad.set('F_U.w1', { shape: [5, 8], data: new Float32Array(40) });
  expect(() => b.fu.load(bad)).toThrow(/shape/);
  for (const p of [a.fu, a.fi, b.fu, b.fi]) p.dispose();
});
