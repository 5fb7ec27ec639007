/**
 * LightGCN (He et al. 2020) as RecBole 1.2.1's LightGCN: user and item embeddings propagated over
 * the normalised user-item graph without weights or non-linearities, trained with BPR.
 *
 *   nodes   users 0..U then items 0..I (user 0 and item 0 are padding: isolated)
 *   Â       = D^-1/2 A D^-1/2, A the symmetric bipartite adjacency of the distinct training pairs
 *   E^(0)   = [P; Q] (the trained tables),  E^(k) = Â E^(k-1),  k = 1..K (K = n_layers = 2)
 *   F       = mean(E^(0), ..., E^(K))                   (F_u = x_u, F_i = E_i, score = <x_u, E_i>)
 *   loss    = BPR(F_u, F_pos, F_neg) + λ (‖P_users‖ + ‖Q_pos‖ + ‖Q_neg‖) / batch,   λ = reg_weight 1e-5
 *             (the regulariser reads the batch's layer-0 rows; ‖·‖ is the Frobenius norm, not
 *             squared: RecBole's EmbLoss with require_pow False)
 *
 * Propagation is a sparse matrix product over a CSR adjacency in plain typed arrays. The backward
 * pass needs Âᵀ·dY, which is Â·dY because Â is symmetric:
 *
 *   dE^(K) = dF/(K+1),   dE^(k) = dF/(K+1) + Â dE^(k+1),   dP, dQ = rows of dE^(0) (+ regulariser)
 *
 * A test checks it against tfjs autodiff on a dense Â.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LeaveOneOutSplit, Rng } from '@allmrec/core';
import type { CFBackbone, FitOptions, FitResult } from './backbone';
import { bprLoss } from './bpr';
import { checkIntegers, checkRange, resolveConfig } from './config';
import { distinctItems, trainedUsers } from './fold-in';
import { PairSampler, type PairBatch } from './pair-sampler';
import { checkHistories, checkItemIds, dotScores, fullDotScores, gatherRows, transposedTable, checkCanFit } from './scoring';
import { ParamSet, fitWithAdam, loadParams, saveParams } from './trainer';

/** Hyper-parameters; defaults are RecBole 1.2.1's (LightGCN.yaml and overall.yaml). */
export interface LightGCNConfig {
  /** Embedding size d (RecBole embedding_size, 64). */
  dim: number;
  /** Propagation layers K (RecBole n_layers, 2). */
  layers: number;
  /** Weight λ of the layer-0 embedding regulariser (RecBole reg_weight, 1e-5). */
  regWeight: number;
  /** Adam learning rate (1e-3). */
  lr: number;
  /** Adam betas and epsilon (PyTorch's defaults, as RecBole: 0.9, 0.999, 1e-8). */
  beta1: number;
  beta2: number;
  adamEps: number;
  /** Training pairs per batch (RecBole train_batch_size, 2048). */
  batchSize: number;
  /** Training epochs (RecBole epochs, 300; it usually stops earlier on validation). */
  epochs: number;
}

export const LIGHTGCN_DEFAULTS: LightGCNConfig = {
  dim: 64,
  layers: 2,
  regWeight: 1e-5,
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  adamEps: 1e-8,
  batchSize: 2048,
  epochs: 300,
};

// ---------------------------------------------------------------------------------------------
// The graph.

/** The normalised adjacency Â as CSR over numUsers + 1 + numItems + 1 nodes (users first). */
export interface NormalizedGraph {
  numUsers: number;
  numItems: number;
  /** Number of nodes. */
  n: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  /** Training degree of each user (= distinct training items) and of each item. */
  userDegree: Int32Array;
  itemDegree: Int32Array;
  /** The user side of A as CSR (what is saved): user u's items are userItems[userPtr[u]..userPtr[u+1]). */
  userPtr: Int32Array;
  userItems: Int32Array;
}

/** Node index of item i. */
export function itemNode(g: { numUsers: number }, i: number): number {
  return g.numUsers + 1 + i;
}

/**
 * Builds Â from the user side of the bipartite graph (CSR: user u's distinct items are
 * userItems[userPtr[u] .. userPtr[u + 1]), u = 0..numUsers). Entry (u, i) and (i, u) is
 * 1 / sqrt(deg(u) · deg(i)).
 * @throws RangeError when an item id is outside 1..numItems or a user lists an item twice.
 */
