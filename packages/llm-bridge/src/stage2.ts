/**
 * A-LLMRec Stage 2: the collaborative representations go into the frozen LLM's token space.
 *
 *   input embeddings = embedTokens(prompt ids) with
 *     the user slot (position 0 of the prompt)  ← F_U(x_u)      x_u: the frozen CF user representation
 *     each [HistoryEmb]/[CandidateEmb] slot     ← F_I(e_i)      e_i: the Stage 1 joint item embedding
 *   followed by the target tokens `"<title>"` + EOS (training only);
 *   loss = the LM's token cross-entropy on the target tokens (labels −100 on the prompt).
 *
 * Only F_U and F_I (`createProjectors` from @allmrec/alignment) are trained: the gradient reaches
 * the projectors' variables through the slot rows (a gather from [token rows; projected rows]);
 * the LM's weights are plain tensors and never change. Adam (PyTorch semantics, betas 0.9/0.98 as
 * the reference), lr 1e-4, batch 4, 5 epochs (the paper's values). Not in the paper: the projectors
 * start from a warm start when the LM records a slot interface (stage2-warm-start.ts), and the
 * weights kept at the end are an exponential average over the steps (`weightAverage`, weight-average.ts).
 *
 * Training examples (the reference's choice): per user, the training sequence's last item is the
 * target and the up-to-10 items before it the shown history (x_u is computed from the whole
 * prefix before the target); the candidates are the target plus 19 items the user never
 * interacted with (train, validation and test items all excluded), shuffled, re-drawn at every
 * step from a generator forked from (seed, epoch, step). An epoch is one shuffled pass over the
 * users with ≥ 2 training items (optionally a seeded subsample of `maxUsers`).
 *
 * Evaluation (`evaluate`) follows the paper's protocol through @allmrec/eval's "test-20" set:
 * history = training items + the validation item, target = the test item, 20 shuffled candidates.
 * (a) Greedy generation with repetition penalty 1.5 → Hit@1 with the authors' match rule
 * (`matchesTitle`), and the share of outputs naming one of the 20 candidates; (b) likelihood
 * ranking: the summed log-probability of each candidate's `"<title>"` + EOS after the shared
 * prompt, giving Hit@1/5 and NDCG@5/10 through `evaluateScores`.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  Adam, Rng, isArtifact, readArtifact, readTrainingCheckpoint, selectBackend, writeArtifact, writeTrainingCheckpoint,
  type LeaveOneOutSplit, type ProgressListener, type TensorInput,
} from '@allmrec/core';
import { createProjectors, type Projector } from '@allmrec/alignment';
import { prefixExamples, warmStartProjectors, type WarmStartResult } from './stage2-warm-start';
import { WeightAverage } from './weight-average';
import { buildEvalSet, evaluateScores, getProtocol, interactedItems, sampleCandidates, type EvalSet } from '@allmrec/eval';
import type { CausalLM } from './causal-lm';
import { generate } from './generate';
import { causalLMLoss } from './loss';
import { scoreContinuations } from './score';
import {
  matchesTitle, namedCandidate, renderPrompt, renderTarget, type PromptItem, type PromptTemplate, type RenderedPrompt,
} from './prompt';

/** What Stage 2 reads (all frozen): the CF side, Stage 1's joint embeddings and the item titles. */
export interface Stage2Sources {
  /** x_u of each history (time order) → [b, userDim] row-major (e.g. a frozen backbone). */
  userReps(histories: Int32Array[], users?: Int32Array): Float32Array;
  /** Joint embeddings e_i of `ids` → [n, itemDim] row-major (Stage 1; 128-d in the paper). */
  itemEmbeddings(ids: ArrayLike<number>): Float32Array;
  userDim: number;
  itemDim: number;
  /** Title of every item by id (index 0 = padding). */
  titles: string[];
  /** Prompt wording of the domain (`templateFor(dataset.domain)`). */
  template: PromptTemplate;
  /**
   * The CF model's own scores of `candidates[b]` after `histories[b]` (e.g. `CFBackbone.score`);
   * when given, the warm start distils them (`Stage2Config.warmStartDistill`).
   */
  cfScores?(histories: Int32Array[], candidates: Int32Array[]): Float32Array[];
}

