/**
 * SASRec (Kang & McAuley 2018) as A-LLMRec pre-trains it (Stage 0), readable top to bottom:
 * config, parameters, forward, hand-written backward, Adam, and the CFBackbone wrapper.
 *
 *   x_0   = E[s] * sqrt(d) + P                       (item + learned position embedding, dropout)
 *   block: Q = LN(x); x = Q + MHA(Q, x, x); x = LN(x); x = x + FFN(x); x *= timeline mask
 *   F     = LN_final(x)                              (eps 1e-8)
 *   loss  = BCE(<F_t, E[pos_t]>, 1) + BCE(<F_t, E[neg_t]>, 0)   averaged over non-padding t
 *   x_u   = F at the last position                   (the user representation A-LLMRec reads)
 *
 * The backward pass is written out by hand instead of using tfjs autodiff: on the WASM backend
 * autodiff emits transposed matMuls (10-50x slower than plain ones), broadcasting gradients and
 * many small ops; writing it out keeps every matMul plain and the op count low. A test checks it
 * against tfjs autodiff of an independent forward.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  Rng, dropoutMask, layerNorm, layerNormBackward, linear, linearBackward, type LayerNormCache as LNCache, type LeaveOneOutSplit,
} from '@allmrec/core';
import type { CFBackbone, FitOptions, FitResult } from './backbone';
import { ParamSet, fitWithAdam, loadParams, saveParams } from './trainer';
import { checkHistories, checkItemIds, dotScores, fullDotScores, gatherRows, transposedTable, checkCanFit } from './scoring';
import { attention, attentionBackward, type AttentionCache } from './attention';
import { SequenceSampler, padHistory, type SequenceBatch } from './sampler';

/** Hyper-parameters; defaults are the A-LLMRec / SASRec reference values. */
export interface SASRecConfig {
  /** Hidden size d (default 50). */
  dim: number;
  /** Number of self-attention blocks (default 2). */
  blocks: number;
  /** Attention heads (default 1). */
  heads: number;
  /** Dropout rate everywhere (default 0.5). */
  dropout: number;
  /** Maximum sequence length (default 50). */
  maxLen: number;
  /** Adam learning rate (default 1e-3). */
  lr: number;
  /** Adam betas (default 0.9, 0.98). */
  beta1: number;
  beta2: number;
  /** Adam epsilon (default 1e-8). */
  adamEps: number;
  /** Users per batch (default 128). */
  batchSize: number;
  /** Training epochs (default 200). */
  epochs: number;
  /** LayerNorm epsilon (default 1e-8, as the reference). */
  lnEps: number;
  /**
   * Training loss: 'bce' (default; the paper's and the SASRec reference's: binary cross-entropy on
   * the next item and one sampled negative per position) or 'ce' (cross-entropy over the whole
   * catalogue at every position, RecBole's default for sequential models).
   */
  loss: 'bce' | 'ce';
}

export const SASREC_DEFAULTS: SASRecConfig = {
  dim: 50,
  blocks: 2,
  heads: 1,
  dropout: 0.5,
  maxLen: 50,
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.98,
  adamEps: 1e-8,
  batchSize: 128,
  epochs: 200,
  lnEps: 1e-8,
  loss: 'bce',
};

/** Parameter names and shapes. Weights are stored [in, out] so a linear layer is x·W + b. */
export function parameterShapes(numItems: number, c: SASRecConfig): Record<string, number[]> {
  const d = c.dim;
  const shapes: Record<string, number[]> = {
    item_emb: [numItems + 1, d],
    pos_emb: [c.maxLen, d],
  };
  for (let i = 0; i < c.blocks; i++) {
    const p = `blocks.${i}.`;
    Object.assign(shapes, {
      [p + 'attn_ln.g']: [d], [p + 'attn_ln.b']: [d],
      [p + 'wq']: [d, d], [p + 'bq']: [d],
      [p + 'wk']: [d, d], [p + 'bk']: [d],
      [p + 'wv']: [d, d], [p + 'bv']: [d],
      [p + 'wo']: [d, d], [p + 'bo']: [d],
      [p + 'ffn_ln.g']: [d], [p + 'ffn_ln.b']: [d],
      [p + 'w1']: [d, d], [p + 'b1']: [d],
      [p + 'w2']: [d, d], [p + 'b2']: [d],
    });
  }
  shapes['final_ln.g'] = [d];
  shapes['final_ln.b'] = [d];
  return shapes;
}