export function buildGraph(numUsers: number, numItems: number, userPtr: Int32Array, userItems: Int32Array): NormalizedGraph {
  if (userPtr.length !== numUsers + 2) throw new Error(`LightGCN graph: userPtr has ${userPtr.length} entries, expected ${numUsers + 2}`);
  const n = numUsers + 1 + numItems + 1;
  const userDegree = new Int32Array(numUsers + 1);
  const itemDegree = new Int32Array(numItems + 1);
  for (let u = 0; u <= numUsers; u++) {
    const seen = new Set<number>();
    for (let k = userPtr[u]; k < userPtr[u + 1]; k++) {
      const i = userItems[k];
      if (!(i >= 1 && i <= numItems)) throw new RangeError(`LightGCN graph: user ${u} lists item ${i}, outside 1..${numItems}`);
      if (seen.has(i)) throw new RangeError(`LightGCN graph: user ${u} lists item ${i} twice`);
      seen.add(i);
      itemDegree[i]++;
    }
    userDegree[u] = userPtr[u + 1] - userPtr[u];
  }
  const nnz = 2 * userItems.length;
  const indptr = new Int32Array(n + 1);
  for (let u = 0; u <= numUsers; u++) indptr[u + 1] = userDegree[u];
  for (let i = 0; i <= numItems; i++) indptr[numUsers + 2 + i] = itemDegree[i];
  for (let r = 0; r < n; r++) indptr[r + 1] += indptr[r];
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  const fill = indptr.slice(0, n);
  for (let u = 0; u <= numUsers; u++) {
    for (let k = userPtr[u]; k < userPtr[u + 1]; k++) {
      const i = userItems[k];
      const v = 1 / Math.sqrt(userDegree[u] * itemDegree[i]);
      const ni = numUsers + 1 + i;
      indices[fill[u]] = ni;
      values[fill[u]++] = v;
      indices[fill[ni]] = u;
      values[fill[ni]++] = v;
    }
  }
  return { numUsers, numItems, n, indptr, indices, values, userDegree, itemDegree, userPtr, userItems };
}

/**
 * Y = Â X for X row-major [n, d]; written into `out` (allocated when absent). Four neighbours are
 * accumulated per pass over a row (three times faster in V8 than one at a time).
 */
export function propagate(g: NormalizedGraph, X: Float32Array, d: number, out = new Float32Array(g.n * d)): Float32Array {
  const { indptr, indices, values } = g;
  out.fill(0);
  for (let r = 0; r < g.n; r++) {
    const o = r * d;
    const end = indptr[r + 1];
    let k = indptr[r];
    for (; k + 3 < end; k += 4) {
      const v0 = values[k], v1 = values[k + 1], v2 = values[k + 2], v3 = values[k + 3];
      const c0 = indices[k] * d, c1 = indices[k + 1] * d, c2 = indices[k + 2] * d, c3 = indices[k + 3] * d;
      for (let t = 0; t < d; t++) out[o + t] += v0 * X[c0 + t] + v1 * X[c1 + t] + v2 * X[c2 + t] + v3 * X[c3 + t];
    }
    for (; k < end; k++) {
      const v = values[k];
      const c = indices[k] * d;
      for (let t = 0; t < d; t++) out[o + t] += v * X[c + t];
    }
  }
  return out;
}

/** Every layer E^(0..K) and their mean F, from the tables P [U+1, d] and Q [I+1, d]. */
export function forward(g: NormalizedGraph, P: Float32Array, Q: Float32Array, d: number, K: number): { layers: Float32Array[]; F: Float32Array } {
  const E0 = new Float32Array(g.n * d);
  E0.set(P, 0);
  E0.set(Q, (g.numUsers + 1) * d);
  const layers: Float32Array[] = [E0];
  for (let k = 1; k <= K; k++) layers.push(propagate(g, layers[k - 1], d));
  const F = new Float32Array(g.n * d);
  for (const E of layers) for (let j = 0; j < F.length; j++) F[j] += E[j];
  for (let j = 0; j < F.length; j++) F[j] /= K + 1;
  return { layers, F };
}

