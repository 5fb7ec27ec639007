/**
 * Evaluation protocols: which users are evaluated, what history the model sees, the target, and
 * how many negatives are sampled (and from where). Protocols are registered by name so new ones
 * (cold items, cold users, few-shot) plug in the same way as the built-ins.
 */
import type { LeaveOneOutSplit } from '@allmrec/core';
import type { RankMetrics } from './metrics';
import type { ItemSet } from './sampling';

/** A candidate-ranking protocol over a leave-one-out split. */
export interface Protocol {
  /** Registry name, e.g. "test-20". */
  name: string;
  /** One line for reports. */
  description: string;
  /** Negatives per user; candidates = 1 target + this many. */
  numNegatives: number;
  /** The metric a report leads with. */
  mainMetric: keyof RankMetrics;
  /** Target item of `user`, or 0 when the user is not evaluated under this protocol. */
  target(split: LeaveOneOutSplit, user: number): number;
  /** The history the model sees for `user` (time order). */
  history(split: LeaveOneOutSplit, user: number): Int32Array;
  /** Items that may not be negatives for `user` (the target is always excluded too). */
  exclude(split: LeaveOneOutSplit, user: number): ItemSet;
}

/** Every item `user` interacted with (train + valid + test), sorted ascending. */
export function interactedItems(split: LeaveOneOutSplit, user: number): Int32Array {
  const train = split.train[user] ?? new Int32Array(0);
  const out = new Int32Array(train.length + 2);
  out.set(train);
  let n = train.length;
  if (split.valid[user] > 0) out[n++] = split.valid[user];
  if (split.test[user] > 0) out[n++] = split.test[user];
  return out.subarray(0, n).sort();
}

function withItem(seq: Int32Array | undefined, item: number): Int32Array {
  const base = seq ?? new Int32Array(0);
  const out = new Int32Array(base.length + 1);
  out.set(base);
  out[base.length] = item;
  return out;
}

/**
 * The paper's test protocol: history = training items + validation item, target = test item,
 * 19 negatives the user never interacted with (train, valid and test excluded); Hit@1 leads.
 */
export const TEST_20: Protocol = {
  name: 'test-20',
  description: 'A-LLMRec test: train+valid history, test target, 1 positive + 19 never-interacted negatives',
  numNegatives: 19,
  mainMetric: 'hit1',
  target: (split, u) => (split.valid[u] > 0 ? split.test[u] : 0),
  history: (split, u) => withItem(split.train[u], split.valid[u]),
  exclude: interactedItems,
};

/**
 * SASRec's validation protocol: history = training items, target = validation item, 100
 * negatives the user never interacted with (the whole sequence is excluded, a stricter choice
 * than SASRec's code, which only excludes training items); HR@10 and NDCG@10.
 */
export const VALID_101: Protocol = {
  name: 'valid-101',
  description: 'SASRec validation: train history, valid target, 1 positive + 100 never-interacted negatives',
  numNegatives: 100,
  mainMetric: 'hit10',
  target: (split, u) => split.valid[u],
  history: (split, u) => split.train[u] ?? new Int32Array(0),
  exclude: interactedItems,
};

const registry = new Map<string, Protocol>();

/**
 * Adds a protocol to the registry.
 * @throws Error when the name is taken, unless `replace` is true.
 */
export function registerProtocol(protocol: Protocol, options: { replace?: boolean } = {}): void {
  if (!protocol.name) throw new Error('registerProtocol: protocol needs a name');
  if (registry.has(protocol.name) && !options.replace) {
    throw new Error(`registerProtocol: protocol "${protocol.name}" is already registered (pass { replace: true } to replace it)`);
  }
  registry.set(protocol.name, protocol);
}

/**
 * The registered protocol called `name`.
 * @throws Error listing the known protocols when there is none.
 */
export function getProtocol(name: string): Protocol {
  const p = registry.get(name);
  if (!p) throw new Error(`unknown evaluation protocol "${name}" (known: ${listProtocols().join(', ')})`);
  return p;
}

/** Names of the registered protocols. */
export function listProtocols(): string[] {
  return [...registry.keys()];
}

registerProtocol(TEST_20);
registerProtocol(VALID_101);
