/**
 * A backbone defined outside the package (plain TypeScript, no tfjs) registered by name and held
 * to the same conformance suite as SASRec: the claim that any CF model plugs in, as a test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, type LeaveOneOutSplit } from '@allmrec/core';
import {
  createBackbone, defineBackboneConformanceTests, listBackbones, loadBackbone, registerBackbone,
  type CFBackbone, type FitOptions, type FitResult,
} from '@allmrec/cf-backbones';

/** x_u = E[last item] · T (a learned transition), score = <x_u, E_i>; trained by SGD on BCE. */
class LastItemTransition implements CFBackbone {
  readonly name = 'last-item';
  readonly dim = 8;
  frozen = false;
  private E: Float32Array;
  private T: Float32Array;

  constructor(readonly numItems: number) {
    this.E = new Float32Array((numItems + 1) * this.dim);
    this.T = new Float32Array(this.dim * this.dim);
  }

  async fit(split: LeaveOneOutSplit, options: FitOptions): Promise<FitResult> {
    if (this.frozen) throw new Error('frozen');
    const rng = new Rng(options.seed);
    const d = this.dim;
    for (let i = d; i < this.E.length; i++) this.E[i] = rng.normal() * 0.1;
    for (let i = 0; i < d * d; i++) this.T[i] = (i % (d + 1) === 0 ? 1 : 0) + rng.normal() * 0.01;
    const epochs = options.epochs ?? 30;
    const lr = 0.05;
    for (let e = 0; e < epochs; e++) {
      for (let u = 1; u < split.train.length; u++) {
        const s = split.train[u];
        for (let t = 1; t < s.length; t++) {
          const neg = 1 + rng.int(this.numItems);
          for (const [item, label] of [[s[t], 1], [neg, 0]] as const) {
            const x = this.rep(s[t - 1]);
            let z = 0;
            for (let k = 0; k < d; k++) z += x[k] * this.E[item * d + k];
            const g = 1 / (1 + Math.exp(-z)) - label;
            for (let k = 0; k < d; k++) {
              const ei = this.E[item * d + k];
              this.E[item * d + k] -= lr * g * x[k];
              for (let j = 0; j < d; j++) this.T[j * d + k] -= lr * g * ei * this.E[s[t - 1] * d + j];
            }
          }
        }
      }
    }
    this.frozen = true;
    return { epochs, stepsPerEpoch: split.train.length - 1, msPerStep: 0, trainSeconds: 0, finalLoss: 0, resumedFrom: 0 };
  }

  private rep(item: number): Float32Array {
    const d = this.dim;
    const x = new Float32Array(d);
    for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) x[k] += this.E[item * d + j] * this.T[j * d + k];
    return x;
  }

  itemEmbeddings(ids: ArrayLike<number>): Float32Array {
    const out = new Float32Array(ids.length * this.dim);
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0 && ids[i] <= this.numItems)) throw new RangeError(`item ${ids[i]} out of range`);
      out.set(this.E.subarray(ids[i] * this.dim, (ids[i] + 1) * this.dim), i * this.dim);
    }
    return out;
  }

  userRepresentations(histories: ArrayLike<number>[]): Float32Array {
    const out = new Float32Array(histories.length * this.dim);
    histories.forEach((h, i) => out.set(this.rep(h.length ? h[h.length - 1] : 0), i * this.dim));
    return out;
  }

  score(histories: ArrayLike<number>[], candidates: ArrayLike<number>[]): Float32Array[] {
    const reps = this.userRepresentations(histories);
    return candidates.map((c, b) => {
      const e = this.itemEmbeddings(c);
      return Float32Array.from({ length: c.length }, (_, j) => {
        let z = 0;
        for (let k = 0; k < this.dim; k++) z += reps[b * this.dim + k] * e[j * this.dim + k];
        return z;
      });
    });
  }

  async save(dir: string): Promise<void> {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ n: this.numItems, E: [...this.E], T: [...this.T] }));
  }

  static async load(dir: string): Promise<LastItemTransition> {
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const m = new LastItemTransition(j.n);
    m.E = Float32Array.from(j.E);
    m.T = Float32Array.from(j.T);
    m.frozen = true;
    return m;
  }

  dispose(): void {}
}

registerBackbone('last-item', { create: (n) => new LastItemTransition(n), load: (d) => LastItemTransition.load(d) });

test('a backbone registered from outside is listed and created by name', () => {
  expect(listBackbones().map((b) => b.name)).toEqual(expect.arrayContaining(['sasrec', 'last-item']));
  expect(createBackbone('last-item', 5).name).toBe('last-item');
  expect(() => createBackbone('nope', 5)).toThrow(/unknown backbone "nope"/);
  expect(typeof loadBackbone).toBe('function');
});

defineBackboneConformanceTests('last-item (custom, registered from outside)', (n) => createBackbone('last-item', n), {
  fit: { epochs: 25 },
  load: (dir) => loadBackbone('last-item', dir),
});