/** Hyper-parameters (defaults: the paper's). */
export interface Stage2Config {
  /** History items shown in the prompt (default 10). */
  historyLength: number;
  /** Candidates per prompt, target included (default 20). */
  numCandidates: number;
  /** Adam learning rate (default 1e-4), betas (0.9, 0.98), epsilon 1e-8. */
  lr: number;
  beta1: number;
  beta2: number;
  adamEps: number;
  /** Users per step (default 4). */
  batchSize: number;
  /** Epochs (default 5). */
  epochs: number;
  /** Generation length (default 32) and repetition penalty (default 1.5). */
  maxNewTokens: number;
  repetitionPenalty: number;
  /** Recompute LM blocks in the backward pass (less memory; for larger LMs). Default false. */
  recompute: boolean;
  /**
   * Steps of the projectors' warm start on the LM's slot interface (default 3000), run before the
   * first epoch when the LM records one (`CausalLMConfig.slotInterface`, see stage2-warm-start.ts);
   * 0 = the paper's Xavier start. Ignored for LMs without an interface.
   */
  warmStartSteps: number;
  /**
   * Weight of the CF model's ranking (`Stage2Sources.cfScores`) against the next item in the warm
   * start's loss (default 0 = the next item only; see stage2-warm-start.ts). On ml-100k 0.5 ranks
   * the test item first more often before Stage 2 (0.480 against 0.466 on seed 1,
   * `tools/bench/warm-start.ts`), but not after it, and leaves fewer valid answers (BENCHMARKS.md).
   */
  warmStartDistill: number;
  /**
   * Decay d of the average of F_U and F_I over Stage 2's steps (θ̄ ← d·θ̄ + (1 − d)·θ after each step,
   * started after the warm start), which replaces the trained weights when `fit` ends; 0 = the last
   * step's weights, as the paper. Default 0.99, about the last 100 steps: with batch 4 the last
   * batches move the answer noticeably (see weight-average.ts).
   */
  weightAverage: number;
}

export const STAGE2_DEFAULTS: Stage2Config = {
  historyLength: 10, numCandidates: 20, lr: 1e-4, beta1: 0.9, beta2: 0.98, adamEps: 1e-8, batchSize: 4, epochs: 5,
  maxNewTokens: 32, repetitionPenalty: 1.5, recompute: false, warmStartSteps: 3000, warmStartDistill: 0, weightAverage: 0.99,
};

/** Serialisable state of {@link Adam}. */

/** Artifact kind of saved projectors. */
export const STAGE2_KIND = 'allmrec.stage2';
const CHECKPOINT_KIND = 'allmrec.stage2.checkpoint';

/** One prompt: whose history, which candidates (in the order shown) and, for training, the target. */
export interface Stage2Example {
  /** The user's history (time order); x_u is computed from all of it, the last `historyLength` are shown. */
  history: Int32Array;
  candidates: Int32Array;
  /** Target item (training): its quoted title + EOS is appended and is the only loss target. */
  target?: number;
}

/** Model inputs of a batch (tensors owned by the caller). */
export interface Stage2Inputs {
  /** [B, T, H], left-padded. */
  embeds: tf.Tensor3D;
  /** [B, T]: 1 = token, 0 = padding. */
  mask: tf.Tensor2D;
  /** [B, T] int32: −100 except on the target tokens (present when every example has a target). */
  labels?: tf.Tensor2D;
  /** The rendered prompts (slot positions relative to the prompt start). */
  prompts: RenderedPrompt[];
  /** Left padding of each row: prompt position p sits at column pad[b] + p. */
  pad: number[];
  /** Token ids [B, T] (slot positions hold the pad id). */
  ids: number[][];
}

/** Options of {@link Stage2Model.fit}. */
export interface Stage2FitOptions {
  split: LeaveOneOutSplit;
  /** Seed of the user order and the candidates (default: the model's seed). */
  seed?: number;
  epochs?: number;
  /** Train on a seeded subsample of at most this many users. */
  maxUsers?: number;
  /** Checkpoint (projectors + Adam + epoch) after every epoch and resume from it when present. */
  checkpointDir?: string;
  onProgress?: ProgressListener;
  /** Called with each step's examples before the step (for inspection and tests). */
  onBatch?: (examples: Stage2Example[], epoch: number, step: number) => void;
}

export interface Stage2EpochStats {
  epoch: number;
  steps: number;
  loss: number;
  seconds: number;
}

