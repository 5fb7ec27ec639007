/**
 * NextItNet (Yuan et al. 2019) as RecBole 1.2.1 builds it, as a CF backbone: a stack of dilated
 * causal 1-D convolutions in residual blocks (the paper's block (b)) over item embeddings.
 *
 *   x^0      = E[s]                                      (item embeddings, C = embedding size channels)
 *   conv_d(x)_t = b + Σ_{j=0}^{k−1} W_j x_{t−(k−1−j)·d}   (causal: zeros before the sequence)
 *   block(x) = x + ReLU(LN_2(conv_{2d}(ReLU(LN_1(conv_d(x))))))
 *   x^{l}    = block_l(x^{l−1}),  d_l = dilations[l mod |dilations|], l = 1..blockNum·|dilations|
 *   F_t      = W_f x^L_t + b_f                           (final linear layer)
 *   x_u      = F at the last item of the history;  score(u, i) = <x_u, E_i>
 *   loss     = bce | ce  +  reg_weight · (‖E‖ + ‖W_f‖ + Σ_blocks ‖W_conv1‖ + ‖g_LN1‖ + ‖W_conv2‖ + ‖g_LN2‖)
 *
 * ‖·‖ is the Frobenius norm, not squared, exactly as RecBole's RegLoss and reg_loss_rb (the
 * block term takes every block parameter named "weight": conv and LayerNorm gains).
 * With RecBole's defaults (block_num 5, dilations [1, 4]) that is 10 blocks, 20 convolutions.
 *
 * Histories are left-padded with item 0 (embedding zero, never trained). Every block's input and
 * inner activation are zeroed at padded positions, so padding is exactly the convolutions' own
 * causal zero padding: the output at an item does not depend on how much padding precedes it.
 * RecBole right-pads and reads the last column (a padding position for histories shorter than
 * 50); here x_u is read at the history's last item, the position whose output predicts the next.
 *
 * Training: every position of each user's training sequence, as described in sequential.ts (one
 * epoch = every user with >= 2 training items once, users shuffled with the seed, batches of
 * `batchSize` users; loss 'bce' by default, 'ce' = RecBole's). Gradients by tfjs autodiff.
 *
 * Initialisation as RecBole's _init_weights: item embeddings uniform(±sqrt(1 / (numItems + 1)))
 * (padding row zeroed), final layer Xavier-normal weight and bias 0.1; the convolutions keep
 * PyTorch's Conv2d default uniform(±1/sqrt(C·k)) for weight and bias; LayerNorm gain 1, bias 0,
 * eps 1e-8.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@allmrec/core';
import { layerNorm, linear, matMul } from './autodiff-ops';
import {
  SequentialDotBackbone, checkIntegers, checkTrainingConfig, readSequentialArtifact, resolveConfig,
  type SequenceInputs, type SequentialModelSpec, type SequentialTrainingConfig,
} from './sequential';

/** Hyper-parameters; defaults are RecBole's (NextItNet.yaml, overall.yaml) unless said otherwise. */
export interface NextItNetConfig extends SequentialTrainingConfig {
  /** Item embedding size = residual channels = dim of E_i and x_u (embedding_size). */
  embeddingSize: number;
  /** Width k of every convolution (kernel_size). */
  kernelSize: number;
  /** Repetitions of the dilation pattern (block_num); blocks = blockNum · dilations.length. */
  blockNum: number;
  /** Dilation pattern d; a block's two convolutions use d and 2d (dilations). */
  dilations: number[];
  /** Weight of the norm regulariser (reg_weight); 0 turns it off. */
  regWeight: number;
  /** LayerNorm epsilon (1e-8 in RecBole's ResidualBlock_b). */
  lnEps: number;
}

export const NEXTITNET_DEFAULTS: NextItNetConfig = {
  embeddingSize: 64, // embedding_size
  kernelSize: 3, // kernel_size
  blockNum: 5, // block_num
  dilations: [1, 4], // dilations
  regWeight: 1e-5, // reg_weight
  lnEps: 1e-8,
  maxLen: 50, // MAX_ITEM_LIST_LENGTH
  lr: 1e-3, // learning_rate
  beta1: 0.9, // torch.optim.Adam defaults (RecBole's learner: adam)
  beta2: 0.999,
  adamEps: 1e-8,
  batchSize: 128, // users per batch (RecBole batches 2,048 (prefix, target) pairs; see sequential.ts)
  epochs: 300, // epochs (RecBole stops early on validation MRR@10 after 10 bad epochs: FitOptions.earlyStopping)
  loss: 'bce', // the A-LLMRec paper's; RecBole's loss_type default is CE ('ce')
  windows: 'all', // every target once per epoch, as RecBole trains; 'last' = each user's last maxLen + 1 items (see sequential.ts)
};

