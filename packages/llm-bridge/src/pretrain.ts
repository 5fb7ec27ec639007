/**
 * Pretraining a small GPT-2-family causal LM on item texts, for machines where no pretrained LM
 * can be downloaded (`allmrec lm pretrain`). The result is an ordinary Hugging Face checkpoint
 * directory (config.json + model.safetensors + tokenizer.json) that `loadCausalLM` reads and
 * Stage 2 keeps frozen like any other LM.
 *
 * ## The corpus ({@link buildPretrainCorpus})
 * A-LLMRec relies on the frozen LLM already knowing how to answer "The recommendation is " with a
 * quoted title copied from the candidate list (OPT-6.7B learned that kind of copying in
 * pretraining). A tiny LM must learn it here, so the corpus has two parts:
 * 1. the items' texts (title, and the description when there is one);
 * 2. "list-copy" documents in the exact wording of the Stage 2 prompt (`prompt.ts`): a user slot,
 *    a history of quoted titles each followed by a slot, the candidate title set each followed by
 *    a slot, then `The recommendation is "<title>"` and end-of-text. The prompt part is context
 *    only ({@link CONTEXT_MARK}: read, never predicted), so all of a list document's loss is on the
 *    answer. The answer is either any listed title ('random') or, with `listAnswer: 'marker'`, the
 *    candidate whose slot holds the same token as the user slot ({@link SLOT_MATCH}): in-context
 *    retrieval keyed by the slots, which is what Stage 2 asks of the LM once the slots hold F_U(x_u)
 *    and F_I(e_i).
 * Only item texts are used: no interactions, no users, so nothing about test targets leaks (the
 * answer is random; the LM learns the format and to copy a listed title, not which one).
 *
 * Copying is the slow part for a small LM: in a toy run (50 titles, 2-layer, hidden 64) the loss
 * sits on a plateau for ~300 steps before copying appears. Two things help: item titles can be
 * whole tokens of the trained tokenizer (`addedTokens`, so a title is copied as one token rather
 * than by induction over its pieces), and those tokens start around one shared mean
 * (`GPT2Spec.sharedInitRows`), as tokens added to a trained LM usually are.
 *
 * ## The model ({@link TrainableGPT2}, {@link pretrainLM})
 * GPT-2: learned positions, pre-LayerNorm blocks, GELU (tanh), tied input/output embeddings,
 * LayerNorm eps 1e-5, initialisation N(0, 0.02) (residual projections scaled by 1/sqrt(2·layers)).
 * Weights are `tf.Variable`s named like Hugging Face's `GPT2LMHeadModel` (without the
 * "transformer." prefix); every op with a large matMul has a custom gradient of plain matMuls with
 * explicit transposes (WASM pitfall 2), the cross-entropy has its own softmax − one-hot gradient
 * (pitfall 4), and attention uses core's fused causal-attention kernel when the backend has it.
 * Rows are packed with whole documents (each followed by `<|endoftext|>`); a document longer than
 * a row is split; the tail of a row is padding that is never a target. AdamW (β 0.9/0.95, weight
 * decay 0.01 on matrices), global gradient-norm clipping at 1.0, linear warm-up then cosine decay
 * to 10 % of the learning rate. Batches are drawn per step from a generator forked from
 * (seed, step), so a run is deterministic and a resumed run equals an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  Rng, fusedCausalAttention, fusedCausalAttentionGrad, hasFusedAttention, isArtifact, layerNorm, layerNormBackward,
  readArtifact, selectBackend, writeArtifact, type ProgressListener, type TensorInput,
} from '@allmrec/core';
import { trainByteLevelBPE } from './bpe-trainer';
import type { CausalLM, SlotInterface } from './causal-lm';
import { writeHFCheckpoint } from './checkpoint';
import { namedCandidate, type PromptTemplate, TEMPLATES } from './prompt';
import { GPT2_EOS, HFTokenizer, gpt2TokenizerConfig, gpt2TokenizerJson } from './tokenizer';

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

// ---------------------------------------------------------------------------------------------
// Corpus.

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
function bareListDocument(doc: ListCopyDocument, sectionMarker = false): ListCopyDocument {
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

/** Continuous vectors for the vector slots of a batch (see {@link slotVectors}). */
export interface SlotVectors {
  /** [B·T]: 1 where a vector replaces the token embedding. */
  mask: Float32Array;
  /** [B·T, H]: the vectors (zero rows elsewhere). */
  vectors: Float32Array;
}

/** Shape of the vectors {@link slotVectors} draws. */
export interface SlotVectorOptions {
  /** Mean norm of a slot vector (default 1, about a trained token row's norm); each slot's is scaled by 2^U(-1, 1). */
  norm?: number;
  /** Smallest cosine between the user vector and the answer's (default 0.6; the largest is 1). */
  minAnswerCosine?: number;
  /** Other candidates' cosine with the user vector stays this far below the answer's (default 0.3). */
  margin?: number;
  /**
   * Dimensions [0, k) of every vector are 0 (default 0): with `GPT2Spec.lookBack` those hold the
   * positions, and a slot vector there would blur its own position for the look-back heads.
   */
  zeroDims?: number;
  /**
   * Place the user slots' vectors in dimensions [a, b) and every other slot's in `itemDims` (same
   * width), 0 elsewhere; the cosines are drawn in that width (default: all H dimensions for every
   * slot). With `GPT2Spec.lookBack.match` these are the subspaces the wired matching head reads.
   */
  userDims?: [number, number];
  itemDims?: [number, number];
  /** Spread of the norms: each slot's is `norm`·2^U(−s, s) (default 1; 0 = every norm equal). */
  normSpread?: number;
  /**
   * History slots are decoys that may be more similar than the answer (default true); false draws
   * them as the other candidates, so the answer is the most similar of all item slots.
   */
  historyDecoys?: boolean;
  /**
   * Each user slot's norm is further scaled by a factor drawn log-uniformly from [lo, hi] (default
   * [1, 1]). A smaller user vector means a flatter matching head (its query is the user vector), so
   * the copied title is a mixture of the candidates' titles, as it is in Stage 2 where F_U and F_I
   * are only as sure as the CF model: pretraining on such mixtures teaches the LM to still name
   * the most similar candidate instead of some other title.
   */
  userScale?: [number, number];
}

/**
 * Draws the vectors of a batch's vector slots (`roles` [B·T] from {@link tokenizeDocument}, 0 =
 * a token). Each user slot draws a random direction u and a cosine ρ_a in [minAnswerCosine, 1];
 * the answer's candidate slot gets the cosine ρ_a with u, every other candidate a cosine uniform in
 * [-0.3, ρ_a − margin], and history slots one uniform in [-0.3, 1] (decoys: the answer is always a
 * candidate). A vector with cosine ρ is ρ·u + sqrt(1 − ρ²)·n, n a random unit vector orthogonal to
 * u, so the cosine is exact and the answer is always the candidate most similar to the user slot:
 * the retrieval Stage 2 asks of the LM once the slots hold F_U(x_u) and F_I(e_i). A row that
 * starts inside a document uses a fresh u until its next user slot. Returns undefined when no
 * slot is a vector slot.
 */
