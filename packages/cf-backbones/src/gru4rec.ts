/**
 * GRU4Rec (Hidasi et al. 2016; Tan et al. 2016) as RecBole 1.2.1 builds it, as a CF backbone:
 *
 *   e_t  = dropout(E[s_t])                               (item embedding, dropout_prob 0.3)
 *   r_t  = σ(W_ir e_t + W_hr h_{t−1})                    (PyTorch's GRU, bias=False as in RecBole;
 *   z_t  = σ(W_iz e_t + W_hz h_{t−1})                     layer l > 1 reads layer l − 1's h_t)
 *   n_t  = tanh(W_in e_t + r_t ⊙ (W_hn h_{t−1}))
 *   h_t  = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1},   h_0 = 0
 *   F_t  = W_d h_t + b_d                                 (dense from hidden size to embedding size)
 *   x_u  = F at the last item of the history;  score(u, i) = <x_u, E_i>
 *
 * Histories are left-padded with item 0, whose embedding is zero and never trained (padding_idx).
 * With no biases a zero input keeps h = 0 exactly (r = z = ½, n = tanh(0) = 0), so padding
 * before a history changes nothing: the model is the GRU run on the history alone.
 *
 * Training: every position of each user's training sequence, as described in sequential.ts (one
 * epoch = every user with >= 2 training items once, users shuffled with the seed, batches of
 * `batchSize` users; loss 'bce' by default, 'ce' = RecBole's). Gradients by tfjs autodiff.
 *
 * Initialisation as RecBole's _init_weights: Xavier-normal item embeddings (padding row zeroed
 * here, see above), Xavier-uniform weight_ih_l0 and weight_hh_l0; layers after the first keep
 * PyTorch's GRU default uniform(±1/sqrt(hidden)); the dense layer keeps nn.Linear's default
 * uniform(±1/sqrt(hidden)) for weight and bias.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, dropoutMask } from '@allmrec/core';
import { linear, matMul } from './autodiff-ops';
import {
  SequentialDotBackbone, checkIntegers, checkTrainingConfig, readSequentialArtifact, resolveConfig,
  type SequenceInputs, type SequentialModelSpec, type SequentialTrainingConfig,
} from './sequential';

/** Hyper-parameters; defaults are RecBole's (GRU4Rec.yaml, overall.yaml) unless said otherwise. */
export interface GRU4RecConfig extends SequentialTrainingConfig {
  /** Item embedding size = dim of E_i and x_u (embedding_size). */
  embeddingSize: number;
  /** GRU hidden size (hidden_size). */
  hiddenSize: number;
  /** Stacked GRU layers (num_layers). */
  numLayers: number;
  /** Dropout on the item embeddings of the input sequence (dropout_prob). */
  dropout: number;
}

export const GRU4REC_DEFAULTS: GRU4RecConfig = {
  embeddingSize: 64, // embedding_size
  hiddenSize: 128, // hidden_size
  numLayers: 1, // num_layers
  dropout: 0.3, // dropout_prob
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

/**
 * Parameter names and shapes. Weights are stored [in, out] (x·W); the gate columns of the GRU
 * weights are [r | z | n], each `hiddenSize` wide (PyTorch's weight_ih_l{k} / weight_hh_l{k}
 * transposed).
 */
export function parameterShapes(numItems: number, c: GRU4RecConfig): Record<string, number[]> {
  const { embeddingSize: E, hiddenSize: H } = c;
  const shapes: Record<string, number[]> = { item_emb: [numItems + 1, E] };
  for (let l = 0; l < c.numLayers; l++) {
    shapes[`gru.${l}.w_ih`] = [l === 0 ? E : H, 3 * H];
    shapes[`gru.${l}.w_hh`] = [H, 3 * H];
  }
  shapes['dense.w'] = [H, E];
  shapes['dense.b'] = [E];
  return shapes;
}

/** Initial values, as RecBole initialises GRU4Rec (see the file header). */
export function initialParameters(numItems: number, c: GRU4RecConfig, rng: Rng): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const H = c.hiddenSize;
  const uniform = (v: Float32Array, bound: number) => { for (let i = 0; i < v.length; i++) v[i] = (rng.next() * 2 - 1) * bound; };
  for (const [name, shape] of Object.entries(parameterShapes(numItems, c))) {
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name === 'item_emb') {
      const std = Math.sqrt(2 / (shape[0] + shape[1])); // xavier_normal_
      for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
      v.fill(0, 0, c.embeddingSize);
    } else if (name.startsWith('gru.0.')) {
      uniform(v, Math.sqrt(6 / (shape[0] + shape[1]))); // xavier_uniform_ (symmetric in fan_in, fan_out)
    } else {
      uniform(v, 1 / Math.sqrt(H)); // PyTorch's GRU (l > 0) and nn.Linear defaults, fan_in = H
    }
    out.set(name, v);
  }
  return out;
}

type Params = Record<string, tf.Tensor>;

