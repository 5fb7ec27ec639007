/**
 * Greedy generation and the repetition penalty, written once for every CausalLM: checked on an LM
 * whose logits are fixed, so each step's choice can be worked out by hand.
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import type { CausalLM, ForwardOptions, ForwardResult, KVCache, LMTokenizer } from './causal-lm';
import { applyRepetitionPenalty, generate, generateText } from './generate';

const V = 16;
const EOS = 2;

/** The same logits L at every position; counts its forward calls. A minimal third-party CausalLM. */
class FixedLogits implements CausalLM {
  readonly differentiable = false;
  calls = 0;
  readonly config = { modelType: 'fixed', vocabSize: V, hiddenSize: 4, maxPositions: 64, eosTokenId: EOS, padTokenId: 0, bosTokenId: 1 };
  readonly tokenizer: LMTokenizer = {
    encode: (text) => text.split(' ').filter(Boolean).map((w) => 3 + (w.length % (V - 3))),
    decode: (ids) => ids.map((i) => `t${i}`).join(' '),
    eosTokenId: EOS, padTokenId: 0, bosTokenId: 1, vocabSize: V,
  };
  constructor(private readonly L: (v: number) => number) {}
  embedTokens(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => tf.zeros([ids.shape[0], ids.shape[1], 4]) as tf.Tensor3D);
  }
  forward(x: tf.Tensor3D, mask: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
    this.calls++;
    const [B, T] = x.shape;
    const K = options.logitsToKeep ? Math.min(options.logitsToKeep, T) : T;
    const row = Float32Array.from({ length: V }, (_, v) => this.L(v));
    const data = new Float32Array(B * K * V);
    for (let i = 0; i < B * K; i++) data.set(row, i * V);
    const cache: KVCache | undefined = options.useCache ? { length: mask.shape[1], batch: B, dispose() {} } : undefined;
    return { logits: tf.tensor3d(data, [B, K, V]), pastKeyValues: cache };
  }
  dispose() {}
}

function run(lm: CausalLM, rows: number, options: Parameters<typeof generate>[3]) {
  const e = tf.zeros([rows, 3, 4]) as tf.Tensor3D;
  const m = tf.ones([rows, 3]) as tf.Tensor2D;
  return generate(lm, e, m, options).finally(() => tf.dispose([e, m]));
}

beforeAll(() => selectBackend());

test('the penalty divides positive logits of generated tokens, and EOS stops a row', async () => {
  const lm = new FixedLogits((v) => (v === 10 ? 3 : v === 11 ? 2.5 : v === EOS ? 2.2 : 0));
  // 10 (3.0); then 10 -> 2.0 so 11 (2.5); then 11 -> 1.67 and EOS (2.2) beats 10 (2.0).
  expect(await run(lm, 2, { maxNewTokens: 8, repetitionPenalty: 1.5 })).toEqual([[10, 11], [10, 11]]);
  expect(await run(lm, 1, { maxNewTokens: 4 })).toEqual([[10, 10, 10, 10]]); // default: no penalty
  expect(await run(lm, 1, { maxNewTokens: 8, repetitionPenalty: 1.5, eosTokenId: 11 })).toEqual([[10]]);
  expect(await run(lm, 1, { maxNewTokens: 3, repetitionPenalty: 1.5, eosTokenId: [] })).toEqual([[10, 11, 2]]);
});

test('the penalty multiplies negative logits (dividing them would favour a repeat)', async () => {
  const lm = new FixedLogits((v) => (v === 10 ? -1 : v === 11 ? -1.2 : v === EOS ? -1.45 : -5));
  // 10; then 10 -> -1.5 so 11 (-1.2); then 11 -> -1.8, EOS (-1.45) beats 10 (-1.5).
  const before = tf.memory().numTensors;
  expect(await run(lm, 1, { maxNewTokens: 8, repetitionPenalty: 1.5 })).toEqual([[10, 11]]);
  expect(tf.memory().numTensors).toBe(before);
});

test('promptIds count for the penalty as transformers counts input ids', async () => {
  const lm = new FixedLogits((v) => (v === 10 ? 3 : v === 11 ? 2.5 : 0));
  expect(await run(lm, 1, { maxNewTokens: 1, repetitionPenalty: 1.5 })).toEqual([[10]]);
  expect(await run(lm, 1, { maxNewTokens: 1, repetitionPenalty: 1.5, promptIds: [[10]] })).toEqual([[11]]);
  const text = await generateText(lm, 'aaaaaaa', { maxNewTokens: 1, repetitionPenalty: 1.5 }); // encodes to [10]
  expect(text.promptIds).toEqual([10]);
  expect(text.newIds).toEqual([11]);
  expect(text.text).toBe('t11');
});

test('one forward per new token; zero tokens, bad options and mismatched promptIds', async () => {
  const lm = new FixedLogits((v) => (v === 10 ? 1 : 0));
  await run(lm, 1, { maxNewTokens: 5, eosTokenId: [] });
  expect(lm.calls).toBe(5);
  expect(await run(lm, 2, { maxNewTokens: 0 })).toEqual([[], []]);
  await expect(run(lm, 1, { maxNewTokens: 1.5 })).rejects.toThrow(/maxNewTokens/);
  await expect(run(lm, 1, { maxNewTokens: 1, repetitionPenalty: 0 })).rejects.toThrow(/repetitionPenalty/);
  await expect(run(lm, 2, { maxNewTokens: 1, promptIds: [[1]] })).rejects.toThrow(/promptIds has 1 rows for a batch of 2/);
});

test('applyRepetitionPenalty counts each id once', () => {
  const row = Float32Array.of(2, -2, 1);
  applyRepetitionPenalty(row, [0, 0, 1], 2);
  expect(Array.from(row)).toEqual([1, -4, 1]);
});