export function slotVectors(roles: ArrayLike<number>, B: number, T: number, H: number, rng: Rng, options: SlotVectorOptions = {}): SlotVectors | undefined {
  let any = false;
  for (let i = 0; i < roles.length && !any; i++) any = roles[i] !== 0;
  if (!any) return undefined;
  const norm = options.norm ?? 1;
  const minA = options.minAnswerCosine ?? 0.6;
  const margin = options.margin ?? 0.3;
  const z = options.zeroDims ?? 0;
  if (!(Number.isInteger(z) && z >= 0 && z < H - 1)) throw new RangeError(`slotVectors: zeroDims must be an integer in [0, ${H - 2}], got ${z}`);
  const { userDims, itemDims } = options;
  if (!userDims !== !itemDims) throw new RangeError('slotVectors: userDims and itemDims go together');
  const W = itemDims ? itemDims[1] - itemDims[0] : H; // width the cosines are drawn in
  for (const r of userDims && itemDims ? [userDims, itemDims] : []) {
    if (!(Number.isInteger(r[0]) && r[0] >= 0 && r[1] <= H && r[1] - r[0] === W && W >= 2)) throw new RangeError(`slotVectors: userDims and itemDims must be ranges of one width (at least 2) inside [0, ${H}), got [${userDims}] and [${itemDims}]`);
  }
  const spread = options.normSpread ?? 1;
  const decoys = options.historyDecoys ?? true;
  const [lo, hi] = options.userScale ?? [1, 1];
  if (!(lo > 0 && hi >= lo)) throw new RangeError(`slotVectors: userScale must be [lo, hi] with 0 < lo <= hi, got [${options.userScale}]`);
  const mask = new Float32Array(B * T);
  const vectors = new Float32Array(B * T * H);
  const unit = (): Float32Array => {
    const v = Float32Array.from({ length: W }, (_, j) => (j < z && !itemDims ? 0 : rng.normal()));
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  let u = unit();
  let rhoA = minA;
  const put = (at: number, rho: number, into = itemDims, scale = 1) => {
    const n = unit();
    let d = 0;
    for (let j = 0; j < W; j++) d += n[j] * u[j];
    for (let j = 0; j < W; j++) n[j] -= d * u[j];
    const nn = Math.hypot(...n);
    const r = scale * norm * 2 ** (spread * (2 * rng.next() - 1));
    const c = Math.sqrt(Math.max(0, 1 - rho * rho));
    const o = at * H + (into ? into[0] : 0);
    for (let j = 0; j < W; j++) vectors[o + j] = r * (rho * u[j] + (c * n[j]) / nn);
    mask[at] = 1;
  };
  const candidate = () => -0.3 + (rhoA - margin + 0.3) * rng.next();
  for (let b = 0; b < B; b++) {
    u = unit();
    rhoA = minA + (1 - minA) * rng.next();
    for (let t = 0; t < T; t++) {
      const at = b * T + t;
      switch (roles[at]) {
        case 0: break;
        case VECTOR_ROLES.user:
          u = unit();
          rhoA = minA + (1 - minA) * rng.next();
          put(at, 1, userDims, lo === hi ? lo : lo * (hi / lo) ** rng.next());
          break;
        case VECTOR_ROLES.answer: put(at, rhoA); break;
        case VECTOR_ROLES.candidate: put(at, candidate()); break;
        case VECTOR_ROLES.history: put(at, decoys ? -0.3 + 1.3 * rng.next() : candidate()); break;
        default: throw new RangeError(`slotVectors: unknown role ${roles[at]} at ${at}`);
      }
    }
  }
  return { mask, vectors };
}

/** Token embeddings `e` [..., H] with the slot positions (`slots.mask`, one per row of `e`) replaced by `slots.vectors`. */
function withSlotVectors(e: tf.Tensor, slots: SlotVectors): tf.Tensor {
  return tf.add(tf.mul(e, tf.sub(1, tf.tensor(slots.mask, [...e.shape.slice(0, -1), 1]))), tf.tensor(slots.vectors, e.shape));
}

// ---------------------------------------------------------------------------------------------
// The trainable GPT-2.

/** Architecture of a {@link TrainableGPT2}. */
export interface GPT2Spec {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  maxPositions: number;
  eosTokenId: number;
  /**
   * Token rows [start, end) initialised around one shared random mean (the added title tokens):
   * as when tokens are added to a trained LM (initialised from the mean of the others), the new
   * tokens start alike, so attention can pick "a title" with one direction before telling titles apart.
   */
  sharedInitRows?: [number, number];
  /**
   * Standard deviation of each of those rows around the shared mean (default 0.02, as every other
   * weight). Copying a title means telling it apart from ~10^3 others through the tied
   * embedding, so rows that start distinct (0.1) are copied far sooner than rows that start alike.
   */
  sharedInitSpread?: number;
  /**
   * Mimetic initialisation of attention (Trockman & Kolter, ICML 2023): in every head W_K = W_Q
   * and W_O = W_V^T, so at the start W_Q·W_K^T and W_V·W_O are positive semi-definite, close to
   * a multiple of the identity summed over heads. Heads then start out attending to positions
   * that resemble the query and copying what they attend to, the two halves of in-context
   * retrieval, instead of having to discover both at once behind a long loss plateau.
   */
  mimeticInit?: boolean;
  /**
   * Initialise the (learned) position table with sinusoids (Vaswani et al. 2017) of amplitude
   * 0.1 instead of small noise. Nearby positions then start out similar, so a head with
   * W_Q·W_K^T ≈ I (mimetic) begins with a bias towards recent tokens, e.g. from a slot to the
   * title just before it.
   */
  sinusoidalPositions?: boolean;
  /**
   * Layer-0 heads that start out attending `offset` positions back and copying what they find
   * there (default none). Dimensions [0, H/heads) of the residual are kept for position: token rows
   * start at 0 there and the position table holds sinusoid pairs in them; each
   * of the last `heads` heads of layer 0 has W_K = I and W_Q = the rotation by −offset·ω_i on
   * those dimensions (ω_i = π/2^i, so q_p·k_p' = Σ_i cos((p − offset − p')·ω_i), largest at p' = p − offset,
   * sharpened to a margin of ~16 logits), and copies its own slice of the token dimensions
   * (W_V = I, W_O = γ·I). In the Stage 2 prompt a slot sits two tokens after its title
   * (`"title"[slot]`), so with offset 2 every slot starts out holding its title: the relative-
   * position step that in-context retrieval needs, which learned absolute positions otherwise
   * have to discover separately for every position. `first` more heads (just before those)
   * start out attending to position 0 (a constant query: W_Q = 0, its bias the position-0 pair
   * pattern) and copying their slice there: in the Stage 2 prompt, the user slot F_U(x_u), which
   * the answer has to compare with every candidate's slot.
   *
   * `match` (needs `first` ≥ 1, two layers and room for a free head 1 in layer 0) also wires the
   * comparison, as a fixed retrieval circuit in reserved subspaces of the residual: the user slot's
   * vector lives in the first first-position head's slice U, every item slot's in head 1's slice
   * S, and tokens are 0 on both; layer 0's other heads and its MLP do not write into S, U or the
   * look-back heads' slices C (where each slot receives its title, one dh slice per look-back
   * head); and layer 1's heads 1 .. `heads` each have W_Q reading U, W_K reading S, W_V reading
   * one look-back slice and W_O writing it back: the answer position attends to the item slot
   * whose vector is most similar to the user's and copies its title, as many dimensions of it as
   * there are look-back heads (more slices tell a copied title apart from more others). The
   * frequencies become ω_i = π·ρ^i, ρ chosen so no other offset within `maxPositions` aliases
   * the look-back offset. Slot vectors of pretraining then fill U and S (see `SlotVectorOptions`).
   *
   * `section` (with `match`; a token id, {@link sectionMarkerToken}) keeps the matching head off the
   * history: the marker token that opens the candidate list has a token row that is 0 except for
   * the last dimension M of S; layer 0's head 0 has a constant query and its key on M, so every
   * position after a marker attends to it and every position before one spreads evenly over
   * tokens that are 0 on M; its value 1 − M/λ (λ the marker's normalised value) writes a flag F
   * into the last dimension of U that is 1 before the marker and ≈ 0 after it, the same for every
   * position after it. The matching head's last query dimension is a constant −penalty and its key
   * reads F: slots before the marker (the history) lose ~20+ logits however similar their vectors
   * are to the user's, and the candidates all keep their scores. The user and item vectors then
   * use the first dh − 1 dimensions of U and S. Measured at initialisation (H 128, 8 heads, worded
   * lists of 1-10 history and 2-20 candidates with history decoys): the most similar candidate
   * ranks first in 96% of lists with the flag, 84% without it (97% without decoys).
   */
  lookBack?: { offset: number; heads: number; first?: number; match?: boolean; section?: number };
}

type Custom = (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };
const custom = (f: Custom) => tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...x: tf.Tensor[]) => tf.Tensor;

/** x·W + b with weight gradients; plain matMuls with explicit transposes. */
const linearW = custom((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x, b: w, bias: b }),
    gradFunc: (dy, [xs, ws]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(ws as tf.Tensor2D)),
      tf.matMul(tf.transpose(xs as tf.Tensor2D), dy as tf.Tensor2D),
      tf.sum(dy, 0),
    ],
  };
});

const LN_EPS = 1e-5;
const layerNormW = custom((x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  const { y, cache } = layerNorm(x, g, b, LN_EPS);
  save([cache.xhat, cache.rstd, g]);
  return {
    value: y,
    gradFunc: (dy, [xhat, rstd, gs]) => {
      const r = layerNormBackward(dy as tf.Tensor2D, { xhat: xhat as tf.Tensor2D, rstd: rstd as tf.Tensor2D, g: gs as tf.Tensor1D });
      return [r.dx, r.dg, r.db];
    },
  };
});

const GELU_C = Math.sqrt(2 / Math.PI);
/** GELU, tanh approximation (as `layers.activate('gelu_tanh')`), closed-form gradient. */
const geluTanh = custom((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), GELU_C);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner))),
    gradFunc: (dy, [xs]) => {
      const th = tf.tanh(tf.mul(tf.add(xs, tf.mul(tf.pow(xs, 3), 0.044715)), GELU_C));
      const du = tf.mul(tf.add(1, tf.mul(tf.square(xs), 3 * 0.044715)), GELU_C);
      const d = tf.add(tf.mul(tf.add(1, th), 0.5), tf.mul(tf.mul(tf.mul(xs, 0.5), tf.sub(1, tf.square(th))), du));
      return tf.mul(dy, d);
    },
  };
});

/** Causal self-attention of q, k, v [n, T, dh] (fused kernel when available). */
function causalAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, scale: number): tf.Tensor3D {
  if (hasFusedAttention()) {
    const f = custom((qi: tf.Tensor3D, ki: tf.Tensor3D, vi: tf.Tensor3D, save: tf.GradSaveFunc) => {
      const { P, O } = fusedCausalAttention(qi, ki, vi, scale);
      save([qi, ki, vi, P]);
      return {
        value: O,
        gradFunc: (dy, [qs, ks, vs, ps]) => {
          const g = fusedCausalAttentionGrad(qs as tf.Tensor3D, ks as tf.Tensor3D, vs as tf.Tensor3D, ps as tf.Tensor3D, dy as tf.Tensor3D, scale);
          return [g.dq, g.dk, g.dv];
        },
      };
    });
    return f(q, k, v) as tf.Tensor3D;
  }
  const T = q.shape[1];
  const biasData = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) biasData[i * T + j] = -1e9;
  const bias = tf.tensor2d(biasData, [T, T]);
  const f = custom((qi: tf.Tensor3D, ki: tf.Tensor3D, vi: tf.Tensor3D, save: tf.GradSaveFunc) => {
    const s = tf.add(tf.mul(tf.matMul(qi, tf.transpose(ki, [0, 2, 1])), scale), bias);
    const p = tf.softmax(s) as tf.Tensor3D;
    save([qi, ki, vi, p]);
    return {
      value: tf.matMul(p, vi),
      gradFunc: (dy, saved) => {
        const [sq, sk, sv, sp] = saved as tf.Tensor3D[];
        const dO = dy as tf.Tensor3D;
        const dP = tf.matMul(dO, tf.transpose(sv, [0, 2, 1]));
        const dV = tf.matMul(tf.transpose(sp, [0, 2, 1]), dO);
        const dS = tf.mul(tf.mul(sp, tf.sub(dP, tf.sum(tf.mul(dP, sp), -1, true))), scale) as tf.Tensor3D;
        return [tf.matMul(dS, sk), tf.matMul(tf.transpose(dS, [0, 2, 1]), sq), dV];
      },
    };
  });
  const out = f(q, k, v) as tf.Tensor3D;
  bias.dispose();
  return out;
}

