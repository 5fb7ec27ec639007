import { cleanTitle, stripHtmlTags } from './html';

/**
 * Item titles that are not titles, and what preparation does about them (see {@link repairTitles}):
 *
 * - **markup**: an HTML fragment (`<span class="a-size-medium">...`): the title has tags and
 *   either nothing is left once they are stripped, or tags make up more than half of its
 *   characters. Replaced by the first sentence of the item's description when it has one, else
 *   by the stripped title, else by `item <key>`.
 * - **tags stripped**: a title with tags that is mostly text keeps its text, without the tags.
 * - **shared**: one string (compared case-insensitively) is the title of at least
 *   `sharedMinItems` items (default 5) AND of more than `sharedMinShare` of the catalogue (default
 *   0.005 = 0.5%): a placeholder such as "Amazon eGift Card" or "Unknown", not a name. Both
 *   conditions, so a small catalogue needs 5 items and a large one more than 0.5% of its items
 *   (84 of Video_Games' 16,859) before a title counts as shared; remakes and editions that share a
 *   name ("Spider-Man" on 7 platforms) stay titles. Replaced as markup is (the first sentence of
 *   the description, else the shared title itself).
 * - **made distinct**: A-LLMRec's prompts list candidates by title and its match rule looks for
 *   the gold title (lower-cased) in the answer, so titles must differ case-insensitively. When
 *   several items still share a title, EVERY one of them gets its key appended, `Title [key]`
 *   (appending to all, not to all but one, so that no title is a substring of another's), until
 *   all titles are distinct. Empty titles (items without any text) are left empty.
 */
export interface TitleRepairReport {
  /** The shared-title rule applied. */
  rule: { sharedMinItems: number; sharedMinShare: number };
  /** Titles that were markup. */
  markup: number;
  /** Titles with tags that were mostly text: tags stripped, text kept. */
  tagsStripped: number;
  /** Items whose title was shared (see the rule). */
  shared: number;
  /** Distinct shared strings. */
  sharedTitles: number;
  /** Markup and shared titles replaced by the first sentence of the description. */
  fromDescription: number;
  /** Markup titles without description replaced by their stripped text. */
  strippedKept: number;
  /** Markup titles without description and without text: `item <key>`. */
  placeholder: number;
  /** Items whose title got its key appended to be distinct. */
  madeDistinct: number;
  /** One example per kind (original key, title before and after; titles cut to 160 characters). */
  examples: {
    markup?: TitleExample;
    tagsStripped?: TitleExample;
    shared?: TitleExample & { items: number };
    madeDistinct?: TitleExample;
  };
}

/** One repaired title, for the report. */
export interface TitleExample {
  key: string;
  before: string;
  after: string;
}

/** One item's text going into {@link repairTitles}. */
export interface TitleInput {
  /** Original item key. */
  key: string;
  /** Cleaned title ("" when none). */
  title: string;
  /** First line of the cleaned description ("" when none). */
  description: string;
}

/** Options of {@link repairTitles}. */
export interface TitleRepairOptions {
  /** A shared title is on at least this many items (default 5). */
  sharedMinItems?: number;
  /** ... and on more than this share of the items (default 0.005). */
  sharedMinShare?: number;
}

const TAG = /<\/?[a-zA-Z][^<>]*>|<!--[\s\S]*?-->/g;
const FIRST_SENTENCE_MAX = 160;

/** Whether `title` holds HTML tags, and whether it is mostly markup (see {@link TitleRepairReport}). */
export function classifyMarkup(title: string): { tags: boolean; markup: boolean; stripped: string } {
  const tags = title.match(TAG);
  if (!tags) return { tags: false, markup: false, stripped: title };
  const stripped = cleanTitle(stripHtmlTags(title));
  const tagChars = tags.reduce((s, t) => s + t.length, 0);
  return { tags: true, markup: !stripped || tagChars * 2 > title.length, stripped };
}

/**
 * The first sentence of a description line: up to the first ".", "!" or "?" followed by a space
 * or the end ("Amazon.com" does not end one), cut at a word boundary to 160 characters ("…").
 */