export interface Stage2FitResult {
  epochs: Stage2EpochStats[];
  trainUsers: number;
  stepsPerEpoch: number;
  trainSeconds: number;
  /** Mean seconds per step of this call. */
  stepSeconds: number;
  resumedFrom: number;
  /** The projectors' warm start, when it ran (see `Stage2Config.warmStartSteps`). */
  warmStart?: WarmStartResult;
}

/** Options of {@link Stage2Model.evaluate}. */
export interface Stage2EvalOptions {
  /**
   * Run the frozen LM's inference on this LM instead (e.g. an OnnxCausalLM of the same checkpoint):
   * any {@link CausalLM} with the same vocabulary and embedding width.
   */
  inference?: CausalLM;
  /** Seed of the evaluation set (default 42, as eval's buildEvalSet). */
  seed?: number;
  /** At most this many test users (default 10,000, the paper's). */
  maxUsers?: number;
  /** Run greedy generation (default true). */
  generate?: boolean;
  /** Run the likelihood ranking (default true). */
  rank?: boolean;
  /** Return the generated texts. */
  keepOutputs?: boolean;
  onProgress?: ProgressListener;
}

export interface Stage2EvalResult {
  users: number;
  /** Generation: Hit@1 with the authors' match rule (NaN when generation was skipped). */
  hit1_generate: number;
  /** Generation: share of outputs naming one of the candidates. */
  valid_output_rate: number;
  /** Likelihood ranking of the candidates' quoted titles (NaN when skipped). */
  hit1_rank: number;
  hit5_rank: number;
  ndcg5_rank: number;
  ndcg10_rank: number;
  outputs?: string[];
}

export interface Stage2Recommendation {
  /** The generated answer. */
  text: string;
  /** The candidate the answer names (longest matching title), or −1. */
  chosen: number;
  /** Candidates by descending log-probability of `"<title>"` + EOS. */
  ranked: { item: number; logProb: number }[];
}

/**
 * Stage 2 of A-LLMRec around a frozen {@link CausalLM}.
 *
 *   const s2 = new Stage2Model(lm, sources, { epochs: 5 }, seed);
 *   await s2.fit({ split });
 *   const r = await s2.evaluate(split, { maxUsers: 1000 });
 *   await s2.save(dir);  // later: await Stage2Model.load(dir, lm, sources)
 *
 * Note: the projectors' variable names derive from the seed, so two live models built with the
 * same seed collide in tfjs; dispose one before creating the other.
 */
export class Stage2Model {
  readonly config: Stage2Config;
  readonly fu: Projector;
  readonly fi: Projector;
  private readonly params: Map<string, tf.Variable>;
  private itemCache?: Float32Array;