/**
 * Weighted mean cross-entropy of `targets` from hidden states h [N, H] through the tied output
 * matrix wte [V, H]; gradients w.r.t. h and wte (softmax − one-hot, no broadcast Equal).
 */
function tiedCrossEntropy(h: tf.Tensor2D, wte: tf.Tensor2D, targets: Int32Array, weights: Float32Array): tf.Scalar {
  let total = 0;
  for (const w of weights) total += w;
  if (total <= 0) throw new Error('tiedCrossEntropy: no target has a positive weight');
  const V = wte.shape[0];
  const f = custom((hi: tf.Tensor2D, wi: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const logits = tf.matMul(hi, tf.transpose(wi));
    const lse = tf.logSumExp(logits, -1, true);
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), V), 'float32');
    const wt = tf.tensor2d(weights, [weights.length, 1]);
    const nll = tf.sub(lse, tf.sum(tf.mul(logits, onehot), -1, true));
    save([hi, wi, logits, lse, onehot, wt]);
    return {
      value: tf.div(tf.sum(tf.mul(nll, wt)), total),
      gradFunc: (dy, [hs, ws, lg, l, oh, w]) => {
        const dl = tf.mul(tf.sub(tf.exp(tf.sub(lg, l)), oh), tf.mul(w, tf.div(dy, total))) as tf.Tensor2D;
        return [tf.matMul(dl, ws as tf.Tensor2D), tf.matMul(tf.transpose(dl), hs as tf.Tensor2D)];
      },
    };
  });
  return f(h, wte) as tf.Scalar;
}

/** Hugging Face names and shapes of a GPT-2's weights (GPT2LMHeadModel without "transformer."). */
export function gpt2ParameterShapes(s: GPT2Spec): Record<string, number[]> {
  const H = s.hidden;
  const out: Record<string, number[]> = { 'wte.weight': [s.vocabSize, H], 'wpe.weight': [s.maxPositions, H] };
  for (let i = 0; i < s.layers; i++) {
    const p = `h.${i}.`;
    Object.assign(out, {
      [p + 'ln_1.weight']: [H], [p + 'ln_1.bias']: [H],
      [p + 'attn.c_attn.weight']: [H, 3 * H], [p + 'attn.c_attn.bias']: [3 * H],
      [p + 'attn.c_proj.weight']: [H, H], [p + 'attn.c_proj.bias']: [H],
      [p + 'ln_2.weight']: [H], [p + 'ln_2.bias']: [H],
      [p + 'mlp.c_fc.weight']: [H, 4 * H], [p + 'mlp.c_fc.bias']: [4 * H],
      [p + 'mlp.c_proj.weight']: [4 * H, H], [p + 'mlp.c_proj.bias']: [H],
    });
  }
  out['ln_f.weight'] = [H];
  out['ln_f.bias'] = [H];
  return out;
}

/** Share of the (shortest) training rows a length curriculum starts from. */
const CURRICULUM_START = 0.1;

/**
 * How many of the shortest `rows` a batch at `step` draws from under a length curriculum that
 * grows linearly from {@link CURRICULUM_START} of them to all over the first `curriculum` share
 * of `steps` (never fewer than one batch).
 */
export function curriculumPool(step: number, steps: number, curriculum: number, rows: number, batchSize: number): number {
  if (curriculum <= 0) return rows;
  const share = CURRICULUM_START + (1 - CURRICULUM_START) * Math.min(1, step / (curriculum * steps));
  return Math.min(rows, Math.max(batchSize, Math.ceil(share * rows - 1e-9)));
}

/** Default initial spread of added (title) token rows around their shared mean. */
const ADDED_TOKEN_SPREAD = 0.1;

/** Amplitude of a sinusoidal position table (title rows have norm ≈ 0.1·√H, these ≈ 0.1·√(H/2)). */
const SINUSOID_AMPLITUDE = 0.1;

/**
 * Writes sinusoid pairs into dimensions [0, 2·pairs) of a [positions, H] table in place:
 * row p, pair i = amplitude(p)·(sin(p·ω_i), cos(p·ω_i)).
 */
function sinusoidPairs(w: Float32Array, positions: number, H: number, pairs: number, omega: (i: number) => number, amplitude: (p: number) => number): void {
  for (let p = 0; p < positions; p++) {
    const a = amplitude(p);
    for (let i = 0; i < pairs; i++) {
      const angle = p * omega(i);
      w[p * H + 2 * i] = a * Math.sin(angle);
      w[p * H + 2 * i + 1] = a * Math.cos(angle);
    }
  }
}

/** Amplitude of the position pairs of `GPT2Spec.lookBack`. */
const LOOK_BACK_AMPLITUDE = 0.3;
/** Logit margin of a look-back head between its offset and the next-best position, at initialisation. */
const LOOK_BACK_MARGIN = 16;

/**
 * Frequencies of the position pairs of `GPT2Spec.lookBack`: ω_i = π/2^i, so Σ_i cos(d·ω_i) falls
 * from P/2 at d = 0 to at most P/2 − 2 elsewhere (the ω = π pair alone separates neighbours), and
 * repeats only after 2^(P/2) positions. With `match`, ω_i = π·ρ^i with ρ in [0.3, 0.8] chosen to
 * keep the largest Σ_i cos(d·ω_i) over d in 1..maxPositions−1 lowest (for 8 pairs and 256
 * positions: 4.2 at ρ = 0.6, against 6 for π/2^i), because a title row's larger LayerNorm σ
 * shrinks its key and a near-alias then wins over it in long prompts.
 */
function lookBackFrequencies(spec: GPT2Spec): number[] {
  const pairs = spec.hidden / spec.heads / 2;
  const at = (rho: number) => Array.from({ length: pairs }, (_, i) => Math.PI * rho ** i);
  if (!spec.lookBack?.match) return at(0.5);
  let best = { alias: Infinity, rho: 0.5 };
  for (let k = 300; k <= 800; k++) {
    const omega = at(k / 1000);
    const alias = largestAlias(omega, spec.maxPositions);
    if (alias < best.alias - 1e-9) best = { alias, rho: k / 1000 };
  }
  return at(best.rho);
}

/** max over d in 1..positions−1 of Σ_i cos(d·ω_i). */
function largestAlias(omega: number[], positions: number): number {
  let best = -Infinity;
  for (let d = 1; d < positions; d++) {
    let sum = 0;
    for (const w of omega) sum += Math.cos(d * w);
    best = Math.max(best, sum);
  }
  return best;
}

/**
 * Gain of position 0's pairs when first-position heads are on: the user slot's vector there would
 * otherwise dominate LayerNorm's σ at position 0 and shrink the key those heads look for below
 * its neighbours'.
 */
const FIRST_POSITION_GAIN = 4;

/** Scales of the wired layer-0 heads (see {@link lookBackScales}). */
interface LookBackScales {
  /** σ² of LayerNorm at a typical position: (mean token row² + mean position row²) / H. */
  sigma2: number;
  /** W_O gain of the look-back heads and of the first-position heads (position 0's σ is larger). */
  gamma: number;
  gamma0: number;
  /** Query gain that gives the look-back margin. */
  kappa: number;
  /** Frequencies of the position pairs ({@link lookBackFrequencies}). */
  omega: number[];
}

/**
 * The scales of `GPT2Spec.lookBack`'s heads, from the initial token and position tables. They
 * assume the first LayerNorm divides by σ ≈ the rms of a token row plus a position row.
 */
function lookBackScales(spec: GPT2Spec, wte: tf.Variable, wpe: tf.Variable, omega: number[]): LookBackScales {
  const { hidden: H, heads } = spec;
  const dh = H / heads;
  const tok = wte.dataSync() as Float32Array;
  const pos = wpe.dataSync() as Float32Array;
  const rows = tok.length / H;
  let tokSq = 0;
  for (let i = 0; i < tok.length; i++) tokSq += tok[i] * tok[i];
  let posSq = 0;
  for (let i = 0; i < pos.length; i++) posSq += pos[i] * pos[i];
  const sigma2 = (tokSq / rows + posSq / (pos.length / H)) / H;
  const gamma = MIMETIC_OV * Math.sqrt(sigma2); // W_O: copies about half a token row
  // Position 0's LayerNorm divides by a larger σ (its pairs are FIRST_POSITION_GAIN times larger):
  // the first-position heads' W_O makes up for it, so they too copy about half of what sits there.
  let row0Sq = 0;
  for (let j = 0; j < H; j++) row0Sq += pos[j] * pos[j];
  const gamma0 = MIMETIC_OV * Math.sqrt((tokSq / rows + row0Sq) / H);
  // Margin of Σ_i cos(d·ω_i) between d = 0 and the best d ≠ 0 within the table.
  const best = largestAlias(omega, spec.maxPositions);
  if (best > dh / 2 - 1) throw new RangeError(`lookBack: ${H / heads} position dimensions tell apart at most ${2 ** (dh / 2)} positions, not ${spec.maxPositions}; use a larger hidden size or fewer heads`);
  const kappa = (LOOK_BACK_MARGIN * Math.sqrt(dh) * sigma2) / (LOOK_BACK_AMPLITUDE ** 2 * (dh / 2 - best));
  return { sigma2, gamma, gamma0, kappa, omega };
}

/**
 * Rewrites layer 0's c_attn [H, 3H] ('qkv'), its bias [3H] ('bias') or c_proj [H, H] ('proj') in
 * place so its last `lookBack.heads` heads attend `lookBack.offset` positions back and the
 * `lookBack.first` heads before them attend to position 0 (see `GPT2Spec.lookBack`).
 */
