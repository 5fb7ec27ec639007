/**
 * Warm start of F_U and F_I on an LM's slot interface (an initialisation, before Stage 2's own
 * training through the LM).
 *
 * An LM pretrained with a wired matching head (`GPT2Spec.lookBack.match`, recorded in its
 * config.json as `allmrec_slot_interface`) answers with the candidate whose slot vector, read in
 * the item subspace S, is most similar to the user slot's vector, read in the user subspace U.
 * From a random start, Stage 2 learns to switch that head off instead of steering it, because a
 * head that copies random titles only costs loss: measured on ml-100k after 5 epochs, the answer
 * position's attention to all 30 item slots was 0.19 from Xavier's start and 0.03 with the
 * projectors' last layers scaled ×0.1 (every slot's key turned away from the query). The warm start trains the projectors for a few thousand cheap steps on a surrogate of
 * that circuit, without running the LM:
 *
 *   logit_j = τ · cos(F_U(x_u)[U], F_I(e_j)[S])       j over the prompt's candidates (and its shown
 *                                                     history, unless the LM's section flag hides it)
 *   loss    = (1 − α)·CE(logits, target) + α·CE(logits, softmax(s_j / T))
 *             + |F(·) outside its subspace|² + (|F(·) in it| − 1)²
 *
 * so Stage 2 starts from projectors that write unit vectors where the LM reads them and that
 * already rank the next item first among the prompt's items, drawn from every prefix of the
 * training sequences ({@link prefixExamples}). Stage 2 then trains through the LM as in the paper.
 * s_j are the CF model's own scores of the candidates (`WarmStartData.teacher`; α = 0 without):
 * its whole ranking of the prompt is a richer target than the one next item.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Adam, Rng, type LeaveOneOutSplit } from '@allmrec/core';
import type { Projector } from '@allmrec/alignment';
import { interactedItems, sampleCandidates } from '@allmrec/eval';
import type { SlotInterface } from './causal-lm';

/** Options of {@link warmStartProjectors}. */
export interface WarmStartOptions {
  steps: number;
  seed: number;
  /** Users per step (default 64). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Temperature τ of the surrogate's cosine logits (default 10). */
  temperature?: number;
  /**
   * Weight α of the CF model's own ranking in the loss, when `WarmStartData.teacher` is given
   * (default 0): (1 − α)·CE(target) + α·CE(softmax(teacher scores / T)). The teacher's soft
   * ranking of all the prompt's candidates carries more than the one target does.
   */
  distill?: number;
  /** Temperature T of the teacher's scores (default 1). */
  teacherTemperature?: number;
  onProgress?: (step: number, loss: number) => void;
}

/** What the warm start measured. */
export interface WarmStartResult {
  steps: number;
  /** Mean surrogate loss over the last 50 steps. */
  loss: number;
  /** Share of the last 50 steps' prompts whose target the surrogate ranked first among the prompt's items. */
  hit1: number;
  /** Weight of the teacher's ranking in the loss (0 when no teacher was given). */
  distill: number;
  seconds: number;
}

/**
 * The warm start's examples: every prefix of each user's training sequence (the last
 * `maxPerUser`) with the item that follows it, as the CF backbone was trained. One example per
 * user (Stage 2's own) fits the surrogate to 943 ml-100k users and ranks held-out targets first in
 * 32% of test prompts; all prefixes (≈ 95k) rank them first in 41% (SASRec: 46%).
 */
export function prefixExamples(split: LeaveOneOutSplit, users: number[], maxPerUser = 50): { users: number[]; histories: Int32Array[]; targets: number[] } {
  const out = { users: [] as number[], histories: [] as Int32Array[], targets: [] as number[] };
  for (const u of users) {
    const seq = split.train[u];
    for (let t = Math.max(1, seq.length - maxPerUser); t < seq.length; t++) {
      out.users.push(u);
      out.histories.push(seq.subarray(0, t));
      out.targets.push(seq[t]);
    }
  }
  return out;
}

