import type { InteractionDataset, ProgressListener } from '@allmrec/core';

/** Item domain, used by prompt builders to choose wording. */
export type Domain = NonNullable<InteractionDataset['domain']>;

/** One interaction as read from a file, before any filtering or re-indexing. */
export interface RawInteraction {
  /** Original user key (MovieLens id, reviewerID, ...). */
  user: string;
  /** Original item key (MovieLens id, ASIN, ...). */
  item: string;
  rating?: number;
  /** Timestamp in the file's unit (seconds; milliseconds for Amazon 2023). */
  time?: number;
  /** Position in the input (0-based, across files); breaks ties between equal times. */
  order: number;
}

/** Item metadata as read from a file. */
export interface RawItemMeta {
  title?: string;
  /** Cleaned description, one paragraph per line. */
  description?: string;
}

/** What a reader returns: raw interactions and item metadata keyed by the original item key. */
export interface RawData {
  /** Suggested dataset name, e.g. "ml-100k" or "amazon2018-Gift_Cards". */
  name: string;
  interactions: RawInteraction[];
  items: Map<string, RawItemMeta>;
  /** Domain inferred from the format or category. */
  domain?: Domain;
  /** Files read. */
  files: string[];
  /** False when the source has no timestamps (order = sequence order in the file). */
  hasTime: boolean;
  /**
   * True when the source, without timestamps, gives each user's interactions as an explicit
   * chronological sequence (RecBole `item_id_list` files), so file order is the true order.
   * Prepared sequences are then ordered 'sequence' instead of 'file' (see SequenceOrder).
   */
  explicitSequences?: boolean;
  /** Reader remarks that end up in the preparation report. */
  notes?: string[];
}

/** Options readers understand (all optional; each reader uses the ones that apply). */
export interface ReaderOptions {
  /** Amazon category (e.g. "Video_Games") or RecBole dataset prefix; auto-detected when alone. */
  category?: string;
  /** Generic CSV: name of the user column (default: first of user_id, userId, user, reviewerID). */
  userColumn?: string;
  /** Generic CSV: name of the item column (default: first of item_id, itemId, movieId, item, asin, parent_asin). */
  itemColumn?: string;
  /** Generic CSV: name of the time column (default: first of timestamp, time, unixReviewTime, date); optional. */
  timeColumn?: string;
  /** Generic CSV: name of the rating column (default: first of rating, overall, score); optional. */
  ratingColumn?: string;
  /** Generic CSV: delimiter; auto-detected from the header when omitted. */
  delimiter?: string;
  /** Generic CSV: items file (path, absolute or relative to the interactions file's folder). */
  itemsFile?: string;
  /** Generic CSV items file: id column (default: same candidates as itemColumn). */
  itemIdColumn?: string;
  /** Generic CSV items file: title column (default "title"). */
  titleColumn?: string;
  /** Generic CSV items file: description column (default "description"). */
  descriptionColumn?: string;
  /** Text encoding of the CSV files (default utf8). */
  encoding?: 'utf8' | 'latin1';
  /** Seed for generated data (synthetic format). */
  seed?: number;
  /** Synthetic format: number of users (default 1000). */
  numUsers?: number;
  /** Synthetic format: number of items (default 800). */
  numItems?: number;
  /** Synthetic format: number of latent topics (default 30). */
  numTopics?: number;
  /** Synthetic format: mean items per user (default 40). */
  meanSequenceLength?: number;
  /** Progress events (task "data:read"). */
  onProgress?: ProgressListener;
}

/** A reader turns a user-given path into raw data. */
export type DatasetReader = (path: string, options: ReaderOptions) => Promise<RawData>;
