/**
 * The trainable GPT-2: its training forward matches the gpt2.ts decoder on the saved checkpoint
 * (with and without vector slots), its custom gradients match finite differences, and sinusoidal
 * positions start nearby positions alike.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@allmrec/core';
import { trainByteLevelBPE } from './bpe-trainer';
import { TrainableGPT2 } from './gpt2-trainable';
import { slotVectors } from './slot-vectors';
import { ITEMS, makeTmpDir, removeTmpDir, savedAndLoaded } from './test-helpers';

let tmp: string;
beforeAll(async () => { tmp = await makeTmpDir(); });
afterAll(() => removeTmpDir(tmp));

test('training forward logits equal the gpt2.ts decoder after saving (1e-4)', async () => {
  const bpe = trainByteLevelBPE(ITEMS.map((i) => i.title), { vocabSize: 300 });
  const model = new TrainableGPT2({ vocabSize: bpe.vocabSize, hidden: 32, layers: 2, heads: 4, maxPositions: 32, eosTokenId: bpe.eosTokenId }, 3);
  // Perturb LN gains/biases and biases so every weight matters.
  tf.tidy(() => { for (const v of model.params.values()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 7), 0.05))); });
  const lm = await savedAndLoaded(model, bpe, path.join(tmp, 'parity'));
  const ids = new Int32Array([5, 17, 200, 3, 44, 9, 120, 7, 1, 2, 250, 31]);
  const a = tf.tidy(() => model.logits(ids, 2, 6).dataSync());
  const b = tf.tidy(() => lm.forward(lm.embedTokens(tf.tensor2d(ids, [2, 6], 'int32')), tf.ones([2, 6]) as tf.Tensor2D).logits.dataSync());
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  expect(m).toBeLessThan(1e-4);
  expect(lm.tokenizer.vocabSize).toBe(bpe.vocabSize);
  lm.dispose();
  model.dispose();
});

test('pretraining gradients (custom attention, LayerNorm, linear and tied cross-entropy) match finite differences', () => {
  const spec = { vocabSize: 50, hidden: 16, layers: 2, heads: 4, maxPositions: 32, eosTokenId: 49 };
  const m = new TrainableGPT2(spec, 3);
  tf.tidy(() => { for (const v of m.params.values()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 7), 0.3))); });
  const B = 2;
  const T = 12;
  const inputs = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 49);
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % 49);
  const weights = Float32Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? 0 : 1));
  const names = [...m.params.keys()];
  const loss = () => tf.tidy(() => m.loss(inputs, targets, weights, B, T).dataSync()[0]);
  const { value, grads } = tf.variableGrads(() => m.loss(inputs, targets, weights, B, T), names.map((n) => m.params.get(n)!));
  value.dispose();
  const eps = 1e-2;
  for (const n of names) {
    const v = m.params.get(n)!;
    const g = grads[v.name].dataSync();
    const data = v.dataSync().slice() as Float32Array;
    for (let r = 0; r < 3; r++) {
      const i = (r * 7919 + 13) % data.length;
      const at = (delta: number) => { const d = data.slice(); d[i] += delta; tf.tidy(() => v.assign(tf.tensor(d, v.shape))); return loss(); };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
      // float32 central differences: relative error within 5 % (seen: <= 1.7 %), absolute for tiny gradients.
      expect(Math.abs(fd - g[i])).toBeLessThanOrEqual(Math.max(2e-4, 0.05 * (Math.abs(fd) + Math.abs(g[i]))));
    }
  }
  Object.values(grads).forEach((t) => t.dispose());
  m.dispose();
});

test('sinusoidal positions: row p is 0.1·(sin, cos)(p·10000^(-2i/H)), so nearby positions start alike', () => {
  const H = 16;
  const m = new TrainableGPT2({ vocabSize: 50, hidden: H, layers: 1, heads: 2, maxPositions: 64, eosTokenId: 49, sinusoidalPositions: true }, 5);
  const wpe = m.params.get('wpe.weight')!.dataSync() as Float32Array;
  expect(wpe[3 * H + 0]).toBeCloseTo(0.1 * Math.sin(3), 6);
  expect(wpe[3 * H + 1]).toBeCloseTo(0.1 * Math.cos(3), 6);
  expect(wpe[5 * H + 4]).toBeCloseTo(0.1 * Math.sin(5 * Math.pow(10000, -4 / H)), 6);
  const dot = (a: number, b: number) => { let d = 0; for (let j = 0; j < H; j++) d += wpe[a * H + j] * wpe[b * H + j]; return d; };
  // Similarity falls over the nearest positions and stays below the neighbour's further out.
  expect(dot(30, 29)).toBeGreaterThan(dot(30, 28));
  expect(dot(30, 28)).toBeGreaterThan(dot(30, 27));
  for (const far of [20, 15, 5]) expect(dot(30, 29)).toBeGreaterThan(dot(30, far));
  m.dispose();
  const plain = new TrainableGPT2({ vocabSize: 50, hidden: H, layers: 1, heads: 2, maxPositions: 64, eosTokenId: 49 }, 5);
  expect(Math.abs((plain.params.get('wpe.weight')!.dataSync() as Float32Array)[3 * H + 1])).toBeLessThan(0.06);
  plain.dispose();
});

test('vector slots: the training forward equals the saved CausalLM run on the same input embeddings (1e-4)', async () => {
  const bpe = trainByteLevelBPE(ITEMS.map((i) => i.title), { vocabSize: 300 });
  const H = 32;
  const model = new TrainableGPT2({ vocabSize: bpe.vocabSize, hidden: H, layers: 2, heads: 4, maxPositions: 32, eosTokenId: bpe.eosTokenId, mimeticInit: true }, 4);
  const lm = await savedAndLoaded(model, bpe, path.join(tmp, 'slot-parity'));
  const ids = new Int32Array([5, 17, 200, 3, 44, 9, 120, 7, 1, 2, 250, 31]);
  const roles = new Uint8Array([1, 0, 2, 0, 3, 0, 1, 4, 0, 3, 0, 2]);
  const slots = slotVectors(roles, 2, 6, H, new Rng(2))!;
  const a = tf.tidy(() => model.logits(ids, 2, 6, slots).dataSync());
  const b = tf.tidy(() => {
    const e = lm.embedTokens(tf.tensor2d(ids, [2, 6], 'int32'));
    const x = tf.add(tf.mul(e, tf.sub(1, tf.tensor3d(slots.mask, [2, 6, 1]))), tf.tensor3d(slots.vectors, [2, 6, H])) as tf.Tensor3D;
    return lm.forward(x, tf.ones([2, 6]) as tf.Tensor2D).logits.dataSync();
  });
  const plain = tf.tidy(() => model.logits(ids, 2, 6).dataSync());
  let m = 0;
  let changed = 0;
  for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i] - b[i])); changed = Math.max(changed, Math.abs(a[i] - plain[i])); }
  expect(m).toBeLessThan(1e-4);
  expect(changed).toBeGreaterThan(1e-2); // the vectors do reach the logits
  lm.dispose();
  model.dispose();
});