function lookBackHeads(w: Float32Array, part: 'qkv' | 'proj' | 'bias', spec: GPT2Spec, { sigma2, gamma, gamma0, kappa, omega }: LookBackScales): void {
  const { hidden: H, heads } = spec;
  const { offset, heads: n, first = 0 } = spec.lookBack!;
  const dh = H / heads;
  const h0 = heads - n - first; // first-position heads [h0, heads - n), look-back heads [heads - n, heads)
  if (part === 'proj') {
    for (let h = h0; h < heads; h++) {
      const g = h < heads - n ? gamma0 : gamma;
      for (let r = h * dh; r < (h + 1) * dh; r++) for (let c = 0; c < H; c++) w[r * H + c] = r === c ? g : 0;
    }
    return;
  }
  if (part === 'bias') {
    // Query = the position-0 pattern (sin 0, cos 0) = (0, 1) per pair, as LayerNorm leaves it (÷σ).
    for (let h = h0; h < heads - n; h++) for (let i = 0; i < dh / 2; i++) w[h * dh + 2 * i + 1] = (kappa * LOOK_BACK_AMPLITUDE) / Math.sqrt(sigma2);
    return;
  }
  for (let h = h0; h < heads; h++) {
    const look = h >= heads - n;
    const q0 = h * dh;
    const k0 = H + h * dh;
    const v0 = 2 * H + h * dh;
    for (let i = 0; i < H; i++) for (let j = 0; j < dh; j++) { w[i * 3 * H + q0 + j] = 0; w[i * 3 * H + k0 + j] = 0; w[i * 3 * H + v0 + j] = 0; }
    for (let i = 0; i < dh / 2; i++) {
      const c = Math.cos(offset * omega[i]);
      const s = Math.sin(offset * omega[i]);
      // q_sin = c·x_sin − s·x_cos, q_cos = s·x_sin + c·x_cos: the pair rotated back by offset·ω_i.
      // (A first-position head's query is its bias alone.)
      if (look) {
        w[2 * i * 3 * H + q0 + 2 * i] = kappa * c;
        w[(2 * i + 1) * 3 * H + q0 + 2 * i] = -kappa * s;
        w[2 * i * 3 * H + q0 + 2 * i + 1] = kappa * s;
        w[(2 * i + 1) * 3 * H + q0 + 2 * i + 1] = kappa * c;
      }
      w[2 * i * 3 * H + k0 + 2 * i] = 1;
      w[(2 * i + 1) * 3 * H + k0 + 2 * i + 1] = 1;
    }
    for (let j = 0; j < dh; j++) w[(h * dh + j) * 3 * H + v0 + j] = 1;
  }
}

/** Layer 1's first matching head: heads MATCH_HEAD .. MATCH_HEAD + lookBack.heads − 1 copy one look-back slice each. */
const MATCH_HEAD = 1;
/**
 * W_Q gain of the matching head and W_O gain of its copy. Measured at initialisation (H 128,
 * 8 heads, unit slot vectors, bare lists of 2-20 candidates): with these the head attends to the
 * most similar slot in 96-100% of documents and the copied title ranks first in 92-100%.
 */
const MATCH_QUERY_GAIN = 16;
const MATCH_COPY_GAIN = 16;

/**
 * Values of `lookBack.section`'s wiring: the marker's entry in its (otherwise zero) token row; the
 * section head's query gain (a margin of ≥ 20 logits for the marker over every other position);
 * the gain of its write into the flag; and the matching head's constant query on the flag (the
 * penalty of a slot before the marker, i.e. a history slot).
 */
const SECTION_MARKER_VALUE = 0.5;
const SECTION_QUERY = 16;
const SECTION_FLAG_GAIN = 1;
const SECTION_PENALTY = 48;

/**
 * The marker's layer-normalised value in its dimension M at layer 0 (mean over positions; the
 * marker row and the position table are held, so it stays this): the section head's value is
 * 1 − LN(x)[M]/λ, 1 where no marker has come yet and ≈ 0 after one.
 */
function sectionLambda(spec: GPT2Spec, wte: Float32Array, wpe: Float32Array): number {
  const H = spec.hidden;
  const { M } = matchSlices(spec);
  const row = spec.lookBack!.section! * H;
  let sum = 0;
  for (let p = 1; p < spec.maxPositions; p++) {
    const x = Float32Array.from({ length: H }, (_, j) => wte[row + j] + wpe[p * H + j]);
    const mean = x.reduce((a, b) => a + b, 0) / H;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / H;
    sum += (x[M] - mean) / Math.sqrt(variance + 1e-5);
  }
  return sum / (spec.maxPositions - 1);
}

/**
 * Residual slices of `lookBack.match` (start of each, width dh): item slots S, user slot U, copied
 * titles C (`copy` wide: one dh slice per look-back head, the last `lookBack.heads` slices);
 * `width` of the user and item vectors in U and S (dh, or dh − 1 with `section`, whose marker
 * dimension is M = S + dh − 1 and flag dimension F = U + dh − 1).
 */
export function matchSlices(spec: GPT2Spec): { dh: number; S: number; U: number; C: number; copy: number; width: number; M: number; F: number } {
  const dh = spec.hidden / spec.heads;
  const { heads: n, first = 0, section } = spec.lookBack!;
  const S = dh;
  const U = (spec.heads - n - first) * dh;
  return { dh, S, U, C: (spec.heads - n) * dh, copy: n * dh, width: section === undefined ? dh : dh - 1, M: S + dh - 1, F: U + dh - 1 };
}

/**
 * Visits the entries `lookBack.match` wires in weight `name` (flat index and value); see
 * `GPT2Spec.lookBack`. The same entries are what `hold` keeps.
 */
function matchEntries(name: string, shape: number[], spec: GPT2Spec, visit: (index: number, value: number) => void, lambda = 1): void {
  const { hidden: H, heads } = spec;
  const { dh, S, U, C, copy, width, M, F } = matchSlices(spec);
  const section = spec.lookBack!.section;
  const copied = Array.from({ length: copy / dh }, (_, i) => C + i * dh); // one slice per look-back head
  const reserved = [S, U, ...copied];
  // Matching head MATCH_HEAD + i (columns from m) copies the i-th look-back slice (from c0); all attend alike.
  const matching = copied.map((c0, i) => ({ m: (MATCH_HEAD + i) * dh, c0 }));
  const columns = (rows: number, width: number, cols: number[], skipRow?: (r: number) => boolean) => {
    for (let r = 0; r < rows; r++) if (!skipRow?.(r)) for (const c0 of cols) for (let j = 0; j < dh; j++) visit(r * width + c0 + j, 0);
  };
  const h0 = heads - spec.lookBack!.heads - (spec.lookBack!.first ?? 0);
  switch (name) {
    case 'wte.weight':
      columns(shape[0], H, [S, U]);
      if (section !== undefined) for (let j = 0; j < H; j++) visit(section * H + j, j === M ? SECTION_MARKER_VALUE : 0); // the marker's row: only M
      break;
    case 'wpe.weight': columns(shape[0], H, [S, U]); break;
    case 'h.0.attn.c_proj.weight':
      columns(H, H, reserved, (r) => r >= h0 * dh); // the wired heads write only their own slices
      if (section !== undefined) for (let c = 0; c < H; c++) visit(c, c === F ? SECTION_FLAG_GAIN : 0); // head 0, dimension 0 → the flag
      break;
    case 'h.0.attn.c_attn.weight':
      // The section head (layer 0, head 0): a constant query (its bias), key M, value 1 − M/λ.
      if (section !== undefined) {
        for (let r = 0; r < H; r++) for (let j = 0; j < dh; j++) for (const part of [0, H, 2 * H]) visit(r * 3 * H + part + j, j === 0 && r === M ? (part === H ? 1 : part === 2 * H ? -1 / lambda : 0) : 0);
      }
      break;
    case 'h.0.attn.c_attn.bias':
      if (section !== undefined) for (let j = 0; j < dh; j++) for (const part of [0, H, 2 * H]) visit(part + j, j === 0 && part !== H ? (part === 0 ? SECTION_QUERY : 1) : 0);
      break;
    case 'h.0.mlp.c_proj.weight': columns(shape[0], H, reserved); break;
    case 'h.0.attn.c_proj.bias': case 'h.0.mlp.c_proj.bias': case 'h.1.ln_1.bias': columns(1, H, reserved); break;
    case 'h.1.ln_1.weight': for (const c0 of reserved) for (let j = 0; j < dh; j++) visit(c0 + j, 1); break;
    case 'h.1.attn.c_attn.weight':
      for (const { m, c0 } of matching) {
        for (let r = 0; r < H; r++) {
          for (let j = 0; j < dh; j++) {
            const flag = j >= width; // with `section`, the last dimension compares the flag, not the vectors
            visit(r * 3 * H + m + j, !flag && r === U + j ? MATCH_QUERY_GAIN : 0); // W_Q: the user vector (copied to every position)
            visit(r * 3 * H + H + m + j, r === (flag ? F : S + j) ? 1 : 0); // W_K: the item slot's own vector (and the flag)
            visit(r * 3 * H + 2 * H + m + j, r === c0 + j ? 1 : 0); // W_V: the title (slice) the slot received
          }
        }
      }
      break;
    case 'h.1.attn.c_attn.bias':
      for (const { m } of matching) for (let j = 0; j < dh; j++) { visit(m + j, j >= width ? -SECTION_PENALTY : 0); visit(H + m + j, 0); visit(2 * H + m + j, 0); }
      break;
    case 'h.1.attn.c_proj.weight':
      for (const { m, c0 } of matching) for (let j = 0; j < dh; j++) for (let c = 0; c < H; c++) visit((m + j) * H + c, c === c0 + j ? MATCH_COPY_GAIN : 0);
      break;
  }
}

