/**
 * Pretraining: the training forward matches the gpt2.ts decoder on the saved checkpoint, the
 * loss drops on a tiny corpus, runs are deterministic and resumable, and the corpus teaches the
 * Stage 2 answer format.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, selectBackend } from '@allmrec/core';

const readSafetensorsForTest = (file: string) => new Map([...readSafetensors(file).tensors].map(([k, t]) => [k, t.data as Float32Array]));
import { loadCausalLMSync, writeHFCheckpoint } from './checkpoint';
import { trainByteLevelBPE, type TrainedBPE } from './bpe-trainer';
import {
  CONTEXT_MARK, PIECE_BREAK, SLOT_MARK, curriculumPool, SLOT_MATCH, TrainableGPT2, listCopyDocument, textPieces, buildPretrainCorpus, listCopyAccuracy, pretrainLM, tokenizeDocument,
  VECTOR_ROLES, VECTOR_SLOT, slotVectors, matchSlices, sectionMarkerToken, interfaceSlotVectors,
} from './pretrain';
import { TEMPLATES, renderPrompt } from './prompt';
import { HFTokenizer } from './tokenizer';
import { Rng } from '@allmrec/core';

let tmp: string;
beforeAll(async () => {
  await selectBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-pretrain-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ITEMS = [
  'Toy Story (1995)', 'GoldenEye (1995)', 'Four Rooms (1995)', 'Get Shorty (1995)', 'Copycat (1995)',
  'Twelve Monkeys (1995)', 'Babe (1995)', 'Dead Man Walking (1995)', 'Richard III (1995)', 'Seven (Se7en) (1995)',
].map((title) => ({ title, description: '' }));

/** The spec of the at-initialisation tests: hidden 128, 8 heads, 2 layers, title rows started apart. */
function atInitSpec(bpe: { vocabSize: number; eosTokenId: number }, titles: string[]) {
  return { vocabSize: bpe.vocabSize, hidden: 128, layers: 2, heads: 8, maxPositions: 256, eosTokenId: bpe.eosTokenId, mimeticInit: true, sharedInitRows: [bpe.vocabSize - titles.length, bpe.vocabSize] as [number, number], sharedInitSpread: 0.1 };
}

/** Writes `model` with `bpe`'s tokenizer as the checkpoint tmp/`name` and loads it back as a frozen LM. */
async function savedAndLoaded(model: TrainableGPT2, bpe: TrainedBPE, name: string) {
  const dir = path.join(tmp, name);
  await writeHFCheckpoint(dir, { config: model.configJson(), tensors: model.toHF(), tokenizerJson: bpe.tokenizerJson, tokenizerConfig: bpe.tokenizerConfig });
  return loadCausalLMSync(dir);
}

test('training forward logits equal the gpt2.ts decoder after saving (1e-4)', async () => {
  const bpe = trainByteLevelBPE(ITEMS.map((i) => i.title), { vocabSize: 300 });
  const model = new TrainableGPT2({ vocabSize: bpe.vocabSize, hidden: 32, layers: 2, heads: 4, maxPositions: 32, eosTokenId: bpe.eosTokenId }, 3);
  // Perturb LN gains/biases and biases so every weight matters.
  tf.tidy(() => { for (const v of model.params.values()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 7), 0.05))); });
  const lm = await savedAndLoaded(model, bpe, 'parity');
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

test('mimetic initialisation: W_K = W_Q, and W_V·W_O is close to a positive multiple of the identity', () => {
  const H = 32;
  const spec = { vocabSize: 50, hidden: H, layers: 2, heads: 4, maxPositions: 16, eosTokenId: 49 };
  const stats = (mimeticInit: boolean) => {
    const m = new TrainableGPT2({ ...spec, mimeticInit }, 5);
    const out = [];
    for (let l = 0; l < spec.layers; l++) {
      const qkv = m.params.get(`h.${l}.attn.c_attn.weight`)!.dataSync() as Float32Array;
      const wo = m.params.get(`h.${l}.attn.c_proj.weight`)!.dataSync() as Float32Array;
      let kqDiff = 0;
      for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) kqDiff = Math.max(kqDiff, Math.abs(qkv[i * 3 * H + j] - qkv[i * 3 * H + H + j]));
      // OV = W_V · W_O ([H, H]); its mean diagonal against its mean |off-diagonal|.
      let diag = 0;
      let off = 0;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < H; j++) {
          let ov = 0;
          for (let r = 0; r < H; r++) ov += qkv[i * 3 * H + 2 * H + r] * wo[r * H + j];
          if (i === j) diag += ov / H; else off += Math.abs(ov) / (H * H - H);
        }
      }
      out.push({ kqDiff, diag, off });
    }
    m.dispose();
    return out;
  };
  for (const l of stats(true)) {
    expect(l.kqDiff).toBe(0);
    expect(l.diag).toBeGreaterThan(0.3); // γ = 0.5 times ≈ 1 (W_V·W_V^T with std 1/√H)
    expect(l.diag).toBeGreaterThan(3 * l.off);
  }
  for (const l of stats(false)) {
    expect(l.kqDiff).toBeGreaterThan(0.01);
    expect(Math.abs(l.diag)).toBeLessThan(0.01);
  }
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

