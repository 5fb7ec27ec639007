/**
 * What the loader refuses, and how it says so: a malformed config.json names its file; a field
 * that changes the math and is not implemented names the field; a missing tensor names the tensor.
 * Nothing is silently ignored, except what transformers itself ignores.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors, selectBackend, writeSafetensors } from '@allmrec/core';
import { loadCausalLMSync } from '../checkpoint';

const FIXTURES = path.join(__dirname, '..', '__fixtures__', 'hf');
let tmp: string;
let n = 0;
beforeAll(async () => {
  await selectBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'config-errors-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of a fixture with its config.json edited; returns the directory and the config file. */
function edited(name: string, edit: (c: Record<string, any>) => void): { dir: string; file: string } {
  const dir = path.join(tmp, `${name}-${n++}`);
  fs.cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c));
  return { dir, file };
}

const refusals: [string, string, (c: Record<string, any>) => void, RegExp][] = [
  ['an unknown model_type', 'llama', (c) => { c.model_type = 'mamba'; }, /model_type "mamba" is not supported \(supported: gpt2, opt, llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, gpt_neox\)/],
  ['a missing model_type', 'llama', (c) => { delete c.model_type; }, /"model_type" is missing/],
  ['an unknown rope type', 'llama', (c) => { c.rope_parameters = { rope_type: 'mrope', rope_theta: 10000 }; }, /"rope_parameters.rope_type": "mrope" is not supported/],
  ['an unknown 4.x rope_scaling type', 'llama-v4-config', (c) => { c.rope_scaling = { type: 'su', factor: 2 }; }, /"rope_scaling.rope_type": "su" is not supported/],
  ['a scaling type without its factor', 'llama', (c) => { c.rope_parameters = { rope_type: 'linear', rope_theta: 10000 }; }, /"rope_parameters.factor" is required for rope_type "linear"/],
  ['llama3 scaling without its band factors', 'llama', (c) => { c.rope_parameters = { rope_type: 'llama3', rope_theta: 10000, factor: 8 }; }, /needs low_freq_factor and high_freq_factor/],
  ['longrope factors of the wrong length', 'phi3-longrope', (c) => { c.rope_parameters.short_factor = [1, 1]; }, /"rope_parameters.short_factor" must be a list of 4 numbers/],
  ['per-layer RoPE dictionaries', 'llama', (c) => { c.rope_parameters = { full_attention: { rope_type: 'default' }, sliding_attention: { rope_type: 'default' } }; }, /per-layer RoPE parameters/],
  ['bidirectional attention (Gemma)', 'gemma', (c) => { c.use_bidirectional_attention = true; }, /"use_bidirectional_attention": true is not supported for model_type "gemma" \(bidirectional attention\)/],
  ['quantized weights', 'llama', (c) => { c.quantization_config = { quant_method: 'gptq', bits: 4 }; }, /"quantization_config".*quantized weights are not read/],
  ['cross-attention (GPT-2)', 'gpt2', (c) => { c.add_cross_attention = true; }, /"add_cross_attention": true is not supported/],
  ['an unknown activation', 'llama', (c) => { c.hidden_act = 'quick_gelu'; }, /activation "quick_gelu" \(hidden_act\) is not supported/],
  ['an unknown layer type', 'qwen2-sliding', (c) => { c.layer_types = ['chunked_attention', 'full_attention']; }, /"layer_types\[0\]": "chunked_attention" is not supported/],
  ['layer_types of the wrong length', 'gemma2', (c) => { c.layer_types = ['full_attention']; }, /"layer_types" must list one type per layer \(2\)/],
  ['heads that do not divide into KV groups', 'llama', (c) => { c.num_key_value_heads = 3; }, /num_attention_heads 4 is not a multiple of num_key_value_heads 3/],
  ['a field of the wrong type', 'llama', (c) => { c.rms_norm_eps = '1e-6'; }, /"rms_norm_eps" must be a number, got "1e-6"/],
  ['an odd rotary dimension', 'gpt-neox', (c) => { c.rope_parameters.partial_rotary_factor = 0.2; }, /rotary dimension .* must be even/],
  ['a shape the config contradicts', 'llama', (c) => { c.intermediate_size = 41; }, /tensor "model.layers.0.mlp.gate_proj.weight" has shape \[40,32\] but the config implies \[41,32\]/],
];