export function firstSentence(text: string): string {
  const t = text.trim();
  const m = /^(.*?[.!?])(?=\s|$)/.exec(t);
  let s = (m ? m[1] : t).trim();
  if (s.length > FIRST_SENTENCE_MAX) {
    const cut = s.slice(0, FIRST_SENTENCE_MAX);
    const space = cut.lastIndexOf(' ');
    s = (space > FIRST_SENTENCE_MAX / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:]+$/, '') + '…';
  }
  return s;
}

const short = (s: string) => (s.length > 160 ? s.slice(0, 159) + '…' : s);

/**
 * Detects and repairs titles that are not titles (markup, shared placeholders) and makes every
 * non-empty title distinct, as {@link TitleRepairReport} describes. Deterministic: the result
 * depends only on the inputs and their order. Returns the new titles, aligned with `items`.
 */
export function repairTitles(items: TitleInput[], options: TitleRepairOptions = {}): { titles: string[]; report: TitleRepairReport } {
  const sharedMinItems = options.sharedMinItems ?? 5;
  const sharedMinShare = options.sharedMinShare ?? 0.005;
  if (!(Number.isInteger(sharedMinItems) && sharedMinItems >= 2)) throw new Error(`sharedTitleMinItems must be an integer >= 2, got ${sharedMinItems}`);
  if (!(sharedMinShare >= 0 && sharedMinShare < 1)) throw new Error(`sharedTitleMinShare must be in [0, 1), got ${sharedMinShare}`);
  const report: TitleRepairReport = {
    rule: { sharedMinItems, sharedMinShare },
    markup: 0, tagsStripped: 0, shared: 0, sharedTitles: 0, fromDescription: 0, strippedKept: 0, placeholder: 0, madeDistinct: 0,
    examples: {},
  };
  const titles = items.map((x) => x.title);
  const replace = new Array<boolean>(items.length).fill(false);
  items.forEach((x, i) => {
    const c = classifyMarkup(x.title);
    if (!c.tags) return;
    if (c.markup) {
      report.markup++;
      replace[i] = true;
    } else {
      report.tagsStripped++;
      report.examples.tagsStripped ??= { key: x.key, before: short(x.title), after: short(c.stripped) };
    }
    titles[i] = c.stripped;
  });

  const count = new Map<string, number>();
  titles.forEach((t, i) => {
    if (t && !replace[i]) count.set(t.toLowerCase(), (count.get(t.toLowerCase()) ?? 0) + 1);
  });
  const shared = new Set([...count].filter(([, n]) => n >= sharedMinItems && n > sharedMinShare * items.length).map(([t]) => t));
  report.sharedTitles = shared.size;

  titles.forEach((t, i) => {
    const isShared = !replace[i] && !!t && shared.has(t.toLowerCase());
    if (!replace[i] && !isShared) return;
    const x = items[i];
    const sentence = firstSentence(x.description);
    let after: string;
    if (sentence) {
      after = sentence;
      report.fromDescription++;
    } else if (t) {
      after = t;
      if (replace[i]) report.strippedKept++;
    } else {
      after = `item ${x.key}`;
      report.placeholder++;
    }
    if (isShared) {
      report.shared++;
      report.examples.shared ??= { key: x.key, before: short(x.title), after: short(after), items: count.get(t.toLowerCase())! };
    } else {
      report.examples.markup ??= { key: x.key, before: short(x.title), after: short(after) };
    }
    titles[i] = after;
  });

  // Distinct titles: append the key to every item of a group sharing one, until none does.
  const touched = new Set<number>();
  for (let round = 0; ; round++) {
    const groups = new Map<string, number[]>();
    titles.forEach((t, i) => {
      if (!t) return;
      const k = t.toLowerCase();
      const g = groups.get(k);
      if (g) g.push(i);
      else groups.set(k, [i]);
    });
    const colliding = [...groups.values()].filter((g) => g.length > 1);
    if (colliding.length === 0) break;
    if (round >= 10) throw new Error(`repairTitles: titles still collide after appending item keys (duplicate item keys? e.g. "${items[colliding[0][0]].key}")`);
    for (const g of colliding) {
      for (const i of g) {
        const before = titles[i];
        titles[i] = `${before} [${items[i].key}]`;
        if (!touched.has(i)) {
          touched.add(i);
          report.examples.madeDistinct ??= { key: items[i].key, before: short(before), after: short(titles[i]) };
        }
      }
    }
  }
  report.madeDistinct = touched.size;
  return { titles, report };
}
