/**
 * The `CausalLM` seam: what Stage 2 of A-LLMRec needs from any frozen decoder-only language
 * model. The LM is driven by input embeddings (not token ids), so projected CF embeddings can be
 * placed between the token embeddings of a prompt.
 *
 * Conventions shared by every implementation:
 * - Batches are LEFT-padded: `attentionMask` is 1 for real tokens and 0 for padding, padding first.
 * - Positions come from the mask: position = cumsum(mask) - 1, clamped at 0, so left padding does
 *   not shift the positions of real tokens.
 * - With a KV cache, `attentionMask` spans the cached tokens plus the new ones ([B, past + T]).
 * - Weights are plain tensors, never `tf.Variable`s: nothing the LM owns can be trained.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The checkpoint families this package decodes. */
export type LMFamily = 'gpt2' | 'opt' | 'llama';

/** Architecture facts every implementation reports (read from the checkpoint's config.json). */
export interface CausalLMConfig {
  /** Decoder family. */
  family: LMFamily;
  /** config.json `model_type` as written (e.g. "gpt2", "opt", "llama", "qwen2", "mistral"). */
  modelType: string;
  vocabSize: number;
  /** Width of the residual stream. */
  hiddenSize: number;
  /** Width of the token embeddings (= hiddenSize except OPT with word_embed_proj_dim). */
  embedSize: number;
  layers: number;
  heads: number;
  /** Key/value heads (grouped-query attention); equals `heads` for multi-head attention. */
  kvHeads: number;
  headDim: number;
  /** Longest sequence the position scheme supports. */
  maxPositions: number;
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
  /** Padding id (the config's, else the end-of-sequence id). */
  padTokenId: number | undefined;
  /**
   * Where the LM reads slot vectors, when its checkpoint records it (config.json
   * `allmrec_slot_interface`, written by `allmrec lm pretrain --match-head`); Stage 2 then warm-starts
   * F_U and F_I on it. Absent for ordinary checkpoints.
   */
  slotInterface?: SlotInterface;
}

/** Residual dimensions [start, end) an LM reads the user slot's and the item slots' vectors from. */
export interface SlotInterface {
  user: [number, number];
  item: [number, number];
  /**
   * Token id that opens the candidate list, when the LM's matching head only compares slots after
   * it (the candidates, not the history; `GPT2Spec.lookBack.section`).
   */
  section?: number;
}

/** Text <-> token ids for one LM. */
export interface LMTokenizer {
  /**
   * Token ids of `text`. Special tokens (BOS etc.) are added only with `addSpecialTokens: true`
   * (default false: prompts are assembled from pieces).
   */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`; special tokens are skipped unless `skipSpecialTokens: false`. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly vocabSize: number;
}

/**
 * Cached keys and values of earlier positions, one entry per layer, each [B, kvHeads, past, headDim].
 * The caller owns the tensors: release them with {@link disposePastKeyValues}.
 */
export interface PastKeyValues {
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
  /** Number of cached positions (`past`). */
  length: number;
}

/** Releases the tensors of a KV cache. */
export function disposePastKeyValues(cache: PastKeyValues | undefined): void {
  if (!cache) return;
  for (const t of cache.keys) t.dispose();
  for (const t of cache.values) t.dispose();
}

/** Options of {@link CausalLM.forward}. */
export interface ForwardOptions {
  /** Keys/values of earlier positions; `attentionMask` must then cover past + new positions. */
  pastKeyValues?: PastKeyValues;
  /** Return the updated cache (past + these positions). */
  useCache?: boolean;
  /** Compute logits for the last position only ([B, 1, V]): saves the vocabulary projection. */
  lastPositionOnly?: boolean;
}

/** Result of {@link CausalLM.forward}. */
export interface ForwardResult {
  /** [B, T, V] (or [B, 1, V] with `lastPositionOnly`). */
  logits: tf.Tensor3D;
  /** Present with `useCache`. */
  pastKeyValues?: PastKeyValues;
}

/** Options of {@link CausalLM.loss}. */
export interface LossOptions {
  /**
   * Recompute each block's forward during the backward pass instead of keeping its activations
   * (gradient checkpointing): less memory, ~1/3 more time. Default false.
   */
  recompute?: boolean;
}

/** Options of {@link CausalLM.generate}. */
export interface GenerateOptions {
  /** Maximum tokens generated per sequence. */
  maxNewTokens: number;
  /**
   * Repetition penalty (default 1.5, as A-LLMRec). For every token already generated, its logit
   * is divided by the penalty when positive and multiplied by it otherwise (the Hugging Face
   * rule). Only generated tokens count: the prompt is given as embeddings, as in A-LLMRec.
   */
  repetitionPenalty?: number;
  /** Token(s) that end a sequence (default the config's eos). */
  eosTokenId?: number | number[];
}

/**
 * A frozen decoder-only language model driven by input embeddings.
 */
export interface CausalLM {
  readonly config: CausalLMConfig;
  /** Width of the input embeddings `forward` takes (what Stage 2's projectors must output). */
  readonly hiddenSize: number;
  readonly tokenizer: LMTokenizer;
  /** Token embeddings of `ids` [B, T] (int32) -> [B, T, hiddenSize]. */
  embedTokens(ids: tf.Tensor2D): tf.Tensor3D;
  /**
   * Logits for every position of left-padded input embeddings [B, T, H] with `attentionMask`
   * [B, T] (or [B, past + T] with a cache). Differentiable w.r.t. `inputEmbeds`.
   */
  forward(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, options?: ForwardOptions): ForwardResult;
  /**
   * Mean token cross-entropy, shifted as in Hugging Face: `labels` [B, T] (int32) are aligned
   * with the inputs and the logits at position t predict `labels[t + 1]`; `labels[0]` is never a
   * target and -100 marks ignored targets. The mean is over non-ignored targets only.
   * Differentiable w.r.t. `inputEmbeds` (use `tf.grad`); the LM's weights never change.
   */
  loss(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, labels: tf.Tensor2D, options?: LossOptions): tf.Scalar;
  /**
   * Greedy decoding with a KV cache. Returns the generated ids per sequence, without the
   * end-of-sequence token that stopped it.
   */
  generate(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, options: GenerateOptions): number[][];
  /**
   * Sum of log-probabilities of each continuation's tokens after one shared prompt
   * (`inputEmbeds` [1, T, H]). The prompt runs once (KV cache); all continuations are scored
   * as one batch. An empty continuation scores 0.
   */
  scoreContinuations(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, continuations: number[][]): Float32Array;
  /** Releases the weights. */
  dispose(): void;
}
