/**
 * Popularity, as RecBole 1.2.1's Pop: every user gets the items ranked by how often they occur in
 * the training data. The baseline every other backbone must beat.
 *
 *   count_i = number of training interactions with item i (a repeated interaction counts again)
 *   E_i     = [count_i],  x_u = [1]  (dim 1)  so  score(u, i) = <x_u, E_i> = count_i
 *
 * x_u carries nothing about the user; it exists so the dot-product contract holds. RecBole divides
 * by the largest count; that does not change the ranking, and raw counts stay exact integers.
 * There is nothing to train and nothing random: `fit` counts in one pass over the training
 * histories, reported as one epoch of one step, whatever the seed.
 */
import { selectBackend, type LeaveOneOutSplit } from '@allmrec/core';
import type { CFBackbone, FitOptions, FitResult } from './backbone';
import { resolveConfig } from './config';
import { checkHistories, checkItemIds, checkCanFit } from './scoring';
import { ParamSet, loadParams, saveParams } from './trainer';

/** Pop has no hyper-parameters; the type exists so every backbone is configured the same way (any field is refused). */
export interface PopConfig {}

/** No hyper-parameters. */
export const POP_DEFAULTS: PopConfig = {};

const KIND = 'allmrec.backbone.pop';

/**
 * Training popularity as a {@link CFBackbone} (order-free and not personalised: the history and
 * the user id are checked but do not change the scores).
 *
 * @example
 * const pop = new Pop(split.numItems);
 * await pop.fit(split, { seed: 1 });
 * pop.scoreAll(histories);   // every row = the training counts
 */
export class Pop implements CFBackbone {
  readonly name = 'pop';
  readonly dim = 1;
  readonly usesOrder = false;
  readonly config: PopConfig;
  private readonly params: ParamSet;
  private isFrozen = false;

  constructor(readonly numItems: number, config: Partial<PopConfig> = {}) {
    if (!Number.isInteger(numItems) || numItems < 1) throw new Error(`Pop: numItems must be a positive integer, got ${numItems}`);
    this.config = resolveConfig('Pop', POP_DEFAULTS, config);
    this.params = new ParamSet('Pop', { count: [numItems + 1] });
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  /**
   * Counts the training interactions of `split` and freezes. `options.epochs` is ignored (counting
   * takes one pass); `onEpochEnd`, progress and early stopping see that one epoch.
   * @throws Error when a training item id is outside 1..numItems.
   */
  async fit(split: LeaveOneOutSplit, options: FitOptions): Promise<FitResult> {
    checkCanFit('Pop', this.isFrozen, split.numItems, this.numItems);
    await selectBackend();
    const t0 = performance.now();
    const count = new Float32Array(this.numItems + 1);
    for (let u = 1; u < split.train.length; u++) {
      const h = split.train[u] ?? [];
      for (let t = 0; t < h.length; t++) {
        const i = h[t];
        if (!Number.isInteger(i) || i < 1 || i > this.numItems) throw new RangeError(`Pop: train[${u}][${t}] = ${i} is outside 1..${this.numItems}`);
        count[i]++;
      }
    }
    this.params.set(new Map([['count', count]]));
    const ms = performance.now() - t0;
    options.onProgress?.({ task: 'pop:train', current: 1, total: 1, unit: 'epoch', values: { loss: 0 }, done: true });
    await options.onEpochEnd?.(1, { epoch: 1, loss: 0, steps: 1, ms, msPerStep: ms });
    const best = options.earlyStopping ? { bestEpoch: 1, bestScore: await options.earlyStopping.score(1) } : {};
    this.isFrozen = true;
    return { epochs: 1, stepsPerEpoch: 1, msPerStep: ms, trainSeconds: (performance.now() - t0) / 1000, finalLoss: 0, resumedFrom: 0, ...best };
  }

  /** The counts (a view). @throws Error before fit or load. */
  private counts(): Float32Array {
    return this.params.get('count');
  }

  /** E_i = [count_i] (training interactions with item i). */
  itemEmbeddings(ids: ArrayLike<number>): Float32Array {
    const count = this.counts();
    checkItemIds('Pop', ids, this.numItems);
    return Float32Array.from(ids, (i) => count[i]);
  }

  /** x_u = [1] for every history (popularity is not personalised). */
  userRepresentations(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array {
    this.counts();
    checkHistories('Pop', histories, this.numItems, users);
    return new Float32Array(histories.length).fill(1);
  }

  score(histories: ArrayLike<number>[], candidates: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array[] {
    if (histories.length !== candidates.length) throw new Error(`Pop.score: ${histories.length} histories but ${candidates.length} candidate lists`);
    const count = this.counts();
    checkHistories('Pop', histories, this.numItems, users);
    for (const cands of candidates) checkItemIds('Pop', cands, this.numItems, 'candidate');
    return candidates.map((cands) => Float32Array.from(cands, (i) => count[i]));
  }

  scoreAll(histories: ArrayLike<number>[], users?: ArrayLike<number>): Float32Array {
    const count = this.counts();
    checkHistories('Pop', histories, this.numItems, users);
    const n = this.numItems + 1;
    const out = new Float32Array(histories.length * n);
    for (let b = 0; b < histories.length; b++) out.set(count, b * n);
    return out;
  }

  async save(dir: string): Promise<void> {
    await saveParams(dir, KIND, { name: this.name, numItems: this.numItems, config: this.config }, this.params);
  }

  /** Loads a model written by {@link Pop.save}; the result is frozen. */
  static async load(dir: string): Promise<Pop> {
    const { config, values } = await loadParams(dir, KIND);
    const cfg = config as { numItems: number; config: PopConfig };
    const model = new Pop(cfg.numItems, cfg.config);
    model.params.set(values);
    model.isFrozen = true;
    return model;
  }

  dispose(): void {
    this.params.dispose();
  }
}
