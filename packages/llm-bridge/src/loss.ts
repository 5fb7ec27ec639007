/**
 * The language-model loss for any differentiable {@link CausalLM}, written once on top of its
 * `forward`: mean token cross-entropy over the targets only, shifted as in transformers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from './causal-lm';
import { crossEntropyFromLogits } from './layers';

/** transformers' ignore index. */
export const IGNORE_INDEX = -100;

/** Options of {@link causalLMLoss}. */
export interface LossOptions {
  /** Gradient checkpointing (a memory hint passed to `forward`). */
  recompute?: boolean;
}

/**
 * Mean token cross-entropy. `labels` [B, T] (int32) are aligned with the inputs: the logits at
 * position t predict `labels[t + 1]`; `labels[0]` is never a target and -100 marks ignored
 * targets; the mean is over non-ignored targets only. Differentiable w.r.t. `inputEmbeds` (use
 * `tf.grad`); the LM's weights never change.
 * @throws when the LM is not differentiable (an inference-only runtime) or every label is -100.
 */
export function causalLMLoss(lm: CausalLM, inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, labels: tf.Tensor2D, options: LossOptions = {}): tf.Scalar {
  if (!lm.differentiable) {
    throw new Error(`${lm.config.modelType}: this LM's forward is not differentiable (an inference-only runtime such as onnxruntime); train through a tfjs decoder (loadCausalLM with runtime "tfjs")`);
  }
  const [B, T] = labels.shape;
  if (inputEmbeds.shape[0] !== B || inputEmbeds.shape[1] !== T) {
    throw new Error(`labels are [${labels.shape}] but inputEmbeds are [${inputEmbeds.shape}]`);
  }
  const lab = labels.dataSync();
  const rows: number[] = [];
  const targets: number[] = [];
  const V = lm.config.vocabSize;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const y = lab[b * T + t + 1];
      if (y === IGNORE_INDEX) continue;
      if (!(y >= 0 && y < V)) throw new Error(`label ${y} at [${b}, ${t + 1}] is outside the vocabulary (0..${V - 1}, or -100)`);
      rows.push(b * T + t);
      targets.push(y);
    }
  }
  if (rows.length === 0) throw new Error('loss: every label is -100; there is nothing to predict');
  return tf.tidy(() => {
    const res = lm.forward(inputEmbeds, attentionMask, { logitIndices: Int32Array.from(rows), recompute: options.recompute });
    if (res instanceof Promise) throw new Error(`${lm.config.modelType}: forward returned a Promise although the LM says it is differentiable`);
    const logits = tf.reshape(res.logits, [rows.length, V]) as tf.Tensor2D;
    return crossEntropyFromLogits(logits, Int32Array.from(targets));
  });
}
