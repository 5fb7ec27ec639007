/**
 * A causal LM written outside @allmrec/llm-bridge, as a third party would: the package only asks
 * for a tokenizer, `embedTokens` and `forward` from input embeddings (its `CausalLM` seam).
 *
 * The model is deliberately small and not a transformer: the state at position t is the mean of
 * the real input embeddings up to t, h_t = tanh(mean_{s <= t} x_s · W), and logits_t = h_t · Eᵀ
 * (E the token embeddings). Its KV cache is the running sum and count.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@allmrec/core';
import type { CausalLM, CausalLMConfig, ForwardOptions, ForwardResult, KVCache, LMTokenizer } from '@allmrec/llm-bridge';

/** Words are tokens: "<pad>", "<eos>", then the vocabulary given. */
export class WordTokenizer implements LMTokenizer {
  readonly padTokenId = 0;
  readonly eosTokenId = 1;
  readonly bosTokenId = undefined;
  private readonly ids: Map<string, number>;
  constructor(readonly words: string[]) {
    this.ids = new Map(['<pad>', '<eos>', ...words].map((w, i) => [w, i]));
  }
  get vocabSize(): number { return this.words.length + 2; }
  encode(text: string): number[] {
    return text.split(/\s+/).filter(Boolean).map((w) => {
      const id = this.ids.get(w);
      if (id === undefined) throw new Error(`WordTokenizer: unknown word "${w}"`);
      return id;
    });
  }
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return ids.filter((i) => !(options.skipSpecialTokens ?? true) || i > 1).map((i) => (i < 2 ? ['<pad>', '<eos>'][i] : this.words[i - 2])).join(' ');
  }
}

/** Running sum [B, H] and count [B, 1] of the real positions seen so far. */
class RunningCache implements KVCache {
  constructor(readonly sum: tf.Tensor2D, readonly count: tf.Tensor2D, readonly length: number) {}
  get batch(): number { return this.sum.shape[0]; }
  dispose(): void { tf.dispose([this.sum, this.count]); }
}

export class RunningMeanLM implements CausalLM {
  readonly differentiable = true;
  readonly config: CausalLMConfig;
  /** Token embeddings E [V, H] and the state projection W [H, H], as plain arrays (the reference path reads them too). */
  readonly E: Float32Array;
  readonly W: Float32Array;
  private readonly e: tf.Tensor2D;
  private readonly w: tf.Tensor2D;

  constructor(readonly tokenizer: WordTokenizer, readonly hidden = 16, seed = 1) {
    const V = tokenizer.vocabSize;
    const rng = new Rng(seed);
    this.E = Float32Array.from({ length: V * hidden }, () => rng.normal());
    this.W = Float32Array.from({ length: hidden * hidden }, () => rng.normal() / Math.sqrt(hidden));
    this.e = tf.tensor2d(this.E, [V, hidden]);
    this.w = tf.tensor2d(this.W, [hidden, hidden]);
    this.config = { modelType: 'running-mean', vocabSize: V, hiddenSize: hidden, maxPositions: 1024, eosTokenId: 1, padTokenId: 0 };
  }

  embedTokens(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => tf.gather(this.e, tf.cast(ids, 'int32')) as unknown as tf.Tensor3D);
  }

  forward(x: tf.Tensor3D, attentionMask: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
    const [B, T, H] = x.shape;
    const past = options.pastKeyValues as RunningCache | undefined;
    if (past && !(past instanceof RunningCache)) throw new Error('RunningMeanLM: a cache from another LM');
    const total = (past?.length ?? 0) + T;
    if (attentionMask.shape[0] !== B || attentionMask.shape[1] !== total) throw new Error(`RunningMeanLM: attentionMask must be [${B}, ${total}]`);
    let cache: RunningCache | undefined;
    const logits = tf.tidy(() => {
      const m = tf.slice(tf.cast(attentionMask, 'float32'), [0, total - T], [B, T]) as tf.Tensor2D; // the new positions' mask
      const masked = tf.mul(x, tf.expandDims(m, 2));
      const sum0 = past ? (past.batch === B ? past.sum : tf.tile(past.sum, [B, 1])) : tf.zeros([B, H]);
      const cnt0 = past ? (past.batch === B ? past.count : tf.tile(past.count, [B, 1])) : tf.zeros([B, 1]);
      // Prefix sums as products with a lower-triangular matrix (tfjs 4.22's cumsum gradient is wrong on axis 1 of a 3-D tensor).
      const lower = tf.linalg.bandPart(tf.ones([T, T]), -1, 0) as tf.Tensor2D; // lower[t, s] = 1 for s <= t
      const sums = tf.add(tf.matMul(tf.tile(tf.expandDims(lower, 0), [B, 1, 1]) as tf.Tensor3D, masked as tf.Tensor3D), tf.expandDims(sum0, 1)); // [B, T, H]
      const counts = tf.add(tf.matMul(m, lower, false, true), cnt0); // [B, T]
      const mean = tf.div(sums, tf.expandDims(tf.maximum(counts, 1), 2));
      const h = tf.tanh(tf.reshape(tf.matMul(tf.reshape(mean, [B * T, H]), this.w), [B, T, H]));
      if (options.useCache) {
        cache = new RunningCache(
          tf.keep(tf.reshape(tf.slice(sums, [0, T - 1, 0], [B, 1, H]), [B, H]) as tf.Tensor2D),
          tf.keep(tf.slice(counts, [0, T - 1], [B, 1]) as tf.Tensor2D), total);
      }
      let rows: tf.Tensor2D;
      let shape: [number, number, number];
      if (options.logitIndices) {
        rows = tf.gather(tf.reshape(h, [B * T, H]), tf.tensor1d(options.logitIndices, 'int32')) as tf.Tensor2D;
        shape = [1, options.logitIndices.length, this.config.vocabSize];
      } else {
        const K = options.logitsToKeep ? Math.min(options.logitsToKeep, T) : T;
        rows = tf.reshape(tf.slice(h, [0, T - K, 0], [B, K, H]), [B * K, H]);
        shape = [B, K, this.config.vocabSize];
      }
      const logits = tf.matMul(rows, this.e, false, true);
      return tf.reshape(options.logProbs ? tf.logSoftmax(logits) : logits, shape) as tf.Tensor3D;
    });
    return cache ? { logits, pastKeyValues: cache } : { logits };
  }

  /** The model's own token path, in float64 without tfjs: logits [ids.length, V] of one sequence. */
  referenceLogits(ids: number[]): Float64Array {
    const H = this.hidden;
    const V = this.config.vocabSize;
    const out = new Float64Array(ids.length * V);
    const sum = new Float64Array(H);
    ids.forEach((id, t) => {
      for (let i = 0; i < H; i++) sum[i] += this.E[id * H + i];
      const h = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        let a = 0;
        for (let i = 0; i < H; i++) a += (sum[i] / (t + 1)) * this.W[i * H + j];
        h[j] = Math.tanh(a);
      }
      for (let v = 0; v < V; v++) {
        let l = 0;
        for (let j = 0; j < H; j++) l += h[j] * this.E[v * H + j];
        out[t * V + v] = l;
      }
    });
    return out;
  }

  dispose(): void {
    tf.dispose([this.e, this.w]);
  }
}