test('slot vectors in subspaces: the user\'s in userDims, the items\' in itemDims, one norm, history below the answer', () => {
  const roles = new Uint8Array([1, 0, 4, 0, 4, 0, 3, 0, 2, 0, 3, 0]);
  const H = 40;
  const U: [number, number] = [24, 32];
  const S: [number, number] = [8, 16];
  for (let seed = 0; seed < 20; seed++) {
    const v = slotVectors(roles, 1, roles.length, H, new Rng(seed), { userDims: U, itemDims: S, normSpread: 0, historyDecoys: false })!;
    const row = (i: number) => Array.from(v.vectors.subarray(i * H, (i + 1) * H));
    const inside = (r: number[], [a, b]: [number, number]) => r.every((x, j) => (j >= a && j < b) || x === 0);
    expect(inside(row(0), U)).toBe(true);
    for (const i of [2, 4, 6, 8, 10]) expect(inside(row(i), S)).toBe(true);
    for (const i of [0, 2, 4, 6, 8, 10]) expect(Math.hypot(...row(i))).toBeCloseTo(1, 5);
    // Cosines are taken between the slices: the answer's is the largest, history included.
    const u = row(0).slice(U[0], U[1]);
    const cos = (i: number) => row(i).slice(S[0], S[1]).reduce((s, x, j) => s + x * u[j], 0);
    const ca = cos(8);
    expect(ca).toBeGreaterThanOrEqual(0.6 - 1e-5);
    for (const i of [2, 4, 6, 10]) expect(cos(i)).toBeLessThanOrEqual(ca - 0.3 + 1e-4);
  }
  expect(() => slotVectors(roles, 1, roles.length, H, new Rng(1), { userDims: U })).toThrow(/go together/);
  expect(() => slotVectors(roles, 1, roles.length, H, new Rng(1), { userDims: [0, 8], itemDims: [8, 12] })).toThrow(/one width/);
  // userScale shrinks only the user vectors (log-uniformly in [lo, hi]); the items and the cosines stay as drawn.
  const base = { userDims: U, itemDims: S, normSpread: 0, historyDecoys: false };
  const norms: number[] = [];
  for (let seed = 0; seed < 200; seed++) {
    const v = slotVectors(roles, 1, roles.length, H, new Rng(seed), { ...base, userScale: [0.1, 1] })!;
    const row = (i: number) => Array.from(v.vectors.subarray(i * H, (i + 1) * H));
    norms.push(Math.hypot(...row(0)));
    for (const i of [2, 4, 6, 8, 10]) expect(Math.hypot(...row(i))).toBeCloseTo(1, 5);
    const u = row(0).slice(U[0], U[1]).map((x) => x / norms[norms.length - 1]);
    const cos = (i: number) => row(i).slice(S[0], S[1]).reduce((s, x, j) => s + x * u[j], 0);
    for (const i of [2, 4, 6, 10]) expect(cos(i)).toBeLessThanOrEqual(cos(8) - 0.3 + 1e-4);
  }
  expect(Math.min(...norms)).toBeGreaterThanOrEqual(0.1 - 1e-6);
  expect(Math.max(...norms)).toBeLessThanOrEqual(1 + 1e-6);
  expect(norms.filter((n) => n < Math.sqrt(0.1)).length / norms.length).toBeGreaterThan(0.4); // log-uniform: half below √0.1
  expect(norms.filter((n) => n < Math.sqrt(0.1)).length / norms.length).toBeLessThan(0.6);
  // A fixed scale draws nothing extra: the same vectors as without it, the user's scaled.
  const plain = slotVectors(roles, 1, roles.length, H, new Rng(5), base)!.vectors;
  const fixed = slotVectors(roles, 1, roles.length, H, new Rng(5), { ...base, userScale: [0.5, 0.5] })!.vectors;
  for (let i = 0; i < plain.length; i++) expect(fixed[i]).toBeCloseTo(i < H ? plain[i] * 0.5 : plain[i], 6);
  expect(() => slotVectors(roles, 1, roles.length, H, new Rng(1), { ...base, userScale: [1, 0.5] })).toThrow(/userScale/);
});