// ---------------------------------------------------------------------------------------------
// Parameters and the training step.

/** Parameter names and shapes: layer-0 user table P [numUsers + 1, d], item table Q [numItems + 1, d]. */
export function parameterShapes(numUsers: number, numItems: number, c: LightGCNConfig): Record<string, number[]> {
  return { user_emb: [numUsers + 1, c.dim], item_emb: [numItems + 1, c.dim] };
}

/** Xavier-uniform tables as RecBole (bound sqrt(6 / (rows + d))), padding rows zero. */
export function initialParameters(numUsers: number, numItems: number, c: LightGCNConfig, rng: Rng): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, [rows, d]] of Object.entries(parameterShapes(numUsers, numItems, c))) {
    const bound = Math.sqrt(6 / (rows + d));
    const v = new Float32Array(rows * d);
    for (let i = d; i < v.length; i++) v[i] = (rng.next() * 2 - 1) * bound;
    out.set(name, v);
  }
  return out;
}

/** λ · ‖X_rows‖_F / batch and its gradient added into dX (X_rows = the table's rows `ids`). */
function normRegulariser(X: Float32Array, ids: Int32Array, d: number, scale: number, dX: Float32Array): number {
  let sq = 0;
  for (const r of ids) for (let t = 0; t < d; t++) sq += X[r * d + t] ** 2;
  const norm = Math.sqrt(sq);
  if (norm > 0) for (const r of ids) for (let t = 0; t < d; t++) dX[r * d + t] += (scale * X[r * d + t]) / norm;
  return scale * norm;
}

/** One training step's loss and gradients, all in typed arrays (call inside tf.tidy). */
export function lossAndGradients(
  p: Record<string, tf.Tensor>, g: NormalizedGraph, batch: PairBatch, c: LightGCNConfig,
): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const d = c.dim;
  const K = c.layers;
  const P = p.user_emb.dataSync() as Float32Array;
  const Q = p.item_emb.dataSync() as Float32Array;
  const { F } = forward(g, P, Q, d, K);
  const split = (g.numUsers + 1) * d;
  const dF = new Float32Array(g.n * d);
  let loss = bprLoss(F.subarray(0, split), F.subarray(split), d, batch, dF.subarray(0, split), dF.subarray(split));
  // Back through the layers: dE^(K) = dF/(K+1); dE^(k) = dF/(K+1) + Â dE^(k+1).
  const share = new Float32Array(dF.length);
  for (let j = 0; j < dF.length; j++) share[j] = dF[j] / (K + 1);
  let dE: Float32Array = share.slice();
  const tmp = new Float32Array(dF.length);
  for (let k = K - 1; k >= 0; k--) {
    propagate(g, dE, d, tmp);
    for (let j = 0; j < dE.length; j++) dE[j] = share[j] + tmp[j];
  }
  const dP = dE.slice(0, split);
  const dQ = dE.slice(split);
  const scale = c.regWeight / batch.size;
  loss += normRegulariser(P, batch.users, d, scale, dP);
  loss += normRegulariser(Q, batch.pos, d, scale, dQ);
  loss += normRegulariser(Q, batch.neg, d, scale, dQ);
  return {
    loss: tf.scalar(loss),
    grads: { user_emb: tf.tensor2d(dP, p.user_emb.shape as [number, number]), item_emb: tf.tensor2d(dQ, p.item_emb.shape as [number, number]) },
  };
}

/**
 * x_u of a new user node connected to the distinct `items` (see the class comment): its layer-0
 * embedding is 0 and, for k = 1..K, e^(k) = Σ_{i∈items} E_i^(k-1) / sqrt(|items| · max(deg(i), 1)),
 * with the trained graph's item layers and degrees; x_u = (e^(1) + ... + e^(K)) / (K + 1).
 */
export function inductiveUser(g: NormalizedGraph, layers: Float32Array[], d: number, items: Int32Array, out: Float32Array, offset: number): void {
  const K = layers.length - 1;
  if (items.length === 0) return;
  for (let k = 1; k <= K; k++) {
    const E = layers[k - 1];
    for (const i of items) {
      const w = 1 / Math.sqrt(items.length * Math.max(g.itemDegree[i], 1)) / (K + 1);
      const r = itemNode(g, i) * d;
      for (let t = 0; t < d; t++) out[offset + t] += w * E[r + t];
    }
  }
}

