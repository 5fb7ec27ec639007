/**
 * A-LLMRec Stage 1: collaborative-text alignment, readable top to bottom (config, parameters,
 * forward + the four losses, training loop, frozen inference, save/load).
 *
 *   enc_I(E_i) = σ(E_i·W1 + b1)   [d → 128]       dec_I(z) = z·W2 + b2   [128 → d]
 *   enc_T(Q_i) = σ(Q_i·W3 + b3)   [t → 128]       dec_T(z) = z·W4 + b4   [128 → t]
 *
 *   L = L_rec + L_match + α·L_item_recon + β·L_text_recon            (α = 0.5, β = 0.2)
 *   L_rec        = BCE(mean_k(x_u ⊙ dec_I(enc_I(E_pos))), 1) + BCE(mean_k(x_u ⊙ dec_I(enc_I(E_neg))), 0)
 *   L_match      = MSE(enc_I(E_pos), enc_T(Q_pos)) + MSE(enc_I(E_neg), enc_T(Q_neg))
 *   L_item_recon = MSE(dec_I(enc_I(E_pos)), E_pos) + MSE(dec_I(enc_I(E_neg)), E_neg)
 *   L_text_recon = MSE(dec_T(enc_T(Q_pos)), Q_pos) + MSE(dec_T(enc_T(Q_neg)), Q_neg)
 *
 * As in the reference (`pre_train_phase1`), each term is the sum of a positive-item and a
 * negative-item part, each part a mean (BCE over the batch, MSE over every element); "mean_k" is
 * the mean over the d dimensions, not a sum. The reference's `two_layer_mlp` is exactly
 * Linear → sigmoid (the latent) → Linear (the reconstruction): no extra layers or activations.
 *
 * x_u is the frozen backbone's representation of the user's training sequence without its last
 * item, the positive is that last item, the negative one item outside the user's training
 * sequence (the reference's `pos[-1]`/`neg[-1]` at the last position of its SASRec sampler).
 * E_i (backbone) and Q_i (frozen text encoder, precomputed) are constants: no gradient reaches
 * them. After training enc_I is frozen; the joint embedding is e_i = enc_I(E_i), or
 * e_i = enc_T(Q_i) for an item without interactions (cold).
 *
 * Gradients come from tfjs autodiff, except that linear layers carry their own gradient with
 * explicit transposes: on WASM, autodiff's transposed matMuls are 10-50x slower than plain ones.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  Adam, Rng, isArtifact, linear, readArtifact, readTrainingCheckpoint, selectBackend, writeArtifact, writeTrainingCheckpoint,
  type LeaveOneOutSplit, type ProgressListener,
} from '@allmrec/core';
import type { CFBackbone } from '@allmrec/cf-backbones';
import { fitInitialParameters } from './stage1-init';

/** Hyper-parameters; defaults are the A-LLMRec reference values. */
export interface Stage1Config {
  /** d: dimension of the backbone's item embeddings E_i and user representations x_u. */
  itemDim: number;
  /** Dimension of the text embeddings Q_i (768 for the paper's Sentence-BERT). */
  textDim: number;
  /** Dimension of the joint latent space (default 128). */
  latentDim: number;
  /** Users per step (default 32). */
  batchSize: number;
  /** Training epochs (default 10). */
  epochs: number;
  /** Adam learning rate (default 1e-4) and betas (0.9, 0.98), epsilon 1e-8 (PyTorch's). */
  lr: number;
  beta1: number;
  beta2: number;
  adamEps: number;
  /** α, weight of L_item_recon (default 0.5). */
  alpha: number;
  /** β, weight of L_text_recon (default 0.2). */
  beta: number;
  /** Ablation switch: false drops both reconstruction terms (default true). */
  reconstruction: boolean;
  /** Ablation switch: false drops L_match (default true). */
  matching: boolean;
  /**
   * Training examples per user: 1 (default, as the reference) takes the last training item as the
   * positive and everything before it as the history; k > 1 also takes the k-1 earlier
   * (prefix, next item) pairs; 0 takes every prefix. The reference's one example per user is
   * enough on Amazon-sized data (10^5 users); small datasets such as ml-100k (943 users, 30 steps
   * per epoch) leave the autoencoders under-trained with it.
   */
  examplesPerUser: number;
  /**
   * How the weights start (default 'fitted'):
   * - 'pytorch': every linear layer as PyTorch's nn.Linear default, U(±1/sqrt(fan_in)) (the reference).
   * - 'fitted': W1 drawn the same way, everything else fitted in closed form on the items training
   *   may use (never the excluded/cold ones): b1 centres enc_I's pre-activations; dec_I is the
   *   least-squares inverse of enc_I, so dec_I(enc_I(E_i)) ≈ E_i and the warm scores start at the
   *   backbone's; enc_T is the ridge regression of enc_I's pre-activations on Q_i, so enc_T(Q_i)
   *   starts matched to enc_I(E_i) (a linear text-to-CF predictor for cold items); dec_T is the
   *   least-squares inverse of enc_T. Training (and its losses) is unchanged.
   */
  init: 'pytorch' | 'fitted';
  /**
   * Ridge of the 'fitted' text-to-latent regression, relative to the mean diagonal of the centred
   * QᵀQ (default 0.1). Larger values shrink enc_T towards the mean latent (safer for cold items,
   * looser match on warm ones). Unused with init 'pytorch'.
   */
  initTextRidge: number;
}