test('wired matching head: at initialisation the LM already ranks the candidate most similar to the user slot first; without it, chance', async () => {
  const titles = ['Toy Story (1995)', 'GoldenEye (1995)', 'Four Rooms (1995)', 'Get Shorty (1995)', 'Copycat (1995)', 'Babe (1995)', 'Heat (1995)', 'Casino (1995)', 'Sabrina (1995)', 'Nixon (1995)', 'Balto (1995)', 'Othello (1995)'];
  const corpus = buildPretrainCorpus(titles.map((title) => ({ title })), { seed: 3, documents: 40, listHistory: [1, 2], listCandidates: [3, 5], listAnswer: 'vector', itemTexts: false });
  const bpe = trainByteLevelBPE((function* () { for (const d of corpus) yield* textPieces(d); })(), { vocabSize: 300, addedTokens: titles });
  const lookBack = { offset: 2, heads: 1, first: 1, match: true };
  const spec = atInitSpec(bpe, titles);
  const rank = async (name: string, wired: boolean) => {
    const model = new TrainableGPT2({ ...spec, ...(wired ? { lookBack } : {}) }, 2);
    const lm = await savedAndLoaded(model, bpe, name);
    model.dispose();
    const { dh, S, U } = matchSlices({ ...spec, lookBack });
    const acc = listCopyAccuracy(lm, titles, {
      seed: 4, documents: 40, template: TEMPLATES.movies, listHistory: [1, 2], listCandidates: [3, 5], maxNewTokens: 1, answerBy: 'vector',
      slotVectors: { userDims: [U, U + dh], itemDims: [S, S + dh], normSpread: 0, historyDecoys: false },
    });
    lm.dispose();
    return acc;
  };
  const wired = await rank('match-wired', true);
  const plain = await rank('match-plain', false);
  expect(wired.chance).toBeGreaterThan(0.2);
  expect(wired.chance).toBeLessThan(0.34);
  expect(wired.rankRate).toBeGreaterThanOrEqual(0.8);
  expect(plain.rankRate).toBeLessThan(wired.chance + 0.25);
  expect(() => new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 1, first: 0, match: true } }, 1)).toThrow(/lookBack.match/);
  expect(() => new TrainableGPT2({ ...spec, layers: 1, lookBack }, 1)).toThrow(/lookBack.match/);
});

test('section flag: with history slots more similar than the answer, the matching head still picks the answer among the candidates; without the flag the history draws it', async () => {
  const titles = ['Toy Story (1995)', 'GoldenEye (1995)', 'Four Rooms (1995)', 'Get Shorty (1995)', 'Copycat (1995)', 'Babe (1995)', 'Heat (1995)', 'Casino (1995)', 'Sabrina (1995)', 'Nixon (1995)', 'Balto (1995)', 'Othello (1995)'];
  const options = { seed: 3, documents: 40, template: TEMPLATES.movies, listHistory: [4, 6] as [number, number], listCandidates: [3, 5] as [number, number], listAnswer: 'vector' as const, itemTexts: false };
  const corpus = buildPretrainCorpus(titles.map((title) => ({ title })), options);
  const bpe = trainByteLevelBPE((function* () { for (const d of corpus) yield* textPieces(d); })(), { vocabSize: 400, addedTokens: titles });
  const tok = new HFTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig, { eosTokenId: bpe.eosTokenId, bosTokenId: bpe.eosTokenId });
  const small = trainByteLevelBPE((function* () { for (const d of corpus) yield* textPieces(d); })(), { vocabSize: 270 });
  expect(() => sectionMarkerToken(new HFTokenizer(small.tokenizerJson, small.tokenizerConfig, { eosTokenId: small.eosTokenId, bosTokenId: small.eosTokenId }))).toThrow(/" set" is \d+ tokens/);
  const marker = sectionMarkerToken(tok);
  expect(tok.decode([marker])).toBe(' set');
  const spec = atInitSpec(bpe, titles);
  const rank = async (name: string, section: boolean, decoys: boolean) => {
    const model = new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 1, first: 1, match: true, ...(section ? { section: marker } : {}) } }, 2);
    const iface = model.configJson().allmrec_slot_interface as { user: [number, number]; item: [number, number]; section?: number };
    const lm = await savedAndLoaded(model, bpe, name);
    model.dispose();
    expect(lm.config.slotInterface).toEqual(iface);
    const acc = listCopyAccuracy(lm, titles, { ...options, seed: 4, maxNewTokens: 1, answerBy: 'vector', slotVectors: { ...interfaceSlotVectors(iface), historyDecoys: decoys } });
    lm.dispose();
    return acc.rankRate;
  };
  const sectioned = await rank('section-decoys', true, true);
  const drawn = await rank('nosection-decoys', false, true);
  const clean = await rank('nosection-clean', false, false);
  expect(sectioned).toBeGreaterThanOrEqual(0.8);
  expect(sectioned).toBeGreaterThanOrEqual(clean - 0.1); // the flag costs (almost) nothing
  expect(drawn).toBeLessThan(sectioned - 0.15);
  expect(() => new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 1, first: 1, section: marker } }, 1)).toThrow(/lookBack.section/);
  expect(() => new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 1, first: 1, match: true, section: spec.vocabSize } }, 1)).toThrow(/lookBack.section/);
});