const KIND = 'allmrec.backbone.lightgcn';
const CHECKPOINT_KIND = 'allmrec.backbone.lightgcn.checkpoint';

/**
 * LightGCN as a {@link CFBackbone} (order-free). E_i is item i's propagated embedding F_i and x_u
 * the user's F_u, so score = <x_u, E_i>.
 *
 * With `users`, a user the model was trained on (one with training items) reads its F_u. Any
 * other history (no id, id 0, an unknown id, a user without training items) is the natural
 * inductive rule: a **new user node** joined to the history's distinct items, with layer-0
 * embedding 0, propagated K layers with the same normalisation — each edge weighted
 * 1 / sqrt(|history| · deg(i)), deg(i) the item's training degree (1 for an item outside the
 * training graph) — over the trained graph's item layers, and averaged over layers 0..K like every
 * node. The rest of the graph is left as trained (the new node does not renormalise it). For a
 * trained user's own training history this reproduces layers 1..K of F_u exactly; only the
 * user's layer-0 term P_u / (K + 1) is missing.
 *
 * @example
 * const model = new LightGCN(split.numItems, { epochs: 100 });
 * await model.fit(split, { seed: 1 });
 * model.scoreAll(histories, users);
 */
export class LightGCN implements CFBackbone {
  readonly name = 'lightgcn';
  readonly usesOrder = false;
  readonly config: LightGCNConfig;
  private params: ParamSet | undefined;
  private graph: NormalizedGraph | undefined;
  private cache: { layers: Float32Array[]; F: Float32Array; itemT?: tf.Tensor2D } | undefined;
  private isFrozen = false;

  constructor(readonly numItems: number, config: Partial<LightGCNConfig> = {}) {
    if (!Number.isInteger(numItems) || numItems < 1) throw new Error(`LightGCN: numItems must be a positive integer, got ${numItems}`);
    this.config = resolveConfig('LightGCN', LIGHTGCN_DEFAULTS, config);
    checkIntegers('LightGCN', this.config, ['dim', 'layers', 'batchSize']);
    checkIntegers('LightGCN', this.config, ['epochs'], 0);
    checkRange('LightGCN', this.config, ['lr', 'adamEps', 'regWeight'], 0, Infinity);
    checkRange('LightGCN', this.config, ['beta1', 'beta2'], 0, 1, true);
  }

