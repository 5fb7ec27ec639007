/**
 * The wired look-back heads: at initialisation they attend `offset` positions back (or to
 * position 0) and copy their slice, and the hold keeps them as wired through pretraining.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCausalLMSync } from '../checkpoint';
import { buildPretrainCorpus } from './corpus';
import { TrainableGPT2 } from './gpt2-trainable';
import { pretrainLM } from './pretrain';
import { ITEMS, makeTmpDir, readSafetensorsForTest, removeTmpDir } from './test-helpers';

let tmp: string;
beforeAll(async () => { tmp = await makeTmpDir(); });
afterAll(() => removeTmpDir(tmp));

test('look-back heads: at initialisation they attend `offset` positions back (or to position 0) and copy their slice of the token there', () => {
  const H = 64;
  const heads = 4;
  const dh = H / heads;
  const spec = { vocabSize: 300, hidden: H, layers: 2, heads, maxPositions: 64, eosTokenId: 0, mimeticInit: true, sharedInitRows: [200, 300] as [number, number], sharedInitSpread: 0.1, lookBack: { offset: 2, heads: 2, first: 1 } };
  const model = new TrainableGPT2(spec, 3);
  const plain = new TrainableGPT2({ ...spec, lookBack: undefined }, 4);
  const T = 40;
  const ids = Int32Array.from({ length: T }, (_, i) => 200 + ((i * 37) % 100));
  // Attention of every layer-0 head, recomputed from the weights: softmax(q·k/√dh) under the causal mask.
  const attention = (m: TrainableGPT2) => tf.tidy(() => {
    const p = (n: string) => m.params.get(n)!;
    const x = tf.add(tf.gather(p('wte.weight'), tf.tensor1d(ids, 'int32')), tf.slice(p('wpe.weight'), [0, 0], [T, H]));
    const { mean, variance } = tf.moments(x, -1, true);
    const ln = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), p('h.0.ln_1.weight')), p('h.0.ln_1.bias'));
    const qkv = tf.add(tf.matMul(ln as tf.Tensor2D, p('h.0.attn.c_attn.weight') as tf.Tensor2D), p('h.0.attn.c_attn.bias'));
    const out: number[][][] = [];
    for (let h = 0; h < heads; h++) {
      const q = tf.slice(qkv, [0, h * dh], [T, dh]);
      const k = tf.slice(qkv, [0, H + h * dh], [T, dh]);
      const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
      const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh)), tf.mul(tf.sub(1, causal), -1e9));
      out.push(tf.softmax(scores).arraySync() as number[][]);
    }
    return out;
  });
  const a = attention(model);
  const b = attention(plain);
  for (const h of [2, 3]) {
    for (let p = 4; p < T; p++) expect(a[h][p][p - 2]).toBeGreaterThan(0.9);
  }
  // Head 1 (first: 1) attends to position 0 from everywhere.
  for (let p = 1; p < T; p++) expect(a[1][p][0]).toBeGreaterThan(0.9);
  expect(b[1][T - 1][0]).toBeLessThan(0.3);
  // The other heads, and the same heads without the option, do not look two back.
  const meanBack = (att: number[][]) => { let s = 0; for (let p = 4; p < T; p++) s += att[p][p - 2]; return s / (T - 4); };
  expect(meanBack(b[2])).toBeLessThan(0.3);
  expect(meanBack(a[0])).toBeLessThan(0.3);
  // Token rows are 0 on the position dimensions; W_O of a look-back head is a multiple of I on its slice.
  const wte = model.params.get('wte.weight')!.arraySync() as number[][];
  expect(Math.max(...wte.map((r) => Math.max(...r.slice(0, dh).map(Math.abs))))).toBe(0);
  const wo = model.params.get('h.0.attn.c_proj.weight')!.arraySync() as number[][];
  const g = wo[3 * dh][3 * dh];
  expect(g).toBeGreaterThan(0);
  expect(wo[3 * dh + 1][3 * dh + 1]).toBeCloseTo(g, 6);
  expect(wo[3 * dh][3 * dh + 1]).toBe(0);
  expect(() => new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 4 } }, 5)).toThrow(/lookBack.heads/);
  expect(() => new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 2, first: 2 } }, 5)).toThrow(/lookBack.first/);
  model.dispose();
  plain.dispose();
});

test('look-back hold: the wired layer-0 weights, the position table and the token rows\' position dimensions stay as initialised', async () => {
  const corpus = buildPretrainCorpus(ITEMS, { seed: 2, documents: 30, listHistory: [0, 1], listCandidates: [2, 3], listAnswer: 'vector', itemTexts: false, bareLists: 1 });
  const lookBack = { offset: 2, heads: 1, first: 1 };
  const base = { corpus, seed: 8, vocabSize: 300, hidden: 48, layers: 2, heads: 3, maxPositions: 64, seqLen: 64, batchSize: 4, steps: 4, lr: 3e-3, oneDocPerRow: true };
  await pretrainLM({ ...base, outDir: path.join(tmp, 'hold'), lookBack: { ...lookBack, hold: 0.99 } });
  await pretrainLM({ ...base, outDir: path.join(tmp, 'nohold'), lookBack });
  const cfg = JSON.parse(fs.readFileSync(path.join(tmp, 'hold', 'config.json'), 'utf8'));
  const init = new TrainableGPT2({ vocabSize: cfg.vocab_size, hidden: 48, layers: 2, heads: 3, maxPositions: 64, eosTokenId: cfg.eos_token_id, lookBack }, 8);
  const held = loadCausalLMSync(path.join(tmp, 'hold'));
  const free = loadCausalLMSync(path.join(tmp, 'nohold'));
  const weights = (dir: string) => readSafetensorsForTest(path.join(tmp, dir, 'model.safetensors'));
  const h = weights('hold');
  const f = weights('nohold');
  const same = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).every((x, i) => x === b[i]);
  for (const n of ['wpe.weight', 'h.0.attn.c_attn.weight', 'h.0.attn.c_attn.bias', 'h.0.attn.c_proj.weight', 'h.0.ln_1.weight']) {
    expect(same(h.get(n)!, init.params.get(n)!.dataSync())).toBe(true);
  }
  // Without the hold they train like every other weight.
  for (const n of ['wpe.weight', 'h.0.attn.c_attn.weight', 'h.0.attn.c_proj.weight']) expect(same(f.get(n)!, init.params.get(n)!.dataSync())).toBe(false);
  // Token rows: still 0 on the 16 position dimensions when held; trained elsewhere.
  const wte = h.get('wte.weight')!;
  let posMax = 0;
  for (let r = 0; r < cfg.vocab_size; r++) for (let j = 0; j < 16; j++) posMax = Math.max(posMax, Math.abs(wte[r * 48 + j]));
  expect(posMax).toBe(0);
  expect(same(wte, init.params.get('wte.weight')!.dataSync())).toBe(false);
  expect(same(h.get('h.1.attn.c_attn.weight')!, init.params.get('h.1.attn.c_attn.weight')!.dataSync())).toBe(false);
  init.dispose();
  held.dispose();
  free.dispose();
});