test('copy width: with 300 titles the matching head copies a title the LM can name only when it copies more than one dh slice of it', async () => {
  const words = ['Red', 'Blue', 'Night', 'River', 'Star', 'Ghost', 'King', 'Lost', 'City', 'Dream', 'Fire', 'Moon', 'Iron', 'Glass', 'Wild', 'Silent'];
  const titles = Array.from({ length: 300 }, (_, i) => `${words[i % 16]} ${words[Math.floor(i / 16) % 16]} ${i} (${1950 + (i % 50)})`);
  const options = { seed: 3, documents: 40, template: TEMPLATES.movies, listHistory: [1, 3] as [number, number], listCandidates: [10, 20] as [number, number], listAnswer: 'vector' as const, itemTexts: false, sectionMarker: true };
  const corpus = buildPretrainCorpus(titles.map((title) => ({ title })), options);
  const bpe = trainByteLevelBPE((function* () { for (const d of corpus) yield* textPieces(d); })(), { vocabSize: 700, addedTokens: titles, wholeWords: [' set'] });
  const marker = sectionMarkerToken(new HFTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig, { eosTokenId: bpe.eosTokenId, bosTokenId: bpe.eosTokenId }));
  const spec = atInitSpec(bpe, titles);
  const named = async (heads: number) => {
    const model = new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads, first: 1, match: true, section: marker } }, 2);
    const iface = model.configJson().allmrec_slot_interface as { user: [number, number]; item: [number, number]; section?: number };
    const lm = await savedAndLoaded(model, bpe, `copy-${heads}`);
    model.dispose();
    const acc = listCopyAccuracy(lm, titles, { ...options, seed: 4, maxNewTokens: 1, answerBy: 'vector', slotVectors: interfaceSlotVectors(iface) });
    lm.dispose();
    return acc;
  };
  const one = await named(1);
  const four = await named(4);
  // The greedy first token is a candidate's title (valid) far more often with 4 slices (64 of 128 dimensions) than with 1 (16).
  expect(four.validRate).toBeGreaterThanOrEqual(0.95);
  expect(one.validRate).toBeLessThan(four.validRate - 0.15);
  expect(four.rankRate).toBeGreaterThanOrEqual(0.9);
  const w = new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 4, first: 1, match: true, section: marker } }, 2);
  const { dh, C, copy } = matchSlices(w.spec);
  expect([C, copy]).toEqual([4 * dh, 4 * dh]);
  // Layer 1's heads 1..4 each read and write one of the four look-back slices.
  const v = w.params.get('h.1.attn.c_attn.weight')!.dataSync();
  const o = w.params.get('h.1.attn.c_proj.weight')!.dataSync();
  const H = 128;
  for (let i = 0; i < 4; i++) {
    const m = (1 + i) * dh;
    expect(v[(C + i * dh + 3) * 3 * H + 2 * H + m + 3]).toBe(1);
    expect(o[(m + 3) * H + C + i * dh + 3]).toBeGreaterThan(1);
    expect(o[(m + 3) * H + C + ((i + 1) % 4) * dh + 3]).toBe(0);
  }
  w.dispose();
});