/**
 * The token that opens the candidate list in every prompt template (" set", as in "… from the
 * following movie title set, "): `lookBack.section`'s marker. It must be one token of its own, or
 * the flag would rise at every word that shares a piece with it.
 */
export function sectionMarkerToken(tokenizer: { encode(text: string): number[] }): number {
  const ids = tokenizer.encode(SECTION_MARKER);
  if (ids.length !== 1) throw new Error(`the section marker "${SECTION_MARKER}" is ${ids.length} tokens in this tokenizer, not one; train it with BPETrainOptions.wholeWords [${JSON.stringify(SECTION_MARKER)}]`);
  return ids[0];
}

/** The word whose token is `lookBack.section`'s marker (a whole word of tokenizers trained for it). */
export const SECTION_MARKER = ' set';

/**
 * Entries `lookBack.match` keeps as wired while held: per weight, `keep` (0 on a held entry, 1
 * elsewhere) and `value` (the wired values, 0 elsewhere), so a held weight is p·keep + value.
 */
function matchHeld(model: TrainableGPT2): { name: string; keep: tf.Tensor; value: tf.Tensor }[] {
  const out: { name: string; keep: tf.Tensor; value: tf.Tensor }[] = [];
  for (const [name, v] of model.params) {
    if (WIRED.includes(name)) continue; // held whole
    const keep = new Float32Array(v.size).fill(1);
    let any = false;
    matchEntries(name, v.shape, model.spec, (i) => { keep[i] = 0; any = true; });
    if (any) out.push({ name, keep: tf.tensor(keep, v.shape), value: tf.tidy(() => tf.mul(v, tf.sub(1, tf.tensor(keep, v.shape)))) });
  }
  return out;
}

/** The slot interface of a spec with `lookBack.match` (config.json `allmrec_slot_interface`). */
function slotInterfaceOf(spec: GPT2Spec): SlotInterface {
  const { width, S, U } = matchSlices(spec);
  const section = spec.lookBack!.section;
  return { user: [U, U + width], item: [S, S + width], ...(section !== undefined ? { section } : {}) };
}

/**
 * How pretraining draws slot vectors for a spec's wiring: clear of the position dimensions with
 * `lookBack`; with `lookBack.match`, as {@link interfaceSlotVectors} draws them for its interface.
 */
function wiredSlotVectors(spec: GPT2Spec): SlotVectorOptions {
  if (!spec.lookBack) return {};
  if (!spec.lookBack.match) return { zeroDims: spec.hidden / spec.heads };
  return interfaceSlotVectors(slotInterfaceOf(spec));
}

/**
 * Slot vectors as an LM with a slot interface was pretrained on (`CausalLMConfig.slotInterface`):
 * pass to `listCopyAccuracy` to check such an LM as it was trained.
 */
export function interfaceSlotVectors({ user, item, section }: SlotInterface): SlotVectorOptions {
  // With a section flag the history may be more similar than the answer: the LM must ignore it.
  return { userDims: user, itemDims: item, normSpread: 0, historyDecoys: section !== undefined };
}

/** Names of the weights `PretrainOptions.lookBack.hold` keeps as wired (with wte's position columns). */
const WIRED = ['wpe.weight', 'h.0.ln_1.weight', 'h.0.ln_1.bias', 'h.0.attn.c_attn.weight', 'h.0.attn.c_attn.bias', 'h.0.attn.c_proj.weight', 'h.0.attn.c_proj.bias'];

/** Drops the gradients of the wired weights and zeroes wte's on the position dimensions (in a tidy). */
function holdWired(grads: Map<string, tf.Tensor>, spec: GPT2Spec): void {
  for (const n of WIRED) grads.delete(n);
  const g = grads.get('wte.weight');
  if (g) {
    const P = spec.hidden / spec.heads;
    grads.set('wte.weight', tf.concat([tf.zeros([spec.vocabSize, P]), tf.slice(g, [0, P], [spec.vocabSize, spec.hidden - P])], 1));
  }
}

/** Scale of W_V·W_O at a mimetic initialisation (≈ γ·I summed over heads). */
const MIMETIC_OV = 0.5;

/**
 * Rewrites a c_attn weight [H, 3H] (columns Q | K | V) in place: Q and V columns drawn with
 * std 1/√H so that W_Q·W_Q^T ≈ I summed over heads, and K = Q.
 */
function mimeticQKV(w: Float32Array, H: number, rng: Rng): void {
  const std = 1 / Math.sqrt(H);
  for (let i = 0; i < H; i++) {
    const row = i * 3 * H;
    for (let j = 0; j < H; j++) {
      w[row + j] = rng.normal() * std;
      w[row + H + j] = w[row + j];
      w[row + 2 * H + j] = rng.normal() * std;
    }
  }
}

/**
 * A GPT-2 whose weights are `tf.Variable`s, for pretraining. `toHF()` gives the tensors
 * `loadCausalLM` reads back with the same logits.
 */
export class TrainableGPT2 {
  readonly params = new Map<string, tf.Variable>();

