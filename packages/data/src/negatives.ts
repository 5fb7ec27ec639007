import type { Rng } from '@allmrec/core';

function makeMembership(numItems: number, exclude: ReadonlySet<number> | ArrayLike<number>): { has: (i: number) => boolean; size: number } {
  if (exclude instanceof Set || (typeof (exclude as ReadonlySet<number>).has === 'function' && !('length' in exclude))) {
    const set = exclude as ReadonlySet<number>;
    let size = 0;
    for (const v of set) if (Number.isInteger(v) && v >= 1 && v <= numItems) size++;
    return { has: (i) => set.has(i), size };
  }
  const arr = exclude as ArrayLike<number>;
  let sorted = true;
  for (let k = 1; k < arr.length; k++) if (arr[k] < arr[k - 1]) { sorted = false; break; }
  if (!sorted) return makeMembership(numItems, new Set(Array.from(arr)));
  let size = 0;
  for (let k = 0; k < arr.length; k++) {
    const v = arr[k];
    if (Number.isInteger(v) && v >= 1 && v <= numItems && (k === 0 || v !== arr[k - 1])) size++;
  }
  const has = (i: number) => {
    let lo = 0;
    let hi = arr.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = arr[mid];
      if (v === i) return true;
      if (v < i) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  };
  return { has, size };
}

/**
 * Draws `count` distinct negative items from 1..numItems, never 0 and never an item in
 * `exclude` (the user's items, as a Set or an ascending array; unsorted arrays are accepted and
 * converted). Without replacement within one call. Throws a RangeError when fewer than `count`
 * candidates exist. Uses rejection sampling when candidates are plentiful, otherwise a partial
 * Fisher-Yates shuffle of the candidate list; deterministic for a given Rng state.
 */
export function sampleNegatives(
  rng: Rng,
  numItems: number,
  exclude: ReadonlySet<number> | ArrayLike<number>,
  count: number,
): Int32Array {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`sampleNegatives: count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(numItems) || numItems < 0) throw new RangeError(`sampleNegatives: bad numItems ${numItems}`);
  const m = makeMembership(numItems, exclude);
  const available = numItems - m.size;
  if (count > available) {
    throw new RangeError(`sampleNegatives: cannot draw ${count} negatives: only ${available} of ${numItems} items are not excluded`);
  }
  const out = new Int32Array(count);
  if (count === 0) return out;
  if (count * 4 <= available) {
    const chosen = new Set<number>();
    let k = 0;
    while (k < count) {
      const i = 1 + rng.int(numItems);
      if (m.has(i) || chosen.has(i)) continue;
      chosen.add(i);
      out[k++] = i;
    }
    return out;
  }
  const pool = new Int32Array(available);
  let p = 0;
  for (let i = 1; i <= numItems; i++) if (!m.has(i)) pool[p++] = i;
  for (let k = 0; k < count; k++) {
    const j = k + rng.int(available - k);
    const t = pool[k];
    pool[k] = pool[j];
    pool[j] = t;
    out[k] = pool[k];
  }
  return out;
}
