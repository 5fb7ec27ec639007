/**
 * Shared data shapes. Item and user ids are dense integers: items 1..numItems (0 is padding),
 * users 1..numUsers (0 unused). Original keys (ASINs, MovieLens ids) are kept beside them.
 */

/** Text of one item, as the text encoder and the prompt builder see it. */
export interface ItemText {
  /** Title as displayed in prompts ("" when the item has none). */
  title: string;
  /** First line of the description ("" when missing). */
  description: string;
}

/**
 * How the items of each user's sequence are ordered (see {@link InteractionDataset.order}):
 * - 'time': sorted by the source's timestamps (ties keep file order);
 * - 'sequence': no timestamps, but the source gives each user's history as an explicit
 *   chronological sequence (RecBole `item_id_list` files), kept in that order;
 * - 'file': no timestamps; sequences follow the order of the rows in the file, which usually
 *   carries no meaning (e.g. a csv of user-item pairs sorted by id).
 */
export type SequenceOrder = 'time' | 'sequence' | 'file';

/**
 * A prepared interaction dataset: every user's items in order (see `order`), re-indexed from 1.
 * `sequences[u]` is the item sequence of user `u`, oldest first (index 0 is an empty array).
 */
export interface InteractionDataset {
  /** Human-readable name, e.g. "ml-100k". */
  name: string;
  numUsers: number;
  numItems: number;
  /** sequences[u] for u = 1..numUsers; sequences[0] is empty. */
  sequences: Int32Array[];
  /**
   * What the order of `sequences[u]` rests on: timestamps ('time'), the source's explicit
   * sequences ('sequence'), or only the file's row order ('file', no real chronology). Models
   * that read the order of a history (SASRec) should not train on 'file' data unknowingly.
   */
  order: SequenceOrder;
  /** items[i] for i = 1..numItems; items[0] is the padding item with empty text. */
  items: ItemText[];
  /** Original user key of user u (userKeys[0] = ""). */
  userKeys: string[];
  /** Original item key of item i (itemKeys[0] = ""). */
  itemKeys: string[];
  /** Domain of the items, used to choose prompt wording ("movies", "games", "generic"). */
  domain?: 'movies' | 'games' | 'beauty' | 'toys' | 'generic';
}

/**
 * Leave-one-out split: per user, the last item is the test target, the second-to-last the
 * validation target, and the rest the training sequence. Users with fewer than 3 items keep all
 * their items for training and have no validation or test target (0).
 */
export interface LeaveOneOutSplit {
  numUsers: number;
  numItems: number;
  /** train[u]: the training sequence of user u. */
  train: Int32Array[];
  /** valid[u]: validation target of user u, 0 when none. */
  valid: Int32Array;
  /** test[u]: test target of user u, 0 when none. */
  test: Int32Array;
}

/** A progress event emitted by long-running work (training, encoding, downloads). */
export interface ProgressEvent {
  /** What is running, e.g. "sasrec:train" or "download:ml-100k". */
  task: string;
  /** Units done so far. */
  current: number;
  /** Total units, when known. */
  total?: number;
  /** Short unit label ("epoch", "step", "bytes"). */
  unit?: string;
  /** Extra values to show (loss, metrics). */
  values?: Record<string, number | string>;
  /** True on the last event of a task. */
  done?: boolean;
}

/** A sink for progress events; pass one to any long-running call. */
export type ProgressListener = (event: ProgressEvent) => void;
