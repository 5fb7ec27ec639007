/**
 * Full-ranking evaluation, the protocol RecBole and most current papers use: every item is a
 * candidate except those already in the user's history, and the target's rank among them gives
 * HR@k, NDCG@k and MRR@k. No sampling, so two models are always ranked over identical candidates.
 */
import { Rng, type LeaveOneOutSplit, type ProgressListener } from '@allmrec/core';

/**
 * Scores every item for a batch of users: one row-major array [histories.length, numItems + 1],
 * column i = item i (column 0, padding, is ignored). `users` holds the users' ids.
 */
export type FullScorer = (histories: Int32Array[], users: Int32Array) => Promise<ArrayLike<number>> | ArrayLike<number>;

/** Metrics at the cut-offs asked for: hr@k, ndcg@k, mrr@k keyed like `hr10`, `ndcg20`, `mrr10`. */
export type FullRankingMetrics = Record<string, number>;

/** Options of {@link evaluateFullRanking}. */
export interface FullRankingOptions {
  /**
   * 'test' (default): history = train + valid, target = test item, train and valid items excluded.
   * 'valid': history = train, target = valid item, train items excluded.
   */
  target?: 'test' | 'valid';
  /** Cut-offs (default [10, 20]). */
  ks?: number[];
  /** Users per scorer call (default 256). */
  batchSize?: number;
  /** Evaluate at most this many users, sampled with `seed` (default: all). */
  maxUsers?: number;
  /** Seed of the user sample when `maxUsers` applies (default 42). */
  seed?: number;
  /** Also return every user's 0-based rank. */
  perUser?: boolean;
  /** Receives `eval:full-<target>` events in users. */
  onProgress?: ProgressListener;
}

/** Result of {@link evaluateFullRanking}. */
export interface FullRankingResult {
  protocol: string;
  /** Users evaluated. */
  users: number;
  /** Items in the catalogue. */
  numItems: number;
  metrics: FullRankingMetrics;
  perUser?: { users: Int32Array; ranks: Int32Array };
}

/**
 * Rank of `target` among all items 1..numItems not in `excluded`: the number of such items scoring
 * strictly higher plus those scoring equal (ties count against the target, as in the sampled
 * protocols, so a constant scorer never scores). The target is a candidate even when it also
 * appears in the history (a repeat consumption).
 * @throws Error when a score that matters is NaN.
 */
export function fullRankOfTarget(row: ArrayLike<number>, offset: number, numItems: number, target: number, excluded: Uint8Array): number {
  const t = row[offset + target];
  if (Number.isNaN(t)) throw new Error(`score of the target item ${target} is NaN`);
  let rank = 0;
  for (let i = 1; i <= numItems; i++) {
    if (i === target || excluded[i]) continue;
    const s = row[offset + i];
    if (s >= t) rank++;
    else if (Number.isNaN(s)) throw new Error(`score of item ${i} is NaN`);
  }
  return rank;
}

/** Metrics of 0-based ranks at cut-offs `ks`: hr@k, ndcg@k (one relevant item) and mrr@k. */
export function fullRankingMetrics(ranks: ArrayLike<number>, ks: number[] = [10, 20]): FullRankingMetrics {
  const out: FullRankingMetrics = {};
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`cut-off k must be a positive integer, got ${k}`);
    let hr = 0;
    let ndcg = 0;
    let mrr = 0;
    for (let i = 0; i < ranks.length; i++) {
      const r = ranks[i];
      if (r < k) {
        hr += 1;
        ndcg += 1 / Math.log2(r + 2);
        mrr += 1 / (r + 1);
      }
    }
    const n = Math.max(ranks.length, 1);
    out[`hr${k}`] = hr / n;
    out[`ndcg${k}`] = ndcg / n;
    out[`mrr${k}`] = mrr / n;
  }
  return out;
}

/**
 * Ranks each evaluated user's target against the whole catalogue with `scorer`, in batches.
 * @throws Error naming the batch when the scorer returns the wrong number of scores.
 */
export async function evaluateFullRanking(
  split: LeaveOneOutSplit, scorer: FullScorer, options: FullRankingOptions = {},
): Promise<FullRankingResult> {
  const which = options.target ?? 'test';
  if (which !== 'test' && which !== 'valid') throw new Error(`evaluateFullRanking: target must be "test" or "valid", got ${JSON.stringify(which)}`);
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const protocol = `full-${which}`;
  const { numItems } = split;
  const eligible: number[] = [];
  for (let u = 1; u <= split.numUsers; u++) {
    if (which === 'test' ? split.valid[u] > 0 && split.test[u] > 0 : split.valid[u] > 0) eligible.push(u);
  }
  let users = Int32Array.from(eligible);
  if (options.maxUsers !== undefined && users.length > options.maxUsers) {
    if (!Number.isInteger(options.maxUsers) || options.maxUsers < 0) throw new RangeError(`maxUsers must be a non-negative integer, got ${options.maxUsers}`);
    const rng = new Rng(options.seed ?? 42).fork('users');
    rng.shuffle(users);
    users = users.slice(0, options.maxUsers).sort();
  }
  const n = users.length;
  const ranks = new Int32Array(n);
  const excluded = new Uint8Array(numItems + 1);
  const task = `eval:${protocol}`;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const batchUsers = users.slice(start, end);
    const histories = Array.from(batchUsers, (u) => {
      const train = split.train[u] ?? new Int32Array(0);
      if (which === 'valid') return train;
      const h = new Int32Array(train.length + 1);
      h.set(train);
      h[train.length] = split.valid[u];
      return h;
    });
    const scores = await scorer(histories, batchUsers);
    const width = numItems + 1;
    if (!scores || scores.length !== (end - start) * width) {
      throw new Error(`full scorer returned ${scores?.length} scores for ${end - start} users x ${width} items (users ${batchUsers[0]}..${batchUsers[end - start - 1]}); expected [users, numItems + 1]`);
    }
    for (let b = 0; b < end - start; b++) {
      const h = histories[b];
      for (let i = 0; i < h.length; i++) excluded[h[i]] = 1;
      const target = which === 'test' ? split.test[batchUsers[b]] : split.valid[batchUsers[b]];
      try {
        ranks[start + b] = fullRankOfTarget(scores, b * width, numItems, target, excluded);
      } catch (err) {
        throw new Error(`evaluateFullRanking: user ${batchUsers[b]}: ${(err as Error).message}`, { cause: err });
      } finally {
        for (let i = 0; i < h.length; i++) excluded[h[i]] = 0;
      }
    }
    options.onProgress?.({ task, current: end, total: n, unit: 'user' });
  }
  options.onProgress?.({ task, current: n, total: n, unit: 'user', done: true });
  const result: FullRankingResult = { protocol, users: n, numItems, metrics: fullRankingMetrics(ranks, options.ks) };
  if (options.perUser) result.perUser = { users, ranks };
  return result;
}