/**
 * Initial values as the reference initialises them: Xavier-normal for every matrix (embeddings
 * included, padding row zeroed), zero attention biases, PyTorch's default uniform(±1/sqrt(fan_in))
 * for the feed-forward (Conv1d) biases, LayerNorm gain 1 and bias 0.
 */
export function initialParameters(numItems: number, c: SASRecConfig, rng: Rng): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const shapes = parameterShapes(numItems, c);
  for (const [name, shape] of Object.entries(shapes)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(size);
    if (shape.length === 2) {
      // Xavier normal: std = sqrt(2 / (fan_in + fan_out)); symmetric in the two dims.
      let fanSum = shape[0] + shape[1];
      // The reference's packed in_proj [3d, d] has fan_out 3d for q, k and v alike.
      if (/\.(wq|wk|wv)$/.test(name)) fanSum = 4 * c.dim;
      const std = Math.sqrt(2 / fanSum);
      for (let i = 0; i < size; i++) v[i] = rng.normal() * std;
      if (name === 'item_emb') v.fill(0, 0, c.dim);
    } else if (name.endsWith('.g')) {
      v.fill(1);
    } else if (/\.(b1|b2)$/.test(name)) {
      const bound = 1 / Math.sqrt(c.dim);
      for (let i = 0; i < size; i++) v[i] = (rng.next() * 2 - 1) * bound;
    }
    out.set(name, v);
  }
  return out;
}

type Params = Record<string, tf.Tensor>;

// ---------------------------------------------------------------------------------------------
// The network.

interface BlockCache {
  xinT: tf.Tensor2D;
  ln1: LNCache;
  qnT: tf.Tensor2D;
  attn: AttentionCache;
  oT: tf.Tensor2D;
  ln2: LNCache;
  fT: tf.Tensor2D;
  m1: tf.Tensor2D;
  h1d: tf.Tensor2D;
  rT: tf.Tensor2D;
  m2: tf.Tensor2D;
}

interface TrainMasks {
  emb: tf.Tensor2D;
  attn: tf.Tensor3D[];
  ffn1: tf.Tensor2D[];
  ffn2: tf.Tensor2D[];
}

/** Inputs of one step as tensors (ids flattened to [B*L]). */
interface StepInputs {
  B: number;
  L: number;
  seq: tf.Tensor1D;
  pos: tf.Tensor1D;
  neg: tf.Tensor1D;
  /** 1 where seq != 0, [N, 1]. */
  timeline: tf.Tensor2D;
  /** 1 where pos != 0, [N]. */
  valid: tf.Tensor1D;
  nValid: number;
}

/**
 * Runs the blocks. With `masks` it trains (dropout on, caches kept for backward); without, it is
 * inference. Returns the final LayerNorm output F [N, d].
 */
function encode(
  p: Params, c: SASRecConfig, seqFlat: tf.Tensor1D, timeline: tf.Tensor2D, B: number, L: number,
  masks?: TrainMasks, caches?: BlockCache[], lnCaches?: { final?: LNCache },
): tf.Tensor2D {
  const d = c.dim;
  const emb = tf.reshape(tf.gather(p.item_emb, seqFlat), [B, L, d]);
  let x = tf.reshape(tf.add(tf.mul(emb, Math.sqrt(d)), p.pos_emb), [B * L, d]) as tf.Tensor2D;
  if (masks) x = tf.mul(x, masks.emb);
  x = tf.mul(x, timeline);
  for (let i = 0; i < c.blocks; i++) {
    const k = `blocks.${i}.`;
    const ln1 = layerNorm(x, p[k + 'attn_ln.g'] as tf.Tensor1D, p[k + 'attn_ln.b'] as tf.Tensor1D, c.lnEps);
    const qn = ln1.y;
    const q = linear(qn, p[k + 'wq'], p[k + 'bq']);
    const kk = linear(x, p[k + 'wk'], p[k + 'bk']);
    const v = linear(x, p[k + 'wv'], p[k + 'bv']);
    const at = attention(q, kk, v, B, L, c.heads, masks ? masks.attn[i] : undefined);
    const mha = linear(at.out, p[k + 'wo'], p[k + 'bo']);
    const x1 = tf.add(qn, mha) as tf.Tensor2D;
    const ln2 = layerNorm(x1, p[k + 'ffn_ln.g'] as tf.Tensor1D, p[k + 'ffn_ln.b'] as tf.Tensor1D, c.lnEps);
    const f = ln2.y;
    let h1 = linear(f, p[k + 'w1'], p[k + 'b1']);
    if (masks) h1 = tf.mul(h1, masks.ffn1[i]);
    const r = tf.relu(h1) as tf.Tensor2D;
    let h2 = linear(r, p[k + 'w2'], p[k + 'b2']);
    if (masks) h2 = tf.mul(h2, masks.ffn2[i]);
    const xin = x;
    x = tf.mul(tf.add(h2, f), timeline) as tf.Tensor2D;
    if (caches && masks) {
      caches.push({
        xinT: tf.transpose(xin), ln1: ln1.cache, qnT: tf.transpose(qn), attn: at.cache,
        oT: tf.transpose(at.out), ln2: ln2.cache, fT: tf.transpose(f), m1: masks.ffn1[i], h1d: h1,
        rT: tf.transpose(r), m2: masks.ffn2[i],
      });
    }
  }
  const fin = layerNorm(x, p['final_ln.g'] as tf.Tensor1D, p['final_ln.b'] as tf.Tensor1D, c.lnEps);
  if (lnCaches) lnCaches.final = fin.cache;
  return fin.y;
}

