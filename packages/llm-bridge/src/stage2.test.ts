/**
 * Stage 2 on a tiny random GPT-2 with fake CF sources: input construction (slots, labels),
 * training (only the projectors move, loss drops, no tensor growth, fresh candidates per step,
 * no leak of validation/test items), evaluation metrics on a rigged LM, save/load and resume.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend, type LeaveOneOutSplit } from '@allmrec/core';
import { buildEvalSet, getProtocol } from '@allmrec/eval';
import type { CausalLM, ForwardOptions, ForwardResult, KVCache } from './causal-lm';
import { loadCausalLM, loadCausalLMSync } from './checkpoint';
import { generate } from './generate';
import { TEMPLATES, renderPrompt } from './prompt';
import { Stage2Model, type Stage2Example, type Stage2Sources } from './stage2';
import { writeTinyCheckpoint } from './testing/tiny';
import type { TransformerLM } from './transformer';

const WORDS = ['red', 'blue', 'green', 'sun', 'moon', 'star', 'tree', 'rock', 'fish', 'bird', 'cat', 'dog', 'sea', 'sky', 'ice', 'fire'];
const NUM_ITEMS = 40;
const TITLES = ['', ...Array.from({ length: NUM_ITEMS }, (_, i) => `${WORDS[i % 16]} ${WORDS[(i * 7 + 3) % 16]} ${i}`)];
const USER_DIM = 6;
const ITEM_DIM = 8;

let tmp: string;
let lm: TransformerLM;

/** Fake frozen sources: random item vectors; x_u = mean of the history's first USER_DIM coordinates. */
function fakeSources(titles = TITLES): Stage2Sources {
  const rng = new Rng(11);
  const table = Float32Array.from({ length: (NUM_ITEMS + 1) * ITEM_DIM }, () => rng.normal());
  return {
    userDim: USER_DIM, itemDim: ITEM_DIM, titles, template: TEMPLATES.movies,
    itemEmbeddings: (ids) => {
      const out = new Float32Array(ids.length * ITEM_DIM);
      for (let i = 0; i < ids.length; i++) out.set(table.subarray(ids[i] * ITEM_DIM, (ids[i] + 1) * ITEM_DIM), i * ITEM_DIM);
      return out;
    },
    userReps: (hs) => {
      const out = new Float32Array(hs.length * USER_DIM);
      hs.forEach((h, b) => { for (const id of h) for (let k = 0; k < USER_DIM; k++) out[b * USER_DIM + k] += table[id * ITEM_DIM + k] / h.length; });
      return out;
    },
  };
}

/** Users with 5..8 items; leave-one-out. */
function fakeSplit(users = 8, seed = 3): LeaveOneOutSplit {
  const rng = new Rng(seed);
  const train: Int32Array[] = [new Int32Array(0)];
  const valid = new Int32Array(users + 1);
  const test = new Int32Array(users + 1);
  for (let u = 1; u <= users; u++) {
    const n = 5 + rng.int(4);
    const seq = new Set<number>();
    while (seq.size < n) seq.add(1 + rng.int(NUM_ITEMS));
    const s = Int32Array.from(seq);
    train.push(s.slice(0, n - 2));
    valid[u] = s[n - 2];
    test[u] = s[n - 1];
  }
  return { numUsers: users, numItems: NUM_ITEMS, train, valid, test };
}

const SMALL = { historyLength: 3, numCandidates: 4, batchSize: 2, epochs: 1, maxNewTokens: 6 };

