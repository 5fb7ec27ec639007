import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { distinctItems, foldIn, foldInPairs, trainedUsers } from './fold-in';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('trainedUsers', () => {
  const counts = Int32Array.from([0, 3, 0, 5]); // users 1 and 3 had training items, user 2 none

  test('reads a trained user only when the id is known and had training items', () => {
    expect(Array.from(trainedUsers('m', 3, undefined, counts))).toEqual([0, 0, 0]);
    expect(Array.from(trainedUsers('m', 5, [1, 2, 3, 0, 99], counts))).toEqual([1, 0, 3, 0, 0]);
  });

  test('names a bad id and its position', () => {
    expect(() => trainedUsers('BPR', 2, [1, -2], counts)).toThrow(/BPR: user id -2 at position 1/);
    expect(() => trainedUsers('BPR', 1, [1.5], counts)).toThrow(/user id 1.5 at position 0/);
  });
});

describe('foldInPairs', () => {
  test('pairs each distinct item with negatives outside the history, the same for any order of the same items', () => {
    const a = foldInPairs([Int32Array.from([4, 2, 2, 9, 0])], 12, 3);
    const b = foldInPairs([Int32Array.from([9, 4, 2])], 12, 3);
    expect(Array.from(distinctItems([4, 2, 2, 9, 0]))).toEqual([2, 4, 9]);
    expect(Array.from(a.counts)).toEqual([3]);
    expect(Array.from(a.pos)).toEqual([2, 2, 2, 4, 4, 4, 9, 9, 9]);
    expect(Array.from(a.neg)).toEqual(Array.from(b.neg));
    for (const n of a.neg) expect([2, 4, 9, 0]).not.toContain(n);
    for (const w of a.weight) expect(w).toBeCloseTo(1 / 9, 7);
    // Another set of items draws other negatives.
    expect(Array.from(foldInPairs([Int32Array.from([9, 4, 3])], 12, 3).neg)).not.toEqual(Array.from(a.neg));
  });

  test('a history\'s pairs do not depend on the other histories of the batch', () => {
    const alone = foldInPairs([Int32Array.from([5, 6])], 20, 2);
    const batch = foldInPairs([Int32Array.from([1]), new Int32Array(0), Int32Array.from([6, 5])], 20, 2);
    expect(Array.from(batch.counts)).toEqual([1, 0, 2]);
    const mine = Array.from(batch.row).map((r, k) => (r === 2 ? batch.neg[k] : -1)).filter((x) => x >= 0);
    expect(mine).toEqual(Array.from(alone.neg));
  });

  test('refuses a history that holds every item', () => {
    expect(() => foldInPairs([Int32Array.from([1, 2, 3])], 3, 1)).toThrow(/every item/);
  });
});

describe('foldIn', () => {
  test('minimises a quadratic from 0 with Adam and releases every tensor', () => {
    const before = tf.memory().numTensors;
    const target = tf.tensor2d([[1, -2], [0.5, 3]]);
    // loss = ½‖x − target‖², gradient x − target.
    const x = foldIn({ x: [2, 2] }, { steps: 400, lr: 0.05 }, (v) => ({ grads: { x: tf.sub(v.x, target) } }));
    target.dispose();
    expect(tf.memory().numTensors).toBe(before);
    Array.from(x.get('x')!).forEach((v, i) => expect(v).toBeCloseTo([1, -2, 0.5, 3][i], 2));
    expect(Array.from(foldIn({ x: [3] }, { steps: 0, lr: 1 }, () => ({ grads: {} })).get('x')!)).toEqual([0, 0, 0]);
  });
});