/**
 * One training step's loss and gradients (forward + hand-written backward). Call inside tf.tidy.
 * Returns the gradient of every parameter (same names) and the loss tensor.
 */
export function lossAndGradients(
  p: Params, c: SASRecConfig, inp: StepInputs, masks: TrainMasks, numItems: number,
): { loss: tf.Scalar; grads: Params } {
  const { B, L } = inp;
  const d = c.dim;
  const N = B * L;
  const caches: BlockCache[] = [];
  const lnc: { final?: LNCache } = {};
  const F = encode(p, c, inp.seq, inp.timeline, B, L, masks, caches, lnc);

  let loss: tf.Scalar;
  let dF: tf.Tensor2D;
  const inv = 1 / Math.max(inp.nValid, 1);
  let dERows: { rows: tf.Tensor2D; ids: tf.Tensor1D } | undefined;
  let dEFull: tf.Tensor2D | undefined;
  if (c.loss === 'ce') {
    // Cross-entropy over items 1..numItems (the padding row never competes).
    const V = numItems + 1;
    const Eall = p.item_emb as tf.Tensor2D;
    const padMask = tf.concat([tf.fill([1], -1e9), tf.zeros([numItems])]);
    const logits = tf.add(tf.matMul(F, tf.transpose(Eall)), padMask) as tf.Tensor2D;
    const lse = tf.logSumExp(logits, 1);
    const onehot = tf.oneHot(inp.pos, V) as tf.Tensor2D;
    const posLogit = tf.sum(tf.mul(logits, onehot), 1);
    loss = tf.mul(tf.sum(tf.mul(tf.sub(lse, posLogit), inp.valid)), inv) as tf.Scalar;
    const w = tf.reshape(tf.mul(inp.valid, inv), [N, 1]);
    const dLogits = tf.mul(tf.sub(tf.exp(tf.sub(logits, tf.reshape(lse, [N, 1]))), onehot), w) as tf.Tensor2D;
    dF = tf.matMul(dLogits, Eall) as tf.Tensor2D;
    dEFull = tf.matMul(tf.transpose(dLogits), F) as tf.Tensor2D;
  } else {
    // BCE with logits on the positive and the negative item, mean over valid positions.
    const posRows = tf.gather(p.item_emb, inp.pos) as tf.Tensor2D;
    const negRows = tf.gather(p.item_emb, inp.neg) as tf.Tensor2D;
    const pl = tf.sum(tf.mul(F, posRows), -1);
    const nl = tf.sum(tf.mul(F, negRows), -1);
    // softplus(-pl) + softplus(nl), each masked.
    loss = tf.mul(tf.sum(tf.mul(tf.add(tf.softplus(tf.neg(pl)), tf.softplus(nl)), inp.valid)), inv) as tf.Scalar;
    const dpl = tf.reshape(tf.mul(tf.sub(tf.sigmoid(pl), 1), tf.mul(inp.valid, inv)), [N, 1]);
    const dnl = tf.reshape(tf.mul(tf.sigmoid(nl), tf.mul(inp.valid, inv)), [N, 1]);
    dF = tf.add(tf.mul(dpl, posRows), tf.mul(dnl, negRows)) as tf.Tensor2D;
    dERows = { rows: tf.concat([tf.mul(dpl, F), tf.mul(dnl, F)], 0) as tf.Tensor2D, ids: tf.concat([inp.pos, inp.neg], 0) };
  }

  const grads: Params = {};
  const fin = layerNormBackward(dF, lnc.final!);
  grads['final_ln.g'] = fin.dg;
  grads['final_ln.b'] = fin.db;
  let dx = fin.dx;
  for (let i = c.blocks - 1; i >= 0; i--) {
    const k = `blocks.${i}.`;
    const cc = caches[i];
    const dx2 = tf.mul(dx, inp.timeline) as tf.Tensor2D;
    // FFN: x2 = drop2(r·W2 + b2) + f, r = relu(drop1(f·W1 + b1))
    const dh2 = tf.mul(dx2, cc.m2) as tf.Tensor2D;
    const l2 = linearBackward(dh2, cc.rT, p[k + 'w2']);
    grads[k + 'w2'] = l2.dW;
    grads[k + 'b2'] = l2.db;
    const dh1 = tf.mul(tf.mul(l2.dx!, tf.step(cc.h1d)), cc.m1) as tf.Tensor2D;
    const l1 = linearBackward(dh1, cc.fT, p[k + 'w1']);
    grads[k + 'w1'] = l1.dW;
    grads[k + 'b1'] = l1.db;
    const dF2 = tf.add(dx2, l1.dx!) as tf.Tensor2D;
    const ln2 = layerNormBackward(dF2, cc.ln2);
    grads[k + 'ffn_ln.g'] = ln2.dg;
    grads[k + 'ffn_ln.b'] = ln2.db;
    // Attention: x1 = qn + (attn(q, k, v)·Wo + bo)
    const dx1 = ln2.dx;
    const lo = linearBackward(dx1, cc.oT, p[k + 'wo']);
    grads[k + 'wo'] = lo.dW;
    grads[k + 'bo'] = lo.db;
    const da = attentionBackward(lo.dx!, cc.attn);
    const lq = linearBackward(da.dq, cc.qnT, p[k + 'wq']);
    const lk = linearBackward(da.dk, cc.xinT, p[k + 'wk']);
    const lv = linearBackward(da.dv, cc.xinT, p[k + 'wv']);
    grads[k + 'wq'] = lq.dW; grads[k + 'bq'] = lq.db;
    grads[k + 'wk'] = lk.dW; grads[k + 'bk'] = lk.db;
    grads[k + 'wv'] = lv.dW; grads[k + 'bv'] = lv.db;
    const dqn = tf.add(dx1, lq.dx!) as tf.Tensor2D;
    const ln1 = layerNormBackward(dqn, cc.ln1);
    grads[k + 'attn_ln.g'] = ln1.dg;
    grads[k + 'attn_ln.b'] = ln1.db;
    dx = tf.addN([ln1.dx, lk.dx!, lv.dx!]) as tf.Tensor2D;
  }
  // Embedding layer: x0 = (E[s]·sqrt(d) + P) ⊙ m_emb ⊙ timeline
  const dx0 = tf.mul(tf.mul(dx, inp.timeline), masks.emb) as tf.Tensor2D;
  grads.pos_emb = tf.reshape(tf.sum(tf.reshape(dx0, [B, L * d]), 0), [L, d]);
  const rows = dERows ? tf.concat([tf.mul(dx0, Math.sqrt(d)), dERows.rows], 0) : tf.mul(dx0, Math.sqrt(d));
  const ids = dERows ? tf.concat([inp.seq, dERows.ids], 0) : inp.seq;
  let dE = tf.unsortedSegmentSum(rows, ids, numItems + 1);
  if (dEFull) dE = tf.add(dE, dEFull);
  // Row 0 is padding (padding_idx): it never learns.
  grads.item_emb = tf.concat([tf.zeros([1, d]), tf.slice(dE, [1, 0], [numItems, d])], 0);
  return { loss, grads };
}

