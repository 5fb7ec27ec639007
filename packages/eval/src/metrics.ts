/**
 * Ranking metrics on the 0-based rank of the target among the candidates.
 */

/** Aggregate metrics over users (means of the per-user values). */
export interface RankMetrics {
  hit1: number;
  hit5: number;
  hit10: number;
  ndcg5: number;
  ndcg10: number;
  mrr: number;
}

function checkRank(rank: number): void {
  if (!Number.isInteger(rank) || rank < 0) throw new RangeError(`rank must be a non-negative integer, got ${rank}`);
}

/** 1 when the target is among the top `k` (rank < k), else 0. */
export function hitAtK(rank: number, k: number): number {
  checkRank(rank);
  return rank < k ? 1 : 0;
}

/** NDCG@k with a single relevant item: 1 / log2(rank + 2) when rank < k, else 0. */
export function ndcgAtK(rank: number, k: number): number {
  checkRank(rank);
  return rank < k ? 1 / Math.log2(rank + 2) : 0;
}

/** Reciprocal rank of one user: 1 / (rank + 1). */
export function reciprocalRank(rank: number): number {
  checkRank(rank);
  return 1 / (rank + 1);
}

/** Mean reciprocal rank over users' ranks (0 for no users). */
export function mrr(ranks: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < ranks.length; i++) s += reciprocalRank(ranks[i]);
  return ranks.length ? s / ranks.length : 0;
}

/**
 * Rank of the target: the number of other candidates with a strictly greater score plus the
 * number of other candidates with an equal score. Ties count against the target, so a scorer
 * that gives every candidate the same score gets the worst rank, never a hit.
 * @throws Error when any score is NaN or `targetIndex` is out of range.
 */
export function rankOfTarget(scores: ArrayLike<number>, targetIndex: number): number {
  if (!Number.isInteger(targetIndex) || targetIndex < 0 || targetIndex >= scores.length) {
    throw new RangeError(`targetIndex ${targetIndex} is out of range for ${scores.length} scores`);
  }
  const t = scores[targetIndex];
  if (Number.isNaN(t)) throw new Error(`score of the target (index ${targetIndex}) is NaN`);
  let rank = 0;
  for (let i = 0; i < scores.length; i++) {
    if (i === targetIndex) continue;
    const s = scores[i];
    if (Number.isNaN(s)) throw new Error(`score of candidate ${i} is NaN`);
    if (s >= t) rank++;
  }
  return rank;
}

/** Mean Hit@1/5/10, NDCG@5/10 and MRR over per-user ranks (all 0 for no users). */
export function metricsFromRanks(ranks: ArrayLike<number>): RankMetrics {
  const m: RankMetrics = { hit1: 0, hit5: 0, hit10: 0, ndcg5: 0, ndcg10: 0, mrr: 0 };
  const n = ranks.length;
  if (n === 0) return m;
  for (let i = 0; i < n; i++) {
    const r = ranks[i];
    m.hit1 += hitAtK(r, 1);
    m.hit5 += hitAtK(r, 5);
    m.hit10 += hitAtK(r, 10);
    m.ndcg5 += ndcgAtK(r, 5);
    m.ndcg10 += ndcgAtK(r, 10);
    m.mrr += reciprocalRank(r);
  }
  for (const k of Object.keys(m) as (keyof RankMetrics)[]) m[k] /= n;
  return m;
}
