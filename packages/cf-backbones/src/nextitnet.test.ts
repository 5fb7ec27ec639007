import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { defineBackboneConformanceTests, conformanceFixture } from './conformance';
import {
  NextItNet, NEXTITNET_DEFAULTS, type NextItNetConfig, blockDilations, causalConv, initialParameters, parameterShapes, regulariser,
} from './nextitnet';
import { createBackbone, listBackbones } from './registry';
import { cycleSplit, expectEarlyStoppingKeepsBest, expectNoLeak, expectResumeMatches, trainHit1, modelWithWeights } from './sequential-testkit';
import './index';

const SMALL: Partial<NextItNetConfig> = { embeddingSize: 16, blockNum: 1, dilations: [1, 2], maxLen: 20, batchSize: 32, epochs: 20, lr: 5e-3 };

beforeAll(async () => {
  await selectBackend('wasm');
});

defineBackboneConformanceTests('nextitnet', (n) => new NextItNet(n, SMALL), { load: (dir) => NextItNet.load(dir), minHit1: 0.7 });

/** y[t][o] = b[o] + Σ_j Σ_i x[t − (k−1−j)·d][i] · w[(j·C + i)·Cout + o], zero before t = 0. One sequence x[t][i]. */
function referenceConv(x: number[][], w: ArrayLike<number>, b: ArrayLike<number>, d: number, k: number): number[][] {
  const C = x[0].length;
  const Cout = b.length;
  return x.map((_, t) => Array.from({ length: Cout }, (_, o) => {
    let s = b[o];
    for (let j = 0; j < k; j++) {
      const src = t - (k - 1 - j) * d;
      if (src < 0) continue;
      for (let i = 0; i < C; i++) s += x[src][i] * w[(j * C + i) * Cout + o];
    }
    return s;
  }));
}

