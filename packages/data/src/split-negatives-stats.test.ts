import { Rng, type InteractionDataset } from '@allmrec/core';
import { sampleNegatives } from './negatives';
import { leaveOneOut } from './split';
import { datasetStats } from './stats';

function ds(seqs: number[][], numItems: number): InteractionDataset {
  return {
    name: 't',
    numUsers: seqs.length,
    numItems,
    sequences: [new Int32Array(0), ...seqs.map((s) => Int32Array.from(s))],
    order: 'time',
    items: Array.from({ length: numItems + 1 }, () => ({ title: '', description: '' })),
    userKeys: ['', ...seqs.map((_, i) => `u${i}`)],
    itemKeys: Array.from({ length: numItems + 1 }, (_, i) => (i ? `i${i}` : '')),
  };
}

describe('leaveOneOut', () => {
  test('last = test, second-to-last = valid, short users train-only', () => {
    const d = ds([[1, 2, 3, 4], [5, 6], [7, 8, 9]], 9);
    const s = leaveOneOut(d);
    expect(Array.from(s.train[1])).toEqual([1, 2]);
    expect([s.valid[1], s.test[1]]).toEqual([3, 4]);
    expect(Array.from(s.train[2])).toEqual([5, 6]);
    expect([s.valid[2], s.test[2]]).toEqual([0, 0]);
    expect(Array.from(s.train[3])).toEqual([7]);
    expect([s.valid[3], s.test[3]]).toEqual([8, 9]);
    expect(s.valid[0]).toBe(0);
    // Round trip: train + valid + test = the sequence; the split does not alias the dataset.
    for (let u = 1; u <= 3; u++) {
      const back = [...s.train[u], ...(s.valid[u] ? [s.valid[u], s.test[u]] : [])];
      expect(back).toEqual(Array.from(d.sequences[u]));
    }
    s.train[1][0] = 99;
    expect(d.sequences[1][0]).toBe(1);
  });
});

describe('sampleNegatives', () => {
  test('never 0, never excluded, no repeats; Set and sorted array agree; deterministic', () => {
    const exclude = [2, 3, 5, 7, 11, 13];
    for (const count of [1, 10, 94]) {
      const a = sampleNegatives(new Rng(7), 100, new Set(exclude), count);
      const b = sampleNegatives(new Rng(7), 100, exclude, count);
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(new Set(a).size).toBe(count);
      for (const v of a) {
        expect(v).toBeGreaterThanOrEqual(1);
        expect(v).toBeLessThanOrEqual(100);
        expect(exclude).not.toContain(v);
      }
    }
    const all = sampleNegatives(new Rng(1), 100, Int32Array.from(exclude), 94);
    expect(Array.from(all).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1).filter((i) => !exclude.includes(i)));
    expect(Array.from(sampleNegatives(new Rng(3), 100, [9, 1, 4], 5))).not.toContain(9); // unsorted array accepted
  });

  test('roughly uniform over candidates', () => {
    const rng = new Rng(11);
    const counts = new Array(21).fill(0);
    for (let k = 0; k < 4000; k++) for (const v of sampleNegatives(rng, 20, new Set([1, 2]), 3)) counts[v]++;
    for (let i = 3; i <= 20; i++) expect(counts[i]).toBeGreaterThan((12000 / 18) * 0.85);
    expect(counts[0] + counts[1] + counts[2]).toBe(0);
  });

  test('impossible requests throw', () => {
    expect(() => sampleNegatives(new Rng(1), 10, [1, 2, 3], 8)).toThrow(/only 7 of 10/);
    expect(() => sampleNegatives(new Rng(1), 10, new Set([1, 1, 0, 50]), 10)).toThrow(RangeError);
    expect(sampleNegatives(new Rng(1), 10, new Set([1, 0, 50]), 9)).toHaveLength(9);
  });
});

describe('datasetStats', () => {
  test('counts, median, mean, density', () => {
    const s = datasetStats(ds([[1, 2, 3, 4], [5, 6], [7, 8, 9]], 10));
    expect(s).toEqual({ users: 3, items: 10, interactions: 9, sequenceLength: { min: 2, median: 3, mean: 3, max: 4 }, density: 9 / 30 });
  });
});
