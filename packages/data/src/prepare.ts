import type { InteractionDataset, ItemText, SequenceOrder } from '@allmrec/core';
import { cleanTitle, firstLine } from './html';
import type { Domain, RawData, RawInteraction } from './raw';
import { repairTitles, type TitleInput, type TitleRepairReport } from './titles';

/** How repeated interactions are handled before filtering. */
export type DedupeMode =
  /** Drop rows repeating the same user, item, time and rating (the same review twice). Rows without time are never duplicates. */
  | 'exact'
  /** Keep only the first (file order) interaction of each user-item pair. */
  | 'user-item'
  /** Keep everything. */
  | 'none';

/** Options of {@link prepareDataset}. */
export interface PrepareOptions {
  /** Dataset name (default: the reader's suggestion). */
  name?: string;
  /** Overrides the detected domain. */
  domain?: Domain;
  /** Minimum interactions per user, counted once over the whole input (default 5; 0 = no filter). */
  minUser?: number;
  /** Minimum interactions per item, counted once over the whole input (default 5; 0 = no filter). */
  minItem?: number;
  /** Drop interactions rated below this before counting (e.g. 3 for Beauty/Toys; default none). */
  minRating?: number;
  /** Duplicate handling (default 'exact'). */
  dedupe?: DedupeMode;
  /** Drop interactions with items that have neither title nor description, before counting (default false). */
  dropItemsWithoutText?: boolean;
  /**
   * Text stored as `ItemText.description` when an item has none. Default "" (the core contract);
   * use {@link formatItemText} to render "Empty description" as A-LLMRec does, or set
   * "Empty description" here to bake it into the dataset.
   */
  emptyDescription?: string;
  /** Dataset format label recorded in the report. */
  format?: string;
  /** A title on at least this many items is a shared placeholder, not a title (default 5; see TitleRepairReport). */
  sharedTitleMinItems?: number;
  /** ... when it is also on more than this share of the items (default 0.005 = 0.5%). */
  sharedTitleMinShare?: number;
}

/** Counts after one preparation step. */
export interface PreparationStep {
  step: string;
  users: number;
  items: number;
  interactions: number;
}

/** What preparation did to the raw data: counts per step and text coverage. */
export interface PreparationReport {
  name: string;
  format: string;
  files: string[];
  options: { minUser: number; minItem: number; minRating: number | null; dedupe: DedupeMode; dropItemsWithoutText: boolean };
  /** Counts after each step, starting with "read". */
  steps: PreparationStep[];
  /** Interactions dropped by minRating. */
  lowRatingDropped: number;
  /** Interactions without a rating kept although minRating is set. */
  unratedKept: number;
  duplicatesDropped: number;
  /** Interactions dropped because their item has no text (dropItemsWithoutText). */
  noTextDropped: number;
  /** Interactions dropped by the one-pass minUser/minItem filter. */
  filteredOut: number;
  /** True when sequences are ordered by timestamps (order 'time'). */
  timeOrdered: boolean;
  /**
   * What the sequences' order rests on (the dataset's `order`): 'time' (timestamps), 'sequence'
   * (the source's explicit sequences, no timestamps) or 'file' (no timestamps: file row order).
   */
  order: SequenceOrder;
  /** Interactions sharing a timestamp with the previous item of the same user (kept in file order). */
  timeTies: number;
  items: {
    total: number;
    /** Items with no metadata row at all. */
    withoutMeta: number;
    /** Items whose missing/blank title was replaced by the first description line. */
    titleFromDescription: number;
    /** Items with neither title nor description (title ""). */
    withoutText: number;
    /** Items without a description (description "" or emptyDescription). */
    withoutDescription: number;
    /** Up to 10 original keys per category, for inspection. */
    examples: { titleFromDescription: string[]; withoutText: string[] };
    /** Titles that were not titles (HTML markup, shared placeholders) and titles made distinct. */
    titles: TitleRepairReport;
  };
  /** Users with fewer than 3 items (train-only in the leave-one-out split). */
  usersTrainOnly: number;
  notes: string[];
}

function countStep(step: string, xs: RawInteraction[]): PreparationStep {
  const u = new Set<string>();
  const i = new Set<string>();
  for (const x of xs) {
    u.add(x.user);
    i.add(x.item);
  }
  return { step, users: u.size, items: i.size, interactions: xs.length };
}

/**
 * The one-pass filter of A-LLMRec: counts each user's and each item's interactions ONCE over
 * `xs`, then keeps the interactions whose user has >= minUser and whose item has >= minItem
 * (not iterated to a fixed point, so some kept users/items may end below the thresholds).
 */