// ---------------------------------------------------------------------------------------------
// Step plumbing shared by training and tests.

/** Uploads a sampled batch and draws its dropout masks. Call inside tf.tidy. */
export function prepareStep(batch: SequenceBatch, c: SASRecConfig, rng: Rng): { inp: StepInputs; masks: TrainMasks } {
  const { batchSize: B, maxLen: L } = batch;
  const N = B * L;
  const timeline = new Float32Array(N);
  const valid = new Float32Array(N);
  let nValid = 0;
  for (let i = 0; i < N; i++) {
    timeline[i] = batch.seq[i] !== 0 ? 1 : 0;
    if (batch.pos[i] !== 0) { valid[i] = 1; nValid++; }
  }
  const d = c.dim;
  const masks: TrainMasks = {
    emb: dropoutMask(rng, [N, d], c.dropout) as tf.Tensor2D,
    attn: [], ffn1: [], ffn2: [],
  };
  for (let i = 0; i < c.blocks; i++) {
    masks.attn.push(dropoutMask(rng, [B * c.heads, L, L], c.dropout) as tf.Tensor3D);
    masks.ffn1.push(dropoutMask(rng, [N, d], c.dropout) as tf.Tensor2D);
    masks.ffn2.push(dropoutMask(rng, [N, d], c.dropout) as tf.Tensor2D);
  }
  const inp: StepInputs = {
    B, L,
    seq: tf.tensor1d(batch.seq, 'int32'),
    pos: tf.tensor1d(batch.pos, 'int32'),
    neg: tf.tensor1d(batch.neg, 'int32'),
    timeline: tf.tensor2d(timeline, [N, 1]),
    valid: tf.tensor1d(valid),
    nValid,
  };
  return { inp, masks };
}

