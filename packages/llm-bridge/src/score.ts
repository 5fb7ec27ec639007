/**
 * Log-likelihood of candidate continuations after one prompt, for any {@link CausalLM}, written
 * once on top of its `forward`: the prompt runs once (batch 1, KV cache) and every continuation's
 * tokens then run as one batch against that shared cache; the LM returns log-probabilities
 * (`logProbs`), so the host only picks the targets' entries.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from './causal-lm';

/** Options of {@link scoreContinuations}. */
export interface ScoreOptions {
  /** Continuations per forward call (default all of them). */
  batchSize?: number;
}

/**
 * Sum of log-probabilities of each continuation's tokens after the prompt `inputEmbeds` [1, T, H]
 * (mask [1, T]). An empty continuation scores 0.
 */
export async function scoreContinuations(
  lm: CausalLM, inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, continuations: readonly (readonly number[])[], options: ScoreOptions = {},
): Promise<Float32Array> {
  if (inputEmbeds.shape[0] !== 1) throw new Error(`scoreContinuations takes one prompt ([1, T, H]), got batch ${inputEmbeds.shape[0]}`);
  const C = continuations.length;
  const scores = new Float32Array(C);
  if (C === 0) return scores;
  const V = lm.config.vocabSize;
  for (const cont of continuations) {
    for (const id of cont) if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`continuation token ${id} is outside the vocabulary [0, ${V})`);
  }
  const first = await lm.forward(inputEmbeds, attentionMask, { useCache: true, logitsToKeep: 1, logProbs: true });
  const cache = first.pastKeyValues;
  try {
    if (!cache) throw new Error(`${lm.config.modelType}: forward returned no pastKeyValues although useCache was set`);
    // The first token of every continuation is predicted by the prompt's last position.
    const firstLp = first.logits.dataSync() as Float32Array;
    for (let c = 0; c < C; c++) if (continuations[c].length > 0) scores[c] = firstLp[continuations[c][0]];
    const multi = [...continuations.keys()].filter((c) => continuations[c].length > 1);
    const bs = Math.max(1, options.batchSize ?? multi.length);
    for (let start = 0; start < multi.length; start += bs) {
      const idx = multi.slice(start, start + bs);
      const n = idx.length;
      const L = Math.max(...idx.map((c) => continuations[c].length)) - 1; // inputs: tokens 0..len-2
      // Right-padded after the prompt: padding comes after real tokens, so the causal mask keeps
      // it from affecting them.
      const ids = new Int32Array(n * L);
      const maskCont = new Float32Array(n * L);
      const targets: number[] = [];
      const flat: number[] = [];
      const owner: number[] = [];
      idx.forEach((c, r) => {
        const cont = continuations[c];
        for (let j = 0; j + 1 < cont.length; j++) {
          ids[r * L + j] = cont[j];
          maskCont[r * L + j] = 1;
          flat.push(r * L + j);
          targets.push(cont[j + 1]);
          owner.push(c);
        }
      });
      const embeds = tf.tidy(() => lm.embedTokens(tf.tensor2d(ids, [n, L], 'int32')));
      const mask = tf.tidy(() => tf.concat([tf.tile(tf.cast(attentionMask, 'float32'), [n, 1]), tf.tensor2d(maskCont, [n, L])], 1) as tf.Tensor2D);
      let res;
      try {
        res = await lm.forward(embeds, mask, { pastKeyValues: cache, logitIndices: Int32Array.from(flat), logProbs: true });
      } finally {
        embeds.dispose();
        mask.dispose();
      }
      res.pastKeyValues?.dispose();
      const lp = res.logits.dataSync() as Float32Array;
      res.logits.dispose();
      for (let i = 0; i < owner.length; i++) scores[owner[i]] += lp[i * V + targets[i]];
    }
    return scores;
  } finally {
    first.logits.dispose();
    cache?.dispose();
  }
}
