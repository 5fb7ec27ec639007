/**
 * Seeded negative sampling for the candidate-ranking protocols.
 */
import type { Rng } from '@allmrec/core';

/** A set of item ids: a Set or an ascending-sorted Int32Array. */
export type ItemSet = ReadonlySet<number> | Int32Array;

/** Options of {@link sampleCandidates}. */
export interface SampleCandidatesOptions {
  /** The positive item (1..numItems). */
  target: number;
  /** Items are 1..numItems (0 is padding and never sampled). */
  numItems: number;
  /** Items that must not be negatives (e.g. everything the user interacted with). */
  exclude: ItemSet;
  /** Number of negatives. */
  count: number;
}

function hasItem(set: ItemSet, item: number): boolean {
  if (!(set instanceof Int32Array)) return set.has(item);
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = set[mid];
    if (v === item) return true;
    if (v < item) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Number of distinct items of `set` in 1..numItems. */
function countInRange(set: ItemSet, numItems: number): number {
  let n = 0;
  let prev = NaN;
  for (const v of set) {
    if (v >= 1 && v <= numItems && v !== prev) n++;
    if (set instanceof Int32Array) prev = v;
  }
  return n;
}

/**
 * Draws `count` distinct negatives uniformly from the items 1..numItems that are neither the
 * target nor in `exclude`, and returns `[target, ...negatives]`. Deterministic for a given `rng`
 * state. Uses rejection sampling, switching to an exact draw from the list of allowed items when
 * most items are excluded.
 * @throws Error when fewer than `count` items are allowed.
 */
export function sampleCandidates(rng: Rng, options: SampleCandidatesOptions): Int32Array {
  const { target, numItems, exclude, count } = options;
  if (!Number.isInteger(numItems) || numItems < 1) throw new RangeError(`numItems must be a positive integer, got ${numItems}`);
  if (!Number.isInteger(target) || target < 1 || target > numItems) {
    throw new RangeError(`target ${target} is not an item id in 1..${numItems}`);
  }
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  if (exclude instanceof Int32Array) {
    for (let i = 1; i < exclude.length; i++) {
      if (exclude[i] < exclude[i - 1]) throw new Error('sampleCandidates: exclude Int32Array must be sorted ascending');
    }
  }
  const excluded = countInRange(exclude, numItems) + (hasItem(exclude, target) ? 0 : 1);
  const available = numItems - excluded;
  if (available < count) {
    throw new Error(`sampleCandidates: cannot draw ${count} negatives for target ${target}: only ${available} of ${numItems} items are allowed`);
  }
  const out = new Int32Array(count + 1);
  out[0] = target;
  const chosen = new Set<number>();
  // Rejection sampling is cheap while allowed items are plentiful; bound the attempts.
  if (available >= 2 * count) {
    let tries = 0;
    const maxTries = 64 * (count + 1);
    while (chosen.size < count && tries < maxTries) {
      tries++;
      const item = 1 + rng.int(numItems);
      if (item === target || chosen.has(item) || hasItem(exclude, item)) continue;
      chosen.add(item);
      out[chosen.size] = item;
    }
    if (chosen.size === count) return out;
  }
  // Exact fallback: partial Fisher-Yates over the allowed items not chosen yet.
  const pool: number[] = [];
  for (let item = 1; item <= numItems; item++) {
    if (item !== target && !chosen.has(item) && !hasItem(exclude, item)) pool.push(item);
  }
  for (let i = chosen.size; i < count; i++) {
    const j = (i - chosen.size) + rng.int(pool.length - (i - chosen.size));
    const k = i - chosen.size;
    const t = pool[k];
    pool[k] = pool[j];
    pool[j] = t;
    out[i + 1] = pool[k];
  }
  return out;
}