beforeAll(async () => {
  await selectBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-stage2-'));
  lm = loadCausalLMSync(writeTinyCheckpoint(path.join(tmp, 'lm'), { family: 'gpt2', seed: 5, hidden: 16, heads: 2, layers: 2, maxPositions: 1024 }));
});
afterAll(() => {
  lm.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function values(m: Stage2Model): Float32Array[] {
  return [...Object.values(m.fu.values()), ...Object.values(m.fi.values())].map((v) => v.data.slice());
}

test('slot rows are F_U / F_I outputs, other rows token embeddings; labels only on the target', () => {
  const s = fakeSources();
  const m = new Stage2Model(lm, s, SMALL, 1);
  const ex: Stage2Example[] = [
    { history: Int32Array.from([1, 2, 3, 4, 5]), candidates: Int32Array.from([6, 7, 8, 9]), target: 7 },
    { history: Int32Array.from([10]), candidates: Int32Array.from([11, 12, 13, 14]), target: 14 },
  ];
  const inp = m.buildInputs(ex);
  const [B, T, H] = inp.embeds.shape;
  const emb = inp.embeds.arraySync();
  const tokEmb = lm.embedTokens(tf.tensor2d(inp.ids, [B, T], 'int32')).arraySync();
  const fu = m.fu.apply(tf.tensor2d(s.userReps(ex.map((e) => e.history)), [B, USER_DIM])).arraySync();
  const labels = inp.labels!.arraySync();
  const mask = inp.mask.arraySync();
  for (let b = 0; b < B; b++) {
    const p = inp.prompts[b];
    expect(p.slots[0]).toEqual({ position: 0, kind: 'user', ref: b });
    // History slots: the last 3 items only (historyLength 3); candidates all.
    expect(p.slots.filter((x) => x.kind === 'history').map((x) => x.ref)).toEqual(Array.from(ex[b].history.slice(-3)));
    expect(p.slots.filter((x) => x.kind === 'candidate').map((x) => x.ref)).toEqual(Array.from(ex[b].candidates));
    const slotCols = new Map(p.slots.map((x) => [inp.pad[b] + x.position, x]));
    const target = [...lm.tokenizer.encode(`"${TITLES[ex[b].target!]}"`, { continuation: true }), lm.config.eosTokenId!];
    for (let t = 0; t < T; t++) {
      const slot = slotCols.get(t);
      if (slot?.kind === 'user') expect(emb[b][t]).toEqual(fu[b]);
      else if (slot) expect(emb[b][t]).toEqual(m.fi.apply(tf.tensor2d(s.itemEmbeddings([slot.ref]), [1, ITEM_DIM])).arraySync()[0]);
      else expect(emb[b][t]).toEqual(tokEmb[b][t]);
      expect(mask[b][t]).toBe(t >= inp.pad[b] ? 1 : 0);
      const promptEnd = inp.pad[b] + p.ids.length;
      if (t < promptEnd) expect(labels[b][t]).toBe(-100);
      else expect(labels[b][t]).toBe(target[t - promptEnd]);
    }
    expect(T - inp.pad[b] - p.ids.length).toBe(target.length);
    expect(emb[b].length).toBe(T);
    expect(emb[b][0].length).toBe(H);
  }
  tf.dispose([inp.embeds, inp.mask, inp.labels!]);
  m.dispose();
});

test('a title containing "[HistoryEmb]" creates no slot', () => {
  const titles = [...TITLES];
  titles[2] = 'the [HistoryEmb] movie [CandidateEmb]';
  const m = new Stage2Model(lm, fakeSources(titles), SMALL, 2);
  const inp = m.buildInputs([{ history: Int32Array.from([1, 2]), candidates: Int32Array.from([2, 3, 4, 5]) }]);
  expect(inp.prompts[0].slots.length).toBe(1 + 2 + 4);
  expect(inp.prompts[0].slots.map((s) => s.kind)).toEqual(['user', 'history', 'history', 'candidate', 'candidate', 'candidate', 'candidate']);
  expect(inp.labels).toBeUndefined();
  tf.dispose([inp.embeds, inp.mask]);
  m.dispose();
});

test('training: loss drops when overfitting, the LM stays bit-identical, no tensor growth', async () => {
  const lmBefore = lmSnapshot(lm);
  const split = fakeSplit(3);
  const short = ['', ...Array.from({ length: NUM_ITEMS }, (_, i) => `t${i}`)];
  const m = new Stage2Model(lm, fakeSources(short), { ...SMALL, lr: 1e-2, batchSize: 3 }, 3);
  const r = await m.fit({ split, epochs: 60, seed: 1 });
  expect(r.epochs.length).toBe(60);
  expect(r.trainUsers).toBe(3);
  const mean = (xs: { loss: number }[]) => xs.reduce((a, x) => a + x.loss, 0) / xs.length;
  // A random tiny LM is hard to steer through a few slots: the drop is modest but clear.
  expect(mean(r.epochs.slice(-5))).toBeLessThan(mean(r.epochs.slice(0, 5)) - 0.2);
  expect(lmSnapshot(lm)).toEqual(lmBefore);
  // No tensor growth over 100 steps.
  const adam = m.createOptimizer();
  const ex: Stage2Example[] = [{ history: Int32Array.from([1, 2]), candidates: Int32Array.from([3, 4, 5, 6]), target: 4 }];
  m.trainStep(ex, adam);
  const before = tf.memory().numTensors;
  const bytes = tf.memory().numBytes;
  for (let i = 0; i < 100; i++) m.trainStep(ex, adam);
  expect(tf.memory().numTensors).toBe(before);
  expect(tf.memory().numBytes).toBe(bytes);
  adam.dispose();
  m.dispose();
});

test('the weights kept are the average of the steps\' weights (decay d); training itself is unchanged; no tensor left', async () => {
  const split = fakeSplit(5, 6);
  const s = fakeSources();
  const cfg = { ...SMALL, lr: 1e-2, epochs: 2 };
  const plain = new Stage2Model(lm, s, { ...cfg, weightAverage: 0 }, 9);
  await plain.fit({ split, seed: 3 });
  const last = values(plain); // the last step's weights
  plain.dispose();
  const d = 0.6;
  const avg = new Stage2Model(lm, s, { ...cfg, weightAverage: d }, 9);
  const before: Float32Array[][] = []; // the weights before each step
  const n0 = tf.memory().numTensors;
  await avg.fit({ split, seed: 3, onBatch: () => before.push(values(avg)) });
  expect(tf.memory().numTensors).toBe(n0);
  expect(before.length).toBe(6); // 2 epochs × ceil(5 users / batch 2)
  // θ̄ starts at the first step's starting weights and takes in each step's result.
  const expected = before[0].map((a) => Float64Array.from(a));
  for (const w of [...before.slice(1), last]) expected.forEach((e, i) => { for (let j = 0; j < e.length; j++) e[j] = d * e[j] + (1 - d) * w[i][j]; });
  const got = values(avg);
  let err = 0;
  let moved = 0;
  got.forEach((g, i) => { for (let j = 0; j < g.length; j++) { err = Math.max(err, Math.abs(g[j] - expected[i][j])); moved = Math.max(moved, Math.abs(g[j] - last[i][j])); } });
  expect(err).toBeLessThan(1e-5);
  expect(moved).toBeGreaterThan(1e-3);
  avg.dispose();
  expect(() => new Stage2Model(lm, s, { ...cfg, weightAverage: 1 }, 9)).toThrow(/weightAverage must be in \[0, 1\)/);
});

function lmSnapshot(model: TransformerLM): string[] {
  const out: string[] = [];
  const visit = (o: unknown) => {
    if (o instanceof tf.Tensor) out.push(Buffer.from((o.dataSync() as Float32Array).buffer).toString('base64'));
    else if (o && typeof o === 'object') for (const v of Object.values(o)) visit(v);
  };
  visit([...(model as unknown as { tensors(): Set<tf.Tensor> }).tensors()]);
  return out;
}

test('candidates are re-drawn every step, hold the target and never an interacted item; nothing leaks', async () => {
  const split = fakeSplit(6);
  const m = new Stage2Model(lm, fakeSources(), { ...SMALL, numCandidates: 6 }, 4);
  const seen = new Map<string, string[]>();
  await m.fit({
    split, epochs: 3, seed: 2,
    onBatch: (examples) => {
      for (const e of examples) {
        const u = split.train.findIndex((t) => t.length && t[t.length - 1] === e.target && t.subarray(0, -1).join() === e.history.join());
        expect(u).toBeGreaterThan(0);
        const interacted = new Set([...split.train[u], split.valid[u], split.test[u]]);
        expect(e.candidates.length).toBe(6);
        expect(Array.from(e.candidates)).toContain(e.target);
        for (const c of e.candidates) if (c !== e.target) expect(interacted.has(c)).toBe(false);
        // Leak: the validation and test items never appear in a training prompt or target.
        for (const x of [...e.history, ...e.candidates, e.target!]) {
          expect(x).not.toBe(split.valid[u]);
          expect(x).not.toBe(split.test[u]);
        }
        const key = String(u);
        seen.set(key, [...(seen.get(key) ?? []), e.candidates.join()]);
      }
    },
  });
  for (const lists of seen.values()) {
    expect(lists.length).toBe(3);
    expect(new Set(lists).size).toBe(3);
  }
  m.dispose();
});

/** A KV cache that only remembers where the prompt ended. */
interface RigCache extends KVCache { prompt: number }

/**
 * A rigged CausalLM with the test LM's tokenizer: token embeddings are one-hot rows, generation
 * always answers `answer`, and scoring gives log-probability 0 to the continuation `favoured`
 * and exactly -1 to every other one (it looks ahead at each row's tokens, which a rig may).
 */
class RiggedLM implements CausalLM {
  readonly differentiable = false;
  readonly config: CausalLM['config'];
  constructor(private readonly base: CausalLM, private readonly answer: number[], private readonly favoured: number[]) {
    this.config = { ...base.config, hiddenSize: base.config.vocabSize + 4 };
  }
  get tokenizer() { return this.base.tokenizer; }
  embedTokens(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => tf.oneHot(tf.cast(ids, 'int32'), this.config.hiddenSize).toFloat() as tf.Tensor3D);
  }
  /** Token id of each row position (-1 for a slot vector), from the one-hot rows. */
  private tokens(x: tf.Tensor3D): number[][] {
    const [B, T, H] = x.shape;
    const d = x.dataSync();
    return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => {
      const row = d.subarray((b * T + t) * H, (b * T + t + 1) * H);
      let sum = 0;
      let at = -1;
      for (let i = 0; i < H; i++) { sum += row[i]; if (row[i] === 1) at = i; }
      return sum === 1 && at >= 0 ? at : -1;
    }));
  }
  forward(x: tf.Tensor3D, mask: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
    const [B, T] = x.shape;
    const V = this.config.vocabSize;
    const past = options.pastKeyValues as RigCache | undefined;
    const prompt = past?.prompt ?? T;
    const cache: RigCache | undefined = options.useCache ? { length: mask.shape[1], batch: B, prompt, dispose() {} } : undefined;
    /** Logits putting all mass on `id` (log-probability 0), or -1 exactly on `id` with `other` taking the rest. */
    const row = (id: number, penalty = false) => {
      const r = new Float32Array(V).fill(-1e4);
      r[id] = 0;
      if (penalty) r[(id + 1) % V] = Math.log(Math.E - 1);
      return r;
    };
    if (options.logitIndices) {
      // Scoring: rows are continuations (tokens 0..L-2) after the shared prompt.
      const toks = this.tokens(x);
      const out = new Float32Array(options.logitIndices.length * V);
      options.logitIndices.forEach((flat, k) => {
        const b = Math.floor(flat / T);
        const j = flat % T;
        const seq = toks[b];
        const real = seq.filter((_, i) => i < T && mask.dataSync()[b * mask.shape[1] + mask.shape[1] - T + i] === 1);
        const isFavoured = real.every((id, i) => id === this.favoured[i]) && real.length === this.favoured.length - 1;
        const next = j + 1 < real.length ? real[j + 1] : this.favoured[this.favoured.length - 1];
        out.set(row(next, !isFavoured && j === 0), k * V);
      });
      return { logits: this.maybeLogProbs(tf.tensor3d(out, [1, options.logitIndices.length, V]), options), pastKeyValues: cache };
    }
    // Generation (and the prompt call of scoring): the k-th new token is answer[k], then EOS.
    const k = past ? past.length - prompt + 1 : 0;
    const next = k < this.answer.length ? this.answer[k] : this.config.eosTokenId!;
    const out = new Float32Array(B * V);
    for (let b = 0; b < B; b++) out.set(row(next), b * V);
    return { logits: this.maybeLogProbs(tf.tensor3d(out, [B, 1, V]), options), pastKeyValues: cache };
  }
  private maybeLogProbs(logits: tf.Tensor3D, options: ForwardOptions): tf.Tensor3D {
    if (!options.logProbs) return logits;
    const lp = tf.logSoftmax(logits) as tf.Tensor3D;
    logits.dispose();
    return lp;
  }
  dispose() {}
}

