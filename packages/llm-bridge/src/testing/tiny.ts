/**
 * Tiny random checkpoints in the exact Hugging Face layout of each family (config.json +
 * model.safetensors with HF names and orientations + a small BPE tokenizer.json), generated
 * deterministically from a seed. For tests of this package and of code built on `CausalLM`
 * (prompt building, Stage 2 training) that must not download a real model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, encodeSafetensors, type TensorInput } from '@allmrec/core';

/** What {@link writeTinyCheckpoint} builds. */
export interface TinyCheckpointSpec {
  /** "qwen2" is the Llama family with q/k/v biases. */
  family: 'gpt2' | 'opt' | 'llama' | 'qwen2';
  seed: number;
  /** Vocabulary size (default 64; at least the tiny tokenizer's {@link TINY_VOCAB_MIN}). */
  vocabSize?: number;
  /** Hidden size (default 32). */
  hidden?: number;
  /** Blocks (default 2). */
  layers?: number;
  /** Attention heads (default 4). */
  heads?: number;
  /** Key/value heads (Llama family; default 2). */
  kvHeads?: number;
  /** MLP width (default 2 * hidden). */
  intermediate?: number;
  /** Positions (default 64). */
  maxPositions?: number;
  /** OPT only: word_embed_proj_dim (project_in/out when != hidden). */
  wordEmbedProjDim?: number;
  /** OPT only: do_layer_norm_before (default true). */
  preNorm?: boolean;
  /** Tie the output layer to the embeddings (default: true for gpt2/opt/qwen2, false for llama). */
  tied?: boolean;
  /** Standard deviation of the random matrices (default 0.3). */
  std?: number;
  /** Edits the HF tensors before they are written (e.g. to rig a known answer). */
  edit?: (tensors: Map<string, { shape: number[]; data: Float32Array }>) => void;
}

/** Ids of the tiny tokenizer's special tokens. */
export const TINY_SPECIAL = { pad: 0, bos: 1, eos: 2, unk: 3 } as const;

const TINY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.,"\'!?:-()';
const TINY_MERGES = [['▁', 't'], ['h', 'e'], ['▁t', 'he'], ['▁', 'a'], ['i', 'n'], ['▁', 's'], ['e', 'r'], ['o', 'n']];

/** A small lower-casing BPE tokenizer.json (Metaspace pre-tokenizer, 4 specials, ~60 tokens). */
export function tinyTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<pad>': 0, '<s>': 1, '</s>': 2, '<unk>': 3, '▁': 4 };
  const add = (t: string) => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
  for (const ch of TINY_CHARS) add(ch);
  for (const [a, b] of TINY_MERGES) add(a + b);
  const meta = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['<pad>', '<s>', '</s>', '<unk>'].map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: meta,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: meta,
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, vocab, merges: TINY_MERGES.map((m) => m.join(' ')),
    },
  };
}

/** Size of the tiny tokenizer's vocabulary (the smallest allowed `vocabSize`). */
export const TINY_VOCAB_MIN = 5 + TINY_CHARS.length + TINY_MERGES.length;

