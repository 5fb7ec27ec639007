/**
 * Stage 2 projectors: collaborative representations into the LLM's token-embedding space.
 *
 *   F_U(x_u) = Linear(H→H)(LeakyReLU(LayerNorm(Linear(d→H)(x_u))))     user representation
 *   F_I(e_i) = Linear(H→H)(GELU(LayerNorm(Linear(128→H)(e_i))))         joint item embedding
 *
 * H is the LLM's hidden size. Linear weights Xavier-normal, biases PyTorch's default
 * uniform(±1/sqrt(fan_in)); LayerNorm eps 1e-5 with learned gain and bias; LeakyReLU slope 0.01;
 * GELU exact (erf). These are the only trained weights of Stage 2.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@allmrec/core';

export type ProjectorActivation = 'leaky_relu' | 'gelu';

/** One projector: Linear → LayerNorm → activation → Linear. */
export class Projector {
  readonly weights: Map<string, tf.Variable>;

  constructor(readonly name: string, readonly inDim: number, readonly outDim: number,
    readonly activation: ProjectorActivation, rng: Rng) {
    const xavier = (fanIn: number, fanOut: number) => {
      const std = Math.sqrt(2 / (fanIn + fanOut));
      return Float32Array.from({ length: fanIn * fanOut }, () => rng.normal() * std);
    };
    const bias = (fanIn: number, n: number) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) / Math.sqrt(fanIn));
    const v = (k: string, data: Float32Array, shape: number[]) => [k, tf.variable(tf.tensor(data, shape), true, `${name}/${k}/${rng.nextUint32()}`)] as const;
    this.weights = new Map([
      v('w1', xavier(inDim, outDim), [inDim, outDim]),
      v('b1', bias(inDim, outDim), [outDim]),
      v('ln_g', new Float32Array(outDim).fill(1), [outDim]),
      v('ln_b', new Float32Array(outDim), [outDim]),
      v('w2', xavier(outDim, outDim), [outDim, outDim]),
      v('b2', bias(outDim, outDim), [outDim]),
    ]);
  }

  /** [n, inDim] → [n, outDim]. Differentiable with respect to the projector's weights. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const w = (k: string) => this.weights.get(k)!;
      let h = tf.add(tf.matMul(x, w('w1') as tf.Tensor2D), w('b1'));
      const { mean, variance } = tf.moments(h, -1, true);
      h = tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), w('ln_g')), w('ln_b'));
      h = this.activation === 'gelu'
        ? tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.div(h, Math.SQRT2))))
        : tf.leakyRelu(h, 0.01);
      return tf.add(tf.matMul(h as tf.Tensor2D, w('w2') as tf.Tensor2D), w('b2')) as tf.Tensor2D;
    });
  }

  /** Weights as plain arrays (for artifacts). */
  values(): Record<string, { shape: number[]; data: Float32Array }> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, t] of this.weights) out[`${this.name}.${k}`] = { shape: t.shape, data: t.dataSync() as Float32Array };
    return out;
  }

  /** Restores weights written by {@link values}. */
  load(values: Map<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    for (const [k, t] of this.weights) {
      const v = values.get(`${this.name}.${k}`);
      if (!v) throw new Error(`${this.name}: missing weight ${this.name}.${k}`);
      if (v.shape.join() !== t.shape.join()) throw new Error(`${this.name}.${k}: shape [${v.shape}] != [${t.shape}]`);
      tf.tidy(() => t.assign(tf.tensor(v.data as Float32Array, t.shape)));
    }
  }

  dispose(): void {
    for (const t of this.weights.values()) t.dispose();
  }
}

/** F_U and F_I for an LLM of hidden size `hidden`, a backbone of dimension `userDim`. */
export function createProjectors(userDim: number, itemDim: number, hidden: number, seed: number): { fu: Projector; fi: Projector } {
  const rng = new Rng(seed).fork('projectors');
  return {
    fu: new Projector('F_U', userDim, hidden, 'leaky_relu', rng),
    fi: new Projector('F_I', itemDim, hidden, 'gelu', rng),
  };
}
