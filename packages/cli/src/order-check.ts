import type { InteractionDataset, SequenceOrder } from '@allmrec/core';
import { createBackbone, type CFBackbone } from '@allmrec/cf-backbones';
import { UsageError } from './args';

/** The order-free backbones (they ignore the order of a history) named when a sequential one is refused. */
export const ORDER_FREE_BACKBONES = ['pop', 'bpr', 'lightgcn', 'ncf'] as const;

/** What the command line said about a dataset's order (see {@link assertOrderFits}). */
export interface OrderCheckOptions {
  /** `--order file`: the user vouches that the file's row order is chronological. */
  acceptFileOrder?: boolean;
  /** Where the data came from (a path), named in the refusal; default: the dataset's name. */
  source?: string;
}

/** Options recorded per dataset object by {@link rememberOrderOptions}. */
const recorded = new WeakMap<InteractionDataset, OrderCheckOptions>();

/**
 * Records the command line's order options for `dataset` (called by `datasetFromOptions`), so
 * that {@link assertOrderFits} called without options (as `trainBackbone` does) honours them.
 */
export function rememberOrderOptions(dataset: InteractionDataset, options: OrderCheckOptions): void {
  recorded.set(dataset, options);
}

/** The options recorded for `dataset` by {@link rememberOrderOptions} (none: empty). */
export function orderOptionsOf(dataset: InteractionDataset): OrderCheckOptions {
  return recorded.get(dataset) ?? {};
}

/**
 * Refuses (with a {@link UsageError}) to train a sequential backbone (`usesOrder !== false`) on a
 * dataset whose `order` is 'file': without timestamps its sequences follow the file's row order,
 * which usually means nothing, and a model reading the order of each history would learn from
 * it. `--order file` (options.acceptFileOrder) accepts it knowingly. Order-free backbones
 * (`usesOrder === false`) and datasets ordered by 'time' or 'sequence' always pass. Without
 * `options`, those recorded for the dataset by `datasetFromOptions` are used. On refusal the
 * backbone is left as it is (the caller disposes it).
 */
export function assertOrderFits(
  dataset: InteractionDataset,
  backbone: Pick<CFBackbone, 'name' | 'usesOrder'>,
  options: OrderCheckOptions = orderOptionsOf(dataset),
): void {
  if (backbone.usesOrder === false || dataset.order !== 'file' || options.acceptFileOrder) return;
  const where = options.source ?? `the dataset "${dataset.name}"`;
  throw new UsageError(
    `backbone "${backbone.name}" reads the order of each history, but ${where} has no timestamps (sequences would follow file order). ` +
      `Use an order-free backbone (${ORDER_FREE_BACKBONES.join(', ')}) or pass --order file if the file's order is chronological.`,
  );
}

/**
 * {@link assertOrderFits} for the backbone registered as `name`, before any work: a one-item
 * instance is created to read its `usesOrder`, then disposed. Commands that do other work
 * before training the backbone (`allmrec train` pretrains the LM first) call it up front.
 */
export function assertOrderFitsBackbone(dataset: InteractionDataset, name: string, options: OrderCheckOptions = orderOptionsOf(dataset)): void {
  const probe = createBackbone(name, 1);
  try {
    assertOrderFits(dataset, probe, options);
  } finally {
    probe.dispose();
  }
}

/** One line saying what a dataset's order rests on, for `allmrec data stats` and `data prepare`. */
export function describeOrder(order: SequenceOrder): string {
  switch (order) {
    case 'time':
      return 'time (sorted by timestamps)';
    case 'sequence':
      return "sequence (the source's explicit sequences; no timestamps)";
    case 'file':
      return 'file (no timestamps: sequences follow file order; sequential backbones need --order file)';
  }
}
