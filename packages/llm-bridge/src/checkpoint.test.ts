import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, encodeSafetensors, selectBackend, type TensorInput } from '@allmrec/core';
import { loadCausalLMSync, writeHFCheckpoint } from './checkpoint';
import { GPT2_EOS, gpt2TokenizerConfig, gpt2TokenizerJson } from './tokenizer';
import { tinyCheckpoint, writeTinyCheckpoint } from './testing/tiny';
import type { TransformerLM } from './transformer';

let tmp: string;
beforeAll(async () => {
  await selectBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-ckpt-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function logits(lm: TransformerLM, ids: number[]): Float32Array {
  return tf.tidy(() => lm.forward(lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32')), tf.ones([1, ids.length])).logits.dataSync() as Float32Array);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('writeHFCheckpoint: a GPT-2 from HF-named tensors with the real GPT-2 tokenizer', async () => {
  const V = 50257;
  const H = 8;
  const rng = new Rng(3);
  const rand = (shape: number[], scale = 0.05) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale) });
  const ones = (n: number) => ({ shape: [n], data: new Float32Array(n).fill(1) });
  const zeros = (n: number) => ({ shape: [n], data: new Float32Array(n) });
  const tensors = new Map<string, TensorInput>([
    ['wte.weight', rand([V, H])], ['wpe.weight', rand([32, H])],
    ['h.0.ln_1.weight', ones(H)], ['h.0.ln_1.bias', zeros(H)],
    ['h.0.attn.c_attn.weight', rand([H, 3 * H])], ['h.0.attn.c_attn.bias', zeros(3 * H)],
    ['h.0.attn.c_proj.weight', rand([H, H])], ['h.0.attn.c_proj.bias', zeros(H)],
    ['h.0.ln_2.weight', ones(H)], ['h.0.ln_2.bias', zeros(H)],
    ['h.0.mlp.c_fc.weight', rand([H, 4 * H])], ['h.0.mlp.c_fc.bias', zeros(4 * H)],
    ['h.0.mlp.c_proj.weight', rand([4 * H, H])], ['h.0.mlp.c_proj.bias', zeros(H)],
    ['ln_f.weight', ones(H)], ['ln_f.bias', zeros(H)],
  ]);
  const dir = path.join(tmp, 'gpt2-real-tok');
  await writeHFCheckpoint(dir, {
    config: { model_type: 'gpt2', vocab_size: V, n_embd: H, n_layer: 1, n_head: 2, n_positions: 32, bos_token_id: GPT2_EOS, eos_token_id: GPT2_EOS },
    tensors, tokenizerJson: gpt2TokenizerJson(), tokenizerConfig: gpt2TokenizerConfig(),
  });
  const lm = loadCausalLMSync(dir);
  expect(lm.tokenizer.encode('Hello world')).toEqual([15496, 995]);
  expect(lm.config).toMatchObject({ family: 'gpt2', vocabSize: V, hiddenSize: H, eosTokenId: GPT2_EOS });
  const out = logits(lm, lm.tokenizer.encode('Hello world'));
  expect(out.length).toBe(2 * V);
  expect(out.every(Number.isFinite)).toBe(true);
  lm.dispose();
});

test('sharded and half-precision checkpoints load', () => {
  const spec = { family: 'llama' as const, seed: 8, hidden: 16, heads: 4, kvHeads: 2 };
  const single = loadCausalLMSync(writeTinyCheckpoint(path.join(tmp, 'single'), spec));
  const sharded = loadCausalLMSync(writeTinyCheckpoint(path.join(tmp, 'sharded'), spec, { shards: 2 }));
  expect(fs.existsSync(path.join(tmp, 'sharded', 'model.safetensors.index.json'))).toBe(true);
  const ids = [1, 7, 9, 30];
  const ref = logits(single, ids);
  expect(maxAbsDiff(ref, logits(sharded, ids))).toBe(0);
  // F16 copy of the same weights: converted to float32 on load.
  const halfDir = writeTinyCheckpoint(path.join(tmp, 'half'), spec);
  const { tensors } = tinyCheckpoint(spec);
  const f16 = new Map<string, TensorInput>([...tensors].map(([n, t]) => [n, { ...t, dtype: 'F16' as const }]));
  fs.writeFileSync(path.join(halfDir, 'model.safetensors'), encodeSafetensors(f16));
  const half = loadCausalLMSync(halfDir);
  expect(maxAbsDiff(ref, logits(half, ids))).toBeLessThan(0.05);
  for (const m of [single, sharded, half]) m.dispose();
});

test('config.json allmrec_slot_interface becomes config.slotInterface; a malformed one names the file and field', () => {
  const dir = writeTinyCheckpoint(path.join(tmp, 'iface'), { family: 'gpt2', seed: 2, hidden: 16, heads: 2 });
  const file = path.join(dir, 'config.json');
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  const plain = loadCausalLMSync(dir);
  expect(plain.config.slotInterface).toBeUndefined();
  plain.dispose();
  fs.writeFileSync(file, JSON.stringify({ ...raw, allmrec_slot_interface: { user: [12, 16], item: [4, 8] } }));
  const lm = loadCausalLMSync(dir);
  expect(lm.config.slotInterface).toEqual({ user: [12, 16], item: [4, 8] });
  lm.dispose();
  fs.writeFileSync(file, JSON.stringify({ ...raw, allmrec_slot_interface: { user: [12, 20], item: [4, 8] } }));
  expect(() => loadCausalLMSync(dir)).toThrow(`${file}: allmrec_slot_interface.user must be [start, end] with 0 <= start < end <= 16, got [12,20]`);
  fs.writeFileSync(file, JSON.stringify({ ...raw, allmrec_slot_interface: { user: [12, 15], item: [4, 7], section: 5 } }));
  const sectioned = loadCausalLMSync(dir);
  expect(sectioned.config.slotInterface).toEqual({ user: [12, 15], item: [4, 7], section: 5 });
  sectioned.dispose();
  fs.writeFileSync(file, JSON.stringify({ ...raw, allmrec_slot_interface: { user: [12, 15], item: [4, 7], section: raw.vocab_size } }));
  expect(() => loadCausalLMSync(dir)).toThrow(`${file}: allmrec_slot_interface.section must be a token id in [0, vocab_size), got ${raw.vocab_size}`);
});
