/**
 * Training pairs for the order-free backbones (BPR, LightGCN, NCF), batched the way RecBole's
 * TrainDataLoader batches them with uniform negative sampling (train_neg_sample_args: uniform,
 * sample_num 1):
 *
 *   - the pairs are every distinct (user, item) of the training histories (a repeated item counts
 *     once: the interaction graph LightGCN propagates over is binary, and the ratings datasets
 *     allmrec reads are de-duplicated when prepared);
 *   - one epoch visits every pair once, in a seeded shuffle (RecBole's shuffle: True);
 *   - batches hold `batchSize` pairs (the last one what is left), each with one negative drawn
 *     uniformly from the items the user never interacted with in training.
 */
import type { Rng } from '@allmrec/core';
import { drawNegative } from './sampler';

/** One batch of training pairs: `users[k]` interacted with `pos[k]`, never with `neg[k]`. */
export interface PairBatch {
  size: number;
  users: Int32Array;
  pos: Int32Array;
  neg: Int32Array;
}

/** Every distinct training (user, item) pair, shuffled per epoch and cut into batches. */
export class PairSampler {
  /** User of each pair, grouped by user (1..numUsers), items in first-seen order. */
  readonly users: Int32Array;
  /** Item of each pair. */
  readonly items: Int32Array;
  /** Distinct training items per user (index = user id; empty for users without training items). */
  readonly itemSets: Set<number>[];
  private order: Int32Array;

  /**
   * @param train training histories by user id (train[0] unused), as in a LeaveOneOutSplit.
   * @param numItems catalogue size; negatives are drawn from 1..numItems.
   * @param batchSize pairs per batch (RecBole's train_batch_size is 2048).
   * @throws Error when an item id is outside 1..numItems, or there is no pair at all.
   */
  constructor(train: ArrayLike<number>[], readonly numItems: number, readonly batchSize: number) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`PairSampler: batchSize must be a positive integer, got ${batchSize}`);
    const users: number[] = [];
    const items: number[] = [];
    this.itemSets = [new Set()];
    for (let u = 1; u < train.length; u++) {
      const set = new Set<number>();
      const h = train[u] ?? [];
      for (let t = 0; t < h.length; t++) {
        const i = h[t];
        if (!Number.isInteger(i) || i < 1 || i > numItems) throw new RangeError(`PairSampler: train[${u}][${t}] = ${i} is outside 1..${numItems}`);
        if (set.has(i)) continue;
        set.add(i);
        users.push(u);
        items.push(i);
      }
      this.itemSets.push(set);
    }
    if (users.length === 0) throw new Error('PairSampler: the split has no training interactions; nothing to train on');
    this.users = Int32Array.from(users);
    this.items = Int32Array.from(items);
    this.order = Int32Array.from({ length: users.length }, (_, k) => k);
  }

  /** Number of distinct training pairs. */
  get numPairs(): number {
    return this.users.length;
  }

  /** Number of users the histories cover (their ids are 1..numUsers). */
  get numUsers(): number {
    return this.itemSets.length - 1;
  }

  /** Batches per epoch: ceil(numPairs / batchSize), as RecBole iterates its last, partial batch too. */
  get stepsPerEpoch(): number {
    return Math.ceil(this.numPairs / this.batchSize);
  }

  /**
   * Starts an epoch: a fresh shuffle of the pairs drawn from `rng` alone (not from the previous
   * epoch's order), so an epoch resumed from a checkpoint sees the same batches.
   */
  shuffle(rng: Rng): void {
    for (let k = 0; k < this.order.length; k++) this.order[k] = k;
    rng.shuffle(this.order);
  }

  /** Batch `step` of the current epoch, with one negative per pair drawn from `rng`. */
  batch(step: number, rng: Rng): PairBatch {
    const start = step * this.batchSize;
    if (!Number.isInteger(step) || step < 0 || start >= this.numPairs) {
      throw new RangeError(`PairSampler: step ${step} is outside 0..${this.stepsPerEpoch - 1}`);
    }
    const size = Math.min(this.batchSize, this.numPairs - start);
    const users = new Int32Array(size);
    const pos = new Int32Array(size);
    const neg = new Int32Array(size);
    for (let k = 0; k < size; k++) {
      const p = this.order[start + k];
      const u = this.users[p];
      users[k] = u;
      pos[k] = this.items[p];
      neg[k] = drawNegative(rng, this.numItems, this.itemSets[u]);
    }
    return { size, users, pos, neg };
  }

  /** Number of distinct training items of each user (index = user id, 0 for user 0). */
  trainCounts(): Int32Array {
    return Int32Array.from(this.itemSets, (s) => s.size);
  }
}
