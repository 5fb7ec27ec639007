/**
 * NeuMF (He et al. 2017, "Neural Collaborative Filtering") as RecBole 1.2.1's NeuMF: a GMF branch
 * and an MLP branch over separate user and item embeddings, joined by one output unit.
 *
 *   gmf   = p_u ⊙ q_i                                      (mf_embedding_size 64)
 *   a_0   = [m_u ; n_i]                                    (mlp_embedding_size 64 each)
 *   a_k   = relu(drop(a_{k-1}) · W_k + b_k),  k = 1..L     (mlp_hidden_size [128, 64], dropout 0.1)
 *   z     = [gmf ; a_L] · w + b,   ŷ = σ(z)
 *   loss  = BCE(z, y) averaged over a batch of 1,024 positive pairs and one uniform negative each
 *           (RecBole's pointwise loader: 2,048 rows with labels 1 and 0)
 *
 * Embeddings start N(0, 0.01) (RecBole's _init_weights); linear layers start as PyTorch's default
 * (weight and bias uniform in ±1/sqrt(fan_in)). The backward pass is written out (a test checks it
 * against tfjs autodiff), keeping every matMul plain on WASM.
 *
 * The score is the logit z, not a dot product (σ is monotone, so it ranks as RecBole's ŷ does and
 * keeps large scores apart in float32). Scoring runs the network on every (user, item) pair; the
 * first layer is split as [m_u ; n_i]·W_1 = m_u·W_1u + n_i·W_1i, so the item half is computed once
 * per item, not once per pair.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dropoutMask, linear, linearBackward, type LeaveOneOutSplit, type Rng } from '@allmrec/core';
import type { CFBackbone, FitOptions, FitResult } from './backbone';
import { checkIntegers, checkRange, resolveConfig } from './config';
import { foldIn, foldInPairs, trainedUsers } from './fold-in';
import { PairSampler } from './pair-sampler';
import { checkHistories, checkItemIds, checkCanFit } from './scoring';
import { ParamSet, fitWithAdam, loadParams, saveParams } from './trainer';

/** Hyper-parameters; defaults are RecBole 1.2.1's (NeuMF.yaml and overall.yaml). */
export interface NCFConfig {
  /** GMF embedding size (RecBole mf_embedding_size, 64). */
  mfDim: number;
  /** MLP embedding size of users and of items (RecBole mlp_embedding_size, 64). */
  mlpDim: number;
  /** Hidden layer sizes of the MLP (RecBole mlp_hidden_size, [128, 64]). */
  hidden: number[];
  /** Dropout before every MLP layer while training (RecBole dropout_prob, 0.1). */
  dropout: number;
  /** Adam learning rate (1e-3). */
  lr: number;
  /** Adam betas and epsilon (PyTorch's defaults, as RecBole: 0.9, 0.999, 1e-8). */
  beta1: number;
  beta2: number;
  adamEps: number;
  /**
   * Positive pairs per batch (1,024): each adds a negative row, so a batch has 2,048 rows, as
   * RecBole's train_batch_size 2048 with one negative per positive.
   */
  batchSize: number;
  /** Training epochs (RecBole epochs, 300; it usually stops earlier on validation). */
  epochs: number;
  /**
   * Fold-in of histories without trained parameters (see the class comment): Adam steps (50),
   * learning rate (0.003) and negatives per history item (1).
   */
  foldInSteps: number;
  foldInLr: number;
  foldInNegatives: number;
}

export const NCF_DEFAULTS: NCFConfig = {
  mfDim: 64,
  mlpDim: 64,
  hidden: [128, 64],
  dropout: 0.1,
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  adamEps: 1e-8,
  batchSize: 1024,
  epochs: 300,
  foldInSteps: 50,
  foldInLr: 0.003,
  foldInNegatives: 1,
};

type Params = Record<string, tf.Tensor>;

/** Input width of MLP layer k (the concatenated embeddings for k = 0). */
function layerInputs(c: NCFConfig): number[] {
  return [2 * c.mlpDim, ...c.hidden.slice(0, -1)];
}