test('matching-head hold: every wired entry keeps its value through training (weight decay included), the rest trains', async () => {
  const corpus = buildPretrainCorpus(ITEMS, { seed: 2, documents: 30, listHistory: [0, 1], listCandidates: [2, 3], listAnswer: 'vector', itemTexts: false, bareLists: 1, sectionMarker: true });
  expect(corpus.filter((d) => d.includes(' set;')).length).toBe(30); // bare lists keep the section marker
  const lookBack = { offset: 2, heads: 1, first: 1, match: true };
  const base = { corpus, seed: 8, vocabSize: 300, hidden: 64, layers: 2, heads: 4, maxPositions: 64, seqLen: 64, batchSize: 4, steps: 4, lr: 3e-3, oneDocPerRow: true, weightDecay: 0.5 };
  await pretrainLM({ ...base, outDir: path.join(tmp, 'mhold'), lookBack: { ...lookBack, section: true, hold: 1 } });
  const cfg = JSON.parse(fs.readFileSync(path.join(tmp, 'mhold', 'config.json'), 'utf8'));
  const marker = cfg.allmrec_slot_interface.section as number;
  const init = new TrainableGPT2({ vocabSize: cfg.vocab_size, hidden: 64, layers: 2, heads: 4, maxPositions: 64, eosTokenId: cfg.eos_token_id, lookBack: { ...lookBack, section: marker } }, 8);
  const w = readSafetensorsForTest(path.join(tmp, 'mhold', 'model.safetensors'));
  const { dh, S, U, C, M, F } = matchSlices(init.spec);
  expect(cfg.allmrec_slot_interface).toEqual({ user: [U, U + dh - 1], item: [S, S + dh - 1], section: marker });
  const H = 64;
  const m = dh; // layer 1's head 1
  const q = (name: string, i: number) => [w.get(name)![i], init.params.get(name)!.dataSync()[i]];
  // W_Q reads U, W_K reads S, W_V reads C; W_O writes C; nothing else in those columns.
  for (let r = 0; r < H; r++) {
    for (let j = 0; j < dh; j++) {
      for (const off of [0, H, 2 * H]) {
        const [now, was] = q('h.1.attn.c_attn.weight', r * 3 * H + off + m + j);
        expect(now).toBe(was);
      }
    }
  }
  expect(init.params.get('h.1.attn.c_attn.weight')!.dataSync()[(U + 3) * 3 * H + m + 3]).toBeGreaterThan(1);
  expect(init.params.get('h.1.attn.c_attn.weight')!.dataSync()[(S + 3) * 3 * H + H + m + 3]).toBe(1);
  expect(init.params.get('h.1.attn.c_attn.weight')!.dataSync()[(C + 3) * 3 * H + 2 * H + m + 3]).toBe(1);
  for (let c = 0; c < H; c++) expect(q('h.1.attn.c_proj.weight', (m + 2) * H + c)[0]).toBe(c === C + 2 ? q('h.1.attn.c_proj.weight', (m + 2) * H + c)[1] : 0);
  // Token rows stay 0 on S and U, layer 0's MLP never writes there, and layer 1's LayerNorm keeps gain 1 on the slices.
  const wte = w.get('wte.weight')!;
  const mlp = w.get('h.0.mlp.c_proj.weight')!;
  for (let r = 0; r < cfg.vocab_size; r++) for (let j = 0; j < dh; j++) { expect(wte[r * H + S + j]).toBe(r === marker && S + j === M ? 0.5 : 0); expect(wte[r * H + U + j]).toBe(0); }
  // The marker's row is only M; layer 0's head 0 (the section head) and its write into the flag F stay wired.
  for (let j = 0; j < H; j++) expect(wte[marker * H + j]).toBe(j === M ? 0.5 : 0);
  for (const [name, i] of [['h.0.attn.c_attn.weight', M * 3 * H + H], ['h.0.attn.c_attn.weight', M * 3 * H + 2 * H], ['h.0.attn.c_attn.bias', 0], ['h.0.attn.c_attn.bias', 2 * H], ['h.0.attn.c_proj.weight', F], ['h.1.attn.c_attn.bias', m + dh - 1], ['h.1.attn.c_attn.weight', F * 3 * H + H + m + dh - 1]] as [string, number][]) {
    const [now, was] = q(name, i);
    expect(now).toBe(was);
    expect(now).not.toBe(0);
  }
  for (let r = 0; r < 4 * H; r++) for (const c0 of [S, U, C]) expect(mlp[r * H + c0 + 5]).toBe(0);
  for (const c0 of [S, U, C]) expect(w.get('h.1.ln_1.weight')![c0 + 1]).toBe(1);
  // The rest trained.
  const same = (n: string) => Array.from(w.get(n)!).every((x, i) => x === init.params.get(n)!.dataSync()[i]);
  expect(same('h.1.mlp.c_fc.weight')).toBe(false);
  expect(same('h.0.mlp.c_proj.weight')).toBe(false);
  init.dispose();
});

test('length curriculum: batches start from the shortest tenth of the rows and reach all of them at the set share', () => {
  const pools = [0, 100, 250, 450, 500, 900].map((step) => curriculumPool(step, 1000, 0.5, 400, 16));
  expect(pools).toEqual([40, 112, 220, 364, 400, 400]);
  expect(curriculumPool(0, 1000, 0, 400, 16)).toBe(400);
  expect(curriculumPool(0, 1000, 0.5, 40, 16)).toBe(16); // never fewer than one batch
  expect(curriculumPool(0, 1000, 0.5, 8, 16)).toBe(8);
});