/** tokenizer_config.json of the tiny tokenizer. */
export function tinyTokenizerConfig(): Record<string, unknown> {
  return { bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>', clean_up_tokenization_spaces: false };
}

/**
 * Builds a tiny random checkpoint's config.json and HF-named tensors (deterministic in `seed`).
 */
export function tinyCheckpoint(spec: TinyCheckpointSpec): { config: Record<string, unknown>; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  const V = spec.vocabSize ?? 64;
  if (V < TINY_VOCAB_MIN) throw new Error(`vocabSize must be at least ${TINY_VOCAB_MIN} (the tiny tokenizer's size)`);
  const H = spec.hidden ?? 32;
  const L = spec.layers ?? 2;
  const nh = spec.heads ?? 4;
  const I = spec.intermediate ?? 2 * H;
  const P = spec.maxPositions ?? 64;
  const std = spec.std ?? 0.3;
  const rng = new Rng(spec.seed);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (name: string, shape: number[], kind: 'w' | 'b' | 'g') => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      data[i] = kind === 'w' ? z * std : kind === 'b' ? z * 0.1 : 1 + z * 0.1;
    }
    tensors.set(name, { shape, data });
  };
  const ids = { bos_token_id: TINY_SPECIAL.bos, eos_token_id: TINY_SPECIAL.eos, pad_token_id: TINY_SPECIAL.pad };
  let config: Record<string, unknown>;
  if (spec.family === 'gpt2') {
    const tied = spec.tied ?? true;
    config = {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: V, n_embd: H, n_layer: L, n_head: nh,
      n_positions: P, n_inner: I, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: tied, ...ids,
    };
    put('transformer.wte.weight', [V, H], 'w');
    put('transformer.wpe.weight', [P, H], 'w');
    for (let i = 0; i < L; i++) {
      const p = `transformer.h.${i}.`;
      put(p + 'ln_1.weight', [H], 'g'); put(p + 'ln_1.bias', [H], 'b');
      put(p + 'attn.c_attn.weight', [H, 3 * H], 'w'); put(p + 'attn.c_attn.bias', [3 * H], 'b');
      put(p + 'attn.c_proj.weight', [H, H], 'w'); put(p + 'attn.c_proj.bias', [H], 'b');
      put(p + 'ln_2.weight', [H], 'g'); put(p + 'ln_2.bias', [H], 'b');
      put(p + 'mlp.c_fc.weight', [H, I], 'w'); put(p + 'mlp.c_fc.bias', [I], 'b');
      put(p + 'mlp.c_proj.weight', [I, H], 'w'); put(p + 'mlp.c_proj.bias', [H], 'b');
    }
    put('transformer.ln_f.weight', [H], 'g'); put('transformer.ln_f.bias', [H], 'b');
    if (!tied) put('lm_head.weight', [V, H], 'w');
  } else if (spec.family === 'opt') {
    const E = spec.wordEmbedProjDim ?? H;
    const pre = spec.preNorm ?? true;
    config = {
      architectures: ['OPTForCausalLM'], model_type: 'opt', vocab_size: V, hidden_size: H, num_hidden_layers: L,
      num_attention_heads: nh, ffn_dim: I, max_position_embeddings: P, word_embed_proj_dim: E,
      do_layer_norm_before: pre, activation_function: 'relu', enable_bias: true, ...ids,
    };
    const d = 'model.decoder.';
    put(d + 'embed_tokens.weight', [V, E], 'w');
    put(d + 'embed_positions.weight', [P + 2, H], 'w');
    if (E !== H) { put(d + 'project_in.weight', [H, E], 'w'); put(d + 'project_out.weight', [E, H], 'w'); }
    for (let i = 0; i < L; i++) {
      const p = `${d}layers.${i}.`;
      put(p + 'self_attn_layer_norm.weight', [H], 'g'); put(p + 'self_attn_layer_norm.bias', [H], 'b');
      for (const m of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
        put(`${p}self_attn.${m}.weight`, [H, H], 'w'); put(`${p}self_attn.${m}.bias`, [H], 'b');
      }
      put(p + 'final_layer_norm.weight', [H], 'g'); put(p + 'final_layer_norm.bias', [H], 'b');
      put(p + 'fc1.weight', [I, H], 'w'); put(p + 'fc1.bias', [I], 'b');
      put(p + 'fc2.weight', [H, I], 'w'); put(p + 'fc2.bias', [H], 'b');
    }
    if (pre) { put(d + 'final_layer_norm.weight', [H], 'g'); put(d + 'final_layer_norm.bias', [H], 'b'); }
  } else {
    const qwen = spec.family === 'qwen2';
    const kv = spec.kvHeads ?? 2;
    const D = H / nh;
    const tied = spec.tied ?? qwen;
    config = {
      architectures: [qwen ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'], model_type: qwen ? 'qwen2' : 'llama',
      vocab_size: V, hidden_size: H, intermediate_size: I, num_hidden_layers: L, num_attention_heads: nh,
      num_key_value_heads: kv, max_position_embeddings: P, rms_norm_eps: 1e-6, rope_theta: qwen ? 1000000 : 10000,
      hidden_act: 'silu', tie_word_embeddings: tied, rope_scaling: null, ...ids,
    };
    put('model.embed_tokens.weight', [V, H], 'w');
    for (let i = 0; i < L; i++) {
      const p = `model.layers.${i}.`;
      put(p + 'input_layernorm.weight', [H], 'g');
      put(p + 'self_attn.q_proj.weight', [nh * D, H], 'w');
      put(p + 'self_attn.k_proj.weight', [kv * D, H], 'w');
      put(p + 'self_attn.v_proj.weight', [kv * D, H], 'w');
      if (qwen) {
        put(p + 'self_attn.q_proj.bias', [nh * D], 'b');
        put(p + 'self_attn.k_proj.bias', [kv * D], 'b');
        put(p + 'self_attn.v_proj.bias', [kv * D], 'b');
      }
      put(p + 'self_attn.o_proj.weight', [H, nh * D], 'w');
      put(p + 'post_attention_layernorm.weight', [H], 'g');
      put(p + 'mlp.gate_proj.weight', [I, H], 'w');
      put(p + 'mlp.up_proj.weight', [I, H], 'w');
      put(p + 'mlp.down_proj.weight', [H, I], 'w');
    }
    put('model.norm.weight', [H], 'g');
    if (!tied) put('lm_head.weight', [V, H], 'w');
  }
  spec.edit?.(tensors);
  return { config, tensors };
}

/**
 * Writes a tiny random checkpoint directory: config.json, model.safetensors, tokenizer.json and
 * tokenizer_config.json (plain files, not atomic: for tests). With `shards: 2` the tensors are
 * split over two files listed in model.safetensors.index.json.
 */
export function writeTinyCheckpoint(dir: string, spec: TinyCheckpointSpec, options: { shards?: 1 | 2 } = {}): string {
  const { config, tensors } = tinyCheckpoint(spec);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tinyTokenizerConfig(), null, 2) + '\n');
  const entries = [...tensors.entries()] as [string, TensorInput][];
  if ((options.shards ?? 1) === 1) {
    fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(new Map(entries), { format: 'pt' }));
    return dir;
  }
  const half = Math.ceil(entries.length / 2);
  const parts = [entries.slice(0, half), entries.slice(half)];
  const weightMap: Record<string, string> = {};
  parts.forEach((part, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    fs.writeFileSync(path.join(dir, name), encodeSafetensors(new Map(part), { format: 'pt' }));
    for (const [n] of part) weightMap[n] = name;
  });
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2));
  return dir;
}
