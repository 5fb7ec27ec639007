import { Rng, type LeaveOneOutSplit } from '@allmrec/core';

/**
 * A random leave-one-out split for tests: each user has 3..maxLen distinct items, except every
 * `shortEvery`-th user, who has 2 (train-only, no targets).
 */
export function syntheticSplit(
  numUsers: number, numItems: number, options: { seed?: number; maxLen?: number; shortEvery?: number } = {},
): LeaveOneOutSplit {
  const { seed = 1, maxLen = 20, shortEvery = 50 } = options;
  const rng = new Rng(seed);
  const train: Int32Array[] = [new Int32Array(0)];
  const valid = new Int32Array(numUsers + 1);
  const test = new Int32Array(numUsers + 1);
  for (let u = 1; u <= numUsers; u++) {
    const len = u % shortEvery === 0 ? 2 : rng.intRange(3, maxLen);
    const items = new Set<number>();
    while (items.size < len) items.add(rng.intRange(1, numItems));
    const seq = Int32Array.from(items);
    if (len < 3) {
      train.push(seq);
      continue;
    }
    train.push(seq.slice(0, len - 2));
    valid[u] = seq[len - 2];
    test[u] = seq[len - 1];
  }
  return { numUsers, numItems, train, valid, test };
}