test('corpus documents follow renderPrompt token boundaries, with slots', () => {
  const corpus = buildPretrainCorpus(ITEMS, { seed: 1, template: TEMPLATES.movies, documents: 5, listHistory: [2, 2], listCandidates: [3, 3] });
  expect(corpus.length).toBe(ITEMS.length + 5);
  const doc = corpus[ITEMS.length];
  const raw = doc.split(PIECE_BREAK);
  // Prompt pieces are context only (CONTEXT_MARK); the answer is the one target piece.
  expect(raw.slice(0, -1).every((p) => p === SLOT_MARK || p.startsWith(CONTEXT_MARK))).toBe(true);
  expect(raw[raw.length - 1].startsWith(CONTEXT_MARK)).toBe(false);
  const pieces = raw.map((p) => (p.startsWith(CONTEXT_MARK) ? p.slice(1) : p));
  expect(pieces.filter((p) => p === SLOT_MARK).length).toBe(1 + 2 + 3);
  expect(pieces[pieces.length - 1]).toMatch(/^".*"$/);
  // The answer is one of the candidates.
  const answer = pieces[pieces.length - 1];
  const cands = pieces.slice(pieces.indexOf(pieces.find((p) => p.includes('title set'))!) + 1, -2).filter((p) => p !== SLOT_MARK).map((p) => p.replace(/^, /, ''));
  expect(cands).toContain(answer);
  // Same ids as renderPrompt with the slot placeholders at the same positions.
  const bpe = trainByteLevelBPE(corpus.flatMap((d) => textPieces(d)), { vocabSize: 400 });
  const tok = new HFTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig);
  const { ids, target } = tokenizeDocument(tok, raw.slice(0, -1).join(PIECE_BREAK), bpe.eosTokenId, new Rng(0), bpe.eosTokenId);
  expect(target.slice(0, -1).every((t) => !t)).toBe(true);
  const hist = pieces.slice(2, 6).filter((p) => p !== SLOT_MARK).map((p, i) => ({ id: i + 1, title: p.replace(/^, /, '').slice(1, -1) }));
  const cand = cands.map((c, i) => ({ id: 10 + i, title: c.slice(1, -1) }));
  const r = renderPrompt(tok, TEMPLATES.movies, hist, cand, { placeholderId: -1 });
  expect(ids.length - 1).toBe(r.ids.length);
  r.ids.forEach((id, i) => { if (id === -1) expect(target[i]).toBe(false); else expect(ids[i]).toBe(id); });
});

test('marker documents: the user slot and the answer slot share one token no other slot has', () => {
  const titles = ITEMS.map((i) => i.title);
  const tok = new HFTokenizer(trainByteLevelBPE(titles, { vocabSize: 300 }).tokenizerJson, {});
  const rng = new Rng(4);
  for (let d = 0; d < 40; d++) {
    const doc = listCopyDocument(titles, rng, TEMPLATES.movies, [1, 3], [2, 6], 'marker');
    expect(doc.pieces[0]).toBe(SLOT_MATCH);
    expect(doc.pieces.filter((p) => p === SLOT_MATCH)).toHaveLength(2);
    // The second SLOT_MATCH follows the answer's title.
    const at = doc.pieces.lastIndexOf(SLOT_MATCH);
    expect(doc.pieces[at - 1].replace(/^, /, '')).toBe(`"${doc.candidates[doc.answer]}"`);
    const { ids, target } = tokenizeDocument(tok, doc.pieces.join(PIECE_BREAK), 0, rng, 8);
    // Slot positions: not targets. The marker value appears at exactly the two SLOT_MATCH slots.
    const slots = ids.filter((_, i) => !target[i]);
    expect(slots).toHaveLength(doc.pieces.filter((p) => p === SLOT_MARK || p === SLOT_MATCH).length);
    const marker = ids[0];
    expect(target[0]).toBe(false);
    expect(slots.filter((t) => t === marker)).toHaveLength(2);
  }
  // 'random' documents have no marker.
  const r = listCopyDocument(titles, new Rng(1), TEMPLATES.movies, [1, 3], [2, 6]);
  expect(r.pieces.includes(SLOT_MATCH)).toBe(false);
});