/** Defaults of everything except the two dimensions that come from the data. */
export const STAGE1_DEFAULTS: Omit<Stage1Config, 'itemDim' | 'textDim'> = {
  latentDim: 128,
  batchSize: 32,
  epochs: 10,
  lr: 1e-4,
  beta1: 0.9,
  beta2: 0.98,
  adamEps: 1e-8,
  alpha: 0.5,
  beta: 0.2,
  reconstruction: true,
  matching: true,
  examplesPerUser: 1,
  init: 'fitted',
  initTextRidge: 0.1,
};

/** The artifact kind of a saved Stage 1 model. */
export const STAGE1_KIND = 'allmrec.stage1';
const CHECKPOINT_KIND = 'allmrec.stage1.checkpoint';

/** Parameter names and shapes; weights are stored [in, out] so a linear layer is x·W + b. */
export function stage1ParameterShapes(c: Stage1Config): Record<string, number[]> {
  const { itemDim: d, textDim: t, latentDim: k } = c;
  return {
    'encI.w': [d, k], 'encI.b': [k], // reference: mlp.fc1
    'decI.w': [k, d], 'decI.b': [d], // mlp.fc2
    'encT.w': [t, k], 'encT.b': [k], // mlp2.fc1
    'decT.w': [k, t], 'decT.b': [t], // mlp2.fc2
  };
}

