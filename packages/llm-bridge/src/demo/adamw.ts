/** The optimizer of pretraining: AdamW with global-norm gradient clipping, resumable from its state. */
import * as tf from '@tensorflow/tfjs-core';

/** AdamW (decoupled weight decay on matrices) with global-norm gradient clipping. */
export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  t = 0;

  constructor(private readonly beta1 = 0.9, private readonly beta2 = 0.95, private readonly eps = 1e-8, private readonly weightDecay = 0.01) {}

  /** Applies one update; returns the gradient norm before clipping. */
  step(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, clip: number): number {
    const norm = tf.tidy(() => Math.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
    const scale = clip > 0 && norm > clip ? clip / (norm + 1e-6) : 1;
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g0 = grads.get(name);
        if (!g0) continue;
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
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
        const upd = tf.div(tf.div(m2, bc1), tf.add(tf.sqrt(tf.div(v2, bc2)), this.eps));
        const decayed = p.rank === 2 && this.weightDecay > 0 ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(upd, lr)));
      }
    });
    return norm;
  }

  state(): { t: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [k, t] of this.m) m.set(k, t.dataSync().slice() as Float32Array);
    for (const [k, t] of this.v) v.set(k, t.dataSync().slice() as Float32Array);
    return { t: this.t, m, v };
  }

  restore(t: number, m: Map<string, Float32Array>, v: Map<string, Float32Array>, shapes: Record<string, number[]>): void {
    this.dispose();
    this.t = t;
    for (const [k, a] of m) this.m.set(k, tf.tidy(() => tf.variable(tf.tensor(a, shapes[k]), false)));
    for (const [k, a] of v) this.v.set(k, tf.tidy(() => tf.variable(tf.tensor(a, shapes[k]), false)));
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