/** The dilation d of each residual block, in order (RecBole's `dilations * block_num`). */
export function blockDilations(c: NextItNetConfig): number[] {
  const out: number[] = [];
  for (let r = 0; r < c.blockNum; r++) out.push(...c.dilations);
  return out;
}

/**
 * Parameter names and shapes. A convolution's weight is stored [k·C, C]: rows j·C..(j+1)·C are
 * tap j (PyTorch's weight[:, :, 0, j] transposed), applied to the input (k−1−j)·d steps back.
 */
export function parameterShapes(numItems: number, c: NextItNetConfig): Record<string, number[]> {
  const C = c.embeddingSize;
  const k = c.kernelSize;
  const shapes: Record<string, number[]> = { item_emb: [numItems + 1, C] };
  blockDilations(c).forEach((_, i) => {
    const p = `blocks.${i}.`;
    Object.assign(shapes, {
      [p + 'conv1.w']: [k * C, C], [p + 'conv1.b']: [C], [p + 'ln1.g']: [C], [p + 'ln1.b']: [C],
      [p + 'conv2.w']: [k * C, C], [p + 'conv2.b']: [C], [p + 'ln2.g']: [C], [p + 'ln2.b']: [C],
    });
  });
  shapes['final.w'] = [C, C];
  shapes['final.b'] = [C];
  return shapes;
}

/** Initial values, as RecBole initialises NextItNet (see the file header). */
export function initialParameters(numItems: number, c: NextItNetConfig, rng: Rng): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const C = c.embeddingSize;
  const uniform = (v: Float32Array, bound: number) => { for (let i = 0; i < v.length; i++) v[i] = (rng.next() * 2 - 1) * bound; };
  for (const [name, shape] of Object.entries(parameterShapes(numItems, c))) {
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name === 'item_emb') {
      uniform(v, Math.sqrt(1 / (numItems + 1)));
      v.fill(0, 0, C);
    } else if (name === 'final.w') {
      const std = Math.sqrt(2 / (C + C)); // xavier_normal_
      for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
    } else if (name === 'final.b') {
      v.fill(0.1);
    } else if (/\.conv[12]\.[wb]$/.test(name)) {
      uniform(v, 1 / Math.sqrt(C * c.kernelSize)); // Conv2d default, fan_in = C·1·k
    } else if (name.endsWith('.g')) {
      v.fill(1);
    }
    out.set(name, v);
  }
  return out;
}

type Params = Record<string, tf.Tensor>;

/** Time-major rows y [L*B, C] shifted `s` time steps later: step t holds y_{t−s}, zeros before the start. */
function shiftSteps(y: tf.Tensor2D, s: number, B: number): tf.Tensor2D {
  if (s === 0) return y;
  const [N, C] = y.shape;
  return tf.pad(tf.slice(y, [0, 0], [N - s * B, C]), [[s * B, 0], [0, 0]]);
}

/**
 * Dilated causal convolution of time-major x [L*B, C] (row t * B + b) with weight w [k·C, Cout]
 * (layout of {@link parameterShapes}) and bias b: y_t = b + Σ_j W_j x_{t−(k−1−j)·d}, as
 * Σ_j shift_{(k−1−j)·d}(x · W_j) (shifting and the per-row product commute); taps reaching before
 * the start of every row are skipped. Returns [L*B, Cout].
 */
export function causalConv(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, dilation: number, kernelSize: number, B: number, L: number): tf.Tensor2D {
  const C = x.shape[1];
  const Cout = w.shape[1];
  let y: tf.Tensor2D | undefined;
  for (let j = 0; j < kernelSize; j++) {
    const s = (kernelSize - 1 - j) * dilation;
    if (s >= L) continue;
    const tap = shiftSteps(matMul(x, tf.slice(w, [j * C, 0], [C, Cout])), s, B);
    y = y ? (tf.add(y, tap) as tf.Tensor2D) : tap;
  }
  return tf.add(y!, b) as tf.Tensor2D; // j = k − 1 (no shift) always runs
}