/** Parameter names and shapes. Weights are stored [in, out] so a layer is x·W + b. */
export function parameterShapes(numUsers: number, numItems: number, c: NCFConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {
    user_mf: [numUsers + 1, c.mfDim], item_mf: [numItems + 1, c.mfDim],
    user_mlp: [numUsers + 1, c.mlpDim], item_mlp: [numItems + 1, c.mlpDim],
  };
  layerInputs(c).forEach((n, k) => {
    shapes[`mlp.${k}.w`] = [n, c.hidden[k]];
    shapes[`mlp.${k}.b`] = [c.hidden[k]];
  });
  shapes['predict.w'] = [c.mfDim + c.hidden[c.hidden.length - 1], 1];
  shapes['predict.b'] = [1];
  return shapes;
}

/**
 * RecBole's initialisation: embeddings N(0, 0.01) (padding rows zero here; they are never read in
 * training), linear layers PyTorch's default uniform(±1/sqrt(fan_in)) for weights and biases.
 */
export function initialParameters(numUsers: number, numItems: number, c: NCFConfig, rng: Rng): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const shapes = parameterShapes(numUsers, numItems, c);
  for (const [name, shape] of Object.entries(shapes)) {
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.startsWith('user_') || name.startsWith('item_')) {
      for (let i = shape[1]; i < v.length; i++) v[i] = rng.normal() * 0.01;
    } else {
      const fanIn = shapes[name.replace(/\.b$/, '.w')][0];
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < v.length; i++) v[i] = (rng.next() * 2 - 1) * bound;
    }
    out.set(name, v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Training: forward over (user, item) rows and the hand-written backward.

/** One row per (user, item, label): the embedding rows already gathered. */
export interface RowInputs {
  uMf: tf.Tensor2D;
  iMf: tf.Tensor2D;
  uMlp: tf.Tensor2D;
  iMlp: tf.Tensor2D;
  /** Labels [M, 1] (1 = interacted, 0 = negative). */
  labels: tf.Tensor2D;
  /** Weight of each row in the loss [M, 1] (1/M for a batch mean). */
  weight: tf.Tensor2D;
}

/**
 * The weighted BCE loss of `inp` and its gradients (call inside tf.tidy): every network weight
 * (same names as the parameters) and the four gathered embedding inputs (rows, to be scattered
 * into the tables). `masks[k]` is the inverted-dropout mask on the input of MLP layer k, none at
 * inference.
 */
export function lossAndGradients(p: Params, c: NCFConfig, inp: RowInputs, masks?: tf.Tensor2D[]): {
  loss: tf.Scalar; grads: Params; rows: { uMf: tf.Tensor2D; iMf: tf.Tensor2D; uMlp: tf.Tensor2D; iMlp: tf.Tensor2D };
} {
  const M = inp.uMf.shape[0];
  const L = c.hidden.length;
  const gmf = tf.mul(inp.uMf, inp.iMf) as tf.Tensor2D;
  let a = tf.concat([inp.uMlp, inp.iMlp], 1) as tf.Tensor2D;
  const caches: { xT: tf.Tensor2D; z: tf.Tensor2D }[] = [];
  for (let k = 0; k < L; k++) {
    const x = masks ? (tf.mul(a, masks[k]) as tf.Tensor2D) : a;
    const z = linear(x, p[`mlp.${k}.w`], p[`mlp.${k}.b`]);
    caches.push({ xT: tf.transpose(x), z });
    a = tf.relu(z) as tf.Tensor2D;
  }
  const h = tf.concat([gmf, a], 1) as tf.Tensor2D;
  const z = linear(h, p['predict.w'], p['predict.b']);
  // BCE with logits: softplus(z) − y·z, weighted.
  const loss = tf.sum(tf.mul(tf.sub(tf.softplus(z), tf.mul(inp.labels, z)), inp.weight)) as tf.Scalar;

  const grads: Params = {};
  const dz = tf.mul(tf.sub(tf.sigmoid(z), inp.labels), inp.weight) as tf.Tensor2D;
  const F = h.shape[1];
  grads['predict.w'] = tf.reshape(tf.sum(tf.mul(h, dz), 0), [F, 1]);
  grads['predict.b'] = tf.sum(dz, 0);
  const dh = tf.mul(dz, tf.reshape(p['predict.w'], [1, F])) as tf.Tensor2D;
  const dgmf = tf.slice(dh, [0, 0], [M, c.mfDim]) as tf.Tensor2D;
  let da = tf.slice(dh, [0, c.mfDim], [M, F - c.mfDim]) as tf.Tensor2D;
  for (let k = L - 1; k >= 0; k--) {
    const dpre = tf.mul(da, tf.step(caches[k].z)) as tf.Tensor2D;
    const lb = linearBackward(dpre, caches[k].xT, p[`mlp.${k}.w`]);
    grads[`mlp.${k}.w`] = lb.dW;
    grads[`mlp.${k}.b`] = lb.db;
    da = masks ? (tf.mul(lb.dx!, masks[k]) as tf.Tensor2D) : lb.dx!;
  }
  const e = c.mlpDim;
  return {
    loss, grads,
    rows: {
      uMf: tf.mul(dgmf, inp.iMf) as tf.Tensor2D,
      iMf: tf.mul(dgmf, inp.uMf) as tf.Tensor2D,
      uMlp: tf.slice(da, [0, 0], [M, e]) as tf.Tensor2D,
      iMlp: tf.slice(da, [0, e], [M, e]) as tf.Tensor2D,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Inference: the first layer split into a user half and an item half.

/** The item half of layer 1 for every item: C = n·W_1i + b_1, [numItems + 1, hidden[0]]. */
export function itemHalf(p: Params, c: NCFConfig): tf.Tensor2D {
  return tf.tidy(() => {
    const W1 = p['mlp.0.w'] as tf.Tensor2D;
    const W1i = tf.slice(W1, [c.mlpDim, 0], [c.mlpDim, c.hidden[0]]);
    return linear(p.item_mlp as tf.Tensor2D, W1i, p['mlp.0.b']);
  });
}

/** What the upper layers keep for a user-side backward. */
interface UpperCache {
  z: tf.Tensor2D[];
  a: tf.Tensor2D[];
}

/**
 * Logits [M] of rows (user `row[k]` of uMf/uMlp [B, ·], item `items[k]`), with C from
 * {@link itemHalf}; no dropout. Call inside tf.tidy. `cache` receives what a backward needs.
 */
function inferLogits(
  p: Params, c: NCFConfig, C: tf.Tensor2D, uMf: tf.Tensor2D, uMlp: tf.Tensor2D, row: tf.Tensor1D, items: tf.Tensor1D, cache?: UpperCache,
): tf.Tensor1D {
  const L = c.hidden.length;
  const W1u = tf.slice(p['mlp.0.w'], [0, 0], [c.mlpDim, c.hidden[0]]) as tf.Tensor2D;
  const A = tf.matMul(uMlp, W1u);
  let z = tf.add(tf.gather(A, row), tf.gather(C, items)) as tf.Tensor2D;
  let a = tf.relu(z) as tf.Tensor2D;
  cache?.z.push(z);
  cache?.a.push(a);
  for (let k = 1; k < L; k++) {
    z = linear(a, p[`mlp.${k}.w`], p[`mlp.${k}.b`]);
    a = tf.relu(z) as tf.Tensor2D;
    cache?.z.push(z);
    cache?.a.push(a);
  }
  const hL = c.hidden[L - 1];
  const wMf = tf.reshape(tf.slice(p['predict.w'], [0, 0], [c.mfDim, 1]), [1, c.mfDim]);
  const wMlp = tf.slice(p['predict.w'], [c.mfDim, 0], [hL, 1]) as tf.Tensor2D;
  const gmf = tf.sum(tf.mul(tf.gather(tf.mul(uMf, wMf), row), tf.gather(p.item_mf, items)), 1);
  return tf.add(tf.add(tf.reshape(tf.matMul(a, wMlp), [-1]), gmf), p['predict.b']) as tf.Tensor1D;
}

/** The fixed rows of a fold-in: history row, item, label and weight of each, as tensors. */
export interface FoldInRows {
  row: tf.Tensor1D;
  items: tf.Tensor1D;
  labels: tf.Tensor1D;
  weight: tf.Tensor1D;
}

/**
 * The fold-in loss (weighted BCE over `rows`) and its gradient with respect to the user vectors
 * uMf [B, mfDim] and uMlp [B, mlpDim] only, everything else frozen and dropout off. The backward
 * runs through the upper layers to layer 1's user half A = m·W_1u. Call inside tf.tidy.
 */
export function foldInGradients(
  p: Params, c: NCFConfig, C: tf.Tensor2D, rows: FoldInRows, uMf: tf.Tensor2D, uMlp: tf.Tensor2D,
): { loss: tf.Scalar; mf: tf.Tensor2D; mlp: tf.Tensor2D } {
  const B = uMf.shape[0];
  const L = c.hidden.length;
  const hL = c.hidden[L - 1];
  const cache: UpperCache = { z: [], a: [] };
  const z = inferLogits(p, c, C, uMf, uMlp, rows.row, rows.items, cache);
  const loss = tf.sum(tf.mul(tf.sub(tf.softplus(z), tf.mul(rows.labels, z)), rows.weight)) as tf.Scalar;
  const dz = tf.reshape(tf.mul(tf.sub(tf.sigmoid(z), rows.labels), rows.weight), [-1, 1]);
  // GMF half: z contains Σ_t p_t · w_t · q_t, so dp = dz · (w ⊙ q).
  const wMf = tf.reshape(tf.slice(p['predict.w'], [0, 0], [c.mfDim, 1]), [1, c.mfDim]);
  const mf = tf.unsortedSegmentSum(tf.mul(dz, tf.mul(tf.gather(p.item_mf, rows.items), wMf)), rows.row, B) as tf.Tensor2D;
  // MLP half: back through layers L..2, then layer 1's user half.
  let da = tf.mul(dz, tf.reshape(tf.slice(p['predict.w'], [c.mfDim, 0], [hL, 1]), [1, hL])) as tf.Tensor2D;
  for (let k = L - 1; k >= 1; k--) {
    const dpre = tf.mul(da, tf.step(cache.z[k])) as tf.Tensor2D;
    da = tf.matMul(dpre, tf.transpose(p[`mlp.${k}.w`] as tf.Tensor2D));
  }
  const dA = tf.unsortedSegmentSum(tf.mul(da, tf.step(cache.z[0])), rows.row, B) as tf.Tensor2D;
  const W1u = tf.slice(p['mlp.0.w'], [0, 0], [c.mlpDim, c.hidden[0]]) as tf.Tensor2D;
  return { loss, mf, mlp: tf.matMul(dA, tf.transpose(W1u)) };
}

/**
 * Fold-in user vectors (GMF half, MLP half) for `histories` (see the class comment): BCE on each
 * distinct history item (label 1) and `foldInNegatives` fixed negatives per item (label 0), mean
 * per history, `foldInSteps` Adam steps from 0 with {@link foldInGradients}.
 */
export function foldInUsers(p: Params, c: NCFConfig, C: tf.Tensor2D, numItems: number, histories: ArrayLike<number>[]): { mf: Float32Array; mlp: Float32Array } {
  const B = histories.length;
  const pairs = foldInPairs(histories, numItems, c.foldInNegatives);
  const P = pairs.row.length;
  if (P === 0) return { mf: new Float32Array(B * c.mfDim), mlp: new Float32Array(B * c.mlpDim) };
  // Rows: every pair's positive (label 1) then every pair's negative (label 0), half its weight each.
  const rowIds = new Int32Array(2 * P);
  rowIds.set(pairs.row);
  rowIds.set(pairs.row, P);
  const itemIds = new Int32Array(2 * P);
  itemIds.set(pairs.pos);
  itemIds.set(pairs.neg, P);
  const w = new Float32Array(2 * P);
  for (let k = 0; k < P; k++) w[k] = w[P + k] = pairs.weight[k] / 2;
  const labels = new Float32Array(2 * P).fill(1, 0, P);
  const rows: FoldInRows = tf.tidy(() => ({
    row: tf.tensor1d(rowIds, 'int32'), items: tf.tensor1d(itemIds, 'int32'),
    labels: tf.tensor1d(labels), weight: tf.tensor1d(w),
  }));
  try {
    const fitted = foldIn({ mf: [B, c.mfDim], mlp: [B, c.mlpDim] }, { steps: c.foldInSteps, lr: c.foldInLr }, (v) => {
      const g = foldInGradients(p, c, C, rows, v.mf as tf.Tensor2D, v.mlp as tf.Tensor2D);
      return { grads: { mf: g.mf, mlp: g.mlp } };
    });
    return { mf: fitted.get('mf')!, mlp: fitted.get('mlp')! };
  } finally {
    for (const t of Object.values(rows)) t.dispose();
  }
}

const KIND = 'allmrec.backbone.ncf';
const CHECKPOINT_KIND = 'allmrec.backbone.ncf.checkpoint';
/** Rows per network call when scoring (bounds memory: 131,072 rows x 128 floats = 64 MB per layer). */
const SCORE_ROWS = 131072;

/**
 * NeuMF as a {@link CFBackbone} (order-free).
 *
 * What A-LLMRec's alignment reads: **E_i = [p_i ; n_i]**, the concatenated GMF and MLP item
 * embeddings, and **x_u = [p_u ; m_u]**, the concatenated GMF and MLP user embeddings (dim 128 by
 * default). The score is not <x_u, E_i> but the network's logit on (x_u, i) (conformance scoring
 * 'monotone'); `score` and `scoreAll` run the network over the candidates, batched by rows.
 *
 * With `users`, a user the model was trained on (one with training items) reads its trained
 * embeddings. Any other history (no id, id 0, an unknown id, a user without training items) is
 * **folded in**: fresh p_u and m_u, starting at 0, are fitted to the history's distinct items with
 * every other weight frozen and dropout off, by `foldInSteps` (50) Adam steps at `foldInLr`
 * (0.003) on NeuMF's own BCE loss, each history item (label 1) paired with `foldInNegatives` (1)
 * negatives (label 0) drawn outside the history by a generator seeded from its sorted items. The
 * result depends only on the set of items in the history.
 *
 * @example
 * const model = new NCF(split.numItems, { epochs: 100 });
 * await model.fit(split, { seed: 1 });
 * model.scoreAll(histories, users);   // [users, numItems + 1] logits
 */
export class NCF implements CFBackbone {
  readonly name = 'ncf';
  readonly usesOrder = false;
  readonly config: NCFConfig;
  private params: ParamSet | undefined;
  private trainCounts: Int32Array = new Int32Array(1);
  private itemC: tf.Tensor2D | undefined;
  private isFrozen = false;

  constructor(readonly numItems: number, config: Partial<NCFConfig> = {}) {
    if (!Number.isInteger(numItems) || numItems < 1) throw new Error(`NCF: numItems must be a positive integer, got ${numItems}`);
    this.config = resolveConfig('NCF', NCF_DEFAULTS, config);
    const c = this.config;
    checkIntegers('NCF', c, ['mfDim', 'mlpDim', 'batchSize', 'foldInNegatives']);
    checkIntegers('NCF', c, ['epochs', 'foldInSteps'], 0);
    if (c.hidden.length === 0 || !c.hidden.every((h) => Number.isInteger(h) && h >= 1)) {
      throw new Error(`NCF: config.hidden must be a non-empty list of positive integers, got ${JSON.stringify(c.hidden)}`);
    }
    checkRange('NCF', c, ['dropout'], 0, 1, true);
    checkRange('NCF', c, ['lr', 'foldInLr', 'adamEps'], 0, Infinity);
    checkRange('NCF', c, ['beta1', 'beta2'], 0, 1, true);
  }

  /** Dimension of E_i and x_u: GMF plus MLP embedding size. */
  get dim(): number {
    return this.config.mfDim + this.config.mlpDim;
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  /** Number of users the model has parameters for (0 before fit or load). */
  get numUsers(): number {
    return this.trainCounts.length - 1;
  }

  private build(numUsers: number): ParamSet {
    this.params?.dispose();
    this.params = new ParamSet('NCF', parameterShapes(numUsers, this.numItems, this.config));
    return this.params;
  }

  private weights(): ParamSet {
    if (!this.params) throw new Error('NCF: the model has no weights yet; call fit() or load()');
    return this.params;
  }

  /** Trains on every training pair of `split` plus one negative each (RecBole's recipe), then freezes. */
  async fit(split: LeaveOneOutSplit, options: FitOptions): Promise<FitResult> {
    checkCanFit('NCF', this.isFrozen, split.numItems, this.numItems);
    const c = this.config;
    const sampler = new PairSampler(split.train, this.numItems, c.batchSize);
    const params = this.build(sampler.numUsers);
    this.trainCounts = sampler.trainCounts();
    const U = sampler.numUsers;
    const { epochs: _e, foldInSteps: _s, foldInLr: _l, foldInNegatives: _n, ...rest } = c;
    const fit = await fitWithAdam({
      model: 'ncf', checkpointKind: CHECKPOINT_KIND,
      runKey: { numItems: this.numItems, numUsers: U, pairs: sampler.numPairs, config: rest },
      epochs: c.epochs, stepsPerEpoch: sampler.stepsPerEpoch, adam: { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.adamEps },
      init: (rng) => initialParameters(U, this.numItems, c, rng),
      beginEpoch: (_, rng) => sampler.shuffle(rng),
      step: (p, rng, _epoch, s) => {
        const b = sampler.batch(s, rng);
        const M = 2 * b.size;
        const users = new Int32Array(M);
        users.set(b.users);
        users.set(b.users, b.size);
        const items = new Int32Array(M);
        items.set(b.pos);
        items.set(b.neg, b.size);
        const u = tf.tensor1d(users, 'int32');
        const i = tf.tensor1d(items, 'int32');
        const masks = c.dropout > 0 ? layerInputs(c).map((n) => dropoutMask(rng, [M, n], c.dropout) as tf.Tensor2D) : undefined;
        const rows = (table: tf.Tensor, ids: tf.Tensor1D) => tf.gather(table, ids) as tf.Tensor2D;
        const r = lossAndGradients(p, c, {
          uMf: rows(p.user_mf, u), iMf: rows(p.item_mf, i), uMlp: rows(p.user_mlp, u), iMlp: rows(p.item_mlp, i),
          labels: tf.tensor2d(new Float32Array(M).fill(1, 0, b.size), [M, 1]), weight: tf.fill([M, 1], 1 / M) as tf.Tensor2D,
        }, masks);
        r.grads.user_mf = tf.unsortedSegmentSum(r.rows.uMf, u, U + 1);
        r.grads.item_mf = tf.unsortedSegmentSum(r.rows.iMf, i, this.numItems + 1);
        r.grads.user_mlp = tf.unsortedSegmentSum(r.rows.uMlp, u, U + 1);
        r.grads.item_mlp = tf.unsortedSegmentSum(r.rows.iMlp, i, this.numItems + 1);
        return { loss: r.loss, grads: r.grads };
      },
    }, params, options);
    this.isFrozen = true;
    return fit;
  }

  /** E_i = [p_i ; n_i]: GMF and MLP item embeddings, concatenated. */
  itemEmbeddings(ids: ArrayLike<number>): Float32Array {
    const params = this.weights();
    checkItemIds('NCF', ids, this.numItems);
    return concatRows(params.get('item_mf'), this.config.mfDim, params.get('item_mlp'), this.config.mlpDim, Array.from(ids));
  }

  /** x_u = [p_u ; m_u] of a trained user, else of the fold-in (see the class comment). */
  userRepresentations(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array {
    const { mf, mlp } = this.userParts(histories, users);
    const c = this.config;
    return concatRows(mf, c.mfDim, mlp, c.mlpDim, Array.from({ length: histories.length }, (_, b) => b));
  }

  /** The GMF and MLP user embeddings of each history: trained rows or fold-ins. */
  private userParts(histories: ArrayLike<number>[], users?: ArrayLike<number>): { mf: Float32Array; mlp: Float32Array } {
    const params = this.weights();
    checkHistories('NCF', histories, this.numItems, users);
    const c = this.config;
    const rows = trainedUsers('NCF', histories.length, users, this.trainCounts);
    const mf = new Float32Array(histories.length * c.mfDim);
    const mlp = new Float32Array(histories.length * c.mlpDim);
    const Pmf = params.get('user_mf');
    const Pmlp = params.get('user_mlp');
    const others: number[] = [];
    rows.forEach((u, b) => {
      if (u === 0) { others.push(b); return; }
      mf.set(Pmf.subarray(u * c.mfDim, (u + 1) * c.mfDim), b * c.mfDim);
      mlp.set(Pmlp.subarray(u * c.mlpDim, (u + 1) * c.mlpDim), b * c.mlpDim);
    });
    if (others.length) {
      this.withItemHalf((C) => {
        const p = params.record();
        const chunk = 256;
        for (let s = 0; s < others.length; s += chunk) {
          const idx = others.slice(s, s + chunk);
          const f = foldInUsers(p, c, C, this.numItems, idx.map((b) => histories[b]));
          idx.forEach((b, k) => {
            mf.set(f.mf.subarray(k * c.mfDim, (k + 1) * c.mfDim), b * c.mfDim);
            mlp.set(f.mlp.subarray(k * c.mlpDim, (k + 1) * c.mlpDim), b * c.mlpDim);
          });
        }
      });
    }
    return { mf, mlp };
  }

  /** Runs `fn` with the item half of layer 1: kept once frozen, made and released per call while training. */
  private withItemHalf<T>(fn: (C: tf.Tensor2D) => T): T {
    const p = this.weights().record();
    if (this.isFrozen) {
      this.itemC ??= itemHalf(p, this.config);
      return fn(this.itemC);
    }
    const C = itemHalf(p, this.config);
    try { return fn(C); } finally { C.dispose(); }
  }

  /** Logits of the flattened (history row, item) pairs, in chunks of SCORE_ROWS rows. */
  private logits(mf: Float32Array, mlp: Float32Array, B: number, row: Int32Array, items: Int32Array): Float32Array {
    const c = this.config;
    const out = new Float32Array(row.length);
    const p = this.weights().record();
    this.withItemHalf((C) => {
      const uMf = tf.tensor2d(mf, [B, c.mfDim]);
      const uMlp = tf.tensor2d(mlp, [B, c.mlpDim]);
      try {
        for (let s = 0; s < row.length; s += SCORE_ROWS) {
          const e = Math.min(row.length, s + SCORE_ROWS);
          const z = tf.tidy(() => inferLogits(p, c, C, uMf, uMlp, tf.tensor1d(row.subarray(s, e), 'int32'), tf.tensor1d(items.subarray(s, e), 'int32')));
          out.set(z.dataSync() as Float32Array, s);
          z.dispose();
        }
      } finally {
        uMf.dispose();
        uMlp.dispose();
      }
    });
    return out;
  }

  /** The network's logit for each candidate (higher is better). */
  score(histories: ArrayLike<number>[], candidates: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array[] {
    if (histories.length !== candidates.length) throw new Error(`NCF.score: ${histories.length} histories but ${candidates.length} candidate lists`);
    this.weights();
    for (const cands of candidates) checkItemIds('NCF', cands, this.numItems, 'candidate');
    const { mf, mlp } = this.userParts(histories, users);
    const total = candidates.reduce((a, x) => a + x.length, 0);
    const row = new Int32Array(total);
    const items = new Int32Array(total);
    let k = 0;
    candidates.forEach((cands, b) => {
      for (let j = 0; j < cands.length; j++, k++) { row[k] = b; items[k] = cands[j]; }
    });
    const z = this.logits(mf, mlp, histories.length, row, items);
    const out: Float32Array[] = [];
    k = 0;
    for (const cands of candidates) { out.push(z.slice(k, k + cands.length)); k += cands.length; }
    return out;
  }

  /** The logit of every item for each history, [histories.length, numItems + 1] (column 0 is the padding item). */
  scoreAll(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array {
    const { mf, mlp } = this.userParts(histories, users);
    const n = this.numItems + 1;
    const B = histories.length;
    const row = new Int32Array(B * n);
    const items = new Int32Array(B * n);
    for (let b = 0; b < B; b++) {
      row.fill(b, b * n, (b + 1) * n);
      for (let i = 0; i < n; i++) items[b * n + i] = i;
    }
    return this.logits(mf, mlp, B, row, items);
  }

  async save(dir: string): Promise<void> {
    await saveParams(dir, KIND, { name: this.name, numItems: this.numItems, numUsers: this.numUsers, config: this.config }, this.weights(), {
      train_counts: { shape: [this.trainCounts.length], data: this.trainCounts },
    });
  }

  /** Loads a model written by {@link NCF.save}; the result is frozen. */
  static async load(dir: string): Promise<NCF> {
    const { config, values, ints } = await loadParams(dir, KIND);
    const cfg = config as { numItems: number; numUsers: number; config: NCFConfig };
    const counts = ints.get('train_counts');
    if (!counts || counts.length !== cfg.numUsers + 1) throw new Error(`NCF: ${dir} lacks train_counts for ${cfg.numUsers} users`);
    const model = new NCF(cfg.numItems, cfg.config);
    model.build(cfg.numUsers).set(values);
    model.trainCounts = counts.slice();
    model.isFrozen = true;
    return model;
  }

  dispose(): void {
    this.params?.dispose();
    this.params = undefined;
    this.itemC?.dispose();
    this.itemC = undefined;
  }
}

/** Rows `ids` of two tables (widths da and db) side by side: [ids.length, da + db]. */
function concatRows(A: Float32Array, da: number, B: Float32Array, db: number, ids: number[]): Float32Array {
  const d = da + db;
  const out = new Float32Array(ids.length * d);
  ids.forEach((i, k) => {
    out.set(A.subarray(i * da, (i + 1) * da), k * d);
    out.set(B.subarray(i * db, (i + 1) * db), k * d + da);
  });
  return out;
}
