/**
 * A-LLMRec prompts as data: a template renders to token ids plus the positions whose input
 * embeddings are replaced by projected collaborative embeddings.
 *
 *   [UserRep] is a user representation. This user has watched "t1"[HistoryEmb], "t2"[HistoryEmb]
 *   in the previous. Recommend one next movie for this user to watch next from the following movie
 *   title set, "c1"[CandidateEmb], ..., "c20"[CandidateEmb]. The recommendation is
 *
 * The user slot comes first (F_U(x_u) is the first input embedding); each [HistoryEmb] /
 * [CandidateEmb] slot takes F_I(e_i) of the item it follows. Titles are always text: a title that
 * itself contains "[HistoryEmb]" is tokenized like any other text and never becomes a slot, because
 * slots are placed structurally, not found by searching the rendered string.
 */

/** Wording per domain (the paper's movies / games / beauty-and-toys variants). */
export interface PromptTemplate {
  name: string;
  /** Past-tense verb of the history ("watched", "played", "bought"). */
  pastVerb: string;
  /** Item noun ("movie", "game", "item"). */
  noun: string;
  /** Present verb ("watch", "play", "buy"). */
  verb: string;
}

export const TEMPLATES: Record<string, PromptTemplate> = {
  movies: { name: 'movies', pastVerb: 'watched', noun: 'movie', verb: 'watch' },
  games: { name: 'games', pastVerb: 'played', noun: 'game', verb: 'play' },
  generic: { name: 'generic', pastVerb: 'bought', noun: 'item', verb: 'buy' },
};

/** The template for a dataset domain (beauty and toys use the generic wording, as the paper). */
export function templateFor(domain: string | undefined): PromptTemplate {
  if (domain === 'movies' || domain === 'games') return TEMPLATES[domain];
  return TEMPLATES.generic;
}

/** What a slot position carries. */
export type SlotKind = 'user' | 'history' | 'candidate';

export interface PromptSlot {
  /** Token position in `ids` whose embedding is replaced. */
  position: number;
  kind: SlotKind;
  /** Item id for history/candidate slots; the user's row index for the user slot. */
  ref: number;
}

/** A rendered prompt. */
export interface RenderedPrompt {
  /** Token ids; slot positions hold `placeholderId`. */
  ids: number[];
  slots: PromptSlot[];
  /** The text with slot markers, for logs and debugging. */
  text: string;
}

/**
 * Anything that turns text into token ids (a CausalLM tokenizer). Every piece of a prompt follows
 * a slot or earlier text, so pieces are encoded as continuations (`continuation: true`).
 */
export interface PromptTokenizer {
  encode(text: string, options?: { continuation?: boolean }): number[];
}

export interface PromptItem {
  id: number;
  title: string;
}

export const SLOT_MARKERS: Record<SlotKind, string> = { user: '[UserRep]', history: '[HistoryEmb]', candidate: '[CandidateEmb]' };

/**
 * Renders the recommendation prompt. `history` is oldest first (the caller keeps the last 10, as
 * the paper); `candidates` in the order shown. Text pieces are tokenized separately, as
 * continuations of the text before them, and concatenated, so slots fall on exact token positions.
 */
export function renderPrompt(
  tokenizer: PromptTokenizer,
  template: PromptTemplate,
  history: PromptItem[],
  candidates: PromptItem[],
  options: { placeholderId: number; userRef?: number },
): RenderedPrompt {
  const ids: number[] = [];
  const slots: PromptSlot[] = [];
  let text = '';
  const addText = (s: string) => {
    if (!s) return;
    ids.push(...tokenizer.encode(s, { continuation: true }));
    text += s;
  };
  const addSlot = (kind: SlotKind, ref: number) => {
    slots.push({ position: ids.length, kind, ref });
    ids.push(options.placeholderId);
    text += SLOT_MARKERS[kind];
  };
  const addItems = (items: PromptItem[], kind: SlotKind) => {
    items.forEach((it, i) => {
      addText(`${i === 0 ? '' : ', '}"${it.title}"`);
      addSlot(kind, it.id);
    });
  };
  addSlot('user', options.userRef ?? 0);
  addText(` is a user representation. This user has ${template.pastVerb} `);
  addItems(history, 'history');
  addText(` in the previous. Recommend one next ${template.noun} for this user to ${template.verb} next from the following ${template.noun} title set, `);
  addItems(candidates, 'candidate');
  addText('. The recommendation is ');
  return { ids, slots, text };
}

/** The training target: the title in double quotes, then end-of-sequence. */
export function renderTarget(tokenizer: PromptTokenizer, title: string, eosId: number): number[] {
  return [...tokenizer.encode(`"${title}"`, { continuation: true }), eosId];
}

/**
 * The authors' generation match rule: lower-case both; take the text between the first and the
 * last double quote of the output (the whole output if it has fewer than two); a hit when the gold
 * title is a substring of it.
 */
export function matchesTitle(output: string, title: string): boolean {
  return extractAnswer(output).includes(title.toLowerCase());
}

/** The part of a generated answer the match rule looks at (lower-cased). */
export function extractAnswer(output: string): string {
  const s = output.toLowerCase();
  const first = s.indexOf('"');
  const last = s.lastIndexOf('"');
  return first >= 0 && last > first ? s.slice(first + 1, last) : s;
}

/**
 * Which candidate an output names, if any: the candidate whose title the answer contains (the
 * longest such title when several match, so "Heat" does not shadow "Heat 2"), else -1.
 */
export function namedCandidate(output: string, titles: string[]): number {
  const answer = extractAnswer(output);
  let best = -1;
  titles.forEach((t, i) => {
    if (answer.includes(t.toLowerCase()) && (best < 0 || t.length > titles[best].length)) best = i;
  });
  return best;
}