/** Inference: F at the last position for each left-padded sequence [B*L] → [B, d]. */
export function lastHidden(p: Params, c: SASRecConfig, seq: Int32Array, B: number): tf.Tensor2D {
  const L = c.maxLen;
  return tf.tidy(() => {
    const timeline = new Float32Array(B * L);
    for (let i = 0; i < B * L; i++) timeline[i] = seq[i] !== 0 ? 1 : 0;
    const F = encode(p, c, tf.tensor1d(seq, 'int32'), tf.tensor2d(timeline, [B * L, 1]), B, L);
    return tf.reshape(tf.slice(tf.reshape(F, [B, L, c.dim]), [0, L - 1, 0], [B, 1, c.dim]), [B, c.dim]) as tf.Tensor2D;
  });
}

// ---------------------------------------------------------------------------------------------
// The CFBackbone wrapper: training loop, checkpoints, inference, save/load.

const KIND = 'allmrec.backbone.sasrec';
const CHECKPOINT_KIND = 'allmrec.backbone.sasrec.checkpoint';

/**
 * SASRec as a {@link CFBackbone}. `fit` trains with the reference recipe (Adam 1e-3, betas 0.9 /
 * 0.98, batch 128, BCE with one negative per position) and then freezes the model.
 *
 * @example
 * const model = new SASRec(dataset.numItems, { epochs: 200 });
 * await model.fit(leaveOneOut(dataset), { seed: 1 });
 * const xu = model.userRepresentations([history]);   // x_u, [1, 50]
 */
export class SASRec implements CFBackbone {
  readonly name = 'sasrec';
  readonly usesOrder = true;
  readonly config: SASRecConfig;
  private readonly params: ParamSet;
  private embCache: Float32Array | undefined;
  private embT: tf.Tensor2D | undefined;
  private isFrozen = false;

  constructor(readonly numItems: number, config: Partial<SASRecConfig> = {}) {
    if (!Number.isInteger(numItems) || numItems < 1) throw new Error(`SASRec: numItems must be a positive integer, got ${numItems}`);
    this.config = { ...SASREC_DEFAULTS, ...config };
    const c = this.config;
    for (const k of ['dim', 'blocks', 'heads', 'maxLen', 'batchSize', 'epochs'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < (k === 'epochs' ? 0 : 1)) throw new Error(`SASRec: config.${k} must be a positive integer, got ${c[k]}`);
    }
    if (c.dim % c.heads !== 0) throw new Error(`SASRec: dim ${c.dim} is not divisible by heads ${c.heads}`);
    if (c.loss !== 'bce' && c.loss !== 'ce') throw new Error(`SASRec: config.loss must be "bce" or "ce", got ${JSON.stringify(c.loss)}`);
    this.params = new ParamSet('SASRec', parameterShapes(numItems, c));
  }

