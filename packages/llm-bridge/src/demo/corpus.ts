/**
 * The pretraining corpus of the demonstration LM: the markers that split a corpus document into
 * pieces and slots, list-copy documents in the Stage 2 prompt's wording (and bare ones without
 * it), {@link buildPretrainCorpus}, {@link textPieces} and {@link tokenizeDocument}.
 */
import { Rng } from '@allmrec/core';
import { type PromptTemplate, TEMPLATES } from '../prompt';

/** Separates the pieces of a corpus document that are tokenized separately. */
export const PIECE_BREAK = '\u001e';
/** A piece that stands for an embedding slot (a random, never-predicted token in training). */
export const SLOT_MARK = '\u001f';
/**
 * Prefix of a piece that is context only: its tokens are read but never prediction targets (the
 * prompt part of list documents, so their loss is all on the answer).
 */
export const CONTEXT_MARK = '\u001c';
/**
 * A slot that holds the document's marker token: one random token per document, shared by every
 * SLOT_MATCH piece of it and different from all its SLOT_MARK tokens (see "marker" answers).
 */
export const SLOT_MATCH = '\u001d';
/**
 * Prefix of a slot that holds a continuous vector instead of a token ("vector" answers), followed
 * by the slot's role: {@link VECTOR_ROLES}. The vectors are drawn per batch ({@link slotVectors}).
 */
export const VECTOR_SLOT = '\u001b';
/** Roles of vector slots: the user slot, the answer's candidate slot, another candidate, a history item. */
export const VECTOR_ROLES = { user: 1, answer: 2, candidate: 3, history: 4 } as const;
const ROLE_CHARS: Record<string, number> = { u: VECTOR_ROLES.user, a: VECTOR_ROLES.answer, c: VECTOR_ROLES.candidate, h: VECTOR_ROLES.history };
const isSlotPiece = (p: string) => p === SLOT_MARK || p === SLOT_MATCH || p.startsWith(VECTOR_SLOT);

/** Options of {@link buildPretrainCorpus}. */
export interface PretrainCorpusOptions {
  seed: number;
  /** Prompt wording (default the generic "bought/item/buy"). */
  template?: PromptTemplate;
  /** Number of list-copy documents (default 4 × the number of items). */
  documents?: number;
  /** Range [min, max] of history titles per list-copy document (default [1, 10]). */
  listHistory?: [number, number];
  /** Range [min, max] of candidate titles per list-copy document (default [2, 20]). */
  listCandidates?: [number, number];
  /** Include one document per item text (default true). */
  itemTexts?: boolean;
  /**
   * How a list-copy document's answer is chosen (default 'random'): 'random' = uniformly among
   * its candidates; 'marker' = the candidate whose slot holds the same token as the user slot
   * (in-context retrieval: see {@link listCopyDocument}); 'vector' = the candidate whose slot
   * vector is most similar to the user slot's vector (the slots hold continuous vectors, as
   * F_U(x_u) and F_I(e_i) do in Stage 2: see {@link slotVectors}).
   */
  listAnswer?: ListAnswer;
  /**
   * Share of list documents (0..1, default 0) written "bare": the same slots, titles and answer,
   * without the prompt's wording (`<slot> "h1"<slot>; "c1"<slot>, "c2"<slot> = "ck"`). Short
   * contexts make copying easier to discover, and the skill carries over to the worded documents.
   */
  bareLists?: number;
  /**
   * Bare lists open their candidates with " set;" instead of ";" (default false), so they carry the
   * section marker an LM with `GPT2Spec.lookBack.section` needs to tell candidates from history.
   */
  sectionMarker?: boolean;
  /**
   * Whether the prompt part of list documents is predicted too (default false: only the answer and
   * end-of-text are targets, so the list documents' whole loss teaches copying from the list).
   */
  promptTargets?: boolean;
}

/** How list documents choose their answer (see `PretrainCorpusOptions.listAnswer`). */
export type ListAnswer = 'random' | 'marker' | 'vector';

/** One list-copy document: the prompt pieces (up to "The recommendation is ") and its answer. */
export interface ListCopyDocument {
  /** Prompt pieces, as `renderPrompt` emits them, with {@link SLOT_MARK} for every slot. */
  pieces: string[];
  /** Candidate titles in the order shown. */
  candidates: string[];
  /** Index of the answer in `candidates`. */
  answer: number;
}

/**
 * A list-copy document in the Stage 2 prompt's wording (see `renderPrompt`), with random history
 * and candidates drawn from `titles` and a random answer among the candidates. With `answerBy`
 * 'marker' the user slot and the answer's candidate slot are {@link SLOT_MATCH} (the same random
 * token), every other slot a different one: the answer is the candidate retrieved by the user
 * slot's token, which is the kind of in-context retrieval Stage 2 asks of the frozen LM (find the
 * candidate whose embedding fits the user embedding, then copy its title).
 */
export function listCopyDocument(
  titles: string[], rng: Rng, template: PromptTemplate, history: [number, number], candidates: [number, number],
  answerBy: ListAnswer = 'random',
): ListCopyDocument {
  const nh = rng.intRange(history[0], history[1]);
  const nc = Math.min(titles.length, rng.intRange(candidates[0], candidates[1]));
  const marker = answerBy === 'marker';
  const vector = answerBy === 'vector';
  const pieces: string[] = [marker ? SLOT_MATCH : vector ? VECTOR_SLOT + 'u' : SLOT_MARK, ` is a user representation. This user has ${template.pastVerb} `];
  for (let i = 0; i < nh; i++) {
    pieces.push(`${i === 0 ? '' : ', '}"${titles[rng.int(titles.length)]}"`, vector ? VECTOR_SLOT + 'h' : SLOT_MARK);
  }
  pieces.push(` in the previous. Recommend one next ${template.noun} for this user to ${template.verb} next from the following ${template.noun} title set, `);
  const chosen = new Set<number>();
  while (chosen.size < nc) chosen.add(rng.int(titles.length));
  const cands = [...chosen].map((i) => titles[i]);
  const answer = rng.int(nc);
  const slotOf = (i: number) => (vector ? VECTOR_SLOT + (i === answer ? 'a' : 'c') : marker && i === answer ? SLOT_MATCH : SLOT_MARK);
  cands.forEach((t, i) => pieces.push(`${i === 0 ? '' : ', '}"${t}"`, slotOf(i)));
  pieces.push('. The recommendation is ');
  return { pieces, candidates: cands, answer };
}

