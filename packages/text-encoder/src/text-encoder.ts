/**
 * The `TextEncoder` seam: anything that turns item text into fixed-size vectors.
 */
import type { ProgressListener } from '@allmrec/core';

/** Options of {@link TextEncoder.encode}. */
export interface EncodeOptions {
  /** Texts per internal batch (encoder-specific default). Never changes the result. */
  batchSize?: number;
  /** Receives `{ task: "<name>:encode", current, total, unit: "texts" }` events. */
  onProgress?: ProgressListener;
}

/**
 * A frozen text encoder. Implementations must be deterministic: the same text always gives the
 * same vector, whatever other texts are in the same call and however they are batched.
 */
export interface TextEncoder {
  /** Short human-readable name, e.g. "use-lite", "tfidf-4096", "onnx:all-MiniLM-L6-v2". */
  readonly name: string;
  /** Name plus a hash of the weights/config: two encoders with the same id give the same vectors. Used as cache key. */
  readonly id: string;
  /** Length of each vector. */
  readonly dim: number;
  /**
   * Encodes `texts` into a row-major `[texts.length, dim]` matrix (row i = texts[i]).
   */
  encode(texts: string[], options?: EncodeOptions): Promise<Float32Array>;
  /** Frees native/GPU resources. The encoder must not be used afterwards. */
  dispose(): void;
}

/** Emits progress for an encoder task (helper for implementations). */
export function reportProgress(
  onProgress: ProgressListener | undefined, name: string, current: number, total: number,
): void {
  onProgress?.({ task: `${name}:encode`, current, total, unit: 'texts', done: current >= total });
}
