/**
 * The projectors' warm start learns a planted bilinear preference through the slot interface,
 * writes unit vectors into the two slices only, is deterministic and releases its tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend, type LeaveOneOutSplit } from '@allmrec/core';
import { createProjectors } from '@allmrec/alignment';
import { warmStartProjectors, type WarmStartData } from './stage2-warm-start';

beforeAll(async () => {
  await selectBackend();
});

const USERS = 300;
const ITEMS = 200;
const USER_DIM = 6;
const ITEM_DIM = 8;
const H = 32;
const IFACE = { user: [24, 32] as [number, number], item: [8, 16] as [number, number] };

/** Users with a taste t_u (x_u = t_u); each user's next item is argmax_i t_u·A·e_i, its history random. */
function planted(): WarmStartData {
  const rng = new Rng(4);
  const items = Float32Array.from({ length: (ITEMS + 1) * ITEM_DIM }, () => rng.normal());
  const A = Float32Array.from({ length: USER_DIM * ITEM_DIM }, () => rng.normal());
  const X = Float32Array.from({ length: USERS * USER_DIM }, () => rng.normal());
  const train: Int32Array[] = [new Int32Array(0)];
  const histories: Int32Array[] = [];
  const targets: number[] = [];
  for (let u = 0; u < USERS; u++) {
    let best = 1;
    let bestScore = -Infinity;
    for (let i = 1; i <= ITEMS; i++) {
      let s = 0;
      for (let a = 0; a < USER_DIM; a++) for (let b = 0; b < ITEM_DIM; b++) s += X[u * USER_DIM + a] * A[a * ITEM_DIM + b] * items[i * ITEM_DIM + b];
      if (s > bestScore) { bestScore = s; best = i; }
    }
    const hist = new Set<number>();
    while (hist.size < 5) { const i = 1 + rng.int(ITEMS); if (i !== best) hist.add(i); }
    const h = Int32Array.from(hist);
    histories.push(h);
    targets.push(best);
    train.push(Int32Array.from([...h, best]));
  }
  const split: LeaveOneOutSplit = { numUsers: USERS, numItems: ITEMS, train, valid: new Int32Array(USERS + 1), test: new Int32Array(USERS + 1) };
  return {
    split, users: Array.from({ length: USERS }, (_, i) => i + 1), X, userDim: USER_DIM, histories, targets,
    items, itemDim: ITEM_DIM, historyLength: 5, numCandidates: 10,
  };
}

test('warm start: learns the planted preference through the slices (Hit@1 far above chance), unit vectors, nothing outside', () => {
  const data = planted();
  const { fu, fi } = createProjectors(USER_DIM, ITEM_DIM, H, 1);
  const before = tf.memory().numTensors;
  const r = warmStartProjectors(fu, fi, IFACE, H, data, { steps: 400, seed: 2, batchSize: 32, lr: 3e-3 });
  expect(tf.memory().numTensors).toBe(before);
  // 10 candidates + 5 history items per prompt: chance is 1/15.
  expect(r.hit1).toBeGreaterThan(0.6);
  const norms = tf.tidy(() => {
    const u = fu.apply(tf.tensor2d(data.X.subarray(0, 20 * USER_DIM), [20, USER_DIM]));
    const c = fi.apply(tf.tensor2d(data.items.subarray(ITEM_DIM, 21 * ITEM_DIM), [20, ITEM_DIM]));
    const part = (t: tf.Tensor2D, [a, b]: [number, number]) => {
      const inside = tf.norm(tf.slice(t, [0, a], [20, b - a]), 'euclidean', 1);
      const all = tf.norm(t, 'euclidean', 1);
      return { inside: inside.dataSync(), outside: tf.sqrt(tf.sub(tf.square(all), tf.square(inside))).dataSync() };
    };
    return { u: part(u, IFACE.user), c: part(c, IFACE.item) };
  });
  for (const p of [norms.u, norms.c]) {
    for (let i = 0; i < 20; i++) {
      expect(p.inside[i]).toBeGreaterThan(0.7);
      expect(p.inside[i]).toBeLessThan(1.4);
      expect(p.outside[i]).toBeLessThan(0.3);
    }
  }
  fu.dispose();
  fi.dispose();
  // Deterministic in the seed.
  const again = createProjectors(USER_DIM, ITEM_DIM, H, 1);
  const r2 = warmStartProjectors(again.fu, again.fi, IFACE, H, data, { steps: 400, seed: 2, batchSize: 32, lr: 3e-3 });
  expect(r2.loss).toBe(r.loss);
  again.fu.dispose();
  again.fi.dispose();
});

test('warm start: slices of different widths are refused', () => {
  const { fu, fi } = createProjectors(USER_DIM, ITEM_DIM, H, 7);
  expect(() => warmStartProjectors(fu, fi, { user: [24, 32], item: [8, 12] }, H, planted(), { steps: 1, seed: 1 })).toThrow(/differ in width/);
  fu.dispose();
  fi.dispose();
});