test('evaluation metrics on a rigged LM (always answers one title; scores favour it)', async () => {
  const split = fakeSplit(8, 7);
  const set = buildEvalSet(split, getProtocol('test-20'), { seed: 42, maxUsers: 8 });
  // Rig: the answer is the test target of the first evaluated user.
  const fixed = set.targets[0];
  const answerIds = lm.tokenizer.encode(`"${TITLES[fixed]}"`, { continuation: true });
    const rigged = new RiggedLM(lm, answerIds, [...answerIds, lm.config.eosTokenId!]);
  const m = new Stage2Model(rigged, fakeSources(), { ...SMALL, numCandidates: 20, maxNewTokens: answerIds.length + 1 }, 5);
  const r = await m.evaluate(split, { seed: 42, maxUsers: 8, keepOutputs: true });
  const n = set.users.length;
  let hit = 0;
  let validN = 0;
  for (let i = 0; i < n; i++) {
    if (set.targets[i] === fixed) hit++;
    if (set.candidates[i].includes(fixed)) validN++;
  }
  expect(r.users).toBe(n);
  expect(r.hit1_generate).toBeCloseTo(hit / n, 10);
  expect(r.valid_output_rate).toBeCloseTo(validN / n, 10);
  expect(r.hit1_rank).toBeCloseTo(hit / n, 10);
  expect(r.hit5_rank).toBeCloseTo(hit / n, 10); // the target ties with 18 others at −1 unless it is the fixed title
  expect(r.ndcg10_rank).toBeCloseTo(hit / n, 10);
  expect(r.outputs!.every((o) => o.includes(TITLES[fixed].split(' ')[0]))).toBe(true);
  const rec = await m.recommend(set.histories[0], set.candidates[0]);
  expect(rec.chosen).toBe(fixed);
  expect(rec.ranked[0]).toEqual({ item: fixed, logProb: 0 });
  expect(rec.ranked.length).toBe(20);
  m.dispose();
});

