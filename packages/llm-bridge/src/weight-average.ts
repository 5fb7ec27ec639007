/**
 * Exponential moving average of trained variables (Polyak averaging): after every optimiser step
 *
 *   θ̄ ← d · θ̄ + (1 − d) · θ
 *
 * and the averaged θ̄ replaces θ when training ends. Stage 2 trains F_U and F_I on one example per
 * user with batch 4, so the last step's batch moves the LM's answer noticeably; the average over
 * the last ~1/(1 − d) steps is steadier (BENCHMARKS.md, "Averaging Stage 2's weights").
 */
import * as tf from '@tensorflow/tfjs-core';

export class WeightAverage {
  private readonly shadow = new Map<string, tf.Variable>();

  /** Starts the average at the current values of `params`. */
  constructor(readonly decay: number, private readonly params: Map<string, tf.Variable>) {
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`WeightAverage: decay must be in [0, 1), got ${decay}`);
    for (const [k, v] of params) this.shadow.set(k, tf.tidy(() => tf.variable(v.clone() as tf.Tensor, false)));
  }

  /** One step of the average, after an optimiser step. */
  update(): void {
    const d = this.decay;
    tf.tidy(() => {
      for (const [k, v] of this.params) {
        const s = this.shadow.get(k)!;
        s.assign(tf.add(tf.mul(s, d), tf.mul(v, 1 - d)));
      }
    });
  }

  /** The averaged values by parameter name (for a checkpoint). */
  values(): Map<string, Float32Array> {
    return new Map([...this.shadow].map(([k, s]) => [k, s.dataSync().slice() as Float32Array]));
  }

  /**
   * Restores averaged values written by {@link values}.
   * @throws if a parameter is missing or has another size.
   */
  restore(values: Map<string, Float32Array>): void {
    for (const [k, s] of this.shadow) {
      const v = values.get(k);
      if (!v || v.length !== s.size) throw new Error(`WeightAverage: the checkpoint has ${v ? `${v.length} values` : 'no average'} for ${k} (${s.size} expected)`);
      tf.tidy(() => s.assign(tf.tensor(v, s.shape)));
    }
  }

  /** Writes the averaged values into the trained variables. */
  apply(): void {
    for (const [k, v] of this.params) v.assign(this.shadow.get(k)!);
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }
}