/** The residual stack on time-major ids [L*B]: x^L [L*B, C], zero at padded positions. */
function encode(p: Params, c: NextItNetConfig, seq: tf.Tensor1D, timeline: tf.Tensor2D, B: number, L: number): tf.Tensor2D {
  const k = c.kernelSize;
  let x = tf.mul(tf.gather(p.item_emb, seq), timeline) as tf.Tensor2D;
  blockDilations(c).forEach((d, i) => {
    const q = `blocks.${i}.`;
    const c1 = causalConv(x, p[q + 'conv1.w'] as tf.Tensor2D, p[q + 'conv1.b'] as tf.Tensor1D, d, k, B, L);
    const h = tf.mul(tf.relu(layerNorm(c1, p[q + 'ln1.g'] as tf.Tensor1D, p[q + 'ln1.b'] as tf.Tensor1D, c.lnEps)), timeline) as tf.Tensor2D;
    const c2 = causalConv(h, p[q + 'conv2.w'] as tf.Tensor2D, p[q + 'conv2.b'] as tf.Tensor1D, 2 * d, k, B, L);
    const h2 = tf.mul(tf.relu(layerNorm(c2, p[q + 'ln2.g'] as tf.Tensor1D, p[q + 'ln2.b'] as tf.Tensor1D, c.lnEps)), timeline);
    x = tf.add(h2, x) as tf.Tensor2D;
  });
  return x;
}

/** Training forward: F at every position [L*B, C], time-major like `inp`. */
export function trainOutputs(p: Params, c: NextItNetConfig, inp: SequenceInputs): tf.Tensor2D {
  return linear(encode(p, c, inp.seq, inp.timeline, inp.B, inp.L), p['final.w'] as tf.Tensor2D, p['final.b'] as tf.Tensor1D);
}

/** RecBole's regulariser (see the file header), or none when regWeight is 0. */
export function regulariser(p: Params, c: NextItNetConfig): tf.Scalar | undefined {
  if (!(c.regWeight > 0)) return undefined;
  const names = ['item_emb', 'final.w'];
  blockDilations(c).forEach((_, i) => names.push(...['conv1.w', 'ln1.g', 'conv2.w', 'ln2.g'].map((n) => `blocks.${i}.${n}`)));
  const norms = names.map((n) => tf.sqrt(tf.sum(tf.square(p[n]))));
  return tf.mul(tf.addN(norms), c.regWeight) as tf.Scalar;
}

/** Inference: x_u [B, C] for B left-padded histories, ids time-major [L*B]. */
export function represent(p: Params, c: NextItNetConfig, seq: tf.Tensor1D, timeline: tf.Tensor2D, B: number, L: number): tf.Tensor2D {
  const x = encode(p, c, seq, timeline, B, L);
  const last = tf.slice(x, [(L - 1) * B, 0], [B, c.embeddingSize]); // the last time step's B rows
  return linear(last, p['final.w'] as tf.Tensor2D, p['final.b'] as tf.Tensor1D);
}

const SPEC: SequentialModelSpec<NextItNetConfig> = {
  name: 'nextitnet',
  label: 'NextItNet',
  kind: 'allmrec.backbone.nextitnet',
  checkpointKind: 'allmrec.backbone.nextitnet.checkpoint',
  dim: (c) => c.embeddingSize,
  shapes: parameterShapes,
  init: initialParameters,
  trainOutputs,
  regulariser,
  represent,
};

/**
 * NextItNet as a {@link CFBackbone}: `fit` trains (see the file header), then the model is frozen.
 *
 * @example
 * const model = new NextItNet(dataset.numItems);            // RecBole's defaults, BCE loss
 * await model.fit(leaveOneOut(dataset), { seed: 1, earlyStopping });
 * const xu = model.userRepresentations([history]);          // x_u, [1, 64]
 */
export class NextItNet extends SequentialDotBackbone<NextItNetConfig> {
  /** @throws Error naming the field for an unknown key or a bad value. */
  constructor(numItems: number, config: Partial<NextItNetConfig> = {}) {
    const c = resolveConfig('NextItNet', NEXTITNET_DEFAULTS, config);
    checkTrainingConfig('NextItNet', c);
    checkIntegers('NextItNet', c, ['embeddingSize', 'kernelSize', 'blockNum'], 1);
    if (c.dilations.length === 0 || !c.dilations.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new Error(`NextItNet: config.dilations must be a non-empty list of positive integers, got ${JSON.stringify(c.dilations)}`);
    }
    if (!(c.regWeight >= 0)) throw new Error(`NextItNet: config.regWeight must be >= 0, got ${c.regWeight}`);
    if (!(c.lnEps > 0)) throw new Error(`NextItNet: config.lnEps must be positive, got ${c.lnEps}`);
    super(SPEC, numItems, c);
  }

  /** Loads a model written by `save`; the result is frozen. */
  static async load(dir: string): Promise<NextItNet> {
    const { numItems, config, values } = await readSequentialArtifact(dir, SPEC.kind);
    const model = new NextItNet(numItems, config as Partial<NextItNetConfig>);
    model.restore(values);
    return model;
  }
}