test('vector documents: every slot is a vector slot with its role, and the answer is the candidate most similar to the user slot', () => {
  const titles = ITEMS.map((i) => i.title);
  const tok = new HFTokenizer(trainByteLevelBPE(titles, { vocabSize: 300 }).tokenizerJson, {});
  const rng = new Rng(6);
  const H = 24;
  for (let d = 0; d < 30; d++) {
    const doc = listCopyDocument(titles, rng, TEMPLATES.movies, [1, 3], [2, 6], 'vector');
    const { ids, target, roles } = tokenizeDocument(tok, doc.pieces.join(PIECE_BREAK), 0, rng, 8);
    expect(roles).toBeDefined();
    const at = (r: number) => roles!.flatMap((x, i) => (x === r ? [i] : []));
    expect(at(VECTOR_ROLES.user)).toEqual([0]);
    expect(at(VECTOR_ROLES.answer)).toHaveLength(1);
    expect(at(VECTOR_ROLES.candidate)).toHaveLength(doc.candidates.length - 1);
    expect(at(VECTOR_ROLES.history)).toHaveLength(doc.pieces.filter((p) => p === VECTOR_SLOT + 'h').length);
    // Vector slots are placeholders (the eos id) and never targets; the answer's slot follows its title.
    for (let i = 0; i < ids.length; i++) if (roles![i]) { expect(ids[i]).toBe(0); expect(target[i]).toBe(false); }
    const k = doc.pieces.indexOf(VECTOR_SLOT + 'a');
    expect(doc.pieces[k - 1].replace(/^, /, '')).toBe(`"${doc.candidates[doc.answer]}"`);

    const T = ids.length;
    const v = slotVectors(roles!, 1, T, H, new Rng(d))!;
    const again = slotVectors(roles!, 1, T, H, new Rng(d))!;
    expect(Array.from(again.vectors)).toEqual(Array.from(v.vectors));
    const row = (i: number) => v.vectors.subarray(i * H, (i + 1) * H);
    const norm = (x: Float32Array) => Math.hypot(...x);
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, j) => s + x * b[j], 0) / (norm(a) * norm(b));
    const u = row(0);
    const ca = cos(row(at(VECTOR_ROLES.answer)[0]), u);
    expect(ca).toBeGreaterThanOrEqual(0.6 - 1e-5);
    expect(ca).toBeLessThanOrEqual(1 + 1e-5);
    for (const i of at(VECTOR_ROLES.candidate)) expect(cos(row(i), u)).toBeLessThanOrEqual(ca - 0.3 + 1e-4);
    for (let i = 0; i < T; i++) {
      expect(v.mask[i]).toBe(roles![i] ? 1 : 0);
      if (roles![i]) { expect(norm(row(i))).toBeGreaterThan(0.5 - 1e-4); expect(norm(row(i))).toBeLessThan(2 + 1e-4); }
      else expect(norm(row(i))).toBe(0);
    }
  }
  // Documents without vector slots draw nothing.
  const plain = tokenizeDocument(tok, listCopyDocument(titles, rng, TEMPLATES.movies, [1, 3], [2, 6]).pieces.join(PIECE_BREAK), 0, rng, 8);
  expect(plain.roles).toBeUndefined();
  expect(slotVectors(new Uint8Array(10), 2, 5, H, new Rng(1))).toBeUndefined();
});

