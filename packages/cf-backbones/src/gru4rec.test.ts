import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { defineBackboneConformanceTests, conformanceFixture } from './conformance';
import { GRU4Rec, GRU4REC_DEFAULTS, type GRU4RecConfig, parameterShapes } from './gru4rec';
import { createBackbone, listBackbones } from './registry';
import { cycleSplit, expectEarlyStoppingKeepsBest, expectNoLeak, expectResumeMatches, trainHit1, modelWithWeights } from './sequential-testkit';
import './index';

const SMALL: Partial<GRU4RecConfig> = { embeddingSize: 16, hiddenSize: 24, maxLen: 20, batchSize: 32, epochs: 30, lr: 5e-3 };

beforeAll(async () => {
  await selectBackend('wasm');
});

defineBackboneConformanceTests('gru4rec', (n) => new GRU4Rec(n, SMALL), { load: (dir) => GRU4Rec.load(dir), minHit1: 0.7 });

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** GRU4Rec's x_u for one (unpadded) history with plain loops: PyTorch's GRU equations, no biases. */
function referenceRepresentation(history: number[], w: Map<string, Float32Array>, c: GRU4RecConfig): number[] {
  const { embeddingSize: E, hiddenSize: H } = c;
  let xs: number[][] = history.map((item) => Array.from(w.get('item_emb')!.subarray(item * E, item * E + E)));
  for (let l = 0; l < c.numLayers; l++) {
    const wih = w.get(`gru.${l}.w_ih`)!;
    const whh = w.get(`gru.${l}.w_hh`)!;
    const inDim = xs[0]?.length ?? (l === 0 ? E : H);
    // (v·W)[j] for W stored [in, 3H]
    const proj = (v: number[], W: Float32Array, rows: number, j: number) => { let s = 0; for (let i = 0; i < rows; i++) s += v[i] * W[i * 3 * H + j]; return s; };
    let h = new Array(H).fill(0);
    const outs: number[][] = [];
    for (const x of xs) {
      const next = new Array(H);
      for (let j = 0; j < H; j++) {
        const r = sigmoid(proj(x, wih, inDim, j) + proj(h, whh, H, j));
        const z = sigmoid(proj(x, wih, inDim, H + j) + proj(h, whh, H, H + j));
        const n = Math.tanh(proj(x, wih, inDim, 2 * H + j) + r * proj(h, whh, H, 2 * H + j));
        next[j] = (1 - z) * n + z * h[j];
      }
      h = next;
      outs.push(h);
    }
    xs = outs;
  }
  const last = xs.length ? xs[xs.length - 1] : new Array(H).fill(0);
  const dw = w.get('dense.w')!;
  const db = w.get('dense.b')!;
  return Array.from({ length: E }, (_, e) => { let s = db[e]; for (let j = 0; j < H; j++) s += last[j] * dw[j * E + e]; return s; });
}

function randomWeights(numItems: number, c: GRU4RecConfig, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of Object.entries(parameterShapes(numItems, c))) {
    const v = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.8);
    if (name === 'item_emb') v.fill(0, 0, c.embeddingSize);
    out.set(name, v);
  }
  return out;
}

const load = (dir: string) => GRU4Rec.load(dir);

