/**
 * Evaluation sets (the users, histories and candidate lists of a protocol, fixed by a seed) and
 * scoring them with any model.
 */
import { Rng, type LeaveOneOutSplit, type ProgressListener } from '@allmrec/core';
import { metricsFromRanks, rankOfTarget, type RankMetrics } from './metrics';
import { getProtocol, type Protocol } from './protocols';
import { sampleCandidates } from './sampling';

/**
 * Scores candidates: one score per candidate per user, higher is better. `users` holds the user
 * ids of the batch, for models that look users up by id (e.g. NCF).
 */
export type Scorer = (
  histories: Int32Array[],
  candidates: Int32Array[],
  users: Int32Array,
) => Promise<ArrayLike<number>[]> | ArrayLike<number>[];

/**
 * The users and candidates of one protocol under one seed. Score several models on the same
 * set to compare them on exactly the same users and candidates.
 */
export interface EvalSet {
  protocol: string;
  seed: number;
  /** Evaluated user ids, ascending. */
  users: Int32Array;
  /** histories[i]: what the model sees for users[i]. */
  histories: Int32Array[];
  /** candidates[i]: the target and its negatives for users[i], in a seeded random order. */
  candidates: Int32Array[];
  /** targetIndex[i]: position of the target in candidates[i]. */
  targetIndex: Int32Array;
  /** targets[i]: the target item of users[i]. */
  targets: Int32Array;
}

/** Options of {@link buildEvalSet}. */
export interface EvalSetOptions {
  /** Seed of the user sample and the candidates (default 42). */
  seed?: number;
  /** Evaluate at most this many users, sampled with the seed (default 10,000, as the paper). */
  maxUsers?: number;
  /** Shuffle each candidate list so the target's position carries no information (default true). */
  shuffle?: boolean;
}

/** Result of an evaluation. */
export interface EvalResult {
  protocol: string;
  /** Number of users evaluated. */
  users: number;
  /** Candidates per user (1 + negatives). */
  numCandidates: number;
  metrics: RankMetrics;
  /** Per-user 0-based ranks of the target, when asked for. */
  perUser?: { users: Int32Array; ranks: Int32Array };
}

function resolve(protocol: string | Protocol): Protocol {
  return typeof protocol === 'string' ? getProtocol(protocol) : protocol;
}

/**
 * Builds the evaluation set of `protocol`: samples at most `maxUsers` of the users that have a
 * target, then draws each user's negatives from a generator derived from (seed, protocol, user),
 * so a user's candidates do not depend on which other users were sampled or on batching.
 */
export function buildEvalSet(
  split: LeaveOneOutSplit,
  protocol: string | Protocol,
  options: EvalSetOptions = {},
): EvalSet {
  const p = resolve(protocol);
  const seed = options.seed ?? 42;
  const maxUsers = options.maxUsers ?? 10_000;
  if (!Number.isInteger(maxUsers) || maxUsers < 0) throw new RangeError(`maxUsers must be a non-negative integer, got ${maxUsers}`);

  const eligible: number[] = [];
  for (let u = 1; u <= split.numUsers; u++) if (p.target(split, u) > 0) eligible.push(u);
  let users = Int32Array.from(eligible);
  if (users.length > maxUsers) {
    const rng = new Rng(seed).fork('users');
    for (let i = 0; i < maxUsers; i++) {
      const j = i + rng.int(users.length - i);
      const t = users[i];
      users[i] = users[j];
      users[j] = t;
    }
    users = users.slice(0, maxUsers).sort();
  }

  const n = users.length;
  const set: EvalSet = {
    protocol: p.name,
    seed,
    users,
    histories: new Array(n),
    candidates: new Array(n),
    targetIndex: new Int32Array(n),
    targets: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const u = users[i];
    const target = p.target(split, u);
    const rng = new Rng(seed).fork(`${p.name}:candidates:${u}`);
    let cands: Int32Array;
    try {
      cands = sampleCandidates(rng, { target, numItems: split.numItems, exclude: p.exclude(split, u), count: p.numNegatives });
    } catch (err) {
      throw new Error(`buildEvalSet ${p.name}: user ${u}: ${(err as Error).message}`, { cause: err });
    }
    if (options.shuffle ?? true) rng.shuffle(cands);
    set.histories[i] = p.history(split, u);
    set.candidates[i] = cands;
    set.targets[i] = target;
    set.targetIndex[i] = cands.indexOf(target);
  }
  return set;
}