/**
 * One GRU layer over time-major inputs X [L*B, in] (row t*B + b). Returns every h_t stacked
 * time-major [L*B, H] and the last one [B, H].
 */
export function gruLayer(X: tf.Tensor2D, wIh: tf.Tensor2D, wHh: tf.Tensor2D, B: number, L: number): { all: tf.Tensor2D; last: tf.Tensor2D } {
  const H = wHh.shape[0];
  // The input projections of all steps at once; the recurrence only multiplies h. (A split into
  // one piece would be a single-output op whose gradient tfjs cannot form, hence L = 1 apart.)
  const proj = matMul(X, wIh);
  const xw = L === 1 ? [proj] : (tf.split(proj, L, 0) as tf.Tensor2D[]);
  let h = tf.zeros([B, H]) as tf.Tensor2D;
  const hs: tf.Tensor2D[] = [];
  for (let t = 0; t < L; t++) {
    const [xrz, xn] = tf.split(xw[t], [2 * H, H], 1);
    const [hrz, hn] = tf.split(matMul(h, wHh), [2 * H, H], 1);
    const [r, z] = tf.split(tf.sigmoid(tf.add(xrz, hrz)), 2, 1);
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    h = tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D; // (1 − z) ⊙ n + z ⊙ h
    hs.push(h);
  }
  return { all: tf.concat(hs, 0) as tf.Tensor2D, last: h };
}

/** Stacked layers on time-major ids [L*B]; with `dropout` (an [L*B, E] mask) the embeddings drop. */
function encode(p: Params, c: GRU4RecConfig, seq: tf.Tensor1D, B: number, L: number, dropout?: tf.Tensor2D) {
  let x = tf.gather(p.item_emb, seq) as tf.Tensor2D;
  if (dropout) x = tf.mul(x, dropout) as tf.Tensor2D;
  let layer = { all: x, last: x };
  for (let l = 0; l < c.numLayers; l++) {
    layer = gruLayer(layer.all, p[`gru.${l}.w_ih`] as tf.Tensor2D, p[`gru.${l}.w_hh`] as tf.Tensor2D, B, L);
  }
  return layer;
}

/** Training forward: F at every position [L*B, E], time-major like `inp`. */
export function trainOutputs(p: Params, c: GRU4RecConfig, inp: SequenceInputs, rng: Rng): tf.Tensor2D {
  const { B, L } = inp;
  const mask = c.dropout > 0 ? (dropoutMask(rng, [L * B, c.embeddingSize], c.dropout) as tf.Tensor2D) : undefined;
  const { all } = encode(p, c, inp.seq, B, L, mask);
  return linear(all, p['dense.w'] as tf.Tensor2D, p['dense.b'] as tf.Tensor1D);
}

/** Inference: x_u [B, E] for B left-padded histories, ids time-major [L*B]. */
export function represent(p: Params, c: GRU4RecConfig, seq: tf.Tensor1D, _timeline: tf.Tensor2D, B: number, L: number): tf.Tensor2D {
  const { last } = encode(p, c, seq, B, L);
  return linear(last, p['dense.w'] as tf.Tensor2D, p['dense.b'] as tf.Tensor1D);
}

const SPEC: SequentialModelSpec<GRU4RecConfig> = {
  name: 'gru4rec',
  label: 'GRU4Rec',
  kind: 'allmrec.backbone.gru4rec',
  checkpointKind: 'allmrec.backbone.gru4rec.checkpoint',
  dim: (c) => c.embeddingSize,
  shapes: parameterShapes,
  init: initialParameters,
  trainOutputs,
  represent,
};

/**
 * GRU4Rec as a {@link CFBackbone}: `fit` trains (see the file header), then the model is frozen.
 *
 * @example
 * const model = new GRU4Rec(dataset.numItems);              // RecBole's defaults, BCE loss
 * await model.fit(leaveOneOut(dataset), { seed: 1, earlyStopping });
 * const xu = model.userRepresentations([history]);          // x_u, [1, 64]
 */
export class GRU4Rec extends SequentialDotBackbone<GRU4RecConfig> {
  /** @throws Error naming the field for an unknown key or a bad value. */
  constructor(numItems: number, config: Partial<GRU4RecConfig> = {}) {
    const c = resolveConfig('GRU4Rec', GRU4REC_DEFAULTS, config);
    checkTrainingConfig('GRU4Rec', c);
    checkIntegers('GRU4Rec', c, ['embeddingSize', 'hiddenSize', 'numLayers'], 1);
    if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`GRU4Rec: config.dropout must be in [0, 1), got ${c.dropout}`);
    super(SPEC, numItems, c);
  }

  /** Loads a model written by `save`; the result is frozen. */
  static async load(dir: string): Promise<GRU4Rec> {
    const { numItems, config, values } = await readSequentialArtifact(dir, SPEC.kind);
    const model = new GRU4Rec(numItems, config as Partial<GRU4RecConfig>);
    model.restore(values);
    return model;
  }
}