/** PyTorch's nn.Linear default: weight and bias ~ U(±1/sqrt(fan_in)). */
function initialParameters(c: Stage1Config, rng: Rng): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const shapes = stage1ParameterShapes(c);
  const fanIn: Record<string, number> = { encI: c.itemDim, decI: c.latentDim, encT: c.textDim, decT: c.latentDim };
  for (const [name, shape] of Object.entries(shapes)) {
    const bound = 1 / Math.sqrt(fanIn[name.split('.')[0]]);
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < v.length; i++) v[i] = (rng.next() * 2 - 1) * bound;
    out.set(name, v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The network.

type Params = Map<string, tf.Tensor>;

const encodeI = (p: Params, E: tf.Tensor2D) => tf.sigmoid(linear(E, p.get('encI.w')!, p.get('encI.b')!)) as tf.Tensor2D;
const decodeI = (p: Params, z: tf.Tensor2D) => linear(z, p.get('decI.w')!, p.get('decI.b')!);
const encodeT = (p: Params, Q: tf.Tensor2D) => tf.sigmoid(linear(Q, p.get('encT.w')!, p.get('encT.b')!)) as tf.Tensor2D;
const decodeT = (p: Params, z: tf.Tensor2D) => linear(z, p.get('decT.w')!, p.get('decT.b')!);

/** One batch of B users: row b of every array belongs to user b. */
export interface Stage1Batch {
  /** x_u [B, d]. */
  userReps: Float32Array;
  /** E_pos, E_neg [B, d]. */
  posItemEmb: Float32Array;
  negItemEmb: Float32Array;
  /** Q_pos, Q_neg [B, textDim]. */
  posTextEmb: Float32Array;
  negTextEmb: Float32Array;
}

/** The four loss terms (unweighted) and the weighted total. */
export interface Stage1Losses {
  rec: number;
  match: number;
  itemRecon: number;
  textRecon: number;
  total: number;
}

type LossTensors = { rec: tf.Scalar; match: tf.Scalar; itemRecon: tf.Scalar; textRecon: tf.Scalar; total: tf.Scalar };

/**
 * Forward pass and the four losses on one batch. Positives and negatives run through the
 * networks stacked as one [2B, ·] matrix; since both halves have B rows, "mean over the positive
 * part + mean over the negative part" equals 2·(mean over the stacked matrix).
 * Terms switched off by the config are still computed (for reporting) when `report` is true,
 * but never enter the total.
 */
function losses(p: Params, c: Stage1Config, B: number, X: tf.Tensor2D, E: tf.Tensor2D, Q: tf.Tensor2D, report: boolean): LossTensors {
  const zI = encodeI(p, E); // enc_I(E_i) [2B, k]
  const Ehat = decodeI(p, zI); // dec_I(enc_I(E_i)) [2B, d]
  // logit_b = mean_k(x_u ⊙ dec_I(enc_I(E))); BCE(z, 1) = softplus(−z), BCE(z, 0) = softplus(z).
  const logits = tf.mean(tf.mul(tf.concat([X, X], 0), Ehat), 1);
  const sign = tf.concat([tf.fill([B], -1), tf.fill([B], 1)]);
  const rec = tf.mul(tf.mean(tf.softplus(tf.mul(logits, sign))), 2) as tf.Scalar;
  let total: tf.Scalar = rec;
  const zero = tf.scalar(0);
  let match: tf.Scalar = zero;
  let itemRecon: tf.Scalar = zero;
  let textRecon: tf.Scalar = zero;
  const needText = c.matching || c.reconstruction || report;
  if (needText) {
    const zT = encodeT(p, Q); // enc_T(Q_i)
    if (c.matching || report) {
      match = tf.mul(tf.mean(tf.squaredDifference(zI, zT)), 2) as tf.Scalar;
      if (c.matching) total = tf.add(total, match);
    }
    if (c.reconstruction || report) {
      itemRecon = tf.mul(tf.mean(tf.squaredDifference(Ehat, E)), 2) as tf.Scalar;
      // Q is a constant input (the text encoder is frozen), so the target is never back-propagated.
      textRecon = tf.mul(tf.mean(tf.squaredDifference(decodeT(p, zT), Q)), 2) as tf.Scalar;
      if (c.reconstruction) {
        total = tf.add(total, tf.add(tf.mul(itemRecon, c.alpha), tf.mul(textRecon, c.beta)));
      }
    }
  }
  return { rec, match, itemRecon, textRecon, total };
}

/** The parameters that receive a gradient under the config's switches. */
function trainedNames(c: Stage1Config): string[] {
  const names = ['encI.w', 'encI.b', 'decI.w', 'decI.b'];
  if (c.matching || c.reconstruction) names.push('encT.w', 'encT.b');
  if (c.reconstruction) names.push('decT.w', 'decT.b');
  return names;
}

// ---------------------------------------------------------------------------------------------
// Training.

/** What Stage 1 reads: the frozen backbone and the precomputed text embeddings. */
export interface Stage1Sources {
  /** The frozen CF backbone (only read: E_i and x_u). */
  backbone: CFBackbone;
  /** Q_i: [numItems + 1, textDim] row-major, row 0 = padding. */
  textEmbeddings: Float32Array;
}

/** Options of {@link Stage1Alignment.fit}. */
export interface Stage1FitOptions extends Stage1Sources {
  /** Leave-one-out split; only its training sequences are used. */
  split: LeaveOneOutSplit;
  /** Seed of the initialisation, the user order and the negatives. */
  seed: number;
  /** Epochs (overrides the config's). */
  epochs?: number;
  onProgress?: ProgressListener;
  /**
   * Items never used as positives or negatives (cold items). They are also dropped from the
   * training sequences before the history/positive are formed, in case the split still has them.
   */
  excludeItems?: ReadonlySet<number>;
  /** Checkpoint after every epoch into this directory and resume from it when it exists. */
  checkpointDir?: string;
}

/** Per-epoch statistics: mean of each loss term over the epoch's steps. */
export interface Stage1EpochStats extends Stage1Losses {
  epoch: number;
  steps: number;
  seconds: number;
}

export interface Stage1FitResult {
  epochs: Stage1EpochStats[];
  /** Training examples: (history, positive) pairs, one per user by default (see examplesPerUser). */
  trainUsers: number;
  stepsPerEpoch: number;
  trainSeconds: number;
  /** Epoch training resumed from (0 when it started fresh). */
  resumedFrom: number;
  /** init 'fitted': the factor the least-squares dec_I was scaled by (see Stage1Config.init); absent otherwise or when resumed. */
  initDecoderScale?: number;
}

interface TrainingSet {
  users: number;
  /** x_u [users, d] */
  X: Float32Array;
  pos: Int32Array;
  /** The user's training items (sorted), excluded from the negatives. */
  seen: Set<number>[];
}

/** Reads the first row of `(numItems+1)`-row matrix `M` for each of `ids` into `out`. */
function gatherRows(M: Float32Array, dim: number, ids: ArrayLike<number>, out = new Float32Array(ids.length * dim)): Float32Array {
  for (let i = 0; i < ids.length; i++) out.set(M.subarray(ids[i] * dim, ids[i] * dim + dim), i * dim);
  return out;
}

/**
 * Stage 1 of A-LLMRec: item and text autoencoders aligned in a shared latent space.
 *
 *   const s1 = new Stage1Alignment({ itemDim: backbone.dim, textDim: 768 });
 *   const { epochs } = await s1.fit({ backbone, split, textEmbeddings, seed: 0 });
 *   const e = s1.jointEmbeddings([1, 2, 3], coldItems);   // [3, 128]
 */
export class Stage1Alignment {
  readonly config: Stage1Config;
  private params?: Map<string, tf.Variable>;
  private sources?: Stage1Sources;
  private numItemsKnown = 0;
  private isFrozen = false;

  constructor(config: Partial<Stage1Config> & Pick<Stage1Config, 'itemDim' | 'textDim'>) {
    this.config = { ...STAGE1_DEFAULTS, ...config };
    const c = this.config;
    for (const k of ['itemDim', 'textDim', 'latentDim', 'batchSize', 'epochs'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 1) throw new RangeError(`Stage1Alignment: ${k} must be a positive integer, got ${c[k]}`);
    }
    if (!Number.isInteger(c.examplesPerUser) || c.examplesPerUser < 0) {
      throw new RangeError(`Stage1Alignment: examplesPerUser must be 0 (all) or a positive integer, got ${c.examplesPerUser}`);
    }
    if (c.init !== 'pytorch' && c.init !== 'fitted') throw new RangeError(`Stage1Alignment: init must be 'pytorch' or 'fitted', got ${c.init}`);
    if (!(c.initTextRidge > 0)) throw new RangeError(`Stage1Alignment: initTextRidge must be positive, got ${c.initTextRidge}`);
  }

  /** True once trained or loaded: enc_I is frozen and `fit` refuses to run again. */
  get frozen(): boolean {
    return this.isFrozen;
  }

  /** Number of items (ids 1..numItems) of the attached text embeddings / training split. */
  get numItems(): number {
    return this.numItemsKnown;
  }

  /** Replaces the weights (names and shapes of {@link stage1ParameterShapes}). */
  setWeights(values: Map<string, Float32Array> | Record<string, Float32Array>): void {
    const map = values instanceof Map ? values : new Map(Object.entries(values));
    const shapes = stage1ParameterShapes(this.config);
    const next = new Map<string, tf.Variable>();
    for (const [name, shape] of Object.entries(shapes)) {
      const v = map.get(name);
      const size = shape.reduce((a, b) => a * b, 1);
      if (!v || v.length !== size) {
        next.forEach((t) => t.dispose());
        throw new Error(`Stage1Alignment: parameter ${name} ${v ? `has ${v.length} values` : 'is missing'}, expected [${shape}]`);
      }
      // tidy: the initial tensor would otherwise outlive the variable that copies it.
      next.set(name, tf.tidy(() => tf.variable(tf.tensor(v, shape), true, `stage1/${name}/${Math.random()}`)));
    }
    this.disposeParams();
    this.params = next;
  }

  /** Current weights as plain arrays. */
  getWeights(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.requireParams()) out.set(k, v.dataSync().slice() as Float32Array);
    return out;
  }

  /** Attaches the backbone and text embeddings the id-based methods read (done by `fit`). */
  attach(sources: Stage1Sources): void {
    const { backbone, textEmbeddings } = sources;
    if (backbone.dim !== this.config.itemDim) throw new Error(`Stage1Alignment: backbone dim ${backbone.dim} != itemDim ${this.config.itemDim}`);
    if (textEmbeddings.length % this.config.textDim !== 0 || textEmbeddings.length / this.config.textDim < 2) {
      throw new Error(`Stage1Alignment: textEmbeddings has ${textEmbeddings.length} values, not a [numItems+1, ${this.config.textDim}] matrix`);
    }
    this.numItemsKnown = textEmbeddings.length / this.config.textDim - 1;
    this.sources = sources;
  }

  /** The four losses on one batch with the current weights (no update). */
  lossTerms(batch: Stage1Batch): Stage1Losses {
    const p = this.requireParams();
    const c = this.config;
    const B = batch.userReps.length / c.itemDim;
    const r = tf.tidy(() => {
      const { X, E, Q } = this.batchTensors(batch, B);
      const l = losses(p, c, B, X, E, Q, true);
      return tf.stack([l.rec, l.match, l.itemRecon, l.textRecon, l.total]);
    });
    const v = r.dataSync();
    r.dispose();
    return { rec: v[0], match: v[1], itemRecon: v[2], textRecon: v[3], total: v[4] };
  }

  private batchTensors(batch: Stage1Batch, B: number) {
    const c = this.config;
    const E = new Float32Array(2 * B * c.itemDim);
    E.set(batch.posItemEmb);
    E.set(batch.negItemEmb, B * c.itemDim);
    const Q = new Float32Array(2 * B * c.textDim);
    Q.set(batch.posTextEmb);
    Q.set(batch.negTextEmb, B * c.textDim);
    return {
      X: tf.tensor2d(batch.userReps, [B, c.itemDim]),
      E: tf.tensor2d(E, [2 * B, c.itemDim]),
      Q: tf.tensor2d(Q, [2 * B, c.textDim]),
    };
  }

  /**
   * Trains the autoencoders against the frozen backbone, then freezes. Deterministic for a seed.
   * An epoch is one pass over the users with ≥ 2 usable training items, shuffled with the seed,
   * in batches of `batchSize` users (the last batch may be smaller).
   */
  async fit(options: Stage1FitOptions): Promise<Stage1FitResult> {
    if (this.isFrozen) throw new Error('Stage1Alignment: this model is frozen (already trained or loaded); create a new one to train again');
    await selectBackend();
    const c = this.config;
    const { backbone, split, textEmbeddings, seed } = options;
    this.attach({ backbone, textEmbeddings });
    if (split.numItems > this.numItemsKnown) {
      throw new Error(`Stage1Alignment: split has ${split.numItems} items but textEmbeddings only ${this.numItemsKnown} rows (+ padding)`);
    }
    if (backbone.numItems < split.numItems) throw new Error(`Stage1Alignment: backbone knows ${backbone.numItems} items, split has ${split.numItems}`);
    const numItems = split.numItems;
    const exclude = options.excludeItems ?? new Set<number>();
    const epochs = options.epochs ?? c.epochs;
    const data = this.trainingSet(split, backbone, exclude);
    if (data.users === 0) throw new Error('Stage1Alignment: no user has 2 or more usable training items');
    // E_i for every item, read once from the frozen backbone.
    const allIds = Int32Array.from({ length: numItems + 1 }, (_, i) => i);
    const Eall = backbone.itemEmbeddings(allIds);
    const stepsPerEpoch = Math.ceil(data.users / c.batchSize);
    const shapes = stage1ParameterShapes(c);
    const adam = new Adam(c.lr, c.beta1, c.beta2, c.adamEps);
    const history: Stage1EpochStats[] = [];
    let resumed = 0;
    if (options.checkpointDir && isArtifact(options.checkpointDir)) {
      resumed = await this.resume(options.checkpointDir, seed, numItems, adam, history);
    }
    let initDecoderScale: number | undefined;
    if (resumed === 0) {
      const start = this.startingWeights(seed, Eall, textEmbeddings, numItems, exclude, data);
      this.setWeights(start.weights);
      initDecoderScale = start.decoderScale;
    }
    const params = this.requireParams();
    const trained = trainedNames(c);
    const varList = trained.map((n) => params.get(n)!);
    const t0 = performance.now();
    const { itemDim: d, textDim: t } = c;
    try {
      for (let epoch = resumed + 1; epoch <= epochs; epoch++) {
        const e0 = performance.now();
        const rng = new Rng(seed).fork(`epoch:${epoch}`);
        const order = rng.shuffle(Int32Array.from({ length: data.users }, (_, i) => i));
        const sums = { rec: 0, match: 0, itemRecon: 0, textRecon: 0, total: 0 };
        for (let s = 0; s < stepsPerEpoch; s++) {
          const idx = order.subarray(s * c.batchSize, Math.min(data.users, (s + 1) * c.batchSize));
          const B = idx.length;
          const pos = new Int32Array(B);
          const neg = new Int32Array(B);
          const X = new Float32Array(B * d);
          for (let b = 0; b < B; b++) {
            const u = idx[b];
            pos[b] = data.pos[u];
            neg[b] = sampleNegative(rng, numItems, data.seen[u], exclude);
            X.set(data.X.subarray(u * d, u * d + d), b * d);
          }
          const batch: Stage1Batch = {
            userReps: X,
            posItemEmb: gatherRows(Eall, d, pos), negItemEmb: gatherRows(Eall, d, neg),
            posTextEmb: gatherRows(textEmbeddings, t, pos), negTextEmb: gatherRows(textEmbeddings, t, neg),
          };
          // variableGrads disposes everything f creates except its result: keep the four terms.
          let terms: tf.Tensor | undefined;
          tf.tidy(() => {
            const { X: Xt, E, Q } = this.batchTensors(batch, B);
            const { grads } = tf.variableGrads(() => {
              const l = losses(params, c, B, Xt, E, Q, true);
              terms = tf.keep(tf.stack([l.rec, l.match, l.itemRecon, l.textRecon, l.total]));
              return l.total;
            }, varList);
            // variableGrads keys gradients by the variables' (unique) tfjs names.
            adam.apply(params, Object.fromEntries(trained.map((n) => [n, grads[params.get(n)!.name]])));
          });
          const v = terms!.dataSync();
          terms!.dispose();
          sums.rec += v[0]; sums.match += v[1]; sums.itemRecon += v[2]; sums.textRecon += v[3]; sums.total += v[4];
          options.onProgress?.({ task: 'stage1:step', current: (epoch - 1) * stepsPerEpoch + s + 1, total: epochs * stepsPerEpoch, unit: 'step' });
        }
        const stats: Stage1EpochStats = {
          epoch, steps: stepsPerEpoch, seconds: (performance.now() - e0) / 1000,
          rec: sums.rec / stepsPerEpoch, match: sums.match / stepsPerEpoch, itemRecon: sums.itemRecon / stepsPerEpoch,
          textRecon: sums.textRecon / stepsPerEpoch, total: sums.total / stepsPerEpoch,
        };
        if (!Number.isFinite(stats.total)) throw new Error(`Stage1Alignment: loss became ${stats.total} at epoch ${epoch}`);
        history.push(stats);
        options.onProgress?.({
          task: 'stage1:train', current: epoch, total: epochs, unit: 'epoch', done: epoch === epochs,
          values: { loss: round4(stats.total), rec: round4(stats.rec), match: round4(stats.match), item_rc: round4(stats.itemRecon), text_rc: round4(stats.textRecon) },
        });
        if (options.checkpointDir) await this.writeCheckpoint(options.checkpointDir, seed, numItems, epoch, adam, history, shapes);
      }
    } finally {
      adam.dispose();
    }
    this.isFrozen = true;
    return { epochs: history, trainUsers: data.users, stepsPerEpoch, trainSeconds: (performance.now() - t0) / 1000, resumedFrom: resumed, ...(initDecoderScale !== undefined ? { initDecoderScale } : {}) };
  }

  /** Initial weights under `config.init` ('fitted' reads the items and examples training may use). */
  private startingWeights(
    seed: number, Eall: Float32Array, Qall: Float32Array, numItems: number, exclude: ReadonlySet<number>, data: TrainingSet,
  ): { weights: Map<string, Float32Array>; decoderScale?: number } {
    const c = this.config;
    const w = initialParameters(c, new Rng(seed).fork('init'));
    if (c.init !== 'fitted') return { weights: w };
    const ids: number[] = [];
    const row = new Int32Array(numItems + 1).fill(-1);
    for (let i = 1; i <= numItems; i++) if (!exclude.has(i)) row[i] = ids.push(i) - 1;
    // One seeded negative per example, drawn as training draws them.
    const rng = new Rng(seed).fork('init:negatives');
    const neg = Int32Array.from({ length: data.users }, (_, u) => row[sampleNegative(rng, numItems, data.seen[u], exclude)]);
    const decoderScale = fitInitialParameters(w, gatherRows(Eall, c.itemDim, ids), gatherRows(Qall, c.textDim, ids),
      { n: ids.length, d: c.itemDim, t: c.textDim, k: c.latentDim }, c.initTextRidge,
      { X: data.X, pos: Array.from(data.pos, (i) => row[i]), neg, alpha: c.reconstruction ? c.alpha : 0 });
    return { weights: w, decoderScale };
  }

  /** (x_u, positive, seen items) per usable user; x_u computed once (the backbone is frozen). */
  private trainingSet(split: LeaveOneOutSplit, backbone: CFBackbone, exclude: ReadonlySet<number>): TrainingSet {
    const histories: Int32Array[] = [];
    const owners: number[] = [];
    const pos: number[] = [];
    const seen: Set<number>[] = [];
    const perUser = this.config.examplesPerUser;
    for (let u = 1; u < split.train.length; u++) {
      const seq = (split.train[u] ?? new Int32Array(0)).filter((i) => i > 0 && !exclude.has(i));
      if (seq.length < 2) continue;
      const userSeen = new Set(split.train[u]);
      const k = perUser === 0 ? seq.length - 1 : Math.min(perUser, seq.length - 1);
      for (let j = 1; j <= k; j++) {
        histories.push(seq.subarray(0, seq.length - j));
        owners.push(u);
        pos.push(seq[seq.length - j]);
        seen.push(userSeen);
      }
    }
    const d = this.config.itemDim;
    const X = new Float32Array(histories.length * d);
    const chunk = 512;
    for (let s = 0; s < histories.length; s += chunk) {
      X.set(backbone.userRepresentations(histories.slice(s, s + chunk), owners.slice(s, s + chunk)), s * d);
    }
    return { users: histories.length, X, pos: Int32Array.from(pos), seen };
  }

  private async writeCheckpoint(
    dir: string, seed: number, numItems: number, epoch: number, adam: Adam, history: Stage1EpochStats[], shapes: Record<string, number[]>,
  ): Promise<void> {
    await writeTrainingCheckpoint(dir, CHECKPOINT_KIND, shapes, {
      meta: { config: this.config, numItems, seed, epoch, history }, params: this.getWeights(), adam: adam.state(),
    });
  }

  private async resume(dir: string, seed: number, numItems: number, adam: Adam, history: Stage1EpochStats[]): Promise<number> {
    const ck = await readTrainingCheckpoint<{ config: Stage1Config; numItems: number; seed: number; epoch: number; history: Stage1EpochStats[] }>(dir, CHECKPOINT_KIND);
    const cfg = ck.meta;
    const { epochs: _a, ...mine } = this.config;
    const { epochs: _b, ...theirs } = savedConfig(cfg.config);
    const same = Object.keys(mine).length === Object.keys(theirs).length
      && Object.entries(mine).every(([k, v]) => (theirs as Record<string, unknown>)[k] === v);
    if (cfg.seed !== seed || cfg.numItems !== numItems || !same) {
      throw new Error(`Stage1Alignment: checkpoint in ${dir} was written for another run (seed ${cfg.seed}, ${cfg.numItems} items); remove it or use another directory`);
    }
    this.setWeights(ck.params);
    adam.restore(ck.adam, stage1ParameterShapes(this.config));
    history.push(...cfg.history);
    return cfg.epoch;
  }

  // -------------------------------------------------------------------------------------------
  // Frozen inference.

  private requireParams(): Map<string, tf.Variable> {
    if (!this.params) throw new Error('Stage1Alignment: the model has no weights yet; call fit(), setWeights() or Stage1Alignment.load()');
    return this.params;
  }

  private requireSources(): Stage1Sources {
    if (!this.sources) throw new Error('Stage1Alignment: no backbone/text embeddings attached; pass them to fit(), load() or attach()');
    return this.sources;
  }

  private checkIds(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id > this.numItemsKnown) throw new RangeError(`Stage1Alignment: item id ${id} is outside 0..${this.numItemsKnown}`);
    }
  }

  /** Runs `f` on an [n, inDim] matrix and returns its [n, ·] result as a plain array. */
  private run(rows: Float32Array, inDim: number, f: (p: Params, x: tf.Tensor2D) => tf.Tensor2D): Float32Array {
    const p = this.requireParams();
    const n = rows.length / inDim;
    if (!Number.isInteger(n)) throw new Error(`Stage1Alignment: ${rows.length} values are not rows of ${inDim}`);
    if (n === 0) return new Float32Array(0);
    const y = tf.tidy(() => f(p, tf.tensor2d(rows, [n, inDim])));
    const out = y.dataSync() as Float32Array;
    y.dispose();
    return out;
  }

  /** enc_I(E) for raw item embeddings E [n, d] → [n, latentDim]. */
  encodeItemEmbeddings(E: Float32Array): Float32Array {
    return this.run(E, this.config.itemDim, encodeI);
  }

  /** enc_T(Q) for raw text embeddings Q [n, textDim] → [n, latentDim] (e.g. a brand-new item's text). */
  encodeTextEmbeddings(Q: Float32Array): Float32Array {
    return this.run(Q, this.config.textDim, encodeT);
  }

  /** enc_I(E_i) of items `ids` → [n, latentDim]. */
  itemLatent(ids: ArrayLike<number>): Float32Array {
    this.checkIds(ids);
    return this.encodeItemEmbeddings(this.requireSources().backbone.itemEmbeddings(ids));
  }

  /** enc_T(Q_i) of items `ids` → [n, latentDim]. */
  textLatent(ids: ArrayLike<number>): Float32Array {
    this.checkIds(ids);
    return this.encodeTextEmbeddings(gatherRows(this.requireSources().textEmbeddings, this.config.textDim, ids));
  }

  /**
   * Joint collaborative-text embeddings e_i [n, latentDim]: enc_I(E_i), or enc_T(Q_i) for the
   * items in `coldItems` (items without interactions, whose E_i was never trained).
   */
  jointEmbeddings(ids: ArrayLike<number>, coldItems?: ReadonlySet<number>): Float32Array {
    const k = this.config.latentDim;
    const out = this.itemLatent(ids);
    if (coldItems && coldItems.size) {
      const coldIdx: number[] = [];
      for (let i = 0; i < ids.length; i++) if (coldItems.has(ids[i])) coldIdx.push(i);
      if (coldIdx.length) {
        const text = this.textLatent(coldIdx.map((i) => ids[i]));
        coldIdx.forEach((i, j) => out.set(text.subarray(j * k, j * k + k), i * k));
      }
    }
    return out;
  }

  /** dec_I(z) for latents z [n, latentDim] → [n, d]. */
  decodeItem(latents: Float32Array): Float32Array {
    return this.run(latents, this.config.latentDim, decodeI);
  }

  /**
   * Scores x_u · dec_I(enc_I(E_i)) (`via: 'item'`, default) or x_u · dec_I(enc_T(Q_i))
   * (`via: 'text'`, usable for cold items) of each user's candidates.
   * @param userReps x_u [b, d] row-major (e.g. `backbone.userRepresentations(histories)`).
   * @returns one score row per user, aligned with `candidates[b]`.
   */
  scoreCandidates(userReps: Float32Array, candidates: ArrayLike<number>[], options: { via?: 'item' | 'text' } = {}): Float32Array[] {
    const d = this.config.itemDim;
    if (userReps.length !== candidates.length * d) {
      throw new Error(`Stage1Alignment.scoreCandidates: ${userReps.length / d} user rows for ${candidates.length} candidate lists`);
    }
    const flat: number[] = [];
    for (const c of candidates) for (let j = 0; j < c.length; j++) flat.push(c[j]);
    const latents = options.via === 'text' ? this.textLatent(flat) : this.itemLatent(flat);
    const dec = this.decodeItem(latents);
    let r = 0;
    return candidates.map((c, b) => {
      const s = new Float32Array(c.length);
      for (let j = 0; j < c.length; j++, r++) {
        let acc = 0;
        for (let k = 0; k < d; k++) acc += userReps[b * d + k] * dec[r * d + k];
        s[j] = acc;
      }
      return s;
    });
  }

  /**
   * Spread of the item latents: the mean over latent dimensions of the (population) standard
   * deviation across `ids` of enc_I(E_i). Near 0 means the latents collapsed to one point.
   */
  latentSpread(ids: ArrayLike<number>): number {
    const z = this.itemLatent(ids);
    const k = this.config.latentDim;
    const n = ids.length;
    if (n < 2) return 0;
    let sum = 0;
    for (let j = 0; j < k; j++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += z[i * k + j];
      mean /= n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (z[i * k + j] - mean) ** 2;
      sum += Math.sqrt(v / n);
    }
    return sum / k;
  }

  // -------------------------------------------------------------------------------------------
  // Save / load.

  /** Writes the model as an artifact directory (kind "allmrec.stage1"), atomically. */
  async save(dir: string): Promise<void> {
    const shapes = stage1ParameterShapes(this.config);
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, v] of this.getWeights()) tensors[k] = { shape: shapes[k], data: v };
    await writeArtifact(dir, { kind: STAGE1_KIND, config: { config: this.config, numItems: this.numItemsKnown }, tensors });
  }

  /**
   * Loads a model written by {@link save}; the result is frozen. Pass `sources` (or call
   * `attach` later) to use the id-based methods.
   */
  static async load(dir: string, sources?: Stage1Sources): Promise<Stage1Alignment> {
    await selectBackend();
    const art = await readArtifact(dir, { expectKind: STAGE1_KIND });
    const cfg = art.config as { config: Stage1Config; numItems: number };
    const model = new Stage1Alignment(savedConfig(cfg.config));
    const values = new Map<string, Float32Array>();
    for (const [k, t] of art.tensors) values.set(k, t.data as Float32Array);
    model.setWeights(values);
    model.numItemsKnown = cfg.numItems;
    model.isFrozen = true;
    if (sources) model.attach(sources);
    return model;
  }

  private disposeParams(): void {
    if (this.params) for (const v of this.params.values()) v.dispose();
    this.params = undefined;
  }

  /** Releases the weights. */
  dispose(): void {
    this.disposeParams();
  }
}

/**
 * A saved config with the fields added since it was written: models saved before `init` existed
 * were all initialised the PyTorch way.
 */
function savedConfig(c: Stage1Config): Stage1Config {
  return { ...STAGE1_DEFAULTS, init: 'pytorch', ...(c as Partial<Stage1Config>) } as Stage1Config;
}

/** A uniformly drawn item in 1..numItems outside the user's training items and `exclude`. */
function sampleNegative(rng: Rng, numItems: number, seen: ReadonlySet<number>, exclude: ReadonlySet<number>): number {
  for (let tries = 0; tries < 64; tries++) {
    const i = 1 + rng.int(numItems);
    if (!seen.has(i) && !exclude.has(i)) return i;
  }
  const pool: number[] = [];
  for (let i = 1; i <= numItems; i++) if (!seen.has(i) && !exclude.has(i)) pool.push(i);
  if (pool.length === 0) throw new Error('Stage1Alignment: a user has interacted with every allowed item; no negative can be drawn');
  return pool[rng.int(pool.length)];
}

function round4(x: number): number {
  return Number(x.toFixed(4));
}
