import { Rng } from '@allmrec/core';
import { sampleCandidates } from './sampling';

describe('sampleCandidates', () => {
  it('returns the target first and distinct allowed negatives (Set exclude)', () => {
    const rng = new Rng(1);
    const exclude = new Set([2, 3, 5, 7]);
    for (let rep = 0; rep < 200; rep++) {
      const c = sampleCandidates(rng, { target: 5, numItems: 30, exclude, count: 19 });
      expect(c).toBeInstanceOf(Int32Array);
      expect(c.length).toBe(20);
      expect(c[0]).toBe(5);
      const neg = [...c.slice(1)];
      expect(new Set(neg).size).toBe(19);
      for (const x of neg) {
        expect(x).toBeGreaterThanOrEqual(1);
        expect(x).toBeLessThanOrEqual(30);
        expect(exclude.has(x)).toBe(false);
      }
    }
  });

  it('accepts a sorted Int32Array exclude and never returns the target as a negative', () => {
    const rng = new Rng(2);
    const exclude = Int32Array.from([1, 4, 9, 10]);
    for (let rep = 0; rep < 200; rep++) {
      const c = sampleCandidates(rng, { target: 3, numItems: 12, exclude, count: 7 }); // exactly 7 allowed
      expect([...c.slice(1)].sort((a, b) => a - b)).toEqual([2, 5, 6, 7, 8, 11, 12]);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const opts = { target: 10, numItems: 1000, exclude: new Set([10, 11]), count: 100 };
    expect(sampleCandidates(new Rng(7), opts)).toEqual(sampleCandidates(new Rng(7), opts));
    expect(sampleCandidates(new Rng(7), opts)).not.toEqual(sampleCandidates(new Rng(8), opts));
  });

  it('draws negatives uniformly', () => {
    const rng = new Rng(3);
    const counts = new Array(11).fill(0);
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const c = sampleCandidates(rng, { target: 1, numItems: 10, exclude: new Set(), count: 1 });
      counts[c[1]]++;
    }
    expect(counts[0]).toBe(0);
    expect(counts[1]).toBe(0);
    // each of items 2..10 has p = 1/9; sd of a count = sqrt(N p (1-p)) ~ 44; allow 5 sd
    for (let i = 2; i <= 10; i++) expect(Math.abs(counts[i] - N / 9)).toBeLessThan(5 * 44);
  });

  it('fails clearly when too few items are allowed, and on bad input', () => {
    expect(() => sampleCandidates(new Rng(1), { target: 1, numItems: 5, exclude: new Set([2, 3]), count: 3 })).toThrow(
      'cannot draw 3 negatives for target 1: only 2 of 5 items are allowed',
    );
    expect(() => sampleCandidates(new Rng(1), { target: 0, numItems: 5, exclude: new Set(), count: 1 })).toThrow(/target 0/);
    expect(() => sampleCandidates(new Rng(1), { target: 1, numItems: 5, exclude: Int32Array.from([3, 2]), count: 1 })).toThrow(/sorted/);
  });
});