export function onePassFilter(xs: RawInteraction[], minUser: number, minItem: number): RawInteraction[] {
  if (minUser <= 0 && minItem <= 0) return xs;
  const uc = new Map<string, number>();
  const ic = new Map<string, number>();
  for (const x of xs) {
    uc.set(x.user, (uc.get(x.user) ?? 0) + 1);
    ic.set(x.item, (ic.get(x.item) ?? 0) + 1);
  }
  return xs.filter((x) => uc.get(x.user)! >= minUser && ic.get(x.item)! >= minItem);
}

/**
 * Turns raw interactions into an {@link InteractionDataset}: optional rating filter, duplicate
 * handling, optional drop of text-less items, the one-pass minUser/minItem filter, then
 * re-indexing. Users are numbered from 1 in order of first appearance in the input; each user's
 * interactions are sorted by time (stable: ties keep file order; file order when the source
 * has no timestamps, recorded as `order` 'sequence' for explicit sequences, else 'file'); items are numbered from 1 in order of first appearance when walking the
 * users' sorted sequences. Item text = cleaned title + first description line; a blank title is
 * replaced by the first description line (counted in the report); titles that are HTML markup or
 * placeholders shared by many items are replaced and every title is made distinct (see
 * {@link TitleRepairReport}, `report.items.titles`). Deterministic.
 */