test('vector slots: the training forward equals the saved CausalLM run on the same input embeddings (1e-4)', async () => {
  const bpe = trainByteLevelBPE(ITEMS.map((i) => i.title), { vocabSize: 300 });
  const H = 32;
  const model = new TrainableGPT2({ vocabSize: bpe.vocabSize, hidden: H, layers: 2, heads: 4, maxPositions: 32, eosTokenId: bpe.eosTokenId, mimeticInit: true }, 4);
  const lm = await savedAndLoaded(model, bpe, 'slot-parity');
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

test('pretrainLM on vector documents: deterministic, and the list check ranks candidates by likelihood', async () => {
  const corpus = buildPretrainCorpus(ITEMS, { seed: 2, documents: 40, listHistory: [1, 2], listCandidates: [2, 4], listAnswer: 'vector', itemTexts: false });
  const base = { corpus, seed: 5, vocabSize: 320, hidden: 32, layers: 2, heads: 2, maxPositions: 256, seqLen: 200, batchSize: 4, steps: 6, lr: 3e-3, oneDocPerRow: true };
  const r = await pretrainLM({ ...base, outDir: path.join(tmp, 'va') });
  await pretrainLM({ ...base, outDir: path.join(tmp, 'vb') });
  const read = (d: string) => fs.readFileSync(path.join(tmp, d, 'model.safetensors'));
  expect(read('va').equals(read('vb'))).toBe(true);
  expect(Number.isFinite(r.heldOutPerplexity)).toBe(true);
  const lm = loadCausalLMSync(path.join(tmp, 'va'));
  const acc = listCopyAccuracy(lm, ITEMS.map((i) => i.title), { seed: 9, documents: 6, listHistory: [1, 2], listCandidates: [2, 4], maxNewTokens: 8, answerBy: 'vector' });
  expect(acc.documents).toBe(6);
  expect(acc.chance).toBeGreaterThanOrEqual(0.25);
  expect(acc.chance).toBeLessThanOrEqual(0.5);
  expect(acc.rankRate).toBeGreaterThanOrEqual(0);
  expect(acc.rankRate).toBeLessThanOrEqual(1);
  lm.dispose();
});

test('bare list documents keep the slots, titles and answer, without the wording', () => {
  const titles = ITEMS.map((i) => i.title);
  const worded = buildPretrainCorpus(ITEMS, { seed: 3, documents: 30, listAnswer: 'marker', itemTexts: false });
  const bare = buildPretrainCorpus(ITEMS, { seed: 3, documents: 30, listAnswer: 'marker', itemTexts: false, bareLists: 1 });
  for (let d = 0; d < 30; d++) {
    const w = worded[d].split(PIECE_BREAK);
    const b = bare[d].split(PIECE_BREAK);
    // Same slots in the same order, same answer, same quoted titles.
    const slots = (x: string[]) => x.filter((p) => p === SLOT_MARK || p === SLOT_MATCH);
    expect(slots(b)).toEqual(slots(w));
    expect(b[b.length - 1]).toBe(w[w.length - 1]);
    const quoted = (x: string[]) => x.join('').match(/"[^"]*"/g);
    expect(quoted(b)).toEqual(quoted(w));
    const text = textPieces(bare[d]).join('');
    expect(text).not.toMatch(/recommend|user/i);
    expect(text).toMatch(/ = "/);
    expect(titles).toContain(b[b.length - 1].slice(1, -1));
  }
});

test('pretrainLM: loss drops, held-out perplexity, deterministic, resumable, loads as a CausalLM', async () => {
  const corpus = buildPretrainCorpus(ITEMS, { seed: 2, documents: 60, listHistory: [1, 2], listCandidates: [2, 4] });
  const base = { corpus, seed: 5, vocabSize: 320, hidden: 32, layers: 2, heads: 2, maxPositions: 160, seqLen: 64, batchSize: 4, steps: 24, lr: 3e-3 };
  const losses: number[] = [];
  const r1 = await pretrainLM({ ...base, outDir: path.join(tmp, 'a'), onProgress: (e) => { if (!e.done) losses.push(Number(e.values!.loss)); } });
  expect(r1.steps).toBe(24);
  const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
  const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
  expect(last).toBeLessThan(first * 0.8);
  expect(Number.isFinite(r1.heldOutPerplexity)).toBe(true);
  expect(r1.heldOutPerplexity).toBeLessThan(r1.vocabSize);
  expect(r1.heldOutTokens).toBeGreaterThan(0);
  // Same seed → same weights; interrupted + resumed → same weights.
  await pretrainLM({ ...base, outDir: path.join(tmp, 'b') });
  const ck = path.join(tmp, 'ck');
  // Interrupt after 10 steps: a run with checkpointEvery 10 and a progress listener that throws at step 12.
  await expect(pretrainLM({ ...base, outDir: path.join(tmp, 'c1'), checkpointDir: ck, checkpointEvery: 10, onProgress: (e) => { if (e.current === 12) throw new Error('stop'); } })).rejects.toThrow('stop');
  const r3 = await pretrainLM({ ...base, outDir: path.join(tmp, 'c'), checkpointDir: ck, checkpointEvery: 10 });
  expect(r3.resumedFrom).toBe(10);
  const read = (d: string) => fs.readFileSync(path.join(tmp, d, 'model.safetensors'));
  expect(read('b').equals(read('a'))).toBe(true);
  expect(read('c').equals(read('a'))).toBe(true);
  // One document per row (each at position 0): the same targets but each document's first token
  // (nothing precedes it in its row), trained without error.
  const rows = await pretrainLM({ ...base, steps: 4, oneDocPerRow: true, outDir: path.join(tmp, 'rows') });
  expect(rows.trainTokens).toBeLessThan(r1.trainTokens);
  expect(rows.trainTokens).toBeGreaterThan(0.7 * r1.trainTokens);
  expect(Number.isFinite(rows.finalLoss)).toBe(true);
  const lm = loadCausalLMSync(path.join(tmp, 'a'));
  expect(lm.config.vocabSize).toBe(r1.vocabSize);
  const acc = listCopyAccuracy(lm, ITEMS.map((i) => i.title), { seed: 9, documents: 3, listHistory: [1, 2], listCandidates: [2, 4], maxNewTokens: 8 });
  expect(acc.documents).toBe(3);
  expect(acc.outputs.length).toBe(3);
  lm.dispose();
});
