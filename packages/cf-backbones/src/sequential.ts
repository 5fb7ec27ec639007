/**
 * What the autodiff-trained sequential backbones (GRU4Rec, NextItNet) share: the training scheme,
 * the two losses, config checking, and the CFBackbone wrapper around a model that maps a
 * left-padded history to one output per position and scores by <x_u, E_i>.
 *
 * Training scheme. An epoch visits every user with at least two training items once, in an order
 * shuffled with the epoch's seed, in batches of `batchSize` users. A user's row is the last
 * `maxLen + 1` training items: inputs s_1..s_{n-1}, and at every position t the target s_{t+1}
 * (the model is causal, so position t sees s_1..s_t only). The loss averages over all target
 * positions of the batch. For a user with at most `maxLen + 1` training items this is exactly the
 * set of (prefix, next item) pairs RecBole's prefix augmentation builds; for a longer user only
 * the targets of the last window are used (as the SASRec reference does), where RecBole also
 * trains on the earlier targets, each with its own 50-item prefix. On ml-100k that leaves 38,762
 * of RecBole's 97,171 pairs (539 of 943 users are longer). `windows: 'all'` trains on every
 * target instead: each long sequence is cut into windows of maxLen + 1 items overlapping by one,
 * an epoch visits every window once (in batches of `batchSize` windows), and a target early in a
 * window sees the prefix from the window's start only.
 *
 * Losses (`loss`), with F_t the output at position t and E the item table:
 *   'bce'  −log σ(<F_t, E[s_{t+1}]>) − log(1 − σ(<F_t, E[neg_t]>)), one negative per position drawn
 *          uniformly from items outside the user's training set (the A-LLMRec paper's, SASRec's).
 *   'ce'   −log softmax_i(<F_t, E_i>)[s_{t+1}] over items i = 1..numItems (RecBole's default loss
 *          type; the padding row never competes).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LeaveOneOutSplit, Rng } from '@allmrec/core';
import type { CFBackbone, FitOptions, FitResult } from './backbone';
import { ParamSet, fitWithAdam, loadParams, saveParams } from './trainer';
import { checkHistories, checkItemIds, dotScores, fullDotScores, gatherRows, transposedTable, checkCanFit } from './scoring';
import { SequenceSampler, padHistory, type SequenceBatch } from './sampler';
import { lossAndGrads, matMul, softmaxCrossEntropy } from './autodiff-ops';

/** Training hyper-parameters every sequential backbone here has. */
export interface SequentialTrainingConfig {
  /** Maximum history length read (RecBole's MAX_ITEM_LIST_LENGTH). */
  maxLen: number;
  /** Adam learning rate. */
  lr: number;
  /** Adam betas. */
  beta1: number;
  beta2: number;
  /** Adam epsilon. */
  adamEps: number;
  /** Rows per batch: users (or windows, with `windows: 'all'`). */
  batchSize: number;
  /** Training epochs. */
  epochs: number;
  /** 'bce' (one sampled negative per position) or 'ce' (softmax over the catalogue); see the file header. */
  loss: 'bce' | 'ce';
  /** Which training targets an epoch visits: each user's last window ('last') or all ('all'); see the file header. */
  windows: 'last' | 'all';
}

/**
 * `defaults` overridden by `given`. @throws Error naming the field for a key `defaults` lacks or a
 * value of another type (number, string, boolean, array) than the default's.
 */
export function resolveConfig<C extends object>(label: string, defaults: C, given: Partial<C> | Record<string, unknown> = {}): C {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (!(k in defaults)) throw new Error(`${label}: unknown config key "${k}"; known keys: ${Object.keys(defaults).join(', ')}`);
    const d = (defaults as Record<string, unknown>)[k];
    const kind = (x: unknown) => (Array.isArray(x) ? 'array' : typeof x);
    if (kind(v) !== kind(d)) throw new Error(`${label}: config.${k} must be ${kind(d) === 'array' ? 'an array' : `a ${kind(d)}`}, got ${JSON.stringify(v)}`);
    out[k] = Array.isArray(v) ? [...v] : v;
  }
  return out as C;
}

