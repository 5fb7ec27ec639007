import type { Rng } from '@allmrec/core';

/** One training batch of a sequential model: left-padded input sequences with next-item targets and negatives. */
export interface SequenceBatch {
  batchSize: number;
  maxLen: number;
  /** Input items [batchSize * maxLen], 0 = padding, oldest left. */
  seq: Int32Array;
  /** Next item at each position (0 where there is none). */
  pos: Int32Array;
  /** One sampled item the user never interacted with, where pos != 0. */
  neg: Int32Array;
}

/**
 * Samples training batches the way the reference SASRec does: users drawn uniformly with
 * replacement from those with at least two training items; for each, the last `maxLen + 1`
 * training items give inputs (all but the last) and next-item targets (all but the first); one
 * negative per position is drawn uniformly from items outside the user's training set.
 */
export class SequenceSampler {
  private readonly users: number[];
  private readonly itemSets: (Set<number> | undefined)[];

  constructor(
    private readonly train: Int32Array[],
    private readonly numItems: number,
    private readonly maxLen: number,
  ) {
    this.users = [];
    this.itemSets = new Array(train.length);
    for (let u = 0; u < train.length; u++) if (train[u] && train[u].length > 1) this.users.push(u);
    if (this.users.length === 0) throw new Error('no user has two or more training items; nothing to train on');
  }

  /** Users that can be sampled. */
  get numUsers(): number {
    return this.users.length;
  }

  /** Draws one batch with `rng`. */
  sample(rng: Rng, batchSize: number): SequenceBatch {
    const L = this.maxLen;
    const seq = new Int32Array(batchSize * L);
    const pos = new Int32Array(batchSize * L);
    const neg = new Int32Array(batchSize * L);
    for (let b = 0; b < batchSize; b++) {
      const u = this.users[rng.int(this.users.length)];
      this.fillRow(u, this.train[u].length - 1, rng, L, seq, pos, neg, b * L);
    }
    return { batchSize, maxLen: L, seq, pos, neg };
  }

  /** The users {@link sample} draws from (at least two training items), ascending. */
  get trainableUsers(): readonly number[] {
    return this.users;
  }

  /**
   * The training windows of every trainable user, as rows for {@link batchOf}: a row (u, e) has
   * inputs items[e − maxLen .. e − 1] and targets items[e − maxLen + 1 .. e] (fewer at the start).
   * 'last' gives one row per user, its last maxLen + 1 items (what {@link sample} builds); 'all'
   * cuts the whole training sequence into windows that overlap by one item, so that every training
   * item after the first is a target exactly once (its prefix then starts at its window's start).
   */
  windows(which: 'last' | 'all'): { users: Int32Array; ends: Int32Array } {
    const users: number[] = [];
    const ends: number[] = [];
    for (const u of this.users) {
      const last = this.train[u].length - 1;
      for (let e = last; e >= 1; e -= this.maxLen) {
        users.push(u);
        ends.push(e);
        if (which === 'last') break;
      }
    }
    return { users: Int32Array.from(users), ends: Int32Array.from(ends) };
  }

  /**
   * A batch of exactly these rows: user `users[b]`'s window ending at training item `ends[b]`
   * (default: the last item, the row {@link sample} builds). With `trim` the rows are as long as
   * the longest window's input (at most maxLen) instead of maxLen: only leading all-padding
   * columns are dropped, which changes nothing for a model whose padded positions contribute
   * nothing (GRU4Rec, NextItNet) and saves their time on short sequences. Without `negatives` (a
   * loss over the whole catalogue needs none) `neg` stays 0 and nothing is drawn from `rng`.
   */
  batchOf(users: ArrayLike<number>, rng: Rng, options: { ends?: ArrayLike<number>; trim?: boolean; negatives?: boolean } = {}): SequenceBatch {
    const B = users.length;
    const endOf = (b: number) => options.ends?.[b] ?? (this.train[users[b]]?.length ?? 0) - 1;
    for (let b = 0; b < B; b++) {
      const n = this.train[users[b]]?.length ?? 0;
      const e = endOf(b);
      if (!(Number.isInteger(e) && e >= 1 && e < n)) throw new Error(`user ${users[b]}: no training window ends at item ${e} (the user has ${n} training items)`);
    }
    let L = this.maxLen;
    if (options.trim) {
      let longest = 1;
      for (let b = 0; b < B; b++) longest = Math.max(longest, endOf(b));
      L = Math.min(L, longest);
    }
    const seq = new Int32Array(B * L);
    const pos = new Int32Array(B * L);
    const neg = new Int32Array(B * L);
    const negatives = options.negatives ?? true;
    for (let b = 0; b < B; b++) this.fillRow(users[b], endOf(b), rng, L, seq, pos, negatives ? neg : undefined, b * L);
    return { batchSize: B, maxLen: L, seq, pos, neg };
  }

  /** Row `base..base+L` of a batch: user u's training items up to index `end`, right-aligned. */
  private fillRow(u: number, end: number, rng: Rng, L: number, seq: Int32Array, pos: Int32Array, neg: Int32Array | undefined, base: number): void {
    const items = this.train[u];
    const set = neg ? this.itemSet(u) : undefined;
    // Walk backwards from the window's last item, as the reference sampler does from the last.
    let nxt = items[end];
    let idx = L - 1;
    for (let j = end - 1; j >= 0 && idx >= 0; j--, idx--) {
      seq[base + idx] = items[j];
      pos[base + idx] = nxt;
      if (neg) neg[base + idx] = drawNegative(rng, this.numItems, set!);
      nxt = items[j];
    }
  }

  private itemSet(u: number): Set<number> {
    let s = this.itemSets[u];
    if (!s) {
      s = new Set(this.train[u]);
      this.itemSets[u] = s;
    }
    return s;
  }
}

/**
 * One negative item: drawn uniformly from 1..numItems until it is not in `exclude` (the user's
 * training items), as the reference SASRec sampler and RecBole's uniform sampler do. Every
 * sampler in this package draws its negatives here.
 * @throws Error when `exclude` covers the whole catalogue (no negative exists).
 */
export function drawNegative(rng: Rng, numItems: number, exclude: Set<number>): number {
  if (exclude.size >= numItems) throw new Error('a user interacted with every item; no negative exists');
  for (;;) {
    const t = 1 + rng.int(numItems);
    if (!exclude.has(t)) return t;
  }
}

/** The last `maxLen` items of a history, left-padded with 0, written into `out` at `offset`. */
export function padHistory(history: ArrayLike<number>, maxLen: number, out: Int32Array, offset: number): void {
  const n = Math.min(history.length, maxLen);
  const start = history.length - n;
  for (let i = 0; i < n; i++) out[offset + maxLen - n + i] = history[start + i];
}