function layerNormRow(v: number[], g: ArrayLike<number>, b: ArrayLike<number>, eps: number): number[] {
  const mean = v.reduce((a, x) => a + x, 0) / v.length;
  const variance = v.reduce((a, x) => a + (x - mean) ** 2, 0) / v.length;
  return v.map((x, i) => ((x - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
}

/** NextItNet's x_u for one (unpadded) history with plain loops. */
function referenceRepresentation(history: number[], w: Map<string, Float32Array>, c: NextItNetConfig): number[] {
  const C = c.embeddingSize;
  const relu = (v: number[]) => v.map((x) => Math.max(0, x));
  let x = history.map((item) => Array.from(w.get('item_emb')!.subarray(item * C, item * C + C)));
  blockDilations(c).forEach((d, i) => {
    const q = (n: string) => w.get(`blocks.${i}.${n}`)!;
    const h = referenceConv(x, q('conv1.w'), q('conv1.b'), d, c.kernelSize).map((r) => relu(layerNormRow(r, q('ln1.g'), q('ln1.b'), c.lnEps)));
    const h2 = referenceConv(h, q('conv2.w'), q('conv2.b'), 2 * d, c.kernelSize).map((r) => relu(layerNormRow(r, q('ln2.g'), q('ln2.b'), c.lnEps)));
    x = x.map((row, t) => row.map((v, e) => v + h2[t][e]));
  });
  const last = x[x.length - 1];
  const fw = w.get('final.w')!;
  const fb = w.get('final.b')!;
  return Array.from({ length: C }, (_, e) => { let s = fb[e]; for (let j = 0; j < C; j++) s += last[j] * fw[j * C + e]; return s; });
}

function randomWeights(numItems: number, c: NextItNetConfig, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of Object.entries(parameterShapes(numItems, c))) {
    const v = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.7 + (name.endsWith('.g') ? 1 : 0));
    if (name === 'item_emb') v.fill(0, 0, c.embeddingSize);
    out.set(name, v);
  }
  return out;
}

const load = (dir: string) => NextItNet.load(dir);

describe('NextItNet', () => {
  test('is registered by name with RecBole defaults', () => {
    expect(listBackbones().map((b) => b.name)).toContain('nextitnet');
    const m = createBackbone('nextitnet', 10);
    expect(m.dim).toBe(64);
    expect((m as NextItNet).config).toMatchObject({ kernelSize: 3, blockNum: 5, dilations: [1, 4], regWeight: 1e-5, maxLen: 50, lr: 1e-3, loss: 'bce' });
    // RecBole's dilations * block_num: 10 residual blocks.
    expect(blockDilations(NEXTITNET_DEFAULTS)).toEqual([1, 4, 1, 4, 1, 4, 1, 4, 1, 4]);
    m.dispose();
  });

  test.each([1, 2, 4])('one dilated causal convolution (d = %i) matches plain loops and never looks ahead', (d) => {
    const B = 2;
    const L = 7;
    const C = 2;
    const Cout = 3;
    const k = 3;
    const rng = new Rng(20 + d);
    const xs = Array.from({ length: B }, () => Array.from({ length: L }, () => Array.from({ length: C }, () => rng.normal())));
    const w = Float32Array.from({ length: k * C * Cout }, () => rng.normal());
    const b = Float32Array.from({ length: Cout }, () => rng.normal());
    const run = (seqs: number[][][]) => tf.tidy(() => {
      const flat = new Float32Array(L * B * C); // time-major rows t * B + b
      seqs.forEach((s, bb) => s.forEach((row, t) => flat.set(row, (t * B + bb) * C)));
      return causalConv(tf.tensor2d(flat, [L * B, C]), tf.tensor2d(w, [k * C, Cout]), tf.tensor1d(b), d, k, B, L).arraySync();
    });
    const y = run(xs);
    xs.forEach((s, bb) => {
      const want = referenceConv(s, w, b, d, k);
      for (let t = 0; t < L; t++) for (let o = 0; o < Cout; o++) expect(y[t * B + bb][o]).toBeCloseTo(want[t][o], 5);
    });
    // Changing the input at step t0 changes nothing before t0 (and does change step t0).
    const t0 = 4;
    const changed = xs.map((s) => s.map((row) => [...row]));
    changed[0][t0] = changed[0][t0].map((v) => v + 3);
    const y2 = run(changed);
    for (let t = 0; t < t0; t++) for (let o = 0; o < Cout; o++) expect(y2[t * B][o]).toBe(y[t * B][o]);
    expect(y2[t0 * B].some((v, o) => Math.abs(v - y[t0 * B][o]) > 1e-3)).toBe(true);
    for (let t = 0; t < L; t++) expect(y2[t * B + 1]).toEqual(y[t * B + 1]); // the other sequence is untouched
  });

  test('x_u matches a plain-loop NextItNet, whatever the padding, and only the last maxLen items count', async () => {
    const numItems = 9;
    const c: NextItNetConfig = { ...NEXTITNET_DEFAULTS, embeddingSize: 4, blockNum: 2, dilations: [1, 2], maxLen: 6 };
    const w = randomWeights(numItems, c, 5);
    const m = await modelWithWeights('allmrec.backbone.nextitnet', 'nextitnet', numItems, c, parameterShapes(numItems, c), w, load);
    const histories = [[4], [1, 2, 3], [9, 8, 7, 6, 5, 4, 3, 2]];
    const got = m.userRepresentations(histories);
    histories.forEach((h, b) => {
      const want = referenceRepresentation(h.slice(-c.maxLen), w, c);
      want.forEach((v, e) => expect(got[b * 4 + e]).toBeCloseTo(v, 4));
    });
    // Alone (no padding) and in a batch with a longer history (left-padded) give the same x_u.
    const alone = m.userRepresentations([histories[1]]);
    for (let e = 0; e < 4; e++) expect(alone[e]).toBeCloseTo(got[4 + e], 5);
    m.dispose();
  });

  test('the regulariser is RecBole\'s (unsquared norms of E, W_f and every block weight) and enters the loss', async () => {
    const numItems = 6;
    const c: NextItNetConfig = { ...NEXTITNET_DEFAULTS, embeddingSize: 4, blockNum: 1, dilations: [1, 2], regWeight: 0.5 };
    const w = randomWeights(numItems, c, 9);
    const norm = (n: string) => Math.sqrt(w.get(n)!.reduce((a, v) => a + v * v, 0));
    let want = norm('item_emb') + norm('final.w');
    for (let i = 0; i < 2; i++) for (const n of ['conv1.w', 'ln1.g', 'conv2.w', 'ln2.g']) want += norm(`blocks.${i}.${n}`);
    const shapes = parameterShapes(numItems, c);
    const got = tf.tidy(() => {
      const p: Record<string, tf.Tensor> = {};
      for (const [n, v] of w) p[n] = tf.tensor(v, shapes[n]);
      return regulariser(p, c)!.dataSync()[0];
    });
    expect(got).toBeCloseTo(0.5 * want, 4);
    expect(regulariser({}, { ...c, regWeight: 0 })).toBeUndefined();
    // The first epoch's loss grows by about the regulariser at the initial weights.
    const split = cycleSplit(4, 6, 5);
    const firstLoss = async (regWeight: number) => {
      const m = new NextItNet(split.numItems, { ...c, regWeight, epochs: 1, lr: 1e-6 });
      const r = await m.fit(split, { seed: 2 });
      m.dispose();
      return r.finalLoss;
    };
    const init = initialParameters(numItems, c, new Rng(2).fork('init'));
    const initNorms = tf.tidy(() => {
      const p: Record<string, tf.Tensor> = {};
      for (const [n, v] of init) p[n] = tf.tensor(v, shapes[n]);
      return regulariser(p, c)!.dataSync()[0];
    });
    expect((await firstLoss(0.5)) - (await firstLoss(0))).toBeCloseTo(initNorms, 2);
  });

  test.each(['bce', 'ce'] as const)('overfits a tiny deterministic pattern with the %s loss', async (loss) => {
    const split = cycleSplit();
    const m = new NextItNet(split.numItems, { embeddingSize: 16, blockNum: 1, dilations: [1, 2], maxLen: 8, batchSize: 3, epochs: 40, lr: 0.01, loss });
    const losses: number[] = [];
    await m.fit(split, { seed: 1, onEpochEnd: (_, s) => { losses.push(s.loss); } });
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.2);
    expect(trainHit1(m, split)).toBe(1);
    m.dispose();
  });

  test('scoreAll equals score, reading the model leaks no tensors, and dispose frees them all', async () => {
    const start = tf.memory().numTensors;
    const split = conformanceFixture(2);
    const m = new NextItNet(split.numItems, { ...SMALL, epochs: 2 });
    const counts: number[] = [];
    await m.fit(split, { seed: 4, onEpochEnd: () => { counts.push(tf.memory().numTensors); } });
    expect(counts[1]).toBe(counts[0]); // nothing accumulates across epochs
    const histories = [split.train[1], split.train[2], Int32Array.from([5])];
    const all = m.scoreAll(histories);
    const items = Array.from({ length: split.numItems }, (_, i) => i + 1);
    const some = m.score(histories, histories.map(() => items));
    some.forEach((row, b) => row.forEach((s, j) => expect(all[b * (split.numItems + 1) + items[j]]).toBeCloseTo(s, 4)));
    expectNoLeak(() => {
      m.score(histories, histories.map(() => [1, 2, 3]));
      m.scoreAll(histories);
      m.userRepresentations(histories);
      m.itemEmbeddings([1, 2]);
    });
    m.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  test('resumes from a checkpoint to the weights of an uninterrupted run', async () => {
    await expectResumeMatches(() => new NextItNet(20, { embeddingSize: 8, blockNum: 1, dilations: [1, 2], maxLen: 8, batchSize: 4, epochs: 6 }), cycleSplit(10));
  });

  test('early stopping scores the training model with scoreAll and keeps the best epoch', async () => {
    const split = cycleSplit(10);
    const m = new NextItNet(split.numItems, { embeddingSize: 8, blockNum: 1, dilations: [1, 2], maxLen: 8, batchSize: 4, lr: 0.02 });
    await expectEarlyStoppingKeepsBest(m, split);
    m.dispose();
  });

  test('rejects bad configuration and input, naming the field', () => {
    expect(() => new NextItNet(0)).toThrow(/numItems/);
    expect(() => new NextItNet(10, { blocks: 2 } as Partial<NextItNetConfig>)).toThrow(/unknown config key "blocks"/);
    expect(() => new NextItNet(10, { loss: 'CE' as 'ce' })).toThrow(/config\.loss/);
    expect(() => new NextItNet(10, { dilations: [] })).toThrow(/config\.dilations/);
    expect(() => new NextItNet(10, { dilations: [1, 0.5] })).toThrow(/config\.dilations/);
    expect(() => new NextItNet(10, { dilations: 2 as unknown as number[] })).toThrow(/config\.dilations must be an array/);
    expect(() => new NextItNet(10, { kernelSize: 0 })).toThrow(/config\.kernelSize/);
    expect(() => new NextItNet(10, { windows: 'first' as 'all' })).toThrow(/config\.windows/);
    expect(() => new NextItNet(10, { regWeight: -1 })).toThrow(/config\.regWeight/);
    const m = new NextItNet(10, { embeddingSize: 4 });
    expect(() => m.userRepresentations([[1]])).toThrow(/no weights/);
    m.dispose();
  });
});
