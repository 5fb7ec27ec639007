import { Rng } from '@allmrec/core';
import { PairSampler } from './pair-sampler';
import { SequenceSampler, drawNegative } from './sampler';

const train = [
  new Int32Array(0),
  Int32Array.from([1, 2, 2, 3]), // item 2 repeated: one pair
  Int32Array.from([4]),
  new Int32Array(0), // a user without training items contributes nothing
  Int32Array.from([5, 1, 6, 7, 8]),
];

describe('PairSampler', () => {
  test('one epoch visits every distinct training pair exactly once, in batches of batchSize', () => {
    const s = new PairSampler(train, 10, 3);
    expect(s.numPairs).toBe(9);
    expect(s.stepsPerEpoch).toBe(3);
    expect(Array.from(s.trainCounts())).toEqual([0, 3, 1, 0, 5]);
    const rng = new Rng(1);
    s.shuffle(rng);
    const seen: string[] = [];
    const sizes: number[] = [];
    for (let step = 0; step < s.stepsPerEpoch; step++) {
      const b = s.batch(step, rng);
      sizes.push(b.size);
      for (let k = 0; k < b.size; k++) {
        seen.push(`${b.users[k]}:${b.pos[k]}`);
        // The negative is never one of the user's training items.
        expect(s.itemSets[b.users[k]].has(b.neg[k])).toBe(false);
        expect(b.neg[k]).toBeGreaterThanOrEqual(1);
        expect(b.neg[k]).toBeLessThanOrEqual(10);
      }
    }
    expect(sizes).toEqual([3, 3, 3]);
    expect(seen.sort()).toEqual(['1:1', '1:2', '1:3', '2:4', '4:1', '4:5', '4:6', '4:7', '4:8']);
    expect(() => s.batch(3, rng)).toThrow(/step 3 is outside 0..2/);
  });

  test('the last batch holds what is left', () => {
    const s = new PairSampler(train, 10, 4);
    expect(s.stepsPerEpoch).toBe(3);
    s.shuffle(new Rng(2));
    expect(s.batch(2, new Rng(3)).size).toBe(1);
  });

  test('the shuffle depends on the epoch generator only, so a resumed epoch sees the same batches', () => {
    const a = new PairSampler(train, 10, 9);
    const b = new PairSampler(train, 10, 9);
    a.shuffle(new Rng(7));
    a.shuffle(new Rng(8)); // a second epoch on the same sampler...
    b.shuffle(new Rng(8)); // ...equals that epoch on a fresh one
    expect(Array.from(a.batch(0, new Rng(1)).pos)).toEqual(Array.from(b.batch(0, new Rng(1)).pos));
    const c = new PairSampler(train, 10, 9);
    c.shuffle(new Rng(9));
    expect(Array.from(c.batch(0, new Rng(1)).pos)).not.toEqual(Array.from(b.batch(0, new Rng(1)).pos));
  });

  test('negatives are uniform over the items the user never saw', () => {
    const s = new PairSampler([new Int32Array(0), Int32Array.from([1, 2])], 5, 2);
    const counts = new Map<number, number>();
    const rng = new Rng(4);
    for (let e = 0; e < 3000; e++) {
      s.shuffle(rng);
      const b = s.batch(0, rng);
      for (const n of b.neg) counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([3, 4, 5]);
    for (const n of [3, 4, 5]) expect(Math.abs(counts.get(n)! / 6000 - 1 / 3)).toBeLessThan(0.02);
  });

  test('rejects bad input with the field named', () => {
    expect(() => new PairSampler(train, 10, 0)).toThrow(/batchSize/);
    expect(() => new PairSampler([new Int32Array(0), Int32Array.from([11])], 10, 2)).toThrow(/train\[1\]\[0\] = 11 is outside 1..10/);
    expect(() => new PairSampler([new Int32Array(0), new Int32Array(0)], 10, 2)).toThrow(/no training interactions/);
    const full = new PairSampler([new Int32Array(0), Int32Array.from([1, 2])], 2, 2);
    expect(() => full.batch(0, new Rng(1))).toThrow(/every item/);
  });
});

describe('drawNegative', () => {
  test('is what SequenceSampler draws its negatives with (same generator, same items)', () => {
    const seqTrain = [new Int32Array(0), Int32Array.from([1, 2, 3])];
    const batch = new SequenceSampler(seqTrain, 20, 4).sample(new Rng(5), 1);
    const rng = new Rng(5);
    rng.int(1); // the sampler first draws its user
    const exclude = new Set([1, 2, 3]);
    // Positions are filled from the last one backwards, one negative each.
    const expected = [drawNegative(rng, 20, exclude), drawNegative(rng, 20, exclude)];
    expect([batch.neg[3], batch.neg[2]]).toEqual(expected);
  });
});