test('real tiny LM: evaluate and recommend run end to end', async () => {
  const split = fakeSplit(4, 9);
  const m = new Stage2Model(lm, fakeSources(), { ...SMALL, numCandidates: 20, historyLength: 10 }, 6);
  const r = await m.evaluate(split, { maxUsers: 2 });
  expect(r.users).toBe(2);
  for (const k of ['hit1_generate', 'valid_output_rate', 'hit1_rank', 'hit5_rank', 'ndcg5_rank', 'ndcg10_rank'] as const) {
    expect(r[k]).toBeGreaterThanOrEqual(0);
    expect(r[k]).toBeLessThanOrEqual(1);
  }
  const rec = await m.recommend(Int32Array.from([1, 2, 3]), Int32Array.from([4, 5, 6]));
  expect(rec.ranked.map((x) => x.item).sort()).toEqual([4, 5, 6]);
  for (let i = 1; i < rec.ranked.length; i++) expect(rec.ranked[i - 1].logProb).toBeGreaterThanOrEqual(rec.ranked[i].logProb);
  m.dispose();
});

test('generation stops at the context window of an LM whose positions the prompt nearly fills', async () => {
  const ex: Stage2Example = { history: Int32Array.from([1, 2, 3]), candidates: Int32Array.from([4, 5, 6, 7]) };
  const item = (id: number) => ({ id, title: TITLES[id] });
  const promptLen = renderPrompt(lm.tokenizer, TEMPLATES.movies, [1, 2, 3].map(item), [4, 5, 6, 7].map(item), { placeholderId: 0 }).ids.length;
  const short = loadCausalLMSync(writeTinyCheckpoint(path.join(tmp, 'lm-short'), { family: 'gpt2', seed: 5, hidden: 16, heads: 2, layers: 2, maxPositions: promptLen + 2 }));
  // Asked for 20 new tokens, the LM itself refuses to run past its positions...
  const e = short.embedTokens(tf.zeros([1, promptLen], 'int32') as tf.Tensor2D);
  const mask = tf.ones([1, promptLen]) as tf.Tensor2D;
  await expect(generate(short, e, mask, { maxNewTokens: 20 })).rejects.toThrow(/exceeds the model's/);
  tf.dispose([e, mask]);
  // ...so Stage 2 generates only into the 2 free positions.
  const m = new Stage2Model(short, fakeSources(), { ...SMALL, maxNewTokens: 20 }, 6);
  const [text] = await m.generateTexts([ex]);
  m.dispose();
  short.dispose();
  expect(text.length).toBeGreaterThan(0);
});

test('evaluation and recommend on onnxruntime give the tfjs results', async () => {
  const split = fakeSplit(6, 12);
  const m = new Stage2Model(lm, fakeSources(), { ...SMALL, numCandidates: 6, historyLength: 4 }, 8);
  await m.fit({ split, epochs: 2 });
  const onnx = await loadCausalLM(path.join(tmp, 'lm'), { runtime: 'onnx', onnx: { intraOpNumThreads: 1, cacheDir: path.join(tmp, 'onnx') } });
  try {
    const set = buildEvalSet(split, { ...getProtocol('test-20'), numNegatives: 5 }, { seed: 4 });
    const a = await m.evaluateSet(set, { keepOutputs: true });
    const b = await m.evaluateSet(set, { keepOutputs: true, inference: onnx });
    expect(b.outputs).toEqual(a.outputs);
    for (const k of ['hit1_generate', 'valid_output_rate', 'hit1_rank', 'hit5_rank', 'ndcg10_rank'] as const) expect(b[k]).toBeCloseTo(a[k], 10);
    const ex = { history: set.histories[0], candidates: set.candidates[0] };
    const sa = await m.scoreCandidates(ex);
    const sb = await m.scoreCandidates(ex, undefined, onnx);
    for (let i = 0; i < sa.length; i++) expect(Math.abs(sa[i] - sb[i])).toBeLessThan(1e-4);
    const ra = await m.recommend(ex.history, ex.candidates);
    const rb = await m.recommend(ex.history, ex.candidates, onnx);
    expect(rb.text).toBe(ra.text);
    expect(rb.ranked.map((r) => r.item)).toEqual(ra.ranked.map((r) => r.item));
  } finally {
    await onnx.dispose();
    m.dispose();
  }
});

test('save/load round trip; resumed training equals uninterrupted training', async () => {
  const split = fakeSplit(5, 4);
  const s = fakeSources();
  const a = new Stage2Model(lm, s, SMALL, 7);
  await a.fit({ split, epochs: 1 });
  await a.save(path.join(tmp, 's2'));
  const va = values(a);
  a.dispose();
  const b = await Stage2Model.load(path.join(tmp, 's2'), lm, s);
  expect(values(b)).toEqual(va);
  expect(b.config.historyLength).toBe(3);
  b.dispose();

  const full = new Stage2Model(lm, s, SMALL, 8);
  await full.fit({ split, epochs: 2, checkpointDir: path.join(tmp, 'ck-full') });
  const vf = values(full);
  full.dispose();
  const p1 = new Stage2Model(lm, s, SMALL, 8);
  await p1.fit({ split, epochs: 1, checkpointDir: path.join(tmp, 'ck-part') });
  p1.dispose();
  const p2 = new Stage2Model(lm, s, SMALL, 8);
  const r = await p2.fit({ split, epochs: 2, checkpointDir: path.join(tmp, 'ck-part') });
  expect(r.resumedFrom).toBe(1);
  expect(r.epochs.length).toBe(2);
  expect(values(p2)).toEqual(vf);
  p2.dispose();
});
