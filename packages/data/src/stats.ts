import type { InteractionDataset } from '@allmrec/core';

/** Summary numbers of a prepared dataset. */
export interface DatasetStats {
  users: number;
  items: number;
  interactions: number;
  sequenceLength: { min: number; median: number; mean: number; max: number };
  /** interactions / (users * items). */
  density: number;
}

/** Users, items, interactions, sequence length min/median/mean/max and density. */
export function datasetStats(dataset: InteractionDataset): DatasetStats {
  const lens: number[] = [];
  let total = 0;
  for (let u = 1; u <= dataset.numUsers; u++) {
    const l = dataset.sequences[u].length;
    lens.push(l);
    total += l;
  }
  lens.sort((a, b) => a - b);
  const n = lens.length;
  const median = n === 0 ? 0 : n % 2 ? lens[(n - 1) / 2] : (lens[n / 2 - 1] + lens[n / 2]) / 2;
  return {
    users: dataset.numUsers,
    items: dataset.numItems,
    interactions: total,
    sequenceLength: { min: n ? lens[0] : 0, median, mean: n ? total / n : 0, max: n ? lens[n - 1] : 0 },
    density: dataset.numUsers && dataset.numItems ? total / (dataset.numUsers * dataset.numItems) : 0,
  };
}
