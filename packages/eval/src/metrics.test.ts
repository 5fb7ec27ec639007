import { hitAtK, metricsFromRanks, mrr, ndcgAtK, rankOfTarget, reciprocalRank } from './metrics';

describe('metrics on a rank', () => {
  it('hit@k', () => {
    expect(hitAtK(0, 1)).toBe(1);
    expect(hitAtK(1, 1)).toBe(0);
    expect(hitAtK(4, 5)).toBe(1);
    expect(hitAtK(5, 5)).toBe(0);
  });

  it('ndcg@k = 1/log2(rank+2) inside the cut-off', () => {
    expect(ndcgAtK(0, 10)).toBe(1);
    expect(ndcgAtK(1, 10)).toBeCloseTo(1 / Math.log2(3), 12); // 0.6309
    expect(ndcgAtK(2, 10)).toBe(0.5); // 1/log2(4)
    expect(ndcgAtK(6, 10)).toBe(1 / 3); // 1/log2(8)
    expect(ndcgAtK(5, 5)).toBe(0);
  });

  it('reciprocal rank and MRR', () => {
    expect(reciprocalRank(0)).toBe(1);
    expect(reciprocalRank(3)).toBe(0.25);
    expect(mrr([0, 1, 3])).toBeCloseTo((1 + 0.5 + 0.25) / 3, 12);
    expect(mrr([])).toBe(0);
  });

  it('rejects invalid ranks', () => {
    expect(() => hitAtK(-1, 1)).toThrow(RangeError);
    expect(() => ndcgAtK(1.5, 5)).toThrow(/non-negative integer/);
  });

  it('aggregates a hand-computed set of ranks', () => {
    // ranks 0, 2, 7, 19
    const m = metricsFromRanks(Int32Array.from([0, 2, 7, 19]));
    expect(m.hit1).toBe(0.25);
    expect(m.hit5).toBe(0.5);
    expect(m.hit10).toBe(0.75);
    expect(m.ndcg5).toBeCloseTo((1 + 0.5) / 4, 12);
    expect(m.ndcg10).toBeCloseTo((1 + 0.5 + 1 / Math.log2(9)) / 4, 12);
    expect(m.mrr).toBeCloseTo((1 + 1 / 3 + 1 / 8 + 1 / 20) / 4, 12);
    expect(metricsFromRanks([])).toEqual({ hit1: 0, hit5: 0, hit10: 0, ndcg5: 0, ndcg10: 0, mrr: 0 });
  });
});

describe('rankOfTarget', () => {
  it('counts strictly greater scores', () => {
    expect(rankOfTarget([0.9, 0.1, 0.5], 0)).toBe(0);
    expect(rankOfTarget([0.9, 0.1, 0.5], 2)).toBe(1);
    expect(rankOfTarget(new Float32Array([0.9, 0.1, 0.5]), 1)).toBe(2);
  });

  it('counts ties against the target', () => {
    expect(rankOfTarget([1, 1, 1, 1], 0)).toBe(3);
    expect(rankOfTarget([2, 1, 1, 0], 1)).toBe(2);
    expect(rankOfTarget([-Infinity, -Infinity], 1)).toBe(1);
  });

  it('rejects NaN scores and a bad target index', () => {
    expect(() => rankOfTarget([0.1, NaN], 0)).toThrow('score of candidate 1 is NaN');
    expect(() => rankOfTarget([NaN, 1], 0)).toThrow('score of the target (index 0) is NaN');
    expect(() => rankOfTarget([1, 2], 2)).toThrow(/out of range/);
  });
});