/** Options of {@link scoreEvalSet}. */
export interface ScoreOptions {
  /** Users per scorer call (default 256). */
  batchSize?: number;
  /** Receives `eval:<protocol>` events in users. */
  onProgress?: ProgressListener;
}

/**
 * Runs `scorer` over the evaluation set in batches and returns one score array per user.
 * @throws Error naming the batch when the scorer returns the wrong number of rows or scores.
 */
export async function scoreEvalSet(evalSet: EvalSet, scorer: Scorer, options: ScoreOptions = {}): Promise<Float32Array[]> {
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const n = evalSet.users.length;
  const task = `eval:${evalSet.protocol}`;
  const out: Float32Array[] = new Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const cands = evalSet.candidates.slice(start, end);
    const rows = await scorer(evalSet.histories.slice(start, end), cands, evalSet.users.slice(start, end));
    if (!rows || rows.length !== end - start) {
      throw new Error(`scorer returned ${rows?.length} score rows for a batch of ${end - start} users (users ${start}..${end - 1})`);
    }
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (!row || row.length !== cands[i].length) {
        throw new Error(`scorer returned ${row?.length} scores for user ${evalSet.users[start + i]}, who has ${cands[i].length} candidates`);
      }
      out[start + i] = row instanceof Float32Array ? row : Float32Array.from(row);
    }
    options.onProgress?.({ task, current: end, total: n, unit: 'user' });
  }
  options.onProgress?.({ task, current: n, total: n, unit: 'user', done: true });
  return out;
}

/**
 * Metrics of given scores on an evaluation set (scores[i] aligned with evalSet.candidates[i]).
 * @throws Error naming the user when a score is NaN or a row has the wrong length.
 */
export function evaluateScores(
  evalSet: EvalSet,
  scores: ArrayLike<number>[],
  options: { perUser?: boolean } = {},
): EvalResult {
  const n = evalSet.users.length;
  if (scores.length !== n) throw new Error(`evaluateScores: ${scores.length} score rows for ${n} users`);
  const ranks = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = scores[i];
    if (!row || row.length !== evalSet.candidates[i].length) {
      throw new Error(`evaluateScores: user ${evalSet.users[i]} has ${evalSet.candidates[i].length} candidates but ${row?.length} scores`);
    }
    try {
      ranks[i] = rankOfTarget(row, evalSet.targetIndex[i]);
    } catch (err) {
      throw new Error(`evaluateScores: user ${evalSet.users[i]}: ${(err as Error).message}`, { cause: err });
    }
  }
  const result: EvalResult = {
    protocol: evalSet.protocol,
    users: n,
    numCandidates: n ? evalSet.candidates[0].length : 0,
    metrics: metricsFromRanks(ranks),
  };
  if (options.perUser) result.perUser = { users: evalSet.users.slice(), ranks };
  return result;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions extends EvalSetOptions, ScoreOptions {
  /** Include per-user ranks in the result. */
  perUser?: boolean;
}

/** Builds the evaluation set of `protocol`, scores it with `scorer` and returns the metrics. */
export async function evaluate(
  split: LeaveOneOutSplit,
  protocol: string | Protocol,
  scorer: Scorer,
  options: EvaluateOptions = {},
): Promise<EvalResult> {
  const set = buildEvalSet(split, protocol, options);
  const scores = await scoreEvalSet(set, scorer, options);
  return evaluateScores(set, scores, options);
}
