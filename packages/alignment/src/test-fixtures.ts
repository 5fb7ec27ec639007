/**
 * Test doubles for Stage 1 (not part of the public surface): a frozen "oracle" backbone in plain
 * JS and patterned text embeddings, so Stage 1 tests do not need to train SASRec.
 */
import { Rng, type LeaveOneOutSplit } from '@allmrec/core';
import type { CFBackbone, FitOptions, FitResult } from '@allmrec/cf-backbones';

/**
 * Fixed random item embeddings E_i of norm `scale`; x_u = E of the item that follows the last history
 * item in `next` (what a well-trained sequential model approximates), plus a little noise.
 */
export class OracleBackbone implements CFBackbone {
  readonly name = 'oracle';
  readonly frozen = true;
  readonly E: Float32Array;

  constructor(readonly numItems: number, readonly dim: number, private readonly next: (item: number) => number, seed = 3, readonly scale = 1) {
    const rng = new Rng(seed);
    this.E = new Float32Array((numItems + 1) * dim);
    for (let i = 1; i <= numItems; i++) {
      let n = 0;
      for (let k = 0; k < dim; k++) {
        const v = rng.normal();
        this.E[i * dim + k] = v;
        n += v * v;
      }
      for (let k = 0; k < dim; k++) this.E[i * dim + k] *= scale / Math.sqrt(n);
    }
  }

  async fit(_split: LeaveOneOutSplit, _options: FitOptions): Promise<FitResult> {
    throw new Error('frozen');
  }

  itemEmbeddings(ids: ArrayLike<number>): Float32Array {
    const d = this.dim;
    const out = new Float32Array(ids.length * d);
    for (let i = 0; i < ids.length; i++) out.set(this.E.subarray(ids[i] * d, ids[i] * d + d), i * d);
    return out;
  }

  userRepresentations(histories: ArrayLike<number>[]): Float32Array {
    const d = this.dim;
    const out = new Float32Array(histories.length * d);
    histories.forEach((h, b) => {
      const last = h.length ? h[h.length - 1] : 0;
      const nxt = last ? this.next(last) : 0;
      for (let k = 0; k < d; k++) out[b * d + k] = this.E[nxt * d + k] + 0.05 * this.scale * Math.sin(7 * b + k);
    });
    return out;
  }

  score(histories: ArrayLike<number>[], candidates: ArrayLike<number>[]): Float32Array[] {
    const x = this.userRepresentations(histories);
    const d = this.dim;
    return candidates.map((c, b) => {
      const e = this.itemEmbeddings(c);
      return Float32Array.from({ length: c.length }, (_, j) => {
        let s = 0;
        for (let k = 0; k < d; k++) s += x[b * d + k] * e[j * d + k];
        return s;
      });
    });
  }

  async save(): Promise<void> {}
  dispose(): void {}
}

/** The item after `item` in the conformance fixture's four 10-item cycles. */
export function cycleNext(item: number): number {
  const c = Math.floor((item - 1) / 10);
  return 1 + c * 10 + (((item - 1) % 10) + 1) % 10;
}

/**
 * Text embeddings [numItems+1, dim] (row 0 = 0): a component shared by the item's cycle plus an
 * item-specific random part, like titles of related items.
 */
export function patternedText(numItems: number, dim: number, seed = 9): Float32Array {
  const rng = new Rng(seed);
  const centers = Array.from({ length: 4 }, () => Float32Array.from({ length: dim }, () => rng.normal()));
  const Q = new Float32Array((numItems + 1) * dim);
  for (let i = 1; i <= numItems; i++) {
    const c = centers[Math.floor((i - 1) / 10) % 4];
    for (let k = 0; k < dim; k++) Q[i * dim + k] = 0.7 * c[k] + 0.7 * rng.normal();
  }
  return Q;
}
