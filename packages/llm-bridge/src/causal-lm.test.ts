/**
 * Behaviour of the CausalLM implementation on tiny random checkpoints of every family: left
 * padding, the KV cache, generation (EOS, repetition penalty), continuation scoring, the loss
 * and its gradient w.r.t. the input embeddings, and frozen weights.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { disposePastKeyValues, type CausalLM, type ForwardResult } from './causal-lm';
import { loadCausalLMSync } from './checkpoint';
import { TINY_SPECIAL, writeTinyCheckpoint, type TinyCheckpointSpec } from './tiny';
import type { TransformerLM } from './transformer';

const FAMILIES: Record<string, TinyCheckpointSpec> = {
  gpt2: { family: 'gpt2', seed: 1, hidden: 16, heads: 2 },
  opt: { family: 'opt', seed: 2, hidden: 16, heads: 2, wordEmbedProjDim: 8 },
  llama: { family: 'llama', seed: 3, hidden: 16, heads: 4, kvHeads: 2 },
  qwen2: { family: 'qwen2', seed: 4, hidden: 16, heads: 4, kvHeads: 2 },
};

let tmp: string;
const models: Record<string, TransformerLM> = {};

beforeAll(async () => {
  await selectBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-causal-'));
  for (const [name, spec] of Object.entries(FAMILIES)) {
    models[name] = loadCausalLMSync(writeTinyCheckpoint(path.join(tmp, name), spec));
  }
});
afterAll(() => {
  for (const m of Object.values(models)) m.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Embeddings [B, T, H] of left-padded id rows (padding with the pad id) and their mask. */
function batch(lm: CausalLM, rows: number[][]): { emb: tf.Tensor3D; mask: tf.Tensor2D } {
  const T = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...new Array(T - r.length).fill(TINY_SPECIAL.pad), ...r]);
  const mask = rows.map((r) => [...new Array(T - r.length).fill(0), ...new Array(r.length).fill(1)]);
  return { emb: lm.embedTokens(tf.tensor2d(ids, [rows.length, T], 'int32')), mask: tf.tensor2d(mask) };
}

function logitsOf(lm: CausalLM, ids: number[]): Float32Array {
  return tf.tidy(() => {
    const { emb, mask } = batch(lm, [ids]);
    return lm.forward(emb, mask).logits.dataSync() as Float32Array;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function logSoftmaxRow(row: ArrayLike<number>): number[] {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) mx = Math.max(mx, row[i]);
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i] - mx);
  const lse = mx + Math.log(s);
  return Array.from(row, (v) => v - lse);
}