  constructor(readonly spec: GPT2Spec, seed: number) {
    const { hidden: H, heads, layers } = spec;
    if (H % heads !== 0) throw new RangeError(`hidden ${H} is not divisible by heads ${heads}`);
    if (spec.lookBack) {
      const { offset, heads: n, first = 0 } = spec.lookBack;
      if (!(Number.isInteger(n) && n >= 1 && n < heads)) throw new RangeError(`lookBack.heads must be 1..${heads - 1} (head 0's dimensions hold the positions), got ${n}`);
      if (!(Number.isInteger(first) && first >= 0 && n + first < heads)) throw new RangeError(`lookBack.first must be 0..${heads - 1 - n} (head 0's dimensions hold the positions), got ${first}`);
      if (!(Number.isInteger(offset) && offset >= 1)) throw new RangeError(`lookBack.offset must be a positive integer, got ${offset}`);
      if (spec.lookBack.match && !(first >= 1 && layers >= 2 && heads - n - first >= 2)) {
        throw new RangeError(`lookBack.match needs a first-position head, two layers, and heads 0 and 1 of layer 0 unwired (heads ${heads}, look-back ${n}, first ${first}, layers ${layers})`);
      }
      const section = spec.lookBack.section;
      if (section !== undefined && !(spec.lookBack.match && Number.isInteger(section) && section >= 0 && section < spec.vocabSize)) {
        throw new RangeError(`lookBack.section must be a token id in [0, ${spec.vocabSize}) and needs lookBack.match, got ${section}`);
      }
    }
    const rng = new Rng(seed).fork('gpt2-init');
    let wiring: LookBackScales | undefined; // computed once, from the initial wte and wpe
    const omega = spec.lookBack ? lookBackFrequencies(spec) : [];
    const scales = () => (wiring ??= lookBackScales(spec, this.params.get('wte.weight')!, this.params.get('wpe.weight')!, omega));
    for (const [name, shape] of Object.entries(gpt2ParameterShapes(spec))) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name === 'ln_f.weight') data.fill(1);
      else if (shape.length === 2) {
        const std = name === 'wpe.weight' ? 0.01 : name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * layers) : 0.02;
        for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
        if (name === 'wte.weight' && spec.sharedInitRows) {
          const [a, b] = spec.sharedInitRows;
          const mean = Float32Array.from({ length: H }, () => rng.normal() * std);
          const k = (spec.sharedInitSpread ?? std) / std;
          for (let r = a; r < b; r++) for (let j = 0; j < H; j++) data[r * H + j] = data[r * H + j] * k + mean[j];
        }
        if (spec.sinusoidalPositions && name === 'wpe.weight') sinusoidPairs(data, shape[0], H, H / 2, (i) => Math.pow(10000, (-2 * i) / H), () => SINUSOID_AMPLITUDE);
        if (spec.lookBack && name === 'wte.weight') for (let r = 0; r < shape[0]; r++) data.fill(0, r * H, r * H + H / heads);
        if (spec.lookBack && name === 'wpe.weight') {
          const gain0 = spec.lookBack.first ? FIRST_POSITION_GAIN : 1;
          sinusoidPairs(data, shape[0], H, H / heads / 2, (i) => omega[i], (p) => LOOK_BACK_AMPLITUDE * (p === 0 ? gain0 : 1));
        }
        if (spec.mimeticInit && name.endsWith('attn.c_attn.weight')) mimeticQKV(data, H, rng);
        if (spec.mimeticInit && name.endsWith('attn.c_proj.weight')) {
          const qkv = this.params.get(name.replace('c_proj', 'c_attn'))!.dataSync() as Float32Array;
          // W_O[r, c] = W_V[c, r] · γ: W_V·W_O = γ·W_V·W_V^T, block by block per head.
          for (let r = 0; r < H; r++) for (let c = 0; c < H; c++) data[r * H + c] = MIMETIC_OV * qkv[c * 3 * H + 2 * H + r];
        }
        if (spec.lookBack && (name === 'h.0.attn.c_attn.weight' || name === 'h.0.attn.c_proj.weight')) {
          lookBackHeads(data, name.endsWith('c_attn.weight') ? 'qkv' : 'proj', spec, scales());
        }
      } else if (spec.lookBack?.first && name === 'h.0.attn.c_attn.bias') {
        lookBackHeads(data, 'bias', spec, scales());
      }
      const lambda = spec.lookBack?.section !== undefined && name === 'h.0.attn.c_attn.weight'
        ? sectionLambda(spec, this.params.get('wte.weight')!.dataSync() as Float32Array, this.params.get('wpe.weight')!.dataSync() as Float32Array)
        : 1;
      if (spec.lookBack?.match) matchEntries(name, shape, spec, (i, value) => { data[i] = value; }, lambda);
      this.params.set(name, tf.tidy(() => tf.variable(tf.tensor(data, shape), true, `pretrain/${name}/${rng.nextUint32()}`)));
    }
  }

  private p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  /**
   * Final hidden states (after ln_f) [B·T, H] of token rows `ids` [B·T] starting at position 0;
   * `slots` replaces the token embeddings at its masked positions by its vectors.
   */
  hidden(ids: Int32Array, B: number, T: number, slots?: SlotVectors): tf.Tensor2D {
    const { hidden: H, heads, layers, maxPositions } = this.spec;
    if (T > maxPositions) throw new RangeError(`sequence length ${T} exceeds ${maxPositions} positions`);
    const dh = H / heads;
    const scale = 1 / Math.sqrt(dh);
    const gathered = tf.gather(this.p('wte.weight'), tf.tensor1d(ids, 'int32'));
    const tok = slots ? withSlotVectors(gathered, slots) : gathered;
    const pos = tf.slice(this.p('wpe.weight'), [0, 0], [T, H]);
    let x = tf.reshape(tf.add(tf.reshape(tok, [B, T, H]), pos), [B * T, H]) as tf.Tensor2D;
    const heads3 = (t: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, heads, dh]), [0, 2, 1, 3]), [B * heads, T, dh]) as tf.Tensor3D;
    for (let l = 0; l < layers; l++) {
      const p = `h.${l}.`;
      const h = layerNormW(x, this.p(p + 'ln_1.weight'), this.p(p + 'ln_1.bias'));
      const qkv = linearW(h, this.p(p + 'attn.c_attn.weight'), this.p(p + 'attn.c_attn.bias'));
      const [q, k, v] = tf.split(qkv, 3, 1);
      const o = causalAttention(heads3(q), heads3(k), heads3(v), scale);
      const merged = tf.reshape(tf.transpose(tf.reshape(o, [B, heads, T, dh]), [0, 2, 1, 3]), [B * T, H]);
      x = tf.add(x, linearW(merged, this.p(p + 'attn.c_proj.weight'), this.p(p + 'attn.c_proj.bias'))) as tf.Tensor2D;
      const h2 = layerNormW(x, this.p(p + 'ln_2.weight'), this.p(p + 'ln_2.bias'));
      const up = geluTanh(linearW(h2, this.p(p + 'mlp.c_fc.weight'), this.p(p + 'mlp.c_fc.bias')));
      x = tf.add(x, linearW(up, this.p(p + 'mlp.c_proj.weight'), this.p(p + 'mlp.c_proj.bias'))) as tf.Tensor2D;
    }
    return layerNormW(x, this.p('ln_f.weight'), this.p('ln_f.bias')) as tf.Tensor2D;
  }

  /** Logits [B, T, V] of token rows `ids` [B·T] (vector slots as in {@link hidden}). */
  logits(ids: Int32Array, B: number, T: number, slots?: SlotVectors): tf.Tensor3D {
    return tf.tidy(() => tf.reshape(tf.matMul(this.hidden(ids, B, T, slots), tf.transpose(this.p('wte.weight'))), [B, T, -1]) as tf.Tensor3D);
  }

  /**
   * Weighted mean next-token cross-entropy: `inputs` and `targets` [B·T] (targets[t] follows
   * inputs[t]), `weights` [B·T] (0 = not a target), vector slots as in {@link hidden}.
   * Differentiable w.r.t. every weight.
   */
  loss(inputs: Int32Array, targets: Int32Array, weights: Float32Array, B: number, T: number, slots?: SlotVectors): tf.Scalar {
    return tiedCrossEntropy(this.hidden(inputs, B, T, slots), this.p('wte.weight') as tf.Tensor as tf.Tensor2D, targets, weights);
  }

  /** Number of parameters. */
  get size(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** The weights as Hugging Face tensors (GPT2LMHeadModel names, tied head omitted). */
  toHF(): Map<string, TensorInput> {
    const out = new Map<string, TensorInput>();
    for (const [k, v] of this.params) out.set(k, { shape: v.shape, data: v.dataSync().slice() as Float32Array });
    return out;
  }

  /** config.json of the checkpoint. */
  configJson(): Record<string, unknown> {
    const s = this.spec;
    return {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: s.vocabSize, n_embd: s.hidden, n_layer: s.layers,
      n_head: s.heads, n_positions: s.maxPositions, n_ctx: s.maxPositions, n_inner: 4 * s.hidden,
      activation_function: 'gelu_new', layer_norm_epsilon: LN_EPS, bos_token_id: s.eosTokenId, eos_token_id: s.eosTokenId,
      tie_word_embeddings: true, scale_attn_weights: true, torch_dtype: 'float32',
      ...(s.lookBack?.match ? { allmrec_slot_interface: slotInterfaceOf(s) } : {}),
    };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

/** AdamW (decoupled weight decay on matrices) with global-norm gradient clipping. */
class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  t = 0;

  constructor(private readonly beta1 = 0.9, private readonly beta2 = 0.95, private readonly eps = 1e-8, private readonly weightDecay = 0.01) {}

  /** Applies one update; returns the gradient norm before clipping. */
  step(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, clip: number): number {
    const norm = tf.tidy(() => Math.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
    const scale = clip > 0 && norm > clip ? clip / (norm + 1e-6) : 1;
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g0 = grads.get(name);
        if (!g0) continue;
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
        let m = this.m.get(name);
        let v = this.v.get(name);
        if (!m || !v) {
          m = tf.keep(tf.variable(tf.zerosLike(p), false));
          v = tf.keep(tf.variable(tf.zerosLike(p), false));
          this.m.set(name, m);
          this.v.set(name, v);
        }
        const m2 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v2 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(m2);
        v.assign(v2);
        const upd = tf.div(tf.div(m2, bc1), tf.add(tf.sqrt(tf.div(v2, bc2)), this.eps));
        const decayed = p.rank === 2 && this.weightDecay > 0 ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(upd, lr)));
      }
    });
    return norm;
  }

  state(): { t: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [k, t] of this.m) m.set(k, t.dataSync().slice() as Float32Array);
    for (const [k, t] of this.v) v.set(k, t.dataSync().slice() as Float32Array);
    return { t: this.t, m, v };
  }

  restore(t: number, m: Map<string, Float32Array>, v: Map<string, Float32Array>, shapes: Record<string, number[]>): void {
    this.dispose();
    this.t = t;
    for (const [k, a] of m) this.m.set(k, tf.tidy(() => tf.variable(tf.tensor(a, shapes[k]), false)));
    for (const [k, a] of v) this.v.set(k, tf.tidy(() => tf.variable(tf.tensor(a, shapes[k]), false)));
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Training.

/** Options of {@link pretrainLM}. */
export interface PretrainOptions {
  /** Documents (see {@link buildPretrainCorpus}; {@link PIECE_BREAK} / {@link SLOT_MARK} honoured). */
  corpus: string[];
  /** Where the Hugging Face checkpoint is written (atomically). */
  outDir: string;
  seed: number;
  /** 'train' (default): a byte-level BPE trained on the corpus; 'gpt2': GPT-2's 50,257 tokens (slower). */
  tokenizer?: 'train' | 'gpt2';
  /** Vocabulary size of the trained tokenizer (default 2048, incl. 256 bytes + <|endoftext|>). */
  vocabSize?: number;
  /**
   * Whole-string tokens added to the trained tokenizer (e.g. the item titles: see
   * `BPETrainOptions.addedTokens`); they come on top of `vocabSize`.
   */
  addedTokens?: string[];
  hidden?: number;
  layers?: number;
  heads?: number;
  maxPositions?: number;
  /** Tokens per training row (default 128). */
  seqLen?: number;
  /**
   * One document per row, starting at position 0 like a Stage 2 prompt (default false: rows are
   * packed). Batches are cut to their longest row, so short documents stay cheap.
   */
  oneDocPerRow?: boolean;
  /** Mimetic initialisation of attention (see `GPT2Spec.mimeticInit`; default false). */
  mimeticInit?: boolean;
  /**
   * Length curriculum: a share in [0, 1) of the steps over which batches grow from the shortest
   * tenth of the training rows to all of them (default 0: every row from the start). Copying
   * from a list is learned within a few hundred steps on short lists, and then carries over to
   * long ones, which on their own stay on the no-copy plateau.
   */
  curriculum?: number;
  /** Sinusoidal initial position table (see `GPT2Spec.sinusoidalPositions`; default false). */
  sinusoidalPositions?: boolean;
  /**
   * Layer-0 heads that start out looking `offset` positions back, and `first` that look at
   * position 0 (see `GPT2Spec.lookBack`; default none). `hold` (a share of the steps, default 0)
   * keeps them as wired for that long: layer 0's attention, the position table and the token
   * rows' position dimensions get no updates, so the later layers learn to use what those heads
   * bring before anything can repurpose them. `match` adds the wired matching head (see
   * `GPT2Spec.lookBack`), which `hold` keeps too, and `section` (with `match`) its section flag on
   * the tokenizer's {@link sectionMarkerToken}.
   */
  lookBack?: { offset: number; heads: number; first?: number; match?: boolean; section?: boolean; hold?: number };
  /** How vector slots (list documents with `listAnswer: 'vector'`) are drawn (see {@link slotVectors}). */
  slotVectors?: SlotVectorOptions;
  /** Initial spread of the added tokens' rows around their shared mean (see `GPT2Spec.sharedInitSpread`; default 0.1). */
  addedTokenSpread?: number;
  batchSize?: number;
  /** Optimizer steps (default 1000). */
  steps?: number;
  /** Stop early after this many seconds of training (the schedule still assumes `steps`). */
  maxSeconds?: number;
  /** Peak learning rate (default 1e-3), reached after `warmupSteps` (default 5 % of steps, ≤ 200). */
  lr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  /** Share of documents held out for perplexity (default 0.05). */
  heldOutFraction?: number;
  /** Write a resumable checkpoint here every `checkpointEvery` steps (default 200) and resume from it. */
  checkpointDir?: string;
  checkpointEvery?: number;
  onProgress?: ProgressListener;
}

/** What {@link pretrainLM} returns. */
export interface PretrainResult {
  dir: string;
  params: number;
  vocabSize: number;
  trainTokens: number;
  heldOutTokens: number;
  heldOutPerplexity: number;
  /** Steps taken (may be fewer than asked with `maxSeconds`). */
  steps: number;
  seconds: number;
  /** Mean training loss over the last (up to) 20 steps. */
  finalLoss: number;
  /** Mean seconds per step. */
  stepSeconds: number;
  /** Step training resumed from (0 when fresh). */
  resumedFrom: number;
  /** How vector slots were drawn (with `lookBack`, clear of the position dimensions): pass to `listCopyAccuracy`. */
  slotVectors: SlotVectorOptions;
}

interface Rows {
  inputs: Int32Array[];
  targets: Int32Array[];
  weights: Float32Array[];
  /** Vector-slot roles of each row's inputs (undefined for a row without vector slots). */
  roles: (Uint8Array | undefined)[];
  /** Used length of each row (the rest is padding). */
  lengths: number[];
  tokens: number;
}

/**
 * Tokenized documents as rows of T inputs (+ shifted targets). Packed (default): whole documents
 * one after another. `oneDocPerRow`: every document starts a row at position 0, as a Stage 2
 * prompt does, and the rest of the row is padding. A document longer than a row continues in
 * the next one either way.
 */
function packRows(docs: { ids: number[]; target: boolean[]; roles?: number[] }[], T: number, pad: number, oneDocPerRow = false): Rows {
  const rows: Rows = { inputs: [], targets: [], weights: [], roles: [], lengths: [], tokens: 0 };
  let ids: number[] = [];
  let tg: boolean[] = [];
  let rl: number[] = [];
  const flush = () => {
    if (ids.length < 2) { ids = []; tg = []; rl = []; return; }
    const inp = new Int32Array(T).fill(pad);
    const out = new Int32Array(T).fill(pad);
    const w = new Float32Array(T);
    const roles = rl.some((r) => r !== 0) ? new Uint8Array(T) : undefined;
    let n = 0;
    for (let t = 0; t + 1 < ids.length; t++) {
      inp[t] = ids[t];
      out[t] = ids[t + 1];
      w[t] = tg[t + 1] ? 1 : 0;
      if (roles) roles[t] = rl[t];
      n += w[t];
    }
    // A row of context only (the start of a long list document) teaches nothing: dropped.
    if (n > 0) { rows.inputs.push(inp); rows.targets.push(out); rows.weights.push(w); rows.roles.push(roles); rows.lengths.push(ids.length - 1); rows.tokens += n; }
    ids = []; tg = []; rl = [];
  };
  for (const d of docs) {
    if (ids.length > 0 && (oneDocPerRow || ids.length + d.ids.length > T + 1)) flush();
    for (let i = 0; i < d.ids.length; i++) {
      ids.push(d.ids[i]);
      tg.push(d.target[i]);
      rl.push(d.roles?.[i] ?? 0);
      if (ids.length === T + 1) {
        // A document longer than a row continues in the next one (sharing the boundary token).
        const last = ids[T];
        const lastT = tg[T];
        const lastR = rl[T];
        flush();
        if (i + 1 < d.ids.length) { ids.push(last); tg.push(lastT); rl.push(lastR); }
      }
    }
  }
  flush();
  return rows;
}

/** Rows `idx` as one batch, cut to the longest used length among them (≤ T). */
function batchOf(rows: Rows, idx: number[], T: number): { inputs: Int32Array; targets: Int32Array; weights: Float32Array; roles: Uint8Array; T: number } {
  const B = idx.length;
  const Tb = Math.max(1, Math.min(T, Math.max(...idx.map((r) => rows.lengths[r]))));
  const inputs = new Int32Array(B * Tb);
  const targets = new Int32Array(B * Tb);
  const weights = new Float32Array(B * Tb);
  const roles = new Uint8Array(B * Tb);
  idx.forEach((r, b) => {
    inputs.set(rows.inputs[r].subarray(0, Tb), b * Tb);
    targets.set(rows.targets[r].subarray(0, Tb), b * Tb);
    weights.set(rows.weights[r].subarray(0, Tb), b * Tb);
    const rr = rows.roles[r];
    if (rr) roles.set(rr.subarray(0, Tb), b * Tb);
  });
  return { inputs, targets, weights, roles, T: Tb };
}

/** Mean cross-entropy (nats per target token) of a model on packed rows. */
function meanLoss(model: TrainableGPT2, rows: Rows, T: number, batchSize: number, rng: Rng, vectors?: SlotVectorOptions): number {
  let sum = 0;
  let n = 0;
  for (let s = 0; s < rows.inputs.length; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, rows.inputs.length - s) }, (_, i) => s + i);
    const b = batchOf(rows, idx, T);
    const w = b.weights.reduce((a, x) => a + x, 0);
    if (w === 0) continue;
    const slots = slotVectors(b.roles, idx.length, b.T, model.spec.hidden, rng, vectors);
    const l = tf.tidy(() => model.loss(b.inputs, b.targets, b.weights, idx.length, b.T, slots));
    sum += l.dataSync()[0] * w;
    n += w;
    l.dispose();
  }
  return n ? sum / n : NaN;
}