/**
 * The pretraining corpus: item texts plus list-copy documents teaching the answer format of the
 * Stage 2 prompt (see the module comment). Deterministic in `seed`. Uses item texts only.
 */
export function buildPretrainCorpus(items: { title: string; description?: string }[], options: PretrainCorpusOptions): string[] {
  const template = options.template ?? TEMPLATES.generic;
  const titles = items.map((i) => i.title).filter((t) => t.length > 0);
  const out: string[] = [];
  if (options.itemTexts ?? true) {
    for (const it of items) {
      const text = it.description && it.description !== 'Empty description' ? `"${it.title}": ${it.description}` : `"${it.title}"`;
      if (it.title || it.description) out.push(text);
    }
  }
  if (titles.length >= 2) {
    const n = options.documents ?? 4 * items.length;
    const rng = new Rng(options.seed).fork('list-copy');
    const bareRng = new Rng(options.seed).fork('bare-lists'); // its own stream: the documents stay the same
    for (let d = 0; d < n; d++) {
      let doc = listCopyDocument(titles, rng, template, options.listHistory ?? [1, 10], options.listCandidates ?? [2, 20], options.listAnswer);
      if (options.bareLists && bareRng.next() < options.bareLists) doc = bareListDocument(doc, options.sectionMarker);
      const prompt = options.promptTargets ?? false ? doc.pieces : doc.pieces.map((p) => (isSlotPiece(p) ? p : CONTEXT_MARK + p));
      out.push([...prompt, `"${doc.candidates[doc.answer]}"`].join(PIECE_BREAK));
    }
  }
  return out;
}

/** The same list document without the prompt's wording (see `PretrainCorpusOptions.bareLists`). */
export function bareListDocument(doc: ListCopyDocument, sectionMarker = false): ListCopyDocument {
  const pieces: string[] = [];
  let section = 0; // 0: user slot, 1: history, 2: candidates
  let first = true;
  for (const p of doc.pieces) {
    if (isSlotPiece(p)) { pieces.push(p); continue; }
    if (p.includes('title set')) { section = 2; first = true; pieces.push(sectionMarker ? ' set;' : ';'); continue; }
    if (p.startsWith(' is a user representation')) { section = 1; pieces.push(' '); continue; }
    if (p.startsWith(' in the previous') || p.startsWith('. The recommendation')) continue;
    const title = p.replace(/^, /, '');
    pieces.push(`${first ? (section === 2 ? ' ' : '') : ', '}${title}`);
    first = false;
  }
  pieces.push(' = ');
  return { ...doc, pieces };
}

/** Text pieces of a corpus document (slots excluded), e.g. for tokenizer training. */
export function textPieces(doc: string): string[] {
  return doc.split(PIECE_BREAK).filter((p) => !isSlotPiece(p)).map((p) => (p.startsWith(CONTEXT_MARK) ? p.slice(1) : p)).filter((p) => p.length > 0);
}

/**
 * Token ids of a corpus document followed by end-of-text, and whether each token is a prediction
 * target (slot tokens are not). Slots become uniformly random tokens below `slotVocab` drawn from
 * `rng`; {@link SLOT_MATCH} slots all become one such token that no SLOT_MARK slot of the document gets.
 * {@link VECTOR_SLOT} slots become the placeholder `eos` with their role in `roles` (0 elsewhere;
 * `roles` is present only when the document has vector slots).
 */
export function tokenizeDocument(
  tok: { encode(text: string): number[] }, doc: string, eos: number, rng: Rng, slotVocab: number,
): { ids: number[]; target: boolean[]; roles?: number[] } {
  const ids: number[] = [];
  const target: boolean[] = [];
  const vectorSlots: [number, number][] = []; // (position, role)
  const pieces = doc.split(PIECE_BREAK);
  const marker = pieces.includes(SLOT_MATCH) ? rng.int(slotVocab) : -1;
  for (const p of pieces) {
    if (p === SLOT_MARK) {
      let t = rng.int(slotVocab);
      while (t === marker) t = rng.int(slotVocab);
      ids.push(t);
      target.push(false);
    } else if (p === SLOT_MATCH) {
      ids.push(marker);
      target.push(false);
    } else if (p.startsWith(VECTOR_SLOT)) {
      const role = ROLE_CHARS[p.slice(1)];
      if (!role) throw new Error(`tokenizeDocument: unknown vector slot role ${JSON.stringify(p.slice(1))}`);
      vectorSlots.push([ids.length, role]);
      ids.push(eos);
      target.push(false);
    } else if (p.length) {
      const context = p.startsWith(CONTEXT_MARK);
      for (const id of tok.encode(context ? p.slice(1) : p)) { ids.push(id); target.push(!context); }
    }
  }
  ids.push(eos);
  target.push(true);
  if (vectorSlots.length === 0) return { ids, target };
  const roles = new Array<number>(ids.length).fill(0);
  for (const [at, role] of vectorSlots) roles[at] = role;
  return { ids, target, roles };
}