describe.each(Object.keys(FAMILIES))('%s', (name) => {
  const lm = () => models[name];
  const V = () => lm().config.vocabSize;

  test('left padding does not change the logits of real tokens', () => {
    const a = [1, 9, 14, 22, 30, 41];
    const b = [1, 17, 5];
    const alone = logitsOf(lm(), b);
    const padded = tf.tidy(() => {
      const { emb, mask } = batch(lm(), [a, b]);
      return lm().forward(emb, mask).logits.arraySync();
    });
    // Every real position of b (the last 3 of 6) matches b alone.
    const got = padded[1].slice(3).flat();
    expect(maxAbsDiff(got, alone)).toBeLessThan(1e-5);
    expect(maxAbsDiff(padded[0].flat(), logitsOf(lm(), a))).toBeLessThan(1e-5);
  });

  test('KV-cache incremental decoding equals a full forward', () => {
    const rows = [[1, 9, 14, 22, 30, 41, 7], [1, 17, 5, 12, 3]];
    const T = 7;
    const full = tf.tidy(() => {
      const { emb, mask } = batch(lm(), rows);
      return lm().forward(emb, mask).logits.arraySync();
    });
    const { emb, mask } = batch(lm(), rows);
    const before = tf.memory().numTensors;
    // Prompt of 4 positions, then one position at a time.
    const fwd = (f: () => ForwardResult) => tf.tidy(() => f() as unknown as tf.TensorContainer) as unknown as ForwardResult;
    const res = fwd(() => lm().forward(tf.slice(emb, [0, 0, 0], [2, 4, -1]), tf.slice(mask, [0, 0], [2, 4]), { useCache: true }));
    const pieces: number[][][][] = [res.logits.arraySync()];
    res.logits.dispose();
    let cache = res.pastKeyValues!;
    expect(cache.length).toBe(4);
    for (let t = 4; t < T; t++) {
      const step = fwd(() => lm().forward(tf.slice(emb, [0, t, 0], [2, 1, -1]), tf.slice(mask, [0, 0], [2, t + 1]), { pastKeyValues: cache, useCache: true }));
      disposePastKeyValues(cache);
      cache = step.pastKeyValues!;
      pieces.push(step.logits.arraySync());
      step.logits.dispose();
    }
    disposePastKeyValues(cache);
    expect(tf.memory().numTensors).toBe(before);
    emb.dispose();
    mask.dispose();
    for (let b = 0; b < 2; b++) {
      // Real positions only (padding queries see no key; their outputs are unused garbage).
      const pad = T - rows[b].length;
      const inc = pieces.flatMap((p) => p[b]).slice(pad).flat();
      expect(maxAbsDiff(inc, full[b].slice(pad).flat())).toBeLessThan(1e-5);
    }
  });

  test('scoreContinuations equals the sum of per-token log-probs of full forwards', () => {
    const prompt = [1, 20, 33, 8];
    const conts = [[5, 6, 7], [40], [12, 13], [], [9, 9, 9, 9]];
    const scores = tf.tidy(() => {
      // The prompt carries one position of left padding.
      const { emb, mask } = batch(lm(), [prompt]);
      const padEmb = tf.concat([lm().embedTokens(tf.tensor2d([[0]], [1, 1], 'int32')), emb], 1);
      return lm().scoreContinuations(padEmb, tf.concat([tf.zeros([1, 1]), mask], 1) as tf.Tensor2D, conts);
    });
    conts.forEach((c, i) => {
      if (c.length === 0) { expect(scores[i]).toBe(0); return; }
      const logits = logitsOf(lm(), [...prompt, ...c]);
      let want = 0;
      for (let j = 0; j < c.length; j++) {
        const row = logits.subarray((prompt.length - 1 + j) * V(), (prompt.length + j) * V());
        want += logSoftmaxRow(row)[c[j]];
      }
      expect(Math.abs(scores[i] - want)).toBeLessThan(1e-4);
    });
  });

  test('loss is the mean cross-entropy of the shifted, non-ignored labels', () => {
    const rows = [[1, 9, 14, 22, 30], [1, 17, 5]];
    const labels = [[-100, -100, 14, 22, 30], [-100, -100, -100, 17, 5]]; // b is left-padded by 2
    const { emb, mask } = batch(lm(), rows);
    const logits = lm().forward(emb, mask).logits.arraySync();
    const loss = tf.tidy(() => lm().loss(emb, mask, tf.tensor2d(labels, [2, 5], 'int32')).dataSync()[0]);
    let sum = 0;
    let n = 0;
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t + 1 < 5; t++) {
        const y = labels[b][t + 1];
        if (y === -100) continue;
        sum -= logSoftmaxRow(logits[b][t])[y];
        n++;
      }
    }
    expect(n).toBe(5);
    expect(Math.abs(loss - sum / n)).toBeLessThan(1e-5);
    emb.dispose();
    mask.dispose();
  });

  test('gradient w.r.t. input embeddings matches finite differences; weights stay frozen', () => {
    const m = lm();
    const weights = allWeights(m);
    const snapshot = weights.map((t) => Float32Array.from(t.dataSync() as Float32Array));
    const varsBefore = Object.keys(tf.engine().registeredVariables).length;
    const { emb, mask } = batch(m, [[1, 9, 14, 22, 30], [1, 17, 5]]);
    const labels = tf.tensor2d([[-100, 9, 14, 22, 30], [-100, -100, -100, 17, 5]], [2, 5], 'int32');
    const before = tf.memory().numTensors;
    const lossOf = (x: tf.Tensor) => m.loss(x as tf.Tensor3D, mask, labels);
    const g = tf.tidy(() => tf.grad(lossOf)(emb));
    const gRe = tf.tidy(() => tf.grad((x: tf.Tensor) => m.loss(x as tf.Tensor3D, mask, labels, { recompute: true }))(emb));
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(maxAbsDiff(g.dataSync(), gRe.dataSync())).toBeLessThan(1e-6);
    // Padding positions get no gradient.
    const ga = g.arraySync() as number[][][];
    expect(Math.max(...ga[1][0].map(Math.abs), ...ga[1][1].map(Math.abs))).toBe(0);
    // Directional derivative along a random direction.
    const rng = new Rng(7);
    const d = tf.tensor(Array.from({ length: emb.size }, () => rng.normal()), emb.shape);
    const eps = 3e-4; // random tiny models are far from linear; float32 noise is ~2e-3 here
    const fd = tf.tidy(() => {
      const up = lossOf(tf.add(emb, tf.mul(d, eps))).dataSync()[0];
      const down = lossOf(tf.sub(emb, tf.mul(d, eps))).dataSync()[0];
      return (up - down) / (2 * eps);
    });
    const analytic = tf.tidy(() => tf.sum(tf.mul(g, d)).dataSync()[0]);
    expect(Math.abs(fd - analytic)).toBeLessThan(1e-2 * Math.max(1, Math.abs(analytic)));
    // Frozen: identical weights, nothing registered as a variable.
    weights.forEach((t, i) => expect(maxAbsDiff(t.dataSync(), snapshot[i])).toBe(0));
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(varsBefore);
    const registered = new Set(Object.values(tf.engine().registeredVariables).map((v) => v.dataId));
    expect(weights.some((t) => registered.has(t.dataId))).toBe(false);
    tf.dispose([g, gRe, d, emb, mask, labels]);
  });
});

