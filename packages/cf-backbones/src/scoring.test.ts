import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { dotScores, fullDotScores, transposedTable } from './scoring';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('fullDotScores', () => {
  test('equals dotScores over every item, fast at ml-100k size, without leaking tensors', () => {
    const rng = new Rng(1);
    const B = 943;
    const n = 1683;
    const d = 64;
    const E = Float32Array.from({ length: n * d }, () => rng.normal());
    const reps = Float32Array.from({ length: B * d }, () => rng.normal());
    const ET = transposedTable(E, n, d);
    const before = tf.memory().numTensors;
    fullDotScores(reps, B, d, ET); // warm-up
    const t0 = performance.now();
    const S = fullDotScores(reps, B, d, ET);
    const ms = performance.now() - t0;
    expect(tf.memory().numTensors).toBe(before);
    ET.dispose();
    // Reading the scores inside tf.tidy made this take seconds (tidy walked the returned array).
    expect(ms).toBeLessThan(500);
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const rows = [0, 500, 942];
    const ref = dotScores(Float32Array.from(rows.flatMap((b) => [...reps.subarray(b * d, b * d + d)])), d, rows.map(() => all), E);
    rows.forEach((b, k) => {
      for (let i = 0; i < n; i++) expect(Math.abs(S[b * n + i] - ref[k][i])).toBeLessThan(1e-3 * (1 + Math.abs(ref[k][i])));
    });
  });
});
