/**
 * Adam with PyTorch's semantics (torch.optim.Adam, no weight decay, amsgrad off):
 *
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
 *   p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε)
 *
 * with one step counter t per parameter, advanced only when that parameter received a gradient
 * (PyTorch skips parameters whose .grad is None, e.g. dec_T when the reconstruction terms are off).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Serialisable optimizer state (for checkpoints). */
export interface AdamState {
  steps: Record<string, number>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/** Adam with PyTorch semantics; used by every allmrec trainer (SASRec, Stage 1, Stage 2). */
export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly steps = new Map<string, number>();

  constructor(readonly lr: number, readonly beta1: number, readonly beta2: number, readonly eps: number) {}

  /** One update of every parameter that has a gradient in `grads` (keyed like `params`). */
  apply(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor | undefined>): void {
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g = grads[name];
        if (!g) continue;
        const t = (this.steps.get(name) ?? 0) + 1;
        this.steps.set(name, t);
        let m = this.m.get(name);
        let v = this.v.get(name);
        if (!m || !v) {
          m = tf.keep(tf.variable(tf.zerosLike(p), false));
          v = tf.keep(tf.variable(tf.zerosLike(p), false));
          this.m.set(name, m);
          this.v.set(name, v);
        }
        const m2 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v2 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(m2);
        v.assign(v2);
        const stepSize = this.lr / (1 - Math.pow(this.beta1, t));
        const denom = tf.add(tf.div(tf.sqrt(v2), Math.sqrt(1 - Math.pow(this.beta2, t))), this.eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m2, denom), stepSize)));
      }
    });
  }

  /** Moments and step counters as plain arrays (for checkpoints). */
  state(): AdamState {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [k, t] of this.m) m.set(k, t.dataSync().slice() as Float32Array);
    for (const [k, t] of this.v) v.set(k, t.dataSync().slice() as Float32Array);
    return { steps: Object.fromEntries(this.steps), m, v };
  }

  /** Restores what {@link state} returned; `shapes` gives each parameter's shape. */
  restore(s: AdamState, shapes: Record<string, number[]>): void {
    this.dispose();
    for (const [k, n] of Object.entries(s.steps)) this.steps.set(k, n);
    for (const [k, a] of s.m) this.m.set(k, tf.tidy(() => tf.variable(tf.tensor(a, shapes[k]), false)));
    for (const [k, a] of s.v) this.v.set(k, tf.tidy(() => tf.variable(tf.tensor(a, shapes[k]), false)));
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
    this.steps.clear();
  }
}
