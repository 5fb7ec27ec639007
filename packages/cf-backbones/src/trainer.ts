/**
 * The training loop every built-in backbone shares: seeded epochs of Adam steps, progress events,
 * per-epoch stats, early stopping through `onEpochEnd`, and checkpoint/resume. A backbone supplies
 * its parameter shapes, its initial values and one step (loss and gradients); the loop does the rest.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  Adam, Rng, isArtifact, readTrainingCheckpoint, selectBackend, writeArtifact, readArtifact, writeTrainingCheckpoint,
} from '@allmrec/core';
import type { EpochStats, FitOptions, FitResult } from './backbone';

/** A model's parameters as tfjs variables, by name, with the shapes they must have. */
export class ParamSet {
  private vars: Map<string, tf.Variable> | undefined;

  constructor(readonly owner: string, readonly shapes: Record<string, number[]>) {}

  /** True once values were set. */
  get ready(): boolean {
    return this.vars !== undefined;
  }

  /** Replaces every parameter. @throws Error naming a missing or mis-sized parameter. */
  set(values: Map<string, Float32Array>): void {
    const next = new Map<string, tf.Variable>();
    try {
      for (const [name, shape] of Object.entries(this.shapes)) {
        const v = values.get(name);
        if (!v) throw new Error(`${this.owner}: missing parameter ${name}`);
        const size = shape.reduce((a, b) => a * b, 1);
        if (v.length !== size) throw new Error(`${this.owner}: parameter ${name} has ${v.length} values, expected [${shape}]`);
        // The variable takes its own reference to the data; the upload tensor is not needed after.
        const t = tf.tensor(v, shape);
        next.set(name, tf.variable(t, false));
        t.dispose();
      }
    } catch (err) {
      for (const t of next.values()) t.dispose();
      throw err;
    }
    this.dispose();
    this.vars = next;
  }

  /** The variables (for steps and Adam). @throws Error when the model has no weights yet. */
  get variables(): Map<string, tf.Variable> {
    if (!this.vars) throw new Error(`${this.owner}: the model has no weights yet; call fit() or load()`);
    return this.vars;
  }

  /** The variables as a plain record (what step functions index). */
  record(): Record<string, tf.Variable> {
    return Object.fromEntries(this.variables);
  }

  /** Copies of every parameter's values. */
  values(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.variables) out.set(k, v.dataSync().slice() as Float32Array);
    return out;
  }

  /** One parameter's values (a view; do not modify). */
  get(name: string): Float32Array {
    const v = this.variables.get(name);
    if (!v) throw new Error(`${this.owner}: no parameter ${name}`);
    return v.dataSync() as Float32Array;
  }

  dispose(): void {
    if (this.vars) for (const v of this.vars.values()) v.dispose();
    this.vars = undefined;
  }
}

/** What a backbone gives {@link fitWithAdam}. */
export interface TrainingSpec {
  /** Model name, used in messages and progress tasks (`<model>:step`, `<model>:train`). */
  model: string;
  /** Artifact kind of the checkpoint. */
  checkpointKind: string;
  /** Everything that must match for a checkpoint to be resumed (numItems, config, data size...). */
  runKey: unknown;
  epochs: number;
  stepsPerEpoch: number;
  adam: { lr: number; beta1: number; beta2: number; eps: number };
  /** Initial parameter values for this seed. */
  init(rng: Rng): Map<string, Float32Array>;
  /** Called once per epoch before its steps (e.g. to shuffle), with the epoch's generator. */
  beginEpoch?(epoch: number, rng: Rng): void;
  /**
   * One training step, called inside tf.tidy: the loss and the gradient of each parameter that has
   * one (names as in the ParamSet). Draw all randomness from `rng`.
   */
  step(params: Record<string, tf.Variable>, rng: Rng, epoch: number, step: number): { loss: tf.Scalar; grads: Record<string, tf.Tensor> };
}

/**
 * Trains `params` with Adam for `spec.epochs` epochs (or `options.epochs`). The same seed and data
 * give the same parameters; with `options.checkpointDir` it writes a checkpoint every
 * `checkpointEvery` epochs and resumes from one written for the same run.
 * @throws Error when the loss is not finite, or the checkpoint belongs to another run.
 */