export function prepareDataset(raw: RawData, options: PrepareOptions = {}): { dataset: InteractionDataset; report: PreparationReport } {
  const minUser = options.minUser ?? 5;
  const minItem = options.minItem ?? 5;
  const minRating = options.minRating ?? null;
  const dedupe = options.dedupe ?? 'exact';
  const dropNoText = options.dropItemsWithoutText ?? false;
  const name = options.name ?? raw.name;
  const notes = [...(raw.notes ?? [])];
  const steps: PreparationStep[] = [countStep('read', raw.interactions)];
  let xs = raw.interactions;

  let lowRatingDropped = 0;
  let unratedKept = 0;
  if (minRating !== null) {
    const kept: RawInteraction[] = [];
    for (const x of xs) {
      if (x.rating === undefined) unratedKept++;
      if (x.rating !== undefined && x.rating < minRating) lowRatingDropped++;
      else kept.push(x);
    }
    xs = kept;
    if (unratedKept) notes.push(`${unratedKept} interactions have no rating and were kept by the rating filter`);
    steps.push(countStep(`rating >= ${minRating}`, xs));
  }

  let duplicatesDropped = 0;
  if (dedupe !== 'none') {
    const seen = new Set<string>();
    const kept: RawInteraction[] = [];
    for (const x of xs) {
      if (dedupe === 'exact' && x.time === undefined) {
        kept.push(x);
        continue;
      }
      const key = dedupe === 'exact' ? `${x.user}\u0000${x.item}\u0000${x.time}\u0000${x.rating}` : `${x.user}\u0000${x.item}`;
      if (seen.has(key)) duplicatesDropped++;
      else {
        seen.add(key);
        kept.push(x);
      }
    }
    xs = kept;
    steps.push(countStep(dedupe === 'exact' ? 'drop exact duplicates' : 'keep first user-item pair', xs));
  }

  const textOf = (key: string) => {
    const m = raw.items.get(key);
    return !!m && (!!cleanTitle(m.title) || !!firstLine(m.description));
  };
  let noTextDropped = 0;
  if (dropNoText) {
    const before = xs.length;
    xs = xs.filter((x) => textOf(x.item));
    noTextDropped = before - xs.length;
    steps.push(countStep('drop items without text', xs));
  }

  const beforeFilter = xs.length;
  xs = onePassFilter(xs, minUser, minItem);
  const filteredOut = beforeFilter - xs.length;
  if (minUser > 0 || minItem > 0) steps.push(countStep(`one-pass filter user >= ${minUser}, item >= ${minItem}`, xs));

  // Group by user in order of first appearance, then sort each user's interactions.
  const timeOrdered = raw.hasTime && xs.every((x) => x.time !== undefined);
  const order: SequenceOrder = timeOrdered ? 'time' : raw.explicitSequences ? 'sequence' : 'file';
  if (raw.hasTime && !timeOrdered) notes.push('some interactions have no timestamp: sequences follow file order');
  else if (order === 'file') notes.push('no timestamps: sequences follow file order (order "file")');
  const byUser = new Map<string, RawInteraction[]>();
  for (const x of xs) {
    let a = byUser.get(x.user);
    if (!a) byUser.set(x.user, (a = []));
    a.push(x);
  }
  const userKeys: string[] = [''];
  const itemKeys: string[] = [''];
  const itemIndex = new Map<string, number>();
  const sequences: Int32Array[] = [new Int32Array(0)];
  let timeTies = 0;
  let usersTrainOnly = 0;
  for (const [user, list] of byUser) {
    if (timeOrdered) list.sort((a, b) => a.time! - b.time! || a.order - b.order);
    else list.sort((a, b) => a.order - b.order);
    const seq = new Int32Array(list.length);
    for (let k = 0; k < list.length; k++) {
      const x = list[k];
      if (timeOrdered && k > 0 && x.time === list[k - 1].time) timeTies++;
      let id = itemIndex.get(x.item);
      if (id === undefined) {
        id = itemKeys.length;
        itemIndex.set(x.item, id);
        itemKeys.push(x.item);
      }
      seq[k] = id;
    }
    userKeys.push(user);
    sequences.push(seq);
    if (seq.length < 3) usersTrainOnly++;
  }

  const empty = options.emptyDescription ?? '';
  const texts: TitleInput[] = [];
  let withoutMeta = 0;
  let titleFromDescription = 0;
  let withoutText = 0;
  let withoutDescription = 0;
  const exFromDesc: string[] = [];
  const exNoText: string[] = [];
  for (let i = 1; i < itemKeys.length; i++) {
    const m = raw.items.get(itemKeys[i]);
    if (!m) withoutMeta++;
    let title = cleanTitle(m?.title);
    let description = firstLine(m?.description);
    if (!title && description) {
      title = description;
      description = '';
      titleFromDescription++;
      if (exFromDesc.length < 10) exFromDesc.push(itemKeys[i]);
    } else if (!title) {
      withoutText++;
      if (exNoText.length < 10) exNoText.push(itemKeys[i]);
    }
    texts.push({ key: itemKeys[i], title, description });
  }
  const repaired = repairTitles(texts, { sharedMinItems: options.sharedTitleMinItems, sharedMinShare: options.sharedTitleMinShare });
  const items: ItemText[] = [{ title: '', description: '' }];
  texts.forEach((x, k) => {
    let description = x.description;
    if (!description) {
      withoutDescription++;
      description = empty;
    }
    items.push({ title: repaired.titles[k], description });
  });
  const tr = repaired.report;
  const ex = (e?: { key: string; before: string; after: string }) => (e ? ` (e.g. ${e.key}: ${JSON.stringify(e.before)} -> ${JSON.stringify(e.after)})` : '');
  if (tr.markup) notes.push(`${tr.markup} titles were HTML markup, replaced by the description's first sentence or their text${ex(tr.examples.markup)}`);
  if (tr.tagsStripped) notes.push(`${tr.tagsStripped} titles had HTML tags, stripped${ex(tr.examples.tagsStripped)}`);
  if (tr.shared) notes.push(`${tr.shared} items had one of ${tr.sharedTitles} titles shared by >= ${tr.rule.sharedMinItems} items and > ${tr.rule.sharedMinShare * 100}% of items, replaced by the description's first sentence when there is one${ex(tr.examples.shared)}`);
  if (tr.madeDistinct) notes.push(`${tr.madeDistinct} items shared a title with another item: their key was appended${ex(tr.examples.madeDistinct)}`);

  const dataset: InteractionDataset = {
    name,
    numUsers: userKeys.length - 1,
    numItems: itemKeys.length - 1,
    sequences,
    order,
    items,
    userKeys,
    itemKeys,
    domain: options.domain ?? raw.domain ?? 'generic',
  };
  const report: PreparationReport = {
    name,
    format: options.format ?? 'raw',
    files: raw.files,
    options: { minUser, minItem, minRating, dedupe, dropItemsWithoutText: dropNoText },
    steps,
    lowRatingDropped,
    unratedKept,
    duplicatesDropped,
    noTextDropped,
    filteredOut,
    timeOrdered,
    order,
    timeTies,
    items: {
      total: itemKeys.length - 1,
      withoutMeta,
      titleFromDescription,
      withoutText,
      withoutDescription,
      examples: { titleFromDescription: exFromDesc, withoutText: exNoText },
      titles: tr,
    },
    usersTrainOnly,
    notes,
  };
  return { dataset, report };
}
