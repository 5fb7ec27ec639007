import type { Rng } from '@allmrec/core';

/** One SASRec training batch: left-padded input sequences with next-item targets and negatives. */
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
      const items = this.train[u];
      const set = this.itemSet(u);
      const base = b * L;
      // Walk backwards from the last training item, as the reference sampler does.
      let nxt = items[items.length - 1];
      let idx = L - 1;
      for (let j = items.length - 2; j >= 0 && idx >= 0; j--, idx--) {
        seq[base + idx] = items[j];
        pos[base + idx] = nxt;
        neg[base + idx] = drawNegative(rng, this.numItems, set);
        nxt = items[j];
      }
    }
    return { batchSize, maxLen: L, seq, pos, neg };
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
