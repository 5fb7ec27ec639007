import type { LeaveOneOutSplit } from '@allmrec/core';
import { evaluateFullRanking, fullRankOfTarget, fullRankingMetrics } from './full-ranking';

// 3 users, 6 items. Histories: u1 train [1,2] valid 3 test 4; u2 train [5] valid 6 test 1; u3 train [2,3] valid 0 (not evaluated).
const split: LeaveOneOutSplit = {
  numUsers: 3, numItems: 6,
  train: [new Int32Array(0), Int32Array.from([1, 2]), Int32Array.from([5]), Int32Array.from([2, 3])],
  valid: Int32Array.from([0, 3, 6, 0]),
  test: Int32Array.from([0, 4, 1, 0]),
};
// Score of item i is the same for every user: item 6 best ... item 1 worst.
const fixed = [0, 1, 2, 3, 4, 5, 6];
const scorer = (h: Int32Array[]) => Float32Array.from(h.flatMap(() => fixed));

describe('full-ranking evaluation', () => {
  test('ranks the target among all items outside the history (hand-computed)', async () => {
    const r = await evaluateFullRanking(split, scorer, { target: 'test', ks: [1, 2], perUser: true });
    // u1: history {1,2,3}, target 4; items scoring >= 4 outside history: 5, 6 -> rank 2.
    // u2: history {5,6}, target 1; items above: 2, 3, 4 -> rank 3.
    expect(Array.from(r.perUser!.users)).toEqual([1, 2]);
    expect(Array.from(r.perUser!.ranks)).toEqual([2, 3]);
    expect(r.metrics).toEqual({ hr1: 0, ndcg1: 0, mrr1: 0, hr2: 0, ndcg2: 0, mrr2: 0 });
    const v = await evaluateFullRanking(split, scorer, { target: 'valid', ks: [3], perUser: true });
    // u1: history {1,2}, target 3: above are 4,5,6 -> rank 3. u2: history {5}, target 6 -> rank 0.
    expect(Array.from(v.perUser!.ranks)).toEqual([3, 0]);
    expect(v.metrics.hr3).toBeCloseTo(0.5);
    expect(v.metrics.ndcg3).toBeCloseTo(0.5);
    expect(v.metrics.mrr3).toBeCloseTo(0.5);
    expect(v.protocol).toBe('full-valid');
  });

  test('metrics at k: hr, ndcg and mrr by hand', () => {
    const m = fullRankingMetrics([0, 1, 9, 10], [10]);
    expect(m.hr10).toBeCloseTo(3 / 4);
    expect(m.ndcg10).toBeCloseTo((1 + 1 / Math.log2(3) + 1 / Math.log2(11)) / 4);
    expect(m.mrr10).toBeCloseTo((1 + 1 / 2 + 1 / 10) / 4);
  });

  test('ties count against the target; a constant scorer never hits', async () => {
    const flat = (h: Int32Array[]) => new Float32Array(h.length * 7).fill(1);
    // u1 has 2 other candidates (5, 6), u2 has 3 (2, 3, 4): with ties against the target the
    // ranks are 2 and 3, so nothing is in the top 2 (an optimistic tie rule would give rank 0).
    const r = await evaluateFullRanking(split, flat, { ks: [2], perUser: true });
    expect(Array.from(r.perUser!.ranks)).toEqual([2, 3]);
    expect(r.metrics.hr2).toBe(0);
    const ex = new Uint8Array(7);
    expect(fullRankOfTarget(new Float32Array(7).fill(1), 0, 6, 3, ex)).toBe(5);
  });

  test('errors name the batch or the user', async () => {
    await expect(evaluateFullRanking(split, () => new Float32Array(3))).rejects.toThrow(/returned 3 scores for 2 users x 7 items/);
    const nan = (h: Int32Array[]) => Float32Array.from(h.flatMap(() => [0, 1, 2, 3, NaN, 5, 6]));
    await expect(evaluateFullRanking(split, nan)).rejects.toThrow(/user 1: score of the target item 4 is NaN/);
    await expect(evaluateFullRanking(split, scorer, { target: 'train' as never })).rejects.toThrow(/"test" or "valid"/);
  });

  test('maxUsers samples users with the seed, the same way each time', async () => {
    const a = await evaluateFullRanking(split, scorer, { maxUsers: 1, seed: 3, perUser: true });
    const b = await evaluateFullRanking(split, scorer, { maxUsers: 1, seed: 3, perUser: true });
    expect(a.users).toBe(1);
    expect(Array.from(a.perUser!.users)).toEqual(Array.from(b.perUser!.users));
  });
});
