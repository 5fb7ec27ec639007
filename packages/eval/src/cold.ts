/**
 * Cold-start protocols of A-LLMRec's analysis: cold items (items no model saw during training)
 * versus warm items, and cold users (users with few interactions).
 *
 * Cold items come from {@link coldItemSplit}: a seeded `fraction` of the items that occur in the
 * data is declared cold and removed from every training sequence and from every history a
 * protocol shows a model. The returned split is the *warm view* every model trains on; it also
 * carries the cold set and the source split, which the cold/warm protocols read.
 */
import { Rng, type LeaveOneOutSplit } from '@allmrec/core';
import { interactedItems, registerProtocol, type Protocol } from './protocols';

/**
 * The warm training view of a split with cold items removed.
 *
 * - `train[u]`: the user's training sequence without cold items (order kept).
 * - `valid[u]`: the validation target, or 0 when it is cold (a cold item can appear neither as a
 *   validation target a backbone early-stops on, nor in a test history, which includes it).
 * - `test[u]`: the test target, kept even when cold: it is the target of `test-20-cold`.
 *   Users whose test target is cold stay test users for the cold protocol; their history is
 *   their warm training items (+ the validation item when it is warm).
 * - `coldItems`: the cold set; `source`: the split before removal (its interactions decide which
 *   items are "never interacted" when negatives are drawn).
 */
export interface ColdItemView extends LeaveOneOutSplit {
  coldItems: ReadonlySet<number>;
  source: LeaveOneOutSplit;
}

/** Options of {@link coldItemSplit}. */
export interface ColdItemSplitOptions {
  /** Fraction of the items occurring in the data (train, valid or test) to declare cold, in [0, 1]. */
  fraction: number;
  seed: number;
}

/**
 * Declares `round(fraction · #items occurring in the data)` items cold, chosen uniformly with the
 * seed, and removes them from every training sequence and every validation target.
 * @returns `split`, the warm view (see {@link ColdItemView}), and `coldItems`.
 */
export function coldItemSplit(split: LeaveOneOutSplit, options: ColdItemSplitOptions): { split: ColdItemView; coldItems: Set<number> } {
  const { fraction, seed } = options;
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`coldItemSplit: fraction must be in [0, 1], got ${fraction}`);
  const occurring = new Set<number>();
  for (let u = 1; u <= split.numUsers; u++) {
    for (const i of split.train[u] ?? []) if (i > 0) occurring.add(i);
    if (split.valid[u] > 0) occurring.add(split.valid[u]);
    if (split.test[u] > 0) occurring.add(split.test[u]);
  }
  const items = Int32Array.from(occurring).sort();
  const count = Math.round(fraction * items.length);
  const rng = new Rng(seed).fork('cold-items');
  // Partial Fisher-Yates: the first `count` positions are a uniform sample.
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(items.length - i);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  const coldItems = new Set<number>(items.subarray(0, count));
  const train: Int32Array[] = split.train.map((seq) => (seq ? seq.filter((i) => !coldItems.has(i)) : new Int32Array(0)));
  const valid = split.valid.map((i) => (coldItems.has(i) ? 0 : i));
  const view: ColdItemView = {
    numUsers: split.numUsers, numItems: split.numItems, train, valid, test: split.test.slice(), coldItems, source: split,
  };
  return { split: view, coldItems };
}

function asColdView(split: LeaveOneOutSplit, protocol: string): ColdItemView {
  const v = split as Partial<ColdItemView>;
  if (!v.coldItems || !v.source) {
    throw new Error(`protocol ${protocol} needs the warm view returned by coldItemSplit(split, ...).split`);
  }
  return v as ColdItemView;
}

/** Warm history: warm training items + the validation item when it is warm (it is 0 otherwise). */
function warmHistory(split: LeaveOneOutSplit, u: number): Int32Array {
  const train = split.train[u] ?? new Int32Array(0);
  if (!(split.valid[u] > 0)) return train.slice();
  const out = new Int32Array(train.length + 1);
  out.set(train);
  out[train.length] = split.valid[u];
  return out;
}

function coldItemProtocol(name: 'test-20-cold' | 'test-20-warm', wantCold: boolean): Protocol {
  return {
    name,
    description: wantCold
      ? 'Cold items: test users whose test target is a cold item; warm history; 1 positive + 19 never-interacted negatives'
      : 'Warm items: test users whose test target is warm; warm history; 1 positive + 19 never-interacted negatives',
    numNegatives: 19,
    mainMetric: 'hit1',
    target: (split, u) => {
      const v = asColdView(split, name);
      const t = v.test[u];
      // A test user has a test target; one with no warm item left in its history is skipped.
      if (!(t > 0) || v.coldItems.has(t) !== wantCold) return 0;
      return warmHistory(v, u).length > 0 ? t : 0;
    },
    history: (split, u) => warmHistory(split, u),
    // Never-interacted in the full data, removed cold interactions included.
    exclude: (split, u) => interactedItems(asColdView(split, name).source, u),
  };
}

/**
 * `test-20-cold`: users whose test target is a cold item (never seen in training). History =
 * warm training items + the validation item when warm; candidates = the target + 19 items the
 * user never interacted with (in the full data), drawn from all items, warm or cold.
 * Needs the warm view of {@link coldItemSplit}. Users left with an empty history are skipped.
 */
export const TEST_20_COLD: Protocol = coldItemProtocol('test-20-cold', true);

/** `test-20-warm`: the same as {@link TEST_20_COLD} for users whose test target is warm. */
export const TEST_20_WARM: Protocol = coldItemProtocol('test-20-warm', false);

/** Default training-item threshold of the cold-user protocol. */
export const COLD_USER_MAX_TRAIN_ITEMS = 3;

/**
 * A cold-user protocol: the paper's test protocol (train + valid history, test target, 19
 * never-interacted negatives) restricted to users with at most `maxTrainItems` training items
 * (users with few interactions). The registered `test-20-cold-users` uses
 * {@link COLD_USER_MAX_TRAIN_ITEMS} (3 training items, i.e. at most 5 interactions in all, the
 * minimum the 5-core filter keeps); pass another threshold and name for other cut-offs.
 */
export function coldUserProtocol(options: { maxTrainItems?: number; name?: string } = {}): Protocol {
  const max = options.maxTrainItems ?? COLD_USER_MAX_TRAIN_ITEMS;
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`coldUserProtocol: maxTrainItems must be a non-negative integer, got ${max}`);
  return {
    name: options.name ?? (max === COLD_USER_MAX_TRAIN_ITEMS ? 'test-20-cold-users' : `test-20-cold-users-${max}`),
    description: `Cold users: test users with at most ${max} training items; train+valid history, test target, 1 positive + 19 never-interacted negatives`,
    numNegatives: 19,
    mainMetric: 'hit1',
    target: (split, u) => (split.valid[u] > 0 && (split.train[u]?.length ?? 0) <= max ? split.test[u] : 0),
    history: (split, u) => warmHistory(split, u),
    exclude: interactedItems,
  };
}

/** `test-20-cold-users`: {@link coldUserProtocol} with the default threshold. */
export const TEST_20_COLD_USERS: Protocol = coldUserProtocol();

registerProtocol(TEST_20_COLD);
registerProtocol(TEST_20_WARM);
registerProtocol(TEST_20_COLD_USERS);