test.each(refusals)('%s is refused, naming the field', (_what, name, edit, message) => {
  const { dir, file } = edited(name, edit);
  let error = '';
  try {
    loadCausalLMSync(dir);
  } catch (err) {
    error = (err as Error).message;
  }
  expect(error).toMatch(message);
  if (!/has shape/.test(error)) expect(error.startsWith(`${file}: `)).toBe(true);
});

test('a malformed config.json names its file', () => {
  const { dir, file } = edited('llama', () => {});
  fs.writeFileSync(file, '{"model_type": "llama",');
  expect(() => loadCausalLMSync(dir)).toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON`));
  fs.writeFileSync(file, '[1, 2]');
  expect(() => loadCausalLMSync(dir)).toThrow(`${file}: must hold a JSON object`);
});

test('a field transformers does not read is ignored, as transformers ignores it; a no-op value is accepted', () => {
  const { dir } = edited('llama', (c) => { c.my_custom_field = 3; c.quantization_config = null; c.pretraining_tp = 2; });
  expect(loadCausalLMSync(dir).config.modelType).toBe('llama');
});

test('missing tensors, files and tied embeddings stored under no name are named', async () => {
  const drop = async (name: string, tensor: string) => {
    const { dir } = edited(name, () => {});
    const file = path.join(dir, 'model.safetensors');
    const t = readSafetensors(file).tensors;
    t.delete(tensor);
    await writeSafetensors(file, new Map([...t].map(([k, v]) => [k, { shape: v.shape, data: v.data as Float32Array }])));
    return dir;
  };
  const noK = await drop('llama', 'model.layers.1.self_attn.k_proj.weight');
  expect(() => loadCausalLMSync(noK)).toThrow(/tensor "layers.1.self_attn.k_proj.weight" not found/);
  const noHead = await drop('llama', 'lm_head.weight');
  expect(() => loadCausalLMSync(noHead)).toThrow(/tie_word_embeddings is false but the output matrix "lm_head.weight" is missing/);
  const noTied = await drop('llama-tied-lm-head-only', 'lm_head.weight');
  expect(() => loadCausalLMSync(noTied)).toThrow(/the tied embedding is stored neither as "embed_tokens.weight" nor as "lm_head.weight"/);
  const { dir } = edited('llama', () => {});
  fs.rmSync(path.join(dir, 'model.safetensors'));
  expect(() => loadCausalLMSync(dir)).toThrow(/neither model.safetensors nor model.safetensors.index.json/);
  const sharded = edited('gpt2-sharded', () => {});
  const shard = fs.readdirSync(sharded.dir).find((f) => /^model-.*\.safetensors$/.test(f))!;
  fs.rmSync(path.join(sharded.dir, shard));
  expect(() => loadCausalLMSync(sharded.dir)).toThrow(new RegExp(`shard ${shard} listed in model.safetensors.index.json is missing`));
});

test('transformers 5.x rope_parameters theta is read (it once fell back to 10000 silently)', () => {
  const v5 = loadCausalLMSync(path.join(FIXTURES, 'llama-v5-theta'));
  const v4 = loadCausalLMSync(path.join(FIXTURES, 'llama-v4-config'));
  expect(v5.config.rope?.theta).toBe(500000);
  expect(v4.config.rope?.theta).toBe(500000);
  v5.dispose();
  v4.dispose();
});

test('generation_config.json end-of-sequence ids join config.json\'s, as transformers generate stops at them', () => {
  const { dir } = edited('llama', () => {});
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [2, 7] }));
  expect(loadCausalLMSync(dir).config.eosTokenIds).toEqual([2, 7]);
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 'x' }));
  expect(() => loadCausalLMSync(dir)).toThrow(/generation_config.json: "eos_token_id" must be a token id/);
  fs.writeFileSync(path.join(dir, 'generation_config.json'), '{');
  expect(() => loadCausalLMSync(dir)).toThrow(/generation_config.json: not valid JSON/);
});
