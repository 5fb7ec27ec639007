/**
 * The `CausalLM` seam: what Stage 2 of A-LLMRec needs from any frozen decoder-only language
 * model. An implementation provides three things: a tokenizer, `embedTokens` and `forward` from
 * input embeddings (so projected CF embeddings can be placed between the token embeddings of a
 * prompt). Generation, candidate scoring, the loss and the repetition penalty are written once on
 * top of `forward` (`generate.ts`, `score.ts`, `loss.ts`), so every LM gets the same behaviour.
 * `@allmrec/llm-bridge/testing` holds the conformance suite an implementation runs against itself.
 *
 * Conventions every implementation keeps:
 * - Batches are LEFT-padded: `attentionMask` is 1 for real tokens and 0 for padding, padding first.
 * - Positions come from the mask: position = cumsum(mask) - 1, clamped at 0, so left padding does
 *   not shift the positions of real tokens.
 * - With a KV cache, `attentionMask` spans the cached tokens plus the new ones ([B, past + T]);
 *   a cache of batch 1 is shared by every row of a batch-B call (one prompt, many continuations).
 * - The LM is frozen: nothing it owns is a `tf.Variable`, and no call changes its weights.
 * - Every returned tensor and cache belongs to the caller (dispose them); inputs are not disposed.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** What every implementation reports about itself. */
export interface CausalLMConfig {
  /** config.json `model_type` as written (e.g. "gpt2", "llama", "qwen2"), or the implementer's name. */
  modelType: string;
  vocabSize: number;
  /** Width of the input embeddings `forward` takes (what Stage 2's projectors must output). */
  hiddenSize: number;
  /** Longest sequence (prompt + generated tokens) the LM is meant for. */
  maxPositions: number;
  bosTokenId?: number;
  eosTokenId?: number;
  /** Every id that ends generation, when there are several (default [eosTokenId]). */
  eosTokenIds?: number[];
  /** Padding id (the config's, else the end-of-sequence id). */
  padTokenId?: number;
  /**
   * Where the LM reads slot vectors, when its checkpoint records it (config.json
   * `allmrec_slot_interface`, written by the demonstration LM's pretraining); Stage 2 then
   * warm-starts F_U and F_I on it. Absent for ordinary checkpoints.
   */
  slotInterface?: SlotInterface;
}

/** Residual dimensions [start, end) an LM reads the user slot's and the item slots' vectors from. */
export interface SlotInterface {
  user: [number, number];
  item: [number, number];
  /** Token id that opens the candidate list, when the LM's matching head only compares slots after it. */
  section?: number;
}

/** Text <-> token ids for one LM. */
export interface LMTokenizer {
  /**
   * Token ids of `text`. Special tokens (BOS etc.) are added only with `addSpecialTokens: true`
   * (default false: prompts are assembled from pieces). `continuation: true` encodes text that
   * continues earlier text, without what the tokenizer adds at the start of a text (the "▁" a
   * SentencePiece-style tokenizer prepends); a tokenizer that adds nothing there ignores it.
   */
  encode(text: string, options?: { addSpecialTokens?: boolean; continuation?: boolean }): number[];
  /** Text of `ids`; special tokens are skipped unless `skipSpecialTokens: false`. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly vocabSize: number;
}

/** Keys and values of earlier positions, opaque to the caller. */
export interface KVCache {
  /** Cached positions (`past`). */
  readonly length: number;
  /** Rows the cache holds (1 = shared by every row of the next call). */
  readonly batch: number;
  /** Releases its tensors. */
  dispose(): void;
}

/** Options of {@link CausalLM.forward}. */
export interface ForwardOptions {
  /** A cache from an earlier call; `attentionMask` then covers past + new positions. */
  pastKeyValues?: KVCache;
  /** Return the cache of past + these positions (a new object: dispose both). */
  useCache?: boolean;
  /** Logits for the last K positions only ([B, K, V]); 0 or absent = every position. */
  logitsToKeep?: number;
  /**
   * Logits at these flat positions only (b·T + t), as [1, n, V] in the given order; overrides
   * `logitsToKeep`. The loss asks for its target positions this way.
   */
  logitIndices?: Int32Array;
  /**
   * Return log-probabilities over the vocabulary (the log-softmax of the logits) instead of the
   * logits, in the same shape. Scoring asks for them: an implementation can compute them natively
   * (onnxruntime does), which over a large vocabulary is most of a scoring call's time.
   */
  logProbs?: boolean;
  /**
   * Trade memory for time in the backward pass (gradient checkpointing). A hint: the values are
   * the same either way, and an implementation without it computes normally.
   */
  recompute?: boolean;
}

/** Result of {@link CausalLM.forward}. */
export interface ForwardResult {
  /** [B, T, V], [B, K, V] with `logitsToKeep`, or [1, n, V] with `logitIndices` (log-probabilities with `logProbs`). */
  logits: tf.Tensor3D;
  /** Present with `useCache`. */
  pastKeyValues?: KVCache;
}

/**
 * A frozen decoder-only language model driven by input embeddings. Implement this (tokenizer,
 * `embedTokens`, `forward`) and every generation, scoring and loss function of the package works
 * on your LM; `@allmrec/llm-bridge/testing` checks that it keeps the conventions above.
 */
export interface CausalLM {
  readonly config: CausalLMConfig;
  readonly tokenizer: LMTokenizer;
  /**
   * True when `forward` returns synchronously and is differentiable w.r.t. `inputEmbeds` with
   * tfjs autodiff: Stage 2 can then train through it. Inference-only runtimes (onnxruntime) say false.
   */
  readonly differentiable: boolean;
  /** Token embeddings of `ids` [B, T] (int32) -> [B, T, hiddenSize]. */
  embedTokens(ids: tf.Tensor2D): tf.Tensor3D;
  /**
   * Logits for left-padded input embeddings [B, T, H] with `attentionMask` [B, T] (or
   * [B, past + T] with a cache).
   */
  forward(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, options?: ForwardOptions): ForwardResult | Promise<ForwardResult>;
  /** Releases the weights. */
  dispose(): void | Promise<void>;
}

/** Every id that ends generation by default. */
export function eosIdsOf(config: CausalLMConfig): number[] {
  if (config.eosTokenIds && config.eosTokenIds.length > 0) return config.eosTokenIds;
  return config.eosTokenId === undefined ? [] : [config.eosTokenId];
}
