/**
 * Test helper: tiny random checkpoints (Hugging Face config.json fields, tensor names and layouts)
 * for every family the ONNX exporter supports.
 */
import { Rng } from '@allmrec/core';

export type TinyWeights = Map<string, { shape: number[]; data: Float32Array }>;
export interface TinyCheckpoint { name: string; hf: Record<string, any>; weights: TinyWeights }

function maker(seed: number) {
  const rng = new Rng(seed);
  const w: TinyWeights = new Map();
  const rand = (name: string, shape: number[], scale = 0.3, base = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    w.set(name, { shape, data: Float32Array.from({ length: n }, () => base + scale * rng.normal()) });
  };
  return { w, rand };
}

export function tinyGpt2(seed = 1): TinyCheckpoint {
  const hf = { model_type: 'gpt2', vocab_size: 50, n_embd: 16, n_head: 2, n_layer: 2, n_positions: 32, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', bos_token_id: 0, eos_token_id: 0 };
  const { w, rand } = maker(seed);
  const H = 16;
  rand('transformer.wte.weight', [50, H]);
  rand('transformer.wpe.weight', [32, H], 0.1);
  for (let l = 0; l < 2; l++) {
    const p = `transformer.h.${l}.`;
    rand(`${p}ln_1.weight`, [H], 0.1, 1); rand(`${p}ln_1.bias`, [H], 0.1);
    rand(`${p}attn.c_attn.weight`, [H, 3 * H]); rand(`${p}attn.c_attn.bias`, [3 * H], 0.1);
    rand(`${p}attn.c_proj.weight`, [H, H]); rand(`${p}attn.c_proj.bias`, [H], 0.1);
    rand(`${p}ln_2.weight`, [H], 0.1, 1); rand(`${p}ln_2.bias`, [H], 0.1);
    rand(`${p}mlp.c_fc.weight`, [H, 4 * H]); rand(`${p}mlp.c_fc.bias`, [4 * H], 0.1);
    rand(`${p}mlp.c_proj.weight`, [4 * H, H], 0.2); rand(`${p}mlp.c_proj.bias`, [H], 0.1);
  }
  rand('transformer.ln_f.weight', [H], 0.1, 1); rand('transformer.ln_f.bias', [H], 0.1);
  return { name: 'gpt2', hf, weights: w };
}

/** OPT; `proj` gives word_embed_proj_dim != hidden (project_in/out), `postLN` = do_layer_norm_before false (OPT-350m). */
export function tinyOpt(seed = 2, opts: { proj?: boolean; postLN?: boolean } = {}): TinyCheckpoint {
  const H = 16, I = 32, V = 50, E = opts.proj ? 8 : 16;
  const hf: Record<string, any> = {
    model_type: 'opt', vocab_size: V, hidden_size: H, num_attention_heads: 4, num_hidden_layers: 2, ffn_dim: I,
    max_position_embeddings: 30, do_layer_norm_before: !opts.postLN, word_embed_proj_dim: E, activation_function: 'relu',
    enable_bias: true, bos_token_id: 2, eos_token_id: 2, pad_token_id: 1,
  };
  const { w, rand } = maker(seed);
  const p0 = 'model.decoder.';
  rand(`${p0}embed_tokens.weight`, [V, E]);
  rand(`${p0}embed_positions.weight`, [32, H], 0.1);
  if (opts.proj) { rand(`${p0}project_in.weight`, [H, E]); rand(`${p0}project_out.weight`, [E, H]); }
  for (let l = 0; l < 2; l++) {
    const p = `${p0}layers.${l}.`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) { rand(`${p}self_attn.${n}.weight`, [H, H]); rand(`${p}self_attn.${n}.bias`, [H], 0.1); }
    rand(`${p}self_attn_layer_norm.weight`, [H], 0.1, 1); rand(`${p}self_attn_layer_norm.bias`, [H], 0.1);
    rand(`${p}fc1.weight`, [I, H]); rand(`${p}fc1.bias`, [I], 0.1);
    rand(`${p}fc2.weight`, [H, I], 0.2); rand(`${p}fc2.bias`, [H], 0.1);
    rand(`${p}final_layer_norm.weight`, [H], 0.1, 1); rand(`${p}final_layer_norm.bias`, [H], 0.1);
  }
  if (!opts.postLN) { rand(`${p0}final_layer_norm.weight`, [H], 0.1, 1); rand(`${p0}final_layer_norm.bias`, [H], 0.1); }
  return { name: `opt${opts.proj ? '-proj' : ''}${opts.postLN ? '-postln' : ''}`, hf, weights: w };
}

/** Llama (4 heads / 2 KV heads, separate lm_head) or Qwen2-style (q/k/v biases, 4 heads / 1 KV head, tied). */
export function tinyLlama(seed = 3, opts: { qwen2?: boolean } = {}): TinyCheckpoint {
  const H = 16, I = 24, V = 50, nh = 4, kvh = opts.qwen2 ? 1 : 2, hd = 4;
  const hf: Record<string, any> = {
    model_type: opts.qwen2 ? 'qwen2' : 'llama', vocab_size: V, hidden_size: H, intermediate_size: I,
    num_attention_heads: nh, num_key_value_heads: kvh, num_hidden_layers: 2, max_position_embeddings: 64,
    rms_norm_eps: 1e-6, rope_theta: opts.qwen2 ? 1000000 : 10000, tie_word_embeddings: !!opts.qwen2, hidden_act: 'silu',
    bos_token_id: 1, eos_token_id: 2,
  };
  const { w, rand } = maker(seed);
  rand('model.embed_tokens.weight', [V, H]);
  for (let l = 0; l < 2; l++) {
    const p = `model.layers.${l}.`;
    rand(`${p}input_layernorm.weight`, [H], 0.1, 1);
    rand(`${p}self_attn.q_proj.weight`, [nh * hd, H]);
    rand(`${p}self_attn.k_proj.weight`, [kvh * hd, H]);
    rand(`${p}self_attn.v_proj.weight`, [kvh * hd, H]);
    if (opts.qwen2) {
      rand(`${p}self_attn.q_proj.bias`, [nh * hd], 0.2);
      rand(`${p}self_attn.k_proj.bias`, [kvh * hd], 0.2);
      rand(`${p}self_attn.v_proj.bias`, [kvh * hd], 0.2);
    }
    rand(`${p}self_attn.o_proj.weight`, [H, nh * hd]);
    rand(`${p}post_attention_layernorm.weight`, [H], 0.1, 1);
    rand(`${p}mlp.gate_proj.weight`, [I, H]);
    rand(`${p}mlp.up_proj.weight`, [I, H]);
    rand(`${p}mlp.down_proj.weight`, [H, I], 0.2);
  }
  rand('model.norm.weight', [H], 0.1, 1);
  if (!opts.qwen2) rand('lm_head.weight', [V, H]);
  return { name: opts.qwen2 ? 'qwen2' : 'llama', hf, weights: w };
}

export function allTinyCheckpoints(): TinyCheckpoint[] {
  return [tinyGpt2(), tinyOpt(), tinyOpt(4, { proj: true, postLN: true }), tinyLlama(), tinyLlama(5, { qwen2: true })];
}