function allWeights(lm: TransformerLM): tf.Tensor[] {
  const w = lm.weights;
  const out: tf.Tensor[] = [w.embed, w.headEV, w.headVE];
  if (w.positions) out.push(w.positions.table);
  for (const b of w.blocks) {
    for (const l of [b.q, b.k, b.v, b.o, b.gate, b.up, b.down]) if (l) { out.push(l.w); if (l.b) out.push(l.b); }
    out.push(b.norm1.g, b.norm2.g);
  }
  return out;
}

describe('generate', () => {
  /** A GPT-2 whose logits are the same vector L at every step: final LN gain 0, bias e0, lm_head[:, 0] = L. */
  function rigged(L: (v: number) => number): TransformerLM {
    const dir = writeTinyCheckpoint(path.join(tmp, `rigged-${Math.random().toString(36).slice(2)}`), {
      family: 'gpt2', seed: 9, hidden: 8, heads: 2, tied: false,
      edit: (t) => {
        t.get('transformer.ln_f.weight')!.data.fill(0);
        const bias = t.get('transformer.ln_f.bias')!.data;
        bias.fill(0);
        bias[0] = 1;
        const head = t.get('lm_head.weight')!;
        head.data.fill(0);
        const H = head.shape[1];
        for (let v = 0; v < head.shape[0]; v++) head.data[v * H] = L(v);
      },
    });
    return loadCausalLMSync(dir);
  }
  const prompt = (lm: CausalLM, rows: number[][]) => batch(lm, rows);

  test('applies the repetition penalty to positive logits (divide) and stops at EOS', () => {
    const lm = rigged((v) => (v === 10 ? 3 : v === 11 ? 2.5 : v === TINY_SPECIAL.eos ? 2.2 : 0));
    const { emb, mask } = prompt(lm, [[1, 5, 6], [1, 7]]);
    // 10 (3.0); then 10 -> 2.0 so 11 (2.5); then 11 -> 1.67 and EOS (2.2) beats 10 (2.0).
    expect(lm.generate(emb, mask, { maxNewTokens: 8 })).toEqual([[10, 11], [10, 11]]);
    expect(lm.generate(emb, mask, { maxNewTokens: 4, repetitionPenalty: 1 })).toEqual([[10, 10, 10, 10], [10, 10, 10, 10]]);
    expect(lm.generate(emb, mask, { maxNewTokens: 8, eosTokenId: 11 })).toEqual([[10], [10]]);
    tf.dispose([emb, mask]);
    lm.dispose();
  });

  test('multiplies negative logits by the penalty', () => {
    const lm = rigged((v) => (v === 10 ? -1 : v === 11 ? -1.2 : v === TINY_SPECIAL.eos ? -1.45 : -5));
    const { emb, mask } = prompt(lm, [[1, 5, 6]]);
    // 10; then 10 -> -1.5 so 11 (-1.2); then 11 -> -1.8, EOS (-1.45) beats 10 (-1.5).
    // (Dividing instead would give 10 -> -0.67 and repeat 10.)
    const before = tf.memory().numTensors;
    expect(lm.generate(emb, mask, { maxNewTokens: 8, repetitionPenalty: 1.5 })).toEqual([[10, 11]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([emb, mask]);
    lm.dispose();
  });

  test('greedy tokens equal the argmax of full forwards on a random model', () => {
    const lm = models.llama;
    const start = [1, 20, 33];
    const { emb, mask } = prompt(lm, [start]);
    const out = lm.generate(emb, mask, { maxNewTokens: 5, repetitionPenalty: 1, eosTokenId: -1 })[0];
    tf.dispose([emb, mask]);
    expect(out.length).toBe(5);
    const seq = [...start];
    for (const tok of out) {
      const logits = logitsOf(lm, seq);
      const last = logits.subarray(logits.length - lm.config.vocabSize);
      let best = 0;
      for (let i = 1; i < last.length; i++) if (last[i] > last[best]) best = i;
      expect(tok).toBe(best);
      seq.push(tok);
    }
  });
});