  constructor(readonly lm: CausalLM, readonly sources: Stage2Sources, config: Partial<Stage2Config> = {}, readonly seed = 0) {
    this.config = { ...STAGE2_DEFAULTS, ...config };
    for (const k of ['historyLength', 'numCandidates', 'batchSize', 'epochs', 'maxNewTokens'] as const) {
      const v = this.config[k];
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`Stage2Model: ${k} must be a positive integer, got ${v}`);
    }
    if (!(Number.isInteger(this.config.warmStartSteps) && this.config.warmStartSteps >= 0)) throw new RangeError(`Stage2Model: warmStartSteps must be a non-negative integer, got ${this.config.warmStartSteps}`);
    if (!(this.config.warmStartDistill >= 0 && this.config.warmStartDistill <= 1)) throw new RangeError(`Stage2Model: warmStartDistill must be in [0, 1], got ${this.config.warmStartDistill}`);
    if (!(this.config.weightAverage >= 0 && this.config.weightAverage < 1)) throw new RangeError(`Stage2Model: weightAverage must be in [0, 1), got ${this.config.weightAverage}`);
    const { fu, fi } = createProjectors(sources.userDim, sources.itemDim, lm.config.hiddenSize, seed);
    this.fu = fu;
    this.fi = fi;
    this.params = new Map<string, tf.Variable>();
    for (const p of [fu, fi]) for (const [k, v] of p.weights) this.params.set(`${p.name}.${k}`, v);
  }

  private get padId(): number {
    return this.lm.config.padTokenId ?? this.lm.config.eosTokenId ?? 0;
  }

  private get eosId(): number {
    const e = this.lm.config.eosTokenId ?? this.lm.tokenizer.eosTokenId;
    if (e === undefined) throw new Error('Stage2Model: the LM has no end-of-sequence token');
    return e;
  }

  private item(id: number): PromptItem {
    const title = this.sources.titles[id];
    if (title === undefined) throw new RangeError(`Stage2Model: item ${id} has no title`);
    return { id, title };
  }

  /** e_i of `ids` ([n, itemDim]), from the cache filled by `fit` when present. */
  private itemEmb(ids: number[]): Float32Array {
    const d = this.sources.itemDim;
    if (!this.itemCache) return this.sources.itemEmbeddings(ids);
    const out = new Float32Array(ids.length * d);
    ids.forEach((id, i) => out.set(this.itemCache!.subarray(id * d, id * d + d), i * d));
    return out;
  }

  /**
   * Input embeddings of a batch: prompt token embeddings with the slot rows replaced by
   * F_U(x_u) / F_I(e_i) (differentiably w.r.t. the projectors), targets appended, left-padded.
   * `userReps` ([B, userDim]) skips the sources' userReps call (precomputed x_u).
   */
  buildInputs(examples: Stage2Example[], userReps?: Float32Array): Stage2Inputs {
    const B = examples.length;
    if (B === 0) throw new Error('Stage2Model.buildInputs: no examples');
    const c = this.config;
    const tok = this.lm.tokenizer;
    const pad = this.padId;
    const prompts: RenderedPrompt[] = [];
    const rows: number[][] = [];
    const targetStart: number[] = [];
    const withTarget = examples.every((e) => e.target !== undefined);
    examples.forEach((e, b) => {
      const shown = Array.from(e.history.subarray(Math.max(0, e.history.length - c.historyLength)), (id) => this.item(id));
      const p = renderPrompt(tok, this.sources.template, shown, Array.from(e.candidates, (id) => this.item(id)), { placeholderId: pad, userRef: b });
      prompts.push(p);
      targetStart.push(p.ids.length);
      rows.push(withTarget ? [...p.ids, ...renderTarget(tok, this.sources.titles[e.target!], this.eosId)] : p.ids);
    });
    const T = Math.max(...rows.map((r) => r.length));
    const padOf = rows.map((r) => T - r.length);
    const ids = rows.map((r, b) => [...new Array<number>(padOf[b]).fill(pad), ...r]);
    const maskData = new Float32Array(B * T);
    const index = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) { index[b * T + t] = b * T + t; maskData[b * T + t] = t >= padOf[b] ? 1 : 0; }
    const itemIds: number[] = [];
    prompts.forEach((p, b) => {
      for (const s of p.slots) {
        const col = b * T + padOf[b] + s.position;
        if (s.kind === 'user') index[col] = B * T + b;
        else { index[col] = B * T + B + itemIds.length; itemIds.push(s.ref); }
      }
    });
    let labels: tf.Tensor2D | undefined;
    if (withTarget) {
      const lab = new Int32Array(B * T).fill(-100);
      rows.forEach((r, b) => { for (let t = targetStart[b]; t < r.length; t++) lab[b * T + padOf[b] + t] = r[t]; });
      labels = tf.tensor2d(lab, [B, T], 'int32');
    }
    const xu = userReps ?? this.sources.userReps(examples.map((e) => e.history));
    if (xu.length !== B * this.sources.userDim) throw new Error(`Stage2Model: userReps gave ${xu.length} values for ${B} users of dim ${this.sources.userDim}`);
    const ei = this.itemEmb(itemIds);
    if (ei.length !== itemIds.length * this.sources.itemDim) throw new Error(`Stage2Model: itemEmbeddings gave ${ei.length} values for ${itemIds.length} items of dim ${this.sources.itemDim}`);
    const embeds = tf.tidy(() => {
      const H = this.lm.config.hiddenSize;
      const tokRows = tf.reshape(this.lm.embedTokens(tf.tensor2d(ids, [B, T], 'int32')), [B * T, H]);
      const parts: tf.Tensor2D[] = [tokRows as tf.Tensor2D, this.fu.apply(tf.tensor2d(xu, [B, this.sources.userDim]))];
      if (itemIds.length) parts.push(this.fi.apply(tf.tensor2d(ei, [itemIds.length, this.sources.itemDim])));
      return tf.reshape(tf.gather(tf.concat(parts, 0), tf.tensor1d(index, 'int32')), [B, T, H]) as tf.Tensor3D;
    });
    return { embeds, mask: tf.tensor2d(maskData, [B, T]), labels, prompts, pad: padOf, ids };
  }

  /** Training loss of a batch (differentiable w.r.t. the projectors). */
  lossOf(examples: Stage2Example[], userReps?: Float32Array): tf.Scalar {
    return tf.tidy(() => {
      const inp = this.buildInputs(examples, userReps);
      if (!inp.labels) throw new Error('Stage2Model.lossOf: every example needs a target');
      return causalLMLoss(this.lm, inp.embeds, inp.mask, inp.labels, { recompute: this.config.recompute });
    });
  }

  /** One Adam step on a batch; returns the loss. Only the projectors change. */
  trainStep(examples: Stage2Example[], adam: Adam, userReps?: Float32Array): number {
    const names = [...this.params.keys()];
    const vars = names.map((n) => this.params.get(n)!);
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => this.lossOf(examples, userReps), vars);
      adam.apply(this.params, Object.fromEntries(names.map((n) => [n, grads[this.params.get(n)!.name]])));
      return value.dataSync()[0];
    });
  }

  /** A new Adam for the projectors with the config's settings. */
  createOptimizer(): Adam {
    const c = this.config;
    return new Adam(c.lr, c.beta1, c.beta2, c.adamEps);
  }

  /** x_u of every history, [n, userDim] row-major, asked of the sources 256 histories at a time. */
  private userRepsOf(histories: Int32Array[], users?: ArrayLike<number>): Float32Array {
    const d = this.sources.userDim;
    const X = new Float32Array(histories.length * d);
    for (let s = 0; s < histories.length; s += 256) {
      const ids = users ? Int32Array.from(Array.prototype.slice.call(users, s, s + 256) as number[]) : undefined;
      X.set(this.sources.userReps(histories.slice(s, s + 256), ids), s * d);
    }
    return X;
  }

  /** Trains F_U and F_I (see the module comment); resumable through `checkpointDir`. */
  async fit(options: Stage2FitOptions): Promise<Stage2FitResult> {
    await selectBackend();
    const c = this.config;
    const { split } = options;
    const seed = options.seed ?? this.seed;
    const epochs = options.epochs ?? c.epochs;
    const numItems = split.numItems;
    if (this.sources.titles.length < numItems + 1) throw new Error(`Stage2Model: ${this.sources.titles.length} titles for ${numItems} items (+ padding)`);
    // Usable users: ≥ 2 training items.
    let users: number[] = [];
    for (let u = 1; u < split.train.length; u++) if ((split.train[u]?.length ?? 0) >= 2) users.push(u);
    if (options.maxUsers !== undefined && users.length > options.maxUsers) {
      users = new Rng(seed).fork('users').shuffle(users).slice(0, options.maxUsers).sort((a, b) => a - b);
    }
    if (users.length === 0) throw new Error('Stage2Model: no user has 2 or more training items');
    const histories = users.map((u) => split.train[u].subarray(0, split.train[u].length - 1));
    const targets = users.map((u) => split.train[u][split.train[u].length - 1]);
    const d = this.sources.userDim;
    const X = this.userRepsOf(histories, users);
    this.itemCache = this.sources.itemEmbeddings(Int32Array.from({ length: numItems + 1 }, (_, i) => i));
    const stepsPerEpoch = Math.ceil(users.length / c.batchSize);
    const adam = this.createOptimizer();
    const history: Stage2EpochStats[] = [];
    let resumed = 0;
    let averaged: Map<string, Float32Array> | undefined;
    if (options.checkpointDir && isArtifact(options.checkpointDir)) ({ epoch: resumed, averaged } = await this.resume(options.checkpointDir, seed, users.length, adam, history));
    const iface = this.lm.config.slotInterface;
    let warmStart: WarmStartResult | undefined;
    if (resumed === 0 && iface && c.warmStartSteps > 0) {
      const pre = prefixExamples(split, users);
      warmStart = warmStartProjectors(this.fu, this.fi, iface, this.lm.config.hiddenSize, {
        ...pre, split, X: this.userRepsOf(pre.histories), userDim: d, items: this.itemCache, itemDim: this.sources.itemDim, historyLength: c.historyLength, numCandidates: c.numCandidates,
        ...(this.sources.cfScores ? { teacher: (h: Int32Array[], cands: Int32Array[]) => this.sources.cfScores!(h, cands) } : {}),
      }, {
        steps: c.warmStartSteps, seed, distill: c.warmStartDistill,
        onProgress: (step, loss) => options.onProgress?.({ task: 'stage2:warm-start', current: step, total: c.warmStartSteps, unit: 'step', values: { loss: Math.round(loss * 1e4) / 1e4 } }),
      });
    }
    // θ̄ starts at the warm start's (or the checkpoint's) weights.
    const average = c.weightAverage > 0 ? new WeightAverage(c.weightAverage, this.params) : undefined;
    if (average && resumed > 0) {
      if (!averaged) throw new Error(`Stage2Model: the checkpoint in ${options.checkpointDir} keeps no weight average; remove it or use another directory`);
      average.restore(averaged);
    }
    const t0 = performance.now();
    let stepsRun = 0;
    try {
      for (let epoch = resumed + 1; epoch <= epochs; epoch++) {
        const e0 = performance.now();
        const order = new Rng(seed).fork(`epoch:${epoch}`).shuffle(Int32Array.from({ length: users.length }, (_, i) => i));
        let sum = 0;
        for (let s = 0; s < stepsPerEpoch; s++) {
          const idx = order.subarray(s * c.batchSize, Math.min(users.length, (s + 1) * c.batchSize));
          const rng = new Rng(seed).fork(`epoch:${epoch}:step:${s}`);
          const xb = new Float32Array(idx.length * d);
          const examples = Array.from(idx, (i, b) => {
            xb.set(X.subarray(i * d, i * d + d), b * d);
            const cands = sampleCandidates(rng, { target: targets[i], numItems, exclude: interactedItems(split, users[i]), count: c.numCandidates - 1 });
            rng.shuffle(cands);
            return { history: histories[i], candidates: cands, target: targets[i] };
          });
          options.onBatch?.(examples, epoch, s);
          const loss = this.trainStep(examples, adam, xb);
          average?.update();
          if (!Number.isFinite(loss)) throw new Error(`Stage2Model: loss became ${loss} at epoch ${epoch}, step ${s + 1}`);
          sum += loss;
          stepsRun++;
          options.onProgress?.({ task: 'stage2:step', current: (epoch - 1) * stepsPerEpoch + s + 1, total: epochs * stepsPerEpoch, unit: 'step', values: { loss: Math.round(loss * 1e4) / 1e4 } });
        }
        const stats = { epoch, steps: stepsPerEpoch, loss: sum / stepsPerEpoch, seconds: (performance.now() - e0) / 1000 };
        history.push(stats);
        options.onProgress?.({ task: 'stage2:train', current: epoch, total: epochs, unit: 'epoch', done: epoch === epochs, values: { loss: Math.round(stats.loss * 1e4) / 1e4 } });
        if (options.checkpointDir) await this.writeCheckpoint(options.checkpointDir, seed, users.length, epoch, adam, history, average);
      }
      average?.apply();
    } finally {
      adam.dispose();
      average?.dispose();
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    return { epochs: history, trainUsers: users.length, stepsPerEpoch, trainSeconds, stepSeconds: stepsRun ? trainSeconds / stepsRun : 0, resumedFrom: resumed, ...(warmStart ? { warmStart } : {}) };
  }

  private shapes(): Record<string, number[]> {
    return Object.fromEntries([...this.params].map(([k, v]) => [k, v.shape]));
  }

  private runKey(seed: number, users: number): string {
    const { epochs: _e, ...rest } = this.config;
    return JSON.stringify({ config: rest, seed, users, userDim: this.sources.userDim, itemDim: this.sources.itemDim, hidden: this.lm.config.hiddenSize });
  }

  private async writeCheckpoint(dir: string, seed: number, users: number, epoch: number, adam: Adam, history: Stage2EpochStats[], average?: WeightAverage): Promise<void> {
    const params = new Map<string, Float32Array>();
    for (const [k, v] of this.params) params.set(k, v.dataSync().slice() as Float32Array);
    await writeTrainingCheckpoint(dir, CHECKPOINT_KIND, this.shapes(), {
      meta: { runKey: this.runKey(seed, users), epoch, history }, params, adam: adam.state(),
      ...(average ? { groups: { average: average.values() } } : {}),
    });
  }

  /** Restores params, Adam and history from a checkpoint; returns its epoch and the weight average it kept. */
  private async resume(dir: string, seed: number, users: number, adam: Adam, history: Stage2EpochStats[]): Promise<{ epoch: number; averaged?: Map<string, Float32Array> }> {
    const ck = await readTrainingCheckpoint<{ runKey: string; epoch: number; history: Stage2EpochStats[] }>(dir, CHECKPOINT_KIND);
    if (ck.meta.runKey !== this.runKey(seed, users)) {
      throw new Error(`Stage2Model: the checkpoint in ${dir} was written for another run (config, seed, users or dimensions differ); remove it or use another directory`);
    }
    for (const [key, data] of ck.params) tf.tidy(() => this.params.get(key)!.assign(tf.tensor(data, this.params.get(key)!.shape)));
    adam.restore(ck.adam, this.shapes());
    history.push(...ck.meta.history);
    const averaged = ck.groups?.average;
    return { epoch: ck.meta.epoch, ...(averaged?.size ? { averaged } : {}) };
  }

  // -------------------------------------------------------------------------------------------
  // Inference.

  /**
   * Greedy answers for a batch of prompts (no targets), on tfjs or on `inference` when given.
   */
  async generateTexts(examples: Stage2Example[], userReps?: Float32Array, inference?: CausalLM): Promise<string[]> {
    const inp = this.buildInputs(examples.map((e) => ({ history: e.history, candidates: e.candidates })), userReps);
    // Generation stops at the LM's context window (a prompt that fills it leaves room for a short answer only).
    const room = Math.max(1, this.lm.config.maxPositions - inp.embeds.shape[1]);
    const opts = { maxNewTokens: Math.min(this.config.maxNewTokens, room), repetitionPenalty: this.config.repetitionPenalty, eosTokenId: this.eosId };
    try {
      const gen = await generate(this.runtime(inference), inp.embeds, inp.mask, opts);
      return gen.map((g) => this.lm.tokenizer.decode(g));
    } finally {
      inp.embeds.dispose();
      inp.mask.dispose();
    }
  }

  /** The LM inference runs on: `inference` when given (checked against the trained LM), else the trained LM. */
  private runtime(inference?: CausalLM): CausalLM {
    if (!inference || inference === this.lm) return this.lm;
    const a = this.lm.config;
    const b = inference.config;
    if (a.vocabSize !== b.vocabSize || a.hiddenSize !== b.hiddenSize) {
      throw new Error(`Stage2Model: the inference LM (${b.modelType}, vocabulary ${b.vocabSize}, width ${b.hiddenSize}) is not the trained one (${a.modelType}, ${a.vocabSize}, ${a.hiddenSize})`);
    }
    return inference;
  }

  /** Log-probability of each candidate's `"<title>"` + EOS after the prompt (one prompt), on tfjs or `inference`. */
  async scoreCandidates(example: Stage2Example, userReps?: Float32Array, inference?: CausalLM): Promise<Float32Array> {
    const inp = this.buildInputs([{ history: example.history, candidates: example.candidates }], userReps);
    try {
      const conts = Array.from(example.candidates, (id) => renderTarget(this.lm.tokenizer, this.item(id).title, this.eosId));
      return await scoreContinuations(this.runtime(inference), inp.embeds, inp.mask, conts);
    } finally {
      inp.embeds.dispose();
      inp.mask.dispose();
    }
  }

  /** The paper's test protocol (see the module comment). */
  async evaluate(split: LeaveOneOutSplit, options: Stage2EvalOptions = {}): Promise<Stage2EvalResult> {
    const set = buildEvalSet(split, getProtocol('test-20'), { seed: options.seed, maxUsers: options.maxUsers });
    return this.evaluateSet(set, options);
  }

  /**
   * Stage 2 on a given evaluation set (histories, shuffled candidates, targets), so other models
   * can be scored on exactly the same users and candidates. `seed`/`maxUsers` are ignored here.
   */
  async evaluateSet(set: EvalSet, options: Stage2EvalOptions = {}): Promise<Stage2EvalResult> {
    await selectBackend();
    const n = set.users.length;
    const doGen = options.generate ?? true;
    const doRank = options.rank ?? true;
    const outputs: string[] = [];
    let hits = 0;
    let valid = 0;
    const scores: Float32Array[] = [];
    const B = this.config.batchSize;
    const d = this.sources.userDim;
    for (let s = 0; s < n; s += B) {
      const end = Math.min(n, s + B);
      const examples: Stage2Example[] = [];
      for (let i = s; i < end; i++) examples.push({ history: set.histories[i], candidates: set.candidates[i] });
      const xu = this.sources.userReps(examples.map((e) => e.history), set.users.slice(s, end));
      if (doGen) {
        const texts = await this.generateTexts(examples, xu, options.inference);
        texts.forEach((text, j) => {
          const i = s + j;
          if (matchesTitle(text, this.item(set.targets[i]).title)) hits++;
          if (namedCandidate(text, Array.from(set.candidates[i], (id) => this.item(id).title)) >= 0) valid++;
          if (options.keepOutputs) outputs.push(text);
        });
      }
      if (doRank) {
        for (let j = 0; j < examples.length; j++) scores.push(await this.scoreCandidates(examples[j], xu.subarray(j * d, (j + 1) * d), options.inference));
      }
      options.onProgress?.({ task: 'stage2:eval', current: end, total: n, unit: 'user', done: end === n });
    }
    const m = doRank && n ? evaluateScores(set, scores).metrics : undefined;
    const result: Stage2EvalResult = {
      users: n,
      hit1_generate: doGen && n ? hits / n : NaN,
      valid_output_rate: doGen && n ? valid / n : NaN,
      hit1_rank: m ? m.hit1 : NaN,
      hit5_rank: m ? m.hit5 : NaN,
      ndcg5_rank: m ? m.ndcg5 : NaN,
      ndcg10_rank: m ? m.ndcg10 : NaN,
    };
    if (options.keepOutputs) result.outputs = outputs;
    return result;
  }

  /**
   * One recommendation (for `allmrec recommend`): generated answer, the candidate it names, the
   * ranking; the LM's forward runs on `inference` when given, else on tfjs.
   */
  async recommend(history: Int32Array, candidates: Int32Array, inference?: CausalLM): Promise<Stage2Recommendation> {
    const ex = { history, candidates };
    const [text] = await this.generateTexts([ex], undefined, inference);
    const idx = namedCandidate(text, Array.from(candidates, (id) => this.item(id).title));
    const lp = await this.scoreCandidates(ex, undefined, inference);
    const ranked = Array.from(candidates, (item, i) => ({ item, logProb: lp[i] })).sort((a, b) => b.logProb - a.logProb);
    return { text, chosen: idx >= 0 ? candidates[idx] : -1, ranked };
  }

  // -------------------------------------------------------------------------------------------
  // Save / load.

  /** Writes the projectors (artifact kind "allmrec.stage2"), atomically. */
  async save(dir: string): Promise<void> {
    const tensors: Record<string, TensorInput> = { ...this.fu.values(), ...this.fi.values() };
    await writeArtifact(dir, {
      kind: STAGE2_KIND,
      config: {
        config: this.config, seed: this.seed, userDim: this.sources.userDim, itemDim: this.sources.itemDim,
        hiddenSize: this.lm.config.hiddenSize, lm: { modelType: this.lm.config.modelType, vocabSize: this.lm.config.vocabSize }, template: this.sources.template,
      },
      tensors,
    });
  }

  /** Loads projectors written by {@link save} for `lm` and `sources` (dimensions are checked). */
  static async load(dir: string, lm: CausalLM, sources: Stage2Sources, config: Partial<Stage2Config> = {}): Promise<Stage2Model> {
    await selectBackend();
    const art = await readArtifact(dir, { expectKind: STAGE2_KIND });
    const cfg = art.config as { config: Stage2Config; seed: number; userDim: number; itemDim: number; hiddenSize: number };
    if (cfg.userDim !== sources.userDim || cfg.itemDim !== sources.itemDim || cfg.hiddenSize !== lm.config.hiddenSize) {
      throw new Error(`Stage2Model.load: ${dir} was trained for userDim ${cfg.userDim}, itemDim ${cfg.itemDim}, LM hidden ${cfg.hiddenSize}; got ${sources.userDim}, ${sources.itemDim}, ${lm.config.hiddenSize}`);
    }
    const model = new Stage2Model(lm, sources, { ...cfg.config, ...config }, cfg.seed);
    const values = new Map([...art.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
    model.fu.load(values);
    model.fi.load(values);
    return model;
  }

  /** Releases the projectors (the LM belongs to the caller). */
  dispose(): void {
    this.fu.dispose();
    this.fi.dispose();
    this.itemCache = undefined;
  }
}