export async function fitWithAdam(spec: TrainingSpec, params: ParamSet, options: FitOptions): Promise<FitResult> {
  await selectBackend();
  const epochs = options.epochs ?? spec.epochs;
  if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`${spec.model}: epochs must be a non-negative integer, got ${epochs}`);
  const { seed } = options;
  const adam = new Adam(spec.adam.lr, spec.adam.beta1, spec.adam.beta2, spec.adam.eps);
  const runKey = JSON.stringify({ key: spec.runKey, seed });
  let resumed = 0;
  if (options.checkpointDir && isArtifact(options.checkpointDir)) {
    const ck = await readTrainingCheckpoint<{ runKey: string; epoch: number }>(options.checkpointDir, spec.checkpointKind);
    if (ck.meta.runKey !== runKey) {
      throw new Error(`${spec.model}: the checkpoint in ${options.checkpointDir} was written for another run (config, seed or data differ); remove it or use another directory`);
    }
    params.set(ck.params);
    adam.restore(ck.adam, params.shapes);
    resumed = ck.meta.epoch;
  } else {
    params.set(spec.init(new Rng(seed).fork('init')));
  }
  const every = options.checkpointEvery ?? 10;
  const es = options.earlyStopping;
  if (es && !(Number.isInteger(es.patience) && es.patience >= 1)) throw new Error(`${spec.model}: earlyStopping.patience must be a positive integer, got ${es.patience}`);
  if (es && es.every !== undefined && !(Number.isInteger(es.every) && es.every >= 1)) throw new Error(`${spec.model}: earlyStopping.every must be a positive integer, got ${es.every}`);
  let best: { epoch: number; score: number; values: Map<string, Float32Array> } | undefined;
  let sinceBest = 0;
  const stepTimes: number[] = [];
  const t0 = performance.now();
  let lastLoss = NaN;
  let ran = resumed;
  try {
    for (let epoch = resumed + 1; epoch <= epochs; epoch++) {
      const rng = new Rng(seed).fork(`epoch:${epoch}`);
      spec.beginEpoch?.(epoch, rng);
      const e0 = performance.now();
      const times: number[] = [];
      let lossSum = 0;
      for (let s = 0; s < spec.stepsPerEpoch; s++) {
        const s0 = performance.now();
        const loss = tf.tidy(() => {
          const r = spec.step(params.record(), rng, epoch, s);
          adam.apply(params.variables, r.grads);
          return r.loss;
        });
        lossSum += loss.dataSync()[0];
        loss.dispose();
        times.push(performance.now() - s0);
        options.onProgress?.({ task: `${spec.model}:step`, current: (epoch - 1) * spec.stepsPerEpoch + s + 1, total: epochs * spec.stepsPerEpoch, unit: 'step' });
      }
      stepTimes.push(...times);
      lastLoss = lossSum / spec.stepsPerEpoch;
      if (!Number.isFinite(lastLoss)) throw new Error(`${spec.model}: loss became ${lastLoss} at epoch ${epoch}`);
      ran = epoch;
      const stats: EpochStats = { epoch, loss: lastLoss, steps: spec.stepsPerEpoch, ms: performance.now() - e0, msPerStep: median(times) };
      options.onProgress?.({
        task: `${spec.model}:train`, current: epoch, total: epochs, unit: 'epoch',
        values: { loss: Number(lastLoss.toFixed(4)), ms_step: Number(stats.msPerStep.toFixed(1)) }, done: epoch === epochs,
      });
      let stop = !!(await options.onEpochEnd?.(epoch, stats));
      if (es && (epoch % (es.every ?? 1) === 0 || epoch === epochs)) {
        const score = await es.score(epoch);
        if (!Number.isFinite(score)) throw new Error(`${spec.model}: early-stopping score is ${score} at epoch ${epoch}`);
        if (!best || score > best.score) {
          best = { epoch, score, values: params.values() };
          sinceBest = 0;
        } else if (++sinceBest >= es.patience) {
          stop = true;
        }
        options.onProgress?.({ task: `${spec.model}:valid`, current: epoch, total: epochs, unit: 'epoch', values: { score: Number(score.toFixed(4)), best: Number(best.score.toFixed(4)), best_epoch: best.epoch } });
      }
      if (options.checkpointDir && (epoch % every === 0 || epoch === epochs || stop)) {
        await writeTrainingCheckpoint(options.checkpointDir, spec.checkpointKind, params.shapes, {
          meta: { runKey, epoch }, params: params.values(), adam: adam.state(),
        });
      }
      if (stop) break;
    }
  } finally {
    adam.dispose();
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  if (best && best.epoch !== ran) params.set(best.values);
  return {
    epochs: ran, stepsPerEpoch: spec.stepsPerEpoch, msPerStep: median(stepTimes), trainSeconds,
    finalLoss: lastLoss, resumedFrom: resumed, ...(best ? { bestEpoch: best.epoch, bestScore: best.score } : {}),
  };
}

/** A tensor a model saves beside its parameters (e.g. the training graph LightGCN propagates over). */
export interface ExtraTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

/**
 * Saves a frozen model: its parameters and a JSON config, as an artifact of `kind`, plus `extra`
 * tensors that are part of the model but not trained (integer ones stay integer).
 * @throws Error when an extra tensor has a parameter's name.
 */
export async function saveParams(
  dir: string, kind: string, config: Record<string, unknown>, params: ParamSet, extra: Record<string, ExtraTensor> = {},
): Promise<void> {
  const tensors: Record<string, ExtraTensor> = {};
  for (const [k, v] of params.values()) tensors[k] = { shape: params.shapes[k], data: v };
  for (const [k, t] of Object.entries(extra)) {
    if (k in tensors) throw new Error(`${kind}: extra tensor ${k} has the name of a parameter`);
    tensors[k] = t;
  }
  await writeArtifact(dir, { kind, config, tensors });
}

/**
 * Reads what {@link saveParams} wrote: the config, the float tensors by name (the parameters and
 * any float extras; ParamSet.set takes the ones it knows) and the integer extras.
 */
export async function loadParams(dir: string, kind: string): Promise<{
  config: Record<string, unknown>; values: Map<string, Float32Array>; ints: Map<string, Int32Array>;
}> {
  await selectBackend();
  const art = await readArtifact(dir, { expectKind: kind });
  const values = new Map<string, Float32Array>();
  const ints = new Map<string, Int32Array>();
  for (const [k, t] of art.tensors) {
    if (t.data instanceof Int32Array) ints.set(k, t.data);
    else values.set(k, t.data as Float32Array);
  }
  return { config: art.config as Record<string, unknown>, values, ints };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
