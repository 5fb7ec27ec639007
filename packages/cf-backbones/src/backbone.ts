import type { LeaveOneOutSplit, ProgressListener } from '@allmrec/core';

/** Options every backbone's `fit` accepts. Backbones add their own hyper-parameters in config. */
export interface FitOptions {
  /** Seed for initialisation, sampling and dropout; the same seed and data give the same model. */
  seed: number;
  /** Number of epochs (overrides the backbone's default). */
  epochs?: number;
  /** Receives progress events (one per epoch, plus step events). */
  onProgress?: ProgressListener;
  /** Called after each epoch; return true to stop early. Used for validation-based early stopping. */
  onEpochEnd?: (epoch: number, stats: EpochStats) => boolean | void | Promise<boolean | void>;
  /** Directory to checkpoint into after each epoch so an interrupted fit resumes. */
  checkpointDir?: string;
  /** Checkpoint every this many epochs (default 10) when `checkpointDir` is set. */
  checkpointEvery?: number;
  /**
   * Early stopping on a validation score (higher is better), as RecBole does: `score` is called
   * every `every` epochs (default 1) while training; after `patience` calls without improvement
   * training stops, and the model keeps the weights of its best-scoring epoch.
   */
  earlyStopping?: EarlyStopping;
}

/** See {@link FitOptions.earlyStopping}. */
export interface EarlyStopping {
  /** Validation score of the model as it is now (called between epochs; the model is not frozen). */
  score: (epoch: number) => number | Promise<number>;
  /** Evaluations without improvement before stopping (RecBole's stopping_step, 10). */
  patience: number;
  /** Evaluate every this many epochs (default 1). */
  every?: number;
}

/** What a backbone reports after an epoch. */
export interface EpochStats {
  epoch: number;
  loss: number;
  steps: number;
  /** Wall time of the epoch in milliseconds. */
  ms: number;
  /** Milliseconds per training step in this epoch (median). */
  msPerStep: number;
}

/**
 * A collaborative-filtering backbone (CF-RecSys in the paper). After `fit` it is frozen: the
 * alignment stages only read `itemEmbeddings` (E_i) and `userRepresentations` (x_u).
 *
 * Item ids are 1..numItems (0 = padding); histories are time-ordered item ids, oldest first.
 * `users` (optional, aligned with `histories`) are the users' ids in the split the model was
 * trained on; models with per-user parameters (BPR, NCF, LightGCN) use the trained user's
 * parameters when it is given and known, and otherwise compute x_u from the history alone (each
 * such model documents how). Sequential models ignore it.
 */
export interface CFBackbone {
  /** Registry name, e.g. "sasrec". */
  readonly name: string;
  /** Dimension d of item embeddings and user representations. */
  readonly dim: number;
  /** Number of items the backbone knows (ids 1..numItems). */
  readonly numItems: number;
  /** True once trained or loaded; a frozen backbone refuses to `fit` again. */
  readonly frozen: boolean;
  /**
   * Whether the model reads the order of a history (default true when absent). Order-free models
   * (pop, BPR, LightGCN, NCF) train on datasets without timestamps; sequential ones refuse them.
   */
  readonly usesOrder?: boolean;
  /** Trains on the training part of a split, then freezes. */
  fit(split: LeaveOneOutSplit, options: FitOptions): Promise<FitResult>;
  /** E_i: item embeddings for `ids`, shape [ids.length, dim], row-major. */
  itemEmbeddings(ids: ArrayLike<number>): Float32Array;
  /** x_u: one representation per history, shape [histories.length, dim], row-major. */
  userRepresentations(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array;
  /** Scores of candidates per history; shape [histories.length][candidates[b].length]. Higher is better. */
  score(histories: ArrayLike<number>[], candidates: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array[];
  /**
   * Scores of every item per history for full-ranking evaluation: [histories.length, numItems + 1]
   * row-major, column i = item i (column 0, padding, is ignored). Must agree with `score`. A model
   * without it cannot be evaluated by full ranking and the evaluator says so.
   */
  scoreAll?(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array;
  /** Writes the model as an artifact directory (atomically). */
  save(dir: string): Promise<void>;
  /** Releases tensors. */
  dispose(): void;
}

/** What `fit` returns. */
export interface FitResult {
  epochs: number;
  stepsPerEpoch: number;
  /** Median milliseconds per training step over the run. */
  msPerStep: number;
  /** Total training seconds. */
  trainSeconds: number;
  /** Loss of the last epoch. */
  finalLoss: number;
  /** Epoch training resumed from (0 when it started fresh). */
  resumedFrom: number;
  /** With early stopping: the epoch whose weights were kept, and its validation score. */
  bestEpoch?: number;
  bestScore?: number;
}

/** Creates a fresh, untrained backbone for a catalogue of `numItems` items. */
export type BackboneFactory = (numItems: number, config?: Record<string, unknown>) => CFBackbone;

/** Loads a saved backbone from an artifact directory. */
export type BackboneLoader = (dir: string) => Promise<CFBackbone>;