  get dim(): number {
    return this.config.dim;
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  /** Number of users the model has parameters for (0 before fit or load). */
  get numUsers(): number {
    return this.graph?.numUsers ?? 0;
  }

  private setUp(graph: NormalizedGraph): ParamSet {
    this.params?.dispose();
    this.graph = graph;
    this.params = new ParamSet('LightGCN', parameterShapes(graph.numUsers, this.numItems, this.config));
    return this.params;
  }

  /** Trains on every training pair of `split` (RecBole's recipe), then freezes. */
  async fit(split: LeaveOneOutSplit, options: FitOptions): Promise<FitResult> {
    checkCanFit('LightGCN', this.isFrozen, split.numItems, this.numItems);
    const c = this.config;
    const sampler = new PairSampler(split.train, this.numItems, c.batchSize);
    // The sampler's pairs are grouped by user: that is the user side of A as CSR.
    const userPtr = new Int32Array(sampler.numUsers + 2);
    for (const u of sampler.users) userPtr[u + 1]++;
    for (let u = 0; u <= sampler.numUsers; u++) userPtr[u + 1] += userPtr[u];
    const graph = buildGraph(sampler.numUsers, this.numItems, userPtr, sampler.items.slice());
    const params = this.setUp(graph);
    const { epochs: _e, ...rest } = c;
    const fit = await fitWithAdam({
      model: 'lightgcn', checkpointKind: CHECKPOINT_KIND,
      runKey: { numItems: this.numItems, numUsers: sampler.numUsers, pairs: sampler.numPairs, config: rest },
      epochs: c.epochs, stepsPerEpoch: sampler.stepsPerEpoch, adam: { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.adamEps },
      init: (rng) => initialParameters(sampler.numUsers, this.numItems, c, rng),
      beginEpoch: (_, rng) => sampler.shuffle(rng),
      step: (p, rng, _epoch, s) => lossAndGradients(p, graph, sampler.batch(s, rng), c),
    }, params, options);
    this.isFrozen = true;
    return fit;
  }

  /** The layers and F of the current weights: cached once frozen, recomputed while training. */
  private propagated(): { layers: Float32Array[]; F: Float32Array; itemT?: tf.Tensor2D } {
    if (this.cache) return this.cache;
    if (!this.params || !this.graph) throw new Error('LightGCN: the model has no weights yet; call fit() or load()');
    const r = forward(this.graph, this.params.get('user_emb'), this.params.get('item_emb'), this.dim, this.config.layers);
    if (this.isFrozen) this.cache = r;
    return r;
  }

  private itemTable(): Float32Array {
    const F = this.propagated().F;
    return F.subarray((this.numUsers + 1) * this.dim);
  }

  /** E_i: the propagated item embeddings F_i. */
  itemEmbeddings(ids: ArrayLike<number>): Float32Array {
    const E = this.itemTable();
    checkItemIds('LightGCN', ids, this.numItems);
    return gatherRows(E, this.dim, ids);
  }

  /** x_u: F_u of a trained user, else the inductive new-node rule (see the class comment). */
  userRepresentations(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array {
    const { layers, F } = this.propagated();
    const g = this.graph!;
    checkHistories('LightGCN', histories, this.numItems, users);
    const d = this.dim;
    const rows = trainedUsers('LightGCN', histories.length, users, g.userDegree);
    const out = new Float32Array(histories.length * d);
    rows.forEach((u, b) => {
      if (u > 0) out.set(F.subarray(u * d, u * d + d), b * d);
      else inductiveUser(g, layers, d, distinctItems(histories[b]), out, b * d);
    });
    return out;
  }

  score(histories: ArrayLike<number>[], candidates: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array[] {
    if (histories.length !== candidates.length) throw new Error(`LightGCN.score: ${histories.length} histories but ${candidates.length} candidate lists`);
    const E = this.itemTable();
    for (const cands of candidates) checkItemIds('LightGCN', cands, this.numItems, 'candidate');
    return dotScores(this.userRepresentations(histories, users), this.dim, candidates, E);
  }

  scoreAll(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array {
    const reps = this.userRepresentations(histories, users);
    const p = this.propagated();
    const E = this.itemTable();
    if (!this.isFrozen) {
      // While training (early stopping evaluates between epochs) the tables still change.
      const ET = transposedTable(E, this.numItems + 1, this.dim);
      try { return fullDotScores(reps, histories.length, this.dim, ET); } finally { ET.dispose(); }
    }
    p.itemT ??= transposedTable(E, this.numItems + 1, this.dim);
    return fullDotScores(reps, histories.length, this.dim, p.itemT);
  }

  async save(dir: string): Promise<void> {
    if (!this.params || !this.graph) throw new Error('LightGCN: the model has no weights yet; call fit() or load()');
    const g = this.graph;
    await saveParams(dir, KIND, { name: this.name, numItems: this.numItems, numUsers: g.numUsers, config: this.config }, this.params, {
      graph_user_ptr: { shape: [g.userPtr.length], data: g.userPtr },
      graph_user_items: { shape: [g.userItems.length], data: g.userItems },
    });
  }

  /** Loads a model written by {@link LightGCN.save} (weights and training graph); the result is frozen. */
  static async load(dir: string): Promise<LightGCN> {
    const { config, values, ints } = await loadParams(dir, KIND);
    const cfg = config as { numItems: number; numUsers: number; config: LightGCNConfig };
    const ptr = ints.get('graph_user_ptr');
    const items = ints.get('graph_user_items');
    if (!ptr || !items) throw new Error(`LightGCN: ${dir} lacks its training graph (graph_user_ptr, graph_user_items)`);
    const model = new LightGCN(cfg.numItems, cfg.config);
    model.setUp(buildGraph(cfg.numUsers, cfg.numItems, ptr.slice(), items.slice())).set(values);
    model.isFrozen = true;
    return model;
  }

  dispose(): void {
    this.params?.dispose();
    this.params = undefined;
    this.cache?.itemT?.dispose();
    this.cache = undefined;
  }
}