describe('GRU4Rec', () => {
  test('is registered by name with RecBole defaults', () => {
    expect(listBackbones().map((b) => b.name)).toContain('gru4rec');
    const m = createBackbone('gru4rec', 10);
    expect(m.dim).toBe(64);
    expect((m as GRU4Rec).config).toMatchObject({ hiddenSize: 128, numLayers: 1, dropout: 0.3, maxLen: 50, lr: 1e-3, loss: 'bce' });
    m.dispose();
  });

  test('a one-step GRU worked out by hand', async () => {
    // E = H = 1, h_0 = 0: r and z see only the input, n = tanh(W_in·e), h_1 = (1 − z)·n.
    // e = 1, W_ir = 0.3, W_iz = ln 3 (z = ¾), W_in = atanh(½) (n = ½) → h_1 = ⅛; x_u = 2·⅛ + 0.1 = 0.35.
    const c = { ...GRU4REC_DEFAULTS, embeddingSize: 1, hiddenSize: 1 };
    const w = new Map<string, Float32Array>([
      ['item_emb', Float32Array.from([0, 1, -1])],
      ['gru.0.w_ih', Float32Array.from([0.3, Math.log(3), Math.atanh(0.5)])],
      ['gru.0.w_hh', Float32Array.from([5, 5, 5])], // multiplies h_0 = 0: no effect on one step
      ['dense.w', Float32Array.from([2])],
      ['dense.b', Float32Array.from([0.1])],
    ]);
    const m = await modelWithWeights('allmrec.backbone.gru4rec', 'gru4rec', 2, c, parameterShapes(2, c), w, load);
    expect(m.userRepresentations([[1]])[0]).toBeCloseTo(0.35, 6);
    // Left padding is invisible: the same history padded into a longer batch gives the same x_u.
    expect(m.userRepresentations([[1], [2, 2, 2, 1]])[0]).toBeCloseTo(0.35, 6);
    m.dispose();
  });

  test.each([1, 2])('x_u matches plain-loop PyTorch GRU equations with %i layer(s), padded and truncated', async (numLayers) => {
    const numItems = 7;
    const c = { ...GRU4REC_DEFAULTS, embeddingSize: 3, hiddenSize: 4, numLayers, maxLen: 5 };
    const w = randomWeights(numItems, c, 10 + numLayers);
    const m = await modelWithWeights('allmrec.backbone.gru4rec', 'gru4rec', numItems, c, parameterShapes(numItems, c), w, load);
    // Different lengths in one batch (left padding), one longer than maxLen (only its last 5 count).
    const histories = [[3], [1, 2, 3], [7, 6, 5, 4, 3, 2, 1, 1]];
    const got = m.userRepresentations(histories);
    histories.forEach((h, b) => {
      const want = referenceRepresentation(h.slice(-c.maxLen), w, c);
      want.forEach((v, e) => expect(got[b * 3 + e]).toBeCloseTo(v, 5));
    });
    m.dispose();
  });

  test.each(['bce', 'ce'] as const)('overfits a tiny deterministic pattern with the %s loss', async (loss) => {
    const split = cycleSplit();
    const m = new GRU4Rec(split.numItems, { embeddingSize: 16, hiddenSize: 16, dropout: 0, maxLen: 8, batchSize: 3, epochs: 60, lr: 0.01, loss });
    const losses: number[] = [];
    await m.fit(split, { seed: 1, onEpochEnd: (_, s) => { losses.push(s.loss); } });
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.2);
    expect(trainHit1(m, split)).toBe(1);
    m.dispose();
  });

  test('scoreAll equals score, reading the model leaks no tensors, and dispose frees them all', async () => {
    const start = tf.memory().numTensors;
    const split = conformanceFixture(2);
    const m = new GRU4Rec(split.numItems, { ...SMALL, epochs: 2 });
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
    await expectResumeMatches(() => new GRU4Rec(20, { embeddingSize: 8, hiddenSize: 8, maxLen: 8, batchSize: 4, epochs: 6 }), cycleSplit(10));
  });

  test('early stopping scores the training model with scoreAll and keeps the best epoch', async () => {
    const split = cycleSplit(10);
    const m = new GRU4Rec(split.numItems, { embeddingSize: 8, hiddenSize: 8, maxLen: 8, batchSize: 4, lr: 0.02 });
    await expectEarlyStoppingKeepsBest(m, split);
    m.dispose();
  });

  test("windows: 'all' trains on every window of long sequences, 'last' on one per user", async () => {
    const split = cycleSplit(5, 20, 14); // 13 targets per user
    const steps = async (windows: 'last' | 'all') => {
      const m = new GRU4Rec(split.numItems, { embeddingSize: 4, hiddenSize: 4, maxLen: 4, batchSize: 2, epochs: 1, windows });
      const r = await m.fit(split, { seed: 1 });
      m.dispose();
      return r.stepsPerEpoch;
    };
    expect(await steps('last')).toBe(3); // 5 rows
    expect(await steps('all')).toBe(10); // 5 users × 4 windows (4 + 4 + 4 + 1 targets)
  });

  test('rejects bad configuration and input, naming the field', () => {
    expect(() => new GRU4Rec(0)).toThrow(/numItems/);
    expect(() => new GRU4Rec(10, { hidenSize: 8 } as Partial<GRU4RecConfig>)).toThrow(/unknown config key "hidenSize"/);
    expect(() => new GRU4Rec(10, { loss: 'bpr' as 'bce' })).toThrow(/config\.loss/);
    expect(() => new GRU4Rec(10, { dropout: 1 })).toThrow(/config\.dropout/);
    expect(() => new GRU4Rec(10, { windows: 'every' as 'all' })).toThrow(/config\.windows/);
    expect(() => new GRU4Rec(10, { numLayers: 0 })).toThrow(/config\.numLayers/);
    expect(() => new GRU4Rec(10, { hiddenSize: '8' as unknown as number })).toThrow(/config\.hiddenSize must be a number/);
    const m = new GRU4Rec(10, { embeddingSize: 4 });
    expect(() => m.userRepresentations([[1]])).toThrow(/no weights/);
    m.dispose();
  });
});
