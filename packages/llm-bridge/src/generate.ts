/**
 * Greedy decoding for any {@link CausalLM}, written once on top of its `forward`: the prompt runs
 * once, then one new token per step against the KV cache. The repetition penalty is transformers'
 * rule; by default only generated tokens count (A-LLMRec gives the prompt as embeddings, so
 * transformers' generate sees no prompt ids either), and `promptIds` adds the prompt's own tokens
 * as transformers does when generating from input ids.
 */
import * as tf from '@tensorflow/tfjs-core';
import { eosIdsOf, type CausalLM, type KVCache } from './causal-lm';

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Maximum tokens generated per sequence. */
  maxNewTokens: number;
  /**
   * Repetition penalty (default 1, none; A-LLMRec's evaluation uses 1.5): the logit of every token
   * already in the sequence is divided by it when positive and multiplied by it otherwise.
   */
  repetitionPenalty?: number;
  /** Token(s) that end a sequence (default the config's end-of-sequence ids); [] never stops early. */
  eosTokenId?: number | number[];
  /** Per row, token ids already in the sequence that the penalty also counts (the prompt's ids). */
  promptIds?: number[][];
}

/**
 * Applies transformers' repetition penalty in place to one row of logits: for every id in `ids`,
 * logit / penalty when positive, logit × penalty otherwise.
 */
export function applyRepetitionPenalty(row: Float32Array, ids: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(ids)) row[id] = row[id] > 0 ? row[id] / penalty : row[id] * penalty;
}

/**
 * Greedy continuation of left-padded input embeddings [B, T, H] (mask [B, T]). Returns the
 * generated ids per row, without the end-of-sequence token that stopped it. A row that has ended
 * keeps running with padding until every row has ended or `maxNewTokens` is reached.
 */
export async function generate(lm: CausalLM, inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, options: GenerateOptions): Promise<number[][]> {
  const B = inputEmbeds.shape[0];
  if (!(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 0)) throw new RangeError(`maxNewTokens must be a non-negative integer, got ${options.maxNewTokens}`);
  const penalty = options.repetitionPenalty ?? 1;
  if (!(penalty > 0)) throw new RangeError(`repetitionPenalty must be positive, got ${penalty}`);
  if (options.promptIds && options.promptIds.length !== B) throw new Error(`promptIds has ${options.promptIds.length} rows for a batch of ${B}`);
  const eosOpt = options.eosTokenId ?? eosIdsOf(lm.config);
  const eos = new Set(Array.isArray(eosOpt) ? eosOpt : [eosOpt]);
  const padId = lm.config.padTokenId ?? lm.config.eosTokenId ?? 0;
  const V = lm.config.vocabSize;
  const out: number[][] = Array.from({ length: B }, () => []);
  const done = new Array<boolean>(B).fill(false);
  let cache: KVCache | undefined;
  let mask = tf.clone(attentionMask);
  let embeds = inputEmbeds;
  try {
    for (let step = 0; step < options.maxNewTokens; step++) {
      const res = await lm.forward(embeds, mask, { pastKeyValues: cache, useCache: true, logitsToKeep: 1 });
      cache?.dispose();
      cache = res.pastKeyValues;
      if (!cache) throw new Error(`${lm.config.modelType}: forward returned no pastKeyValues although useCache was set`);
      const logits = res.logits.dataSync() as Float32Array;
      res.logits.dispose();
      if (logits.length !== B * V) throw new Error(`${lm.config.modelType}: forward with logitsToKeep 1 returned ${logits.length} values, expected ${B} x ${V}`);
      const next: number[] = [];
      for (let b = 0; b < B; b++) {
        if (done[b]) { next.push(padId); continue; }
        const row = logits.subarray(b * V, (b + 1) * V);
        applyRepetitionPenalty(row, options.promptIds ? [...options.promptIds[b], ...out[b]] : out[b], penalty);
        let best = 0;
        for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
        if (eos.has(best)) done[b] = true;
        else out[b].push(best);
        next.push(best);
      }
      if (done.every(Boolean) || step + 1 === options.maxNewTokens) break;
      if (embeds !== inputEmbeds) embeds.dispose();
      embeds = tf.tidy(() => lm.embedTokens(tf.tensor2d(next, [B, 1], 'int32')));
      const grown = tf.tidy(() => tf.concat([mask, tf.ones([B, 1], mask.dtype)], 1) as tf.Tensor2D);
      mask.dispose();
      mask = grown;
    }
  } finally {
    cache?.dispose();
    mask.dispose();
    if (embeds !== inputEmbeds) embeds.dispose();
  }
  return out;
}

/** Result of {@link generateText}. */
export interface GeneratedText {
  /** The prompt's ids as the tokenizer encodes it with its special tokens (e.g. BOS). */
  promptIds: number[];
  /** The generated ids, without the end-of-sequence token that stopped them. */
  newIds: number[];
  /** The generated ids decoded (special tokens skipped). */
  text: string;
}

/**
 * Greedy continuation of a text prompt, as transformers' `generate(input_ids)` with
 * `do_sample=False`: the prompt is encoded with the tokenizer's special tokens, and the
 * repetition penalty (default 1: none) counts the prompt's tokens too.
 */
export async function generateText(lm: CausalLM, prompt: string, options: Omit<GenerateOptions, 'promptIds'>): Promise<GeneratedText> {
  const promptIds = lm.tokenizer.encode(prompt, { addSpecialTokens: true });
  if (promptIds.length === 0) throw new Error('generateText: the prompt encodes to no tokens');
  const embeds = tf.tidy(() => lm.embedTokens(tf.tensor2d([promptIds], [1, promptIds.length], 'int32')));
  const mask = tf.ones([1, promptIds.length]) as tf.Tensor2D;
  try {
    const [newIds] = await generate(lm, embeds, mask, { ...options, promptIds: [promptIds] });
    return { promptIds, newIds, text: lm.tokenizer.decode(newIds) };
  } finally {
    embeds.dispose();
    mask.dispose();
  }
}