/** The training examples the warm start draws from (e.g. {@link prefixExamples} with their x_u). */
export interface WarmStartData {
  split: LeaveOneOutSplit;
  users: number[];
  /** x_u of every user in `users` order, [n, userDim]. */
  X: Float32Array;
  userDim: number;
  histories: Int32Array[];
  targets: number[];
  /** e_i of every item id (row 0 = padding), [numItems + 1, itemDim]. */
  items: Float32Array;
  itemDim: number;
  historyLength: number;
  numCandidates: number;
  /**
   * The CF model's scores of `candidates[b]` after `histories[b]` (e.g. `CFBackbone.score`),
   * distilled into the surrogate with weight `WarmStartOptions.distill`; absent = targets only.
   */
  teacher?: (histories: Int32Array[], candidates: Int32Array[]) => Float32Array[];
}

/**
 * Trains `fu` and `fi` in place on the surrogate of the module comment. Deterministic in
 * `options.seed`; every intermediate tensor is released.
 */
export function warmStartProjectors(fu: Projector, fi: Projector, iface: SlotInterface, hidden: number, data: WarmStartData, options: WarmStartOptions): WarmStartResult {
  const t0 = performance.now();
  const B = options.batchSize ?? 64;
  const tau = options.temperature ?? 10;
  const alpha = data.teacher ? options.distill ?? 0 : 0;
  const teacherT = options.teacherTemperature ?? 1;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`warmStartProjectors: distill must be in [0, 1], got ${options.distill}`);
  if (!(teacherT > 0)) throw new RangeError(`warmStartProjectors: teacherTemperature must be positive, got ${options.teacherTemperature}`);
  // With a section flag the LM's matching head never compares the history: rank the candidates only.
  const shownHistory = iface.section === undefined ? data.historyLength : 0;
  const K = data.numCandidates + shownHistory; // items per prompt (history padded)
  const dh = iface.user[1] - iface.user[0];
  if (iface.item[1] - iface.item[0] !== dh) throw new RangeError(`warmStartProjectors: the user slice [${iface.user}] and the item slice [${iface.item}] differ in width`);
  const params = new Map<string, tf.Variable>();
  for (const p of [fu, fi]) for (const [k, v] of p.weights) params.set(`${p.name}.${k}`, v);
  const names = [...params.keys()];
  const vars = names.map((n) => params.get(n)!);
  const adam = new Adam(options.lr ?? 1e-3, 0.9, 0.98, 1e-8);
  const inside = (range: [number, number]) => {
    const m = new Float32Array(hidden);
    m.fill(1, range[0], range[1]);
    return tf.tensor1d(m);
  };
  const inU = inside(iface.user);
  const inS = inside(iface.item);
  const itemTable = tf.tensor2d(data.items, [data.items.length / data.itemDim, data.itemDim]);
  const recent: { loss: number; hit: number }[] = [];
  try {
    for (let step = 0; step < options.steps; step++) {
      const rng = new Rng(options.seed).fork(`warm-start:${step}`);
      const xb = new Float32Array(B * data.userDim);
      const ids = new Int32Array(B * K);
      const valid = new Float32Array(B * K);
      const soft = alpha > 0 ? new Float32Array(B * K) : undefined; // the teacher's ranking of each row's candidates
      const shownCands: Int32Array[] = [];
      const examples: Int32Array[] = [];
      for (let b = 0; b < B; b++) {
        const i = rng.int(data.users.length);
        xb.set(data.X.subarray(i * data.userDim, (i + 1) * data.userDim), b * data.userDim);
        const cands = sampleCandidates(rng, { target: data.targets[i], numItems: data.split.numItems, exclude: interactedItems(data.split, data.users[i]), count: data.numCandidates - 1 });
        const shown = data.histories[i].subarray(Math.max(0, data.histories[i].length - shownHistory));
        // The target goes first; its column is the label.
        ids[b * K] = data.targets[i];
        let k = 1;
        for (const c of cands) if (c !== data.targets[i] && k < data.numCandidates) ids[b * K + k++] = c;
        for (let j = 0; j < k; j++) valid[b * K + j] = 1;
        if (soft) { examples.push(data.histories[i]); shownCands.push(ids.slice(b * K, b * K + k)); }
        for (let j = 0; j < shown.length; j++) { ids[b * K + data.numCandidates + j] = shown[j]; valid[b * K + data.numCandidates + j] = 1; }
      }
      if (soft) teacherTargets(data.teacher!(examples, shownCands), shownCands, teacherT, soft, K);
      let loss = 0;
      let hit = 0;
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const u = fu.apply(tf.tensor2d(xb, [B, data.userDim])); // [B, H]
          const c = fi.apply(tf.gather(itemTable, tf.tensor1d(ids, 'int32')) as tf.Tensor2D); // [B·K, H]
          // The matching head compares coordinate j of U with coordinate j of S.
          const uIn = tf.mul(u, inU);
          const cIn = tf.mul(c, inS);
          const uj = tf.slice(u, [0, iface.user[0]], [B, dh]);
          const cj = tf.slice(c, [0, iface.item[0]], [B * K, dh]);
          const un = tf.norm(uj, 'euclidean', 1, true);
          const cn = tf.norm(cj, 'euclidean', 1, true);
          const cos = tf.sum(tf.mul(tf.reshape(tf.div(cj, tf.add(cn, 1e-6)), [B, K, dh]), tf.expandDims(tf.div(uj, tf.add(un, 1e-6)), 1)), 2); // [B, K]
          const mask = tf.tensor2d(valid, [B, K]);
          const logits = tf.add(tf.mul(cos, tau), tf.mul(tf.sub(1, mask), -1e9));
          const logp = tf.logSoftmax(logits);
          let ce: tf.Tensor = tf.neg(tf.mean(tf.slice(logp, [0, 0], [B, 1])));
          if (soft) ce = tf.add(tf.mul(ce, 1 - alpha), tf.mul(tf.neg(tf.mean(tf.sum(tf.mul(tf.tensor2d(soft, [B, K]), logp), 1))), alpha));
          const outside = tf.add(tf.mean(tf.sum(tf.square(tf.sub(u, uIn)), 1)), tf.div(tf.sum(tf.mul(tf.sum(tf.square(tf.sub(c, cIn)), 1), mask.reshape([B * K]))), tf.sum(mask)));
          const norms = tf.add(tf.mean(tf.square(tf.sub(un, 1))), tf.div(tf.sum(tf.mul(tf.square(tf.sub(cn, 1)).reshape([B * K]), mask.reshape([B * K]))), tf.sum(mask)));
          const best = tf.argMax(logits, 1).dataSync();
          for (let b = 0; b < B; b++) if (best[b] === 0) hit++;
          return tf.add(ce, tf.add(outside, norms)) as tf.Scalar;
        }, vars);
        loss = value.dataSync()[0];
        adam.apply(params, Object.fromEntries(names.map((n) => [n, grads[params.get(n)!.name]])));
      });
      if (!Number.isFinite(loss)) throw new Error(`warmStartProjectors: loss became ${loss} at step ${step + 1}`);
      recent.push({ loss, hit: hit / B });
      if (recent.length > 50) recent.shift();
      options.onProgress?.(step + 1, loss);
    }
  } finally {
    tf.dispose([inU, inS, itemTable]);
    adam.dispose();
  }
  const mean = (f: (r: { loss: number; hit: number }) => number) => (recent.length ? recent.reduce((s, r) => s + f(r), 0) / recent.length : NaN);
  return { steps: options.steps, loss: mean((r) => r.loss), hit1: mean((r) => r.hit), distill: alpha, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Writes softmax(scores[b] / T) into row b of `soft` [B, K] (columns past the row's candidates stay 0).
 * @throws if the teacher returned a row of the wrong length or a non-finite score.
 */
function teacherTargets(scores: Float32Array[], candidates: Int32Array[], T: number, soft: Float32Array, K: number): void {
  if (scores.length !== candidates.length) throw new Error(`warmStartProjectors: the teacher returned ${scores.length} rows of scores for ${candidates.length} histories`);
  scores.forEach((row, b) => {
    if (row.length !== candidates[b].length) throw new Error(`warmStartProjectors: the teacher returned ${row.length} scores for ${candidates[b].length} candidates (row ${b})`);
    let max = -Infinity;
    for (const x of row) {
      if (!Number.isFinite(x)) throw new Error(`warmStartProjectors: the teacher returned a non-finite score (${x}) in row ${b}`);
      max = Math.max(max, x);
    }
    let sum = 0;
    for (let j = 0; j < row.length; j++) sum += soft[b * K + j] = Math.exp((row[j] - max) / T);
    for (let j = 0; j < row.length; j++) soft[b * K + j] /= sum;
  });
}