  get dim(): number {
    return this.config.dim;
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  async fit(split: LeaveOneOutSplit, options: FitOptions): Promise<FitResult> {
    checkCanFit('SASRec', this.isFrozen, split.numItems, this.numItems);
    const c = this.config;
    const sampler = new SequenceSampler(split.train, this.numItems, c.maxLen);
    let usersWithItems = 0;
    for (let u = 1; u < split.train.length; u++) if (split.train[u]?.length) usersWithItems++;
    // The reference runs len(user_train) // batch_size steps per epoch.
    const stepsPerEpoch = Math.max(1, Math.floor(usersWithItems / c.batchSize));
    const { epochs: _e, ...rest } = c;
    const fit = await fitWithAdam({
      model: 'sasrec', checkpointKind: CHECKPOINT_KIND, runKey: { numItems: this.numItems, config: rest },
      epochs: c.epochs, stepsPerEpoch, adam: { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.adamEps },
      init: (rng) => initialParameters(this.numItems, c, rng),
      step: (p, rng) => {
        const batch = sampler.sample(rng, c.batchSize);
        const { inp, masks } = prepareStep(batch, c, rng);
        return lossAndGradients(p, c, inp, masks, this.numItems);
      },
    }, this.params, options);
    this.freeze();
    return fit;
  }

  private freeze(): void {
    this.isFrozen = true;
    this.embCache = this.params.get('item_emb');
  }

  private table(): Float32Array {
    return this.embCache ?? this.params.get('item_emb');
  }

  itemEmbeddings(ids: ArrayLike<number>): Float32Array {
    const E = this.table();
    checkItemIds('SASRec', ids, this.numItems);
    return gatherRows(E, this.dim, ids);
  }

  userRepresentations(histories: ArrayLike<number>[]): Float32Array {
    const p = this.params.record();
    const c = this.config;
    const d = c.dim;
    checkHistories('SASRec', histories, this.numItems);
    const out = new Float32Array(histories.length * d);
    const chunk = 256;
    for (let s = 0; s < histories.length; s += chunk) {
      const B = Math.min(chunk, histories.length - s);
      const seq = new Int32Array(B * c.maxLen);
      for (let b = 0; b < B; b++) padHistory(histories[s + b], c.maxLen, seq, b * c.maxLen);
      const rep = lastHidden(p, c, seq, B);
      out.set(rep.dataSync() as Float32Array, s * d);
      rep.dispose();
    }
    return out;
  }

  score(histories: ArrayLike<number>[], candidates: ArrayLike<number>[]): Float32Array[] {
    if (histories.length !== candidates.length) throw new Error(`SASRec.score: ${histories.length} histories but ${candidates.length} candidate lists`);
    const E = this.table();
    for (const cands of candidates) checkItemIds('SASRec', cands, this.numItems, 'candidate');
    return dotScores(this.userRepresentations(histories), this.dim, candidates, E);
  }

  scoreAll(histories: ArrayLike<number>[]): Float32Array {
    const E = this.table();
    if (!this.isFrozen) {
      // While training (early stopping evaluates between epochs) the table still changes.
      const ET = transposedTable(E, this.numItems + 1, this.dim);
      try { return fullDotScores(this.userRepresentations(histories), histories.length, this.dim, ET); } finally { ET.dispose(); }
    }
    this.embT ??= transposedTable(E, this.numItems + 1, this.dim);
    return fullDotScores(this.userRepresentations(histories), histories.length, this.dim, this.embT);
  }

  async save(dir: string): Promise<void> {
    await saveParams(dir, KIND, { name: this.name, numItems: this.numItems, config: this.config }, this.params);
  }

  /** Loads a model written by {@link SASRec.save}; the result is frozen. */
  static async load(dir: string): Promise<SASRec> {
    const { config, values } = await loadParams(dir, KIND);
    const cfg = config as { numItems: number; config: SASRecConfig };
    const model = new SASRec(cfg.numItems, cfg.config);
    model.params.set(values);
    model.freeze();
    return model;
  }

  dispose(): void {
    this.params.dispose();
    this.embT?.dispose();
    this.embT = undefined;
    this.embCache = undefined;
  }
}
