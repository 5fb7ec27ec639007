/**
 * Checking the format a pretrained LM learned ({@link listCopyAccuracy}): its greedy answers and
 * likelihood ranking on fresh list-copy documents.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@allmrec/core';
import type { CausalLM } from '../causal-lm';
import { generate } from '../generate';
import { scoreContinuations } from '../score';
import { namedCandidate, type PromptTemplate, TEMPLATES } from '../prompt';
import { PIECE_BREAK, bareListDocument, listCopyDocument, tokenizeDocument, type ListAnswer } from './corpus';
import { slotVectors, withSlotVectors, type SlotVectorOptions } from './slot-vectors';

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
export async function listCopyAccuracy(
  lm: CausalLM, titles: string[],
  options: {
    seed: number; documents?: number; template?: PromptTemplate; listHistory?: [number, number]; listCandidates?: [number, number];
    maxNewTokens?: number; repetitionPenalty?: number; answerBy?: ListAnswer; slotVectors?: SlotVectorOptions;
    /** Documents without the prompt's wording (see `PretrainCorpusOptions.bareLists`; default false). */
    bare?: boolean;
  },
): Promise<ListCopyResult> {
  const rng = new Rng(options.seed).fork('list-copy-eval');
  const n = options.documents ?? 50;
  const eos = lm.config.eosTokenId ?? 0;
  const outputs: string[] = [];
  let valid = 0;
  let exact = 0;
  let ranked = 0;
  let chance = 0;
  const H = lm.config.hiddenSize;
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
    const e = embeds();
    const m = mask();
    let gen: number[][];
    let scores: Float32Array;
    try {
      gen = await generate(lm, e, m, { maxNewTokens: maxNew, repetitionPenalty: options.repetitionPenalty ?? 1.5 });
      scores = await scoreContinuations(lm, e, m, doc.candidates.map((t) => [...lm.tokenizer.encode(`"${t}"`), eos]));
    } finally {
      e.dispose();
      m.dispose();
    }
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
