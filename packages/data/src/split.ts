import type { InteractionDataset, LeaveOneOutSplit } from '@allmrec/core';

/**
 * Leave-one-out split: per user, last item = test target, second-to-last = validation target,
 * the rest = training sequence. Users with fewer than 3 items keep all items for training and get
 * 0 (no target) for validation and test.
 */
export function leaveOneOut(dataset: InteractionDataset): LeaveOneOutSplit {
  const n = dataset.numUsers;
  const train: Int32Array[] = [new Int32Array(0)];
  const valid = new Int32Array(n + 1);
  const test = new Int32Array(n + 1);
  for (let u = 1; u <= n; u++) {
    const s = dataset.sequences[u];
    if (s.length < 3) {
      train.push(s.slice());
      continue;
    }
    train.push(s.slice(0, s.length - 2));
    valid[u] = s[s.length - 2];
    test[u] = s[s.length - 1];
  }
  return { numUsers: n, numItems: dataset.numItems, train, valid, test };
}