/** @throws Error naming the field unless each `keys` of `c` is an integer >= `min`. */
export function checkIntegers<C extends object>(label: string, c: C, keys: (keyof C & string)[], min: number): void {
  for (const k of keys) {
    const v = c[k] as unknown;
    if (!(Number.isInteger(v) && (v as number) >= min)) throw new Error(`${label}: config.${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
}

/** Checks the {@link SequentialTrainingConfig} fields. @throws Error naming the field. */
export function checkTrainingConfig(label: string, c: SequentialTrainingConfig): void {
  checkIntegers(label, c, ['maxLen', 'batchSize'], 1);
  checkIntegers(label, c, ['epochs'], 0);
  if (!(c.lr > 0)) throw new Error(`${label}: config.lr must be positive, got ${c.lr}`);
  for (const k of ['beta1', 'beta2'] as const) if (!(c[k] >= 0 && c[k] < 1)) throw new Error(`${label}: config.${k} must be in [0, 1), got ${c[k]}`);
  if (!(c.adamEps > 0)) throw new Error(`${label}: config.adamEps must be positive, got ${c.adamEps}`);
  if (c.loss !== 'bce' && c.loss !== 'ce') throw new Error(`${label}: config.loss must be "bce" or "ce", got ${JSON.stringify(c.loss)}`);
  if (c.windows !== 'last' && c.windows !== 'all') throw new Error(`${label}: config.windows must be "last" or "all", got ${JSON.stringify(c.windows)}`);
}

/**
 * One training batch as tensors, time-major: row t * B + b is position t of user b, so a time
 * step is a contiguous block of B rows (cheap to slice, shift and split on WASM).
 */
export interface SequenceInputs {
  B: number;
  L: number;
  seq: tf.Tensor1D;
  pos: tf.Tensor1D;
  neg: tf.Tensor1D;
  /** 1 where the position has an input item (seq != 0), [N, 1]. */
  timeline: tf.Tensor2D;
  /** 1 where the position has a target (pos != 0), [N]. */
  valid: tf.Tensor1D;
  nValid: number;
  /** The rows with a target [nValid], and their target's column among items 1..numItems (pos − 1). */
  targetRows: tf.Tensor1D;
  targetCols: tf.Tensor1D;
}

/** Batch-major ids [B*L] (row b, position t at b * L + t) → time-major [L*B] (t * B + b). */
export function timeMajor(ids: Int32Array, B: number, L: number): Int32Array {
  const out = new Int32Array(B * L);
  for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) out[t * B + b] = ids[b * L + t];
  return out;
}

/** Uploads a batch, time-major. Call inside tf.tidy. */
export function sequenceInputs(batch: SequenceBatch): SequenceInputs {
  const { batchSize: B, maxLen: L } = batch;
  const N = B * L;
  const seq = timeMajor(batch.seq, B, L);
  const pos = timeMajor(batch.pos, B, L);
  const neg = timeMajor(batch.neg, B, L);
  const timeline = new Float32Array(N);
  const valid = new Float32Array(N);
  const rows: number[] = [];
  const cols: number[] = [];
  for (let i = 0; i < N; i++) {
    if (seq[i] !== 0) timeline[i] = 1;
    if (pos[i] !== 0) { valid[i] = 1; rows.push(i); cols.push(pos[i] - 1); }
  }
  return {
    B, L,
    seq: tf.tensor1d(seq, 'int32'), pos: tf.tensor1d(pos, 'int32'), neg: tf.tensor1d(neg, 'int32'),
    timeline: tf.tensor2d(timeline, [N, 1]), valid: tf.tensor1d(valid), nValid: rows.length,
    targetRows: tf.tensor1d(rows, 'int32'), targetCols: tf.tensor1d(cols, 'int32'),
  };
}

/**
 * The training loss (see the file header) of outputs F [N, d] (time-major, like `inp`) against
 * the item table E [numItems + 1, d], averaged over positions with a target.
 */
export function sequenceLoss(F: tf.Tensor2D, E: tf.Tensor2D, inp: SequenceInputs, loss: 'bce' | 'ce'): tf.Scalar {
  const inv = 1 / Math.max(inp.nValid, 1);
  if (loss === 'ce') {
    // Only rows with a target get logits (padding rows would cost a [rows, numItems] softmax each).
    const [V, d] = E.shape;
    const logits = matMul(tf.gather(F, inp.targetRows) as tf.Tensor2D, tf.transpose(tf.slice(E, [1, 0], [V - 1, d])));
    const labels = tf.cast(tf.oneHot(inp.targetCols, V - 1), 'float32') as tf.Tensor2D; // column 0 is item 1
    return softmaxCrossEntropy(logits, labels, tf.fill([inp.nValid], inv) as tf.Tensor1D);
  }
  const pl = tf.sum(tf.mul(F, tf.gather(E, inp.pos)), -1);
  const nl = tf.sum(tf.mul(F, tf.gather(E, inp.neg)), -1);
  return tf.mul(tf.sum(tf.mul(tf.add(tf.softplus(tf.neg(pl)), tf.softplus(nl)), inp.valid)), inv) as tf.Scalar;
}

/** What a concrete model gives {@link SequentialDotBackbone}. */
export interface SequentialModelSpec<C extends SequentialTrainingConfig> {
  /** Registry name ("gru4rec"). */
  name: string;
  /** Name in messages ("GRU4Rec"). */
  label: string;
  /** Artifact kinds of saved models and of training checkpoints. */
  kind: string;
  checkpointKind: string;
  /** Dimension of E_i and x_u. */
  dim(c: C): number;
  shapes(numItems: number, c: C): Record<string, number[]>;
  init(numItems: number, c: C, rng: Rng): Map<string, Float32Array>;
  /**
   * Outputs at every position [L*B, dim] (time-major, like `inp`) of a training batch, dropout
   * drawn from `rng`. Differentiated by tfjs autodiff; runs inside tf.tidy.
   */
  trainOutputs(p: Record<string, tf.Tensor>, c: C, inp: SequenceInputs, rng: Rng): tf.Tensor2D;
  /** Extra loss terms (e.g. weight regularisation) added to the batch loss, or none. */
  regulariser?(p: Record<string, tf.Tensor>, c: C): tf.Scalar | undefined;
  /**
   * x_u [B, dim] of B left-padded histories, ids time-major [L*B] (row t * B + b); inference, no
   * dropout. Runs inside tf.tidy.
   */
  represent(p: Record<string, tf.Tensor>, c: C, seq: tf.Tensor1D, timeline: tf.Tensor2D, B: number, L: number): tf.Tensor2D;
}

/**
 * A CFBackbone around a {@link SequentialModelSpec}: trains with {@link fitWithAdam} on the scheme
 * of the file header, then freezes; x_u is the output at the last position of the (last `maxLen`
 * items of the) history; score(u, i) = <x_u, E_i>.
 */
export abstract class SequentialDotBackbone<C extends SequentialTrainingConfig> implements CFBackbone {
  readonly usesOrder = true;
  protected readonly params: ParamSet;
  private embCache: Float32Array | undefined;
  private embT: tf.Tensor2D | undefined;
  private isFrozen = false;

  protected constructor(private readonly spec: SequentialModelSpec<C>, readonly numItems: number, readonly config: C) {
    if (!Number.isInteger(numItems) || numItems < 1) throw new Error(`${spec.label}: numItems must be a positive integer, got ${numItems}`);
    this.params = new ParamSet(spec.label, spec.shapes(numItems, config));
  }

  get name(): string {
    return this.spec.name;
  }

  get dim(): number {
    return this.spec.dim(this.config);
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  /** Trains on `split.train` (see the file header for what an epoch is), then freezes. */
  async fit(split: LeaveOneOutSplit, options: FitOptions): Promise<FitResult> {
    const { spec, config: c } = this;
    checkCanFit(spec.label, this.isFrozen, split.numItems, this.numItems);
    const sampler = new SequenceSampler(split.train, this.numItems, c.maxLen);
    const users = sampler.trainableUsers;
    let trainItems = 0;
    for (const u of users) trainItems += split.train[u].length;
    const rows = sampler.windows(c.windows);
    let order: number[] = [];
    const { epochs: _e, ...rest } = c;
    const fit = await fitWithAdam({
      model: spec.name, checkpointKind: spec.checkpointKind,
      runKey: { numItems: this.numItems, config: rest, users: users.length, trainItems },
      epochs: c.epochs, stepsPerEpoch: Math.ceil(rows.users.length / c.batchSize),
      adam: { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.adamEps },
      init: (rng) => spec.init(this.numItems, c, rng),
      beginEpoch: (_epoch, rng) => { order = rng.shuffle(Array.from(rows.users, (_, i) => i)); },
      step: (p, rng, _epoch, s) => {
        const pick = order.slice(s * c.batchSize, (s + 1) * c.batchSize);
        const inp = sequenceInputs(sampler.batchOf(pick.map((i) => rows.users[i]), rng, {
          ends: pick.map((i) => rows.ends[i]), trim: true, negatives: c.loss === 'bce',
        }));
        return lossAndGrads(p, (q) => {
          const loss = sequenceLoss(spec.trainOutputs(q, c, inp, rng), q.item_emb as tf.Tensor2D, inp, c.loss);
          const reg = spec.regulariser?.(q, c);
          return reg ? (tf.add(loss, reg) as tf.Scalar) : loss;
        });
      },
    }, this.params, options);
    this.freeze();
    return fit;
  }

  /** Sets the weights of a loaded model and freezes it. */
  protected restore(values: Map<string, Float32Array>): void {
    this.params.set(values);
    this.freeze();
  }

  private freeze(): void {
    this.isFrozen = true;
    this.embCache = this.params.get('item_emb');
  }

  private table(): Float32Array {
    return this.embCache ?? this.params.get('item_emb');
  }

  /** E_i: rows of the item embedding table. */
  itemEmbeddings(ids: ArrayLike<number>): Float32Array {
    const E = this.table();
    checkItemIds(this.spec.label, ids, this.numItems);
    return gatherRows(E, this.dim, ids);
  }

  /** x_u: the output at the last position of each history (its last `maxLen` items); `users` is ignored. */
  userRepresentations(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array {
    const p = this.params.record();
    const c = this.config;
    const d = this.dim;
    checkHistories(this.spec.label, histories, this.numItems, users);
    const out = new Float32Array(histories.length * d);
    const chunk = 256;
    for (let s = 0; s < histories.length; s += chunk) {
      const B = Math.min(chunk, histories.length - s);
      // Rows are as long as the chunk's longest history: left padding changes nothing in these models.
      let L = 1;
      for (let b = 0; b < B; b++) L = Math.max(L, Math.min(c.maxLen, histories[s + b].length));
      const rows = new Int32Array(B * L);
      for (let b = 0; b < B; b++) padHistory(histories[s + b], L, rows, b * L);
      const seq = timeMajor(rows, B, L);
      const rep = tf.tidy(() => this.spec.represent(
        p, c, tf.tensor1d(seq, 'int32'), tf.tensor2d(Float32Array.from(seq, (i) => (i !== 0 ? 1 : 0)), [B * L, 1]), B, L,
      ));
      out.set(rep.dataSync() as Float32Array, s * d);
      rep.dispose();
    }
    return out;
  }

  /** <x_u, E_i> for each history's candidates. */
  score(histories: ArrayLike<number>[], candidates: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array[] {
    const label = this.spec.label;
    if (histories.length !== candidates.length) throw new Error(`${label}.score: ${histories.length} histories but ${candidates.length} candidate lists`);
    const E = this.table();
    for (const cands of candidates) checkItemIds(label, cands, this.numItems, 'candidate');
    return dotScores(this.userRepresentations(histories, users), this.dim, candidates, E);
  }

  /** <x_u, E_i> for every item (column i = item i), [histories.length, numItems + 1]. */
  scoreAll(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array {
    const E = this.table();
    const reps = this.userRepresentations(histories, users);
    if (!this.isFrozen) {
      // While training (early stopping evaluates between epochs) the table still changes.
      const ET = transposedTable(E, this.numItems + 1, this.dim);
      try { return fullDotScores(reps, histories.length, this.dim, ET); } finally { ET.dispose(); }
    }
    this.embT ??= transposedTable(E, this.numItems + 1, this.dim);
    return fullDotScores(reps, histories.length, this.dim, this.embT);
  }

  /** Writes the frozen model (weights and config) as an artifact directory. */
  async save(dir: string): Promise<void> {
    await saveParams(dir, this.spec.kind, { name: this.name, numItems: this.numItems, config: this.config }, this.params);
  }

  /** Releases the weights and cached tensors. */
  dispose(): void {
    this.params.dispose();
    this.embT?.dispose();
    this.embT = undefined;
    this.embCache = undefined;
  }
}

/** Reads a saved sequential model: its numItems, config and weights. */
export async function readSequentialArtifact(dir: string, kind: string): Promise<{ numItems: number; config: Record<string, unknown>; values: Map<string, Float32Array> }> {
  const { config, values } = await loadParams(dir, kind);
  const cfg = config as { numItems: number; config: Record<string, unknown> };
  return { numItems: cfg.numItems, config: cfg.config, values };
}
