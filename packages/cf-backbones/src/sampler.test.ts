import { Rng } from '@allmrec/core';
import { SequenceSampler } from './sampler';

// User 1: 11 items, user 2: 3 items, user 3: 1 item (cannot train), numItems 30, maxLen 4.
const train = [new Int32Array(0), Int32Array.from({ length: 11 }, (_, i) => i + 1), Int32Array.from([20, 21, 22]), Int32Array.from([5])];
const sampler = new SequenceSampler(train, 30, 4);

/** Row b of a batch as (input, target) pairs at its non-padding positions. */
function pairs(batch: ReturnType<SequenceSampler['batchOf']>, b: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = 0; t < batch.maxLen; t++) {
    const i = b * batch.maxLen + t;
    if (batch.pos[i] !== 0) out.push([batch.seq[i], batch.pos[i]]);
  }
  return out;
}

describe('SequenceSampler windows and batchOf', () => {
  test("'last' is one row per trainable user: its last maxLen + 1 items, as sample builds it", () => {
    const w = sampler.windows('last');
    expect(Array.from(w.users)).toEqual([1, 2]);
    expect(Array.from(w.ends)).toEqual([10, 2]);
    const batch = sampler.batchOf(w.users, new Rng(1), { ends: w.ends });
    expect(batch.maxLen).toBe(4);
    expect(pairs(batch, 0)).toEqual([[7, 8], [8, 9], [9, 10], [10, 11]]);
    expect(pairs(batch, 1)).toEqual([[20, 21], [21, 22]]);
    expect(Array.from(batch.seq.subarray(4, 8))).toEqual([0, 0, 20, 21]); // left-padded
    // The same row as sample() draws for user 1.
    const drawn = sampler.sample(new Rng(3), 8);
    let ofUser1 = 0;
    for (let b = 0; b < 8; b++) {
      if (drawn.seq[b * 4] !== 7) continue;
      ofUser1++;
      expect(Array.from(drawn.seq.subarray(b * 4, b * 4 + 4))).toEqual([7, 8, 9, 10]);
      expect(Array.from(drawn.pos.subarray(b * 4, b * 4 + 4))).toEqual([8, 9, 10, 11]);
    }
    expect(ofUser1).toBeGreaterThan(0);
  });

  test("'all' makes every training item after the first a target exactly once", () => {
    const w = sampler.windows('all');
    expect(Array.from(w.users)).toEqual([1, 1, 1, 2]);
    expect(Array.from(w.ends)).toEqual([10, 6, 2, 2]);
    const batch = sampler.batchOf(w.users, new Rng(1), { ends: w.ends, trim: true });
    const targets = [0, 1, 2].flatMap((b) => pairs(batch, b).map(([, t]) => t)).sort((a, b) => a - b);
    expect(targets).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(pairs(batch, 2)).toEqual([[1, 2], [2, 3]]); // the earliest window: prefix from the start
    expect(pairs(batch, 1)).toEqual([[3, 4], [4, 5], [5, 6], [6, 7]]);
  });

  test('trim drops all-padding columns only; negatives come from outside the user\'s items, or not at all', () => {
    const short = sampler.batchOf([2], new Rng(1), { trim: true });
    expect(short.maxLen).toBe(2);
    expect(Array.from(short.seq)).toEqual([20, 21]);
    expect(Array.from(short.neg).every((n) => n >= 1 && n <= 30 && !train[2].includes(n))).toBe(true);
    const none = sampler.batchOf([1, 2], new Rng(1), { negatives: false });
    expect(Array.from(none.neg).every((n) => n === 0)).toBe(true);
    expect(() => sampler.batchOf([3], new Rng(1))).toThrow(/user 3: no training window/);
    expect(() => sampler.batchOf([1], new Rng(1), { ends: [11] })).toThrow(/no training window ends at item 11/);
  });
});