const CHECKPOINT_KIND = 'allmrec.lm-pretrain.checkpoint';

/**
 * Trains a small GPT-2 on `corpus` and writes it as a Hugging Face checkpoint to `outDir`
 * (config.json, model.safetensors, tokenizer.json, tokenizer_config.json). Deterministic in
 * `seed` on a given backend.
 */
export async function pretrainLM(options: PretrainOptions): Promise<PretrainResult> {
  await selectBackend();
  const t0 = performance.now();
  const seed = options.seed;
  const T = options.seqLen ?? 128;
  const maxPositions = options.maxPositions ?? 256;
  if (T > maxPositions) throw new RangeError(`seqLen ${T} exceeds maxPositions ${maxPositions}`);
  const steps = options.steps ?? 1000;
  const batchSize = options.batchSize ?? 16;
  const lr = options.lr ?? 1e-3;
  const warmup = options.warmupSteps ?? Math.max(1, Math.min(200, Math.round(0.05 * steps)));
  const every = options.checkpointEvery ?? 200;

  // Tokenizer.
  let tokJson: Record<string, any>;
  let tokConfig: Record<string, any>;
  let eos: number;
  let added = 0;
  if ((options.tokenizer ?? 'train') === 'gpt2') {
    tokJson = gpt2TokenizerJson();
    tokConfig = gpt2TokenizerConfig();
    eos = GPT2_EOS;
  } else {
    const bpe = trainByteLevelBPE((function* () { for (const d of options.corpus) yield* textPieces(d); })(), {
      vocabSize: options.vocabSize ?? 2048, addedTokens: options.addedTokens, ...(options.lookBack?.section ? { wholeWords: [SECTION_MARKER] } : {}),
    });
    tokJson = bpe.tokenizerJson;
    tokConfig = bpe.tokenizerConfig;
    eos = bpe.eosTokenId;
    added = bpe.addedTokens;
  }
  const tok = new HFTokenizer(tokJson, tokConfig, { eosTokenId: eos, bosTokenId: eos });
  const V = tok.vocabSize;

  // Documents → held-out split → packed rows.
  const order = new Rng(seed).fork('documents').shuffle(Int32Array.from({ length: options.corpus.length }, (_, i) => i));
  const nHeld = Math.floor((options.heldOutFraction ?? 0.05) * options.corpus.length);
  const slotRng = new Rng(seed).fork('slots');
  const tokenized = Array.from(order, (i) => tokenizeDocument(tok, options.corpus[i], eos, slotRng, eos));
  const held = packRows(tokenized.slice(0, nHeld), T, eos, options.oneDocPerRow);
  const train = packRows(tokenized.slice(nHeld), T, eos, options.oneDocPerRow);
  if (train.inputs.length === 0) throw new Error('pretrainLM: the corpus gives no training rows');

  const spec: GPT2Spec = {
    vocabSize: V, hidden: options.hidden ?? 128, layers: options.layers ?? 4, heads: options.heads ?? 4, maxPositions, eosTokenId: eos,
    ...(added > 0 ? { sharedInitRows: [V - added, V] as [number, number], sharedInitSpread: options.addedTokenSpread ?? ADDED_TOKEN_SPREAD } : {}),
    ...(options.mimeticInit ? { mimeticInit: true } : {}),
    ...(options.sinusoidalPositions ? { sinusoidalPositions: true } : {}),
    ...(options.lookBack ? {
      lookBack: {
        offset: options.lookBack.offset, heads: options.lookBack.heads, first: options.lookBack.first ?? 0,
        ...(options.lookBack.match ? { match: true } : {}),
        ...(options.lookBack.section ? { section: sectionMarkerToken(tok) } : {}),
      },
    } : {}),
  };
  const vectorOptions: SlotVectorOptions = { ...wiredSlotVectors(spec), ...options.slotVectors };
  const model = new TrainableGPT2(spec, seed);
  const shapes = gpt2ParameterShapes(spec);
  const adam = new AdamW(0.9, 0.95, 1e-8, options.weightDecay ?? 0.01);
  const names = [...model.params.keys()];
  const vars = names.map((n) => model.params.get(n)!);
  let start = 0;
  const runKey = JSON.stringify({
    spec, T, batchSize, steps, lr, warmup, seed, docs: options.corpus.length, oneDocPerRow: !!options.oneDocPerRow,
    ...(options.curriculum ? { curriculum: options.curriculum } : {}),
    ...(options.slotVectors ? { slotVectors: options.slotVectors } : {}),
    ...(options.lookBack?.hold ? { hold: options.lookBack.hold } : {}),
  });
  if (options.checkpointDir && isArtifact(options.checkpointDir)) {
    const art = await readArtifact(options.checkpointDir, { expectKind: CHECKPOINT_KIND });
    if (art.config.runKey !== runKey) throw new Error(`pretrainLM: the checkpoint in ${options.checkpointDir} belongs to another run; remove it or use another directory`);
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [name, t] of art.tensors) {
      const [group, key] = [name.slice(0, name.indexOf('/')), name.slice(name.indexOf('/') + 1)];
      const data = t.data as Float32Array;
      if (group === 'param') tf.tidy(() => model.params.get(key)!.assign(tf.tensor(data, shapes[key])));
      else if (group === 'm') m.set(key, data);
      else if (group === 'v') v.set(key, data);
    }
    adam.restore(art.config.adamT, m, v, shapes);
    start = art.config.step;
  }
  const writeCheckpoint = async (step: number) => {
    const tensors: Record<string, TensorInput> = {};
    for (const [k, t] of model.params) tensors[`param/${k}`] = { shape: t.shape, data: t.dataSync().slice() as Float32Array };
    const st = adam.state();
    for (const [k, a] of st.m) tensors[`m/${k}`] = { shape: shapes[k], data: a };
    for (const [k, a] of st.v) tensors[`v/${k}`] = { shape: shapes[k], data: a };
    await writeArtifact(options.checkpointDir!, { kind: CHECKPOINT_KIND, config: { runKey, step, adamT: st.t }, tensors });
  };

  const curriculum = options.curriculum ?? 0;
  if (!(curriculum >= 0 && curriculum < 1)) throw new RangeError(`pretrainLM: curriculum must be in [0, 1), got ${curriculum}`);
  // Under a curriculum: rows by length (stable), so the pool of the shortest rows is a prefix.
  const byLength = curriculum > 0
    ? Int32Array.from(train.lengths.map((_, i) => i)).sort((a, b) => train.lengths[a] - train.lengths[b] || a - b)
    : undefined;

  const holdSteps = Math.round((options.lookBack?.hold ?? 0) * steps);
  const wiredHeld = spec.lookBack?.match && holdSteps > 0 ? matchHeld(model) : [];
  const recent: number[] = [];
  const trainStart = performance.now();
  let step = start;
  try {
    while (step < steps) {
      if (options.maxSeconds !== undefined && (performance.now() - trainStart) / 1000 >= options.maxSeconds) break;
      const rng = new Rng(seed).fork(`batch:${step}`);
      const pool = byLength ? curriculumPool(step, steps, curriculum, byLength.length, batchSize) : train.inputs.length;
      const idx = Array.from({ length: batchSize }, () => (byLength ? byLength[rng.int(pool)] : rng.int(pool)));
      const b = batchOf(train, idx, T);
      const slots = slotVectors(b.roles, batchSize, b.T, spec.hidden, new Rng(seed).fork(`vectors:${step}`), vectorOptions);
      const rate = step < warmup ? lr * (step + 1) / warmup
        : lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, (step - warmup) / Math.max(1, steps - warmup)))));
      let lossValue = 0;
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => model.loss(b.inputs, b.targets, b.weights, batchSize, b.T, slots), vars);
        lossValue = value.dataSync()[0];
        const g = new Map(names.map((n) => [n, grads[model.params.get(n)!.name]]));
        if (step < holdSteps) {
          holdWired(g, spec);
          for (const h of wiredHeld) g.set(h.name, tf.mul(g.get(h.name)!, h.keep));
        }
        adam.step(model.params, g, rate, 1.0);
        // Weight decay moves held entries too: put the wired values back.
        if (step < holdSteps) for (const h of wiredHeld) model.params.get(h.name)!.assign(tf.add(tf.mul(model.params.get(h.name)!, h.keep), h.value));
      });
      if (!Number.isFinite(lossValue)) throw new Error(`pretrainLM: loss became ${lossValue} at step ${step + 1}`);
      recent.push(lossValue);
      if (recent.length > 20) recent.shift();
      step++;
      options.onProgress?.({ task: 'lm:pretrain', current: step, total: steps, unit: 'step', values: { loss: Math.round(lossValue * 1e4) / 1e4, lr: rate } });
      if (options.checkpointDir && every > 0 && step % every === 0 && step < steps) await writeCheckpoint(step);
    }
    const trainSeconds = (performance.now() - trainStart) / 1000;
    const heldLoss = held.inputs.length ? meanLoss(model, held, T, batchSize, new Rng(seed).fork('held-out-vectors'), vectorOptions) : NaN;
    await writeHFCheckpoint(options.outDir, {
      config: model.configJson(), tensors: model.toHF(), tokenizerJson: tokJson, tokenizerConfig: tokConfig,
    });
    if (options.checkpointDir) await writeCheckpoint(step);
    options.onProgress?.({ task: 'lm:pretrain', current: step, total: steps, unit: 'step', done: true, values: { heldOutPpl: Math.exp(heldLoss) } });
    return {
      dir: options.outDir, params: model.size, vocabSize: V, trainTokens: train.tokens, heldOutTokens: held.tokens,
      heldOutPerplexity: Math.exp(heldLoss), steps: step, seconds: (performance.now() - t0) / 1000,
      finalLoss: recent.length ? recent.reduce((a, x) => a + x, 0) / recent.length : NaN,
      stepSeconds: step > start ? trainSeconds / (step - start) : 0, resumedFrom: start, slotVectors: vectorOptions,
    };
  } finally {
    for (const h of wiredHeld) tf.dispose([h.keep, h.value]);
    adam.dispose();
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Checking the format the LM learned.

/** Result of {@link listCopyAccuracy}. */
export interface ListCopyResult {
  documents: number;
  /** Share of answers that name one of the document's candidates (`namedCandidate` >= 0). */
  validRate: number;
  /**
   * Share of answers that are exactly `"<a candidate title>"` followed by end-of-text (with
   * `answerBy` 'marker': exactly the marked candidate's).
   */
  exactRate: number;
  /**
   * Share of documents whose answer (with `answerBy` 'random': a random candidate, so chance) is
   * the candidate to which the LM gives the highest likelihood (quoted title + end-of-text).
   */
  rankRate: number;
  /** Mean over documents of 1 / the number of candidates: `rankRate` by chance. */
  chance: number;
  outputs: string[];
}

/**
 * Greedy answers of a (frozen) LM to fresh list-copy documents (slots filled with random tokens,
 * as in pretraining): how often it answers with a quoted title from the list.
 */
export function listCopyAccuracy(
  lm: CausalLM, titles: string[],
  options: {
    seed: number; documents?: number; template?: PromptTemplate; listHistory?: [number, number]; listCandidates?: [number, number];
    maxNewTokens?: number; repetitionPenalty?: number; answerBy?: ListAnswer; slotVectors?: SlotVectorOptions;
    /** Documents without the prompt's wording (see `PretrainCorpusOptions.bareLists`; default false). */
    bare?: boolean;
  },
): ListCopyResult {
  const rng = new Rng(options.seed).fork('list-copy-eval');
  const n = options.documents ?? 50;
  const eos = lm.config.eosTokenId ?? 0;
  const outputs: string[] = [];
  let valid = 0;
  let exact = 0;
  let ranked = 0;
  let chance = 0;
  const H = lm.hiddenSize;
  for (let d = 0; d < n; d++) {
    const worded = listCopyDocument(titles, rng, options.template ?? TEMPLATES.generic, options.listHistory ?? [1, 10], options.listCandidates ?? [2, 20], options.answerBy);
    const doc = options.bare ? bareListDocument(worded, lm.config.slotInterface?.section !== undefined) : worded;
    const { ids, roles } = tokenizeDocument(lm.tokenizer, doc.pieces.join(PIECE_BREAK), eos, rng, eos);
    ids.pop(); // the end-of-text tokenizeDocument appends
    const slots = roles ? slotVectors(roles.slice(0, ids.length), 1, ids.length, H, rng, options.slotVectors) : undefined;
    const embeds = () => tf.tidy(() => {
      const e = lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32'));
      return (slots ? withSlotVectors(e, slots) : e) as tf.Tensor3D;
    });
    const mask = () => tf.ones([1, ids.length]) as tf.Tensor2D;
    const room = lm.config.maxPositions - ids.length;
    if (room < 1) throw new RangeError(`listCopyAccuracy: a ${ids.length}-token list document fills the LM's ${lm.config.maxPositions} positions; use shorter lists`);
    const maxNew = Math.min(options.maxNewTokens ?? 32, room);
    const gen = tf.tidy(() => lm.generate(embeds(), mask(), { maxNewTokens: maxNew, repetitionPenalty: options.repetitionPenalty ?? 1.5 }));
    const scores = tf.tidy(() => lm.scoreContinuations(embeds(), mask(), doc.candidates.map((t) => [...lm.tokenizer.encode(`"${t}"`), eos])));
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
    if (best === doc.answer) ranked++;
    chance += 1 / doc.candidates.length;
    const text = lm.tokenizer.decode(gen[0]);
    outputs.push(text);
    if (namedCandidate(text, doc.candidates) >= 0) valid++;
    const finished = gen[0].length < maxNew;
    const retrieval = options.answerBy === 'marker' || options.answerBy === 'vector';
    if (retrieval ? text === `"${doc.candidates[doc.answer]}"` && finished : doc.candidates.some((t) => text === `"${t}"`) && finished) exact++;
  }
  return { documents: n, validRate: valid / n, exactRate: exact / n, rankRate: ranked / n, chance: chance / n, outputs };
}
