/**
 * What both runtimes check and compute on the host before a forward: the inputs' shapes against
 * the architecture and the cache, the mask's values, the positions (cumsum(mask) - 1) and the
 * learned-position limit. One function, so tfjs and onnxruntime refuse the same inputs alike.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ForwardOptions, KVCache } from '../causal-lm';
import { positionsFromMask } from '../layers';
import type { DecoderArch } from './arch';

/** A checked forward call. */
export interface DecoderCall {
  B: number;
  T: number;
  /** Cached positions. */
  pastLength: number;
  /** pastLength + T: the width of the mask. */
  total: number;
  mask: ArrayLike<number>;
  /** Positions of the T new tokens, [B * T]. */
  positions: Int32Array;
}

/**
 * Checks a forward call and computes its positions. `past` must be an instance of `cacheClass`
 * (the runtime's own cache), of the call's batch or of batch 1.
 */
export function decoderCall(
  a: DecoderArch, inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, past: KVCache | undefined,
  cacheClass: abstract new (...args: never[]) => KVCache, runtime: string,
): DecoderCall {
  const [B, T, E] = inputEmbeds.shape;
  if (E !== a.hiddenSize) throw new Error(`inputEmbeds width ${E} does not match the model's embedding size ${a.hiddenSize}`);
  if (past && !(past instanceof cacheClass)) throw new Error(`pastKeyValues must come from this runtime (a ${runtime} forward with useCache)`);
  if (past && past.batch !== B && past.batch !== 1) throw new Error(`pastKeyValues hold ${past.batch} rows; the call has ${B} (a cache must have the call's batch or 1)`);
  const pastLength = past?.length ?? 0;
  const total = pastLength + T;
  if (attentionMask.shape[0] !== B || attentionMask.shape[1] !== total) {
    throw new Error(`attentionMask is [${attentionMask.shape}] but must be [${B}, ${total}] (${pastLength} cached + ${T} new positions)`);
  }
  const mask = attentionMask.dataSync();
  const positions = positionsFromMask(mask, B, total, T);
  if (a.learnedPositions) {
    let maxPos = 0;
    for (const p of positions) maxPos = Math.max(maxPos, p);
    const limit = a.learnedPositions.rows - a.learnedPositions.offset;
    if (maxPos >= limit) throw new Error(`position ${maxPos} exceeds the model's ${limit} learned positions`);
  }
  return { B, T, pastLength, total, mask, positions };
}

/**
 * The flat positions (b·T + t) whose logits a forward returns and the shape they come in:
 * `logitIndices` as given ([1, n, V]), the last `logitsToKeep` of every row ([B, K, V]), or every
 * position ([B, T, V]; `rows` undefined: all of them, in order).
 */
export function logitRows(options: ForwardOptions, B: number, T: number, V: number): { rows?: Int32Array; shape: [number, number, number] } {
  if (options.logitIndices) {
    for (const i of options.logitIndices) if (!(i >= 0 && i < B * T)) throw new Error(`logitIndices: ${i} is outside [0, ${B * T})`);
    return { rows: options.logitIndices, shape: [1, options.logitIndices.length, V] };
  }
  const K = options.logitsToKeep && options.logitsToKeep > 0 ? Math.min(options.logitsToKeep, T) : T;
  if (K === T) return { shape: [B, T, V] };
  const rows = new Int32Array(B * K);
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) rows[b * K + k] = b * T + T - K + k;
  return { rows, shape: [B, K, V] };
}
