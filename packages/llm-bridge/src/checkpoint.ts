/**
 * Hugging Face checkpoint directories: `config.json`, `model.safetensors` (or
 * `model.safetensors.index.json` + shards), `tokenizer.json` (+ optional `tokenizer_config.json`).
 * Loading picks the decoder family from config.json `model_type`; saving writes the same layout
 * atomically (through core's artifact writer, which adds a `manifest.json` with checksums).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSafetensors, readSafetensors, writeArtifact, type SafetensorsTensor, type TensorInput } from '@allmrec/core';
import type { CausalLM, CausalLMConfig, SlotInterface } from './causal-lm';
import { gpt2Config, gpt2TensorsToHF, gpt2Weights } from './gpt2';
import { resolveCheckpoint, type ResolveOptions } from './hub';
import { LLAMA_MODEL_TYPES, llamaConfig, llamaWeights } from './llama';
import { optConfig, optWeights } from './opt';
import { HFTokenizer, loadTokenizer } from './tokenizer';
import { TransformerLM, type DecoderWeights } from './transformer';
import { WeightReader } from './weights';

/** Reads config.json of a checkpoint directory. */
export function readCheckpointConfig(dir: string): Record<string, unknown> {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new Error(`${dir}: config.json is missing; not a Hugging Face checkpoint directory`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * Every tensor of a checkpoint directory, from `model.safetensors` or from the shards listed in
 * `model.safetensors.index.json`. F16/BF16 tensors are converted to float32.
 */
export function readCheckpointTensors(dir: string): Map<string, SafetensorsTensor> {
  const single = path.join(dir, 'model.safetensors');
  if (fs.existsSync(single)) return readSafetensors(single).tensors;
  const index = path.join(dir, 'model.safetensors.index.json');
  if (!fs.existsSync(index)) {
    const bin = fs.existsSync(path.join(dir, 'pytorch_model.bin'));
    throw new Error(`${dir}: neither model.safetensors nor model.safetensors.index.json exists` +
      (bin ? ' (only pytorch_model.bin, which is not read: convert it to safetensors)' : ''));
  }
  const map = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map;
  if (!map) throw new Error(`${index}: no "weight_map"`);
  const out = new Map<string, SafetensorsTensor>();
  for (const shard of [...new Set(Object.values(map))].sort()) {
    const file = path.join(dir, shard);
    if (!fs.existsSync(file)) throw new Error(`${dir}: shard ${shard} listed in model.safetensors.index.json is missing`);
    for (const [name, t] of readSafetensors(file).tensors) out.set(name, t);
  }
  return out;
}

/** config.json `allmrec_slot_interface` ({ user: [a, b], item: [a, b], section?: token id } inside the hidden size), checked. */
function slotInterfaceOf(raw: Record<string, unknown>, dir: string): { slotInterface?: SlotInterface } {
  const v = raw.allmrec_slot_interface as Record<string, unknown> | undefined;
  if (v === undefined) return {};
  const hidden = Number(raw.n_embd ?? raw.hidden_size);
  const range = (k: string): [number, number] => {
    const r = v?.[k];
    if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isInteger) || !(r[0] >= 0 && r[0] < r[1] && r[1] <= hidden)) {
      throw new Error(`${path.join(dir, 'config.json')}: allmrec_slot_interface.${k} must be [start, end] with 0 <= start < end <= ${hidden}, got ${JSON.stringify(r)}`);
    }
    return [r[0], r[1]];
  };
  const section = v.section;
  const vocab = Number(raw.vocab_size);
  if (section !== undefined && !(Number.isInteger(section) && (section as number) >= 0 && !((section as number) >= vocab))) {
    throw new Error(`${path.join(dir, 'config.json')}: allmrec_slot_interface.section must be a token id in [0, vocab_size), got ${JSON.stringify(section)}`);
  }
  return { slotInterface: { user: range('user'), item: range('item'), ...(section !== undefined ? { section: section as number } : {}) } };
}

interface Family {
  config: (raw: Record<string, unknown>) => CausalLMConfig;
  weights: (raw: Record<string, unknown>, c: CausalLMConfig, r: WeightReader) => DecoderWeights;
  prefixes: string[];
}

function familyOf(modelType: string): Family {
  if (modelType === 'gpt2') return { config: gpt2Config, weights: gpt2Weights, prefixes: ['transformer.', ''] };
  if (modelType === 'opt') return { config: optConfig, weights: optWeights, prefixes: ['model.decoder.', 'decoder.', ''] };
  if (LLAMA_MODEL_TYPES.includes(modelType)) return { config: llamaConfig, weights: llamaWeights, prefixes: ['model.', ''] };
  throw new Error(`model_type "${modelType}" is not supported (supported: gpt2, opt, ${LLAMA_MODEL_TYPES.join(', ')})`);
}

/**
 * Loads a causal LM from a checkpoint directory or a Hugging Face hub name (downloaded through
 * {@link resolveCheckpoint}). The family comes from config.json `model_type`: gpt2, opt, llama,
 * qwen2, mistral. Call `selectBackend()` from `@allmrec/core` first.
 */
export async function loadCausalLM(nameOrDir: string, options: ResolveOptions = {}): Promise<CausalLM> {
  const dir = await resolveCheckpoint(nameOrDir, options);
  return loadCausalLMSync(dir);
}

/** {@link loadCausalLM} for a local directory, synchronously. */
export function loadCausalLMSync(dir: string): TransformerLM {
  const raw = readCheckpointConfig(dir);
  const family = familyOf(String(raw.model_type ?? ''));
  const config = { ...family.config(raw), ...slotInterfaceOf(raw, dir) };
  const tokenizer = loadTokenizer(dir, { eosTokenId: config.eosTokenId, bosTokenId: config.bosTokenId, padTokenId: config.padTokenId });
  const tensors = readCheckpointTensors(dir);
  const weights = family.weights(raw, config, new WeightReader(tensors, family.prefixes, dir));
  return new TransformerLM(config, weights, tokenizer);
}

/** What {@link writeHFCheckpoint} writes. */
export interface HFCheckpoint {
  /** config.json content (must include `model_type`). */
  config: Record<string, unknown>;
  /** Tensors by Hugging Face name, written as model.safetensors. */
  tensors: Map<string, TensorInput> | Record<string, TensorInput>;
  /** tokenizer.json content. */
  tokenizerJson: Record<string, unknown>;
  /** tokenizer_config.json content (omitted when undefined). */
  tokenizerConfig?: Record<string, unknown>;
}

/**
 * Writes a Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer.json,
 * tokenizer_config.json, plus allmrec's manifest.json) atomically: an interrupted write leaves
 * the previous directory (or none), never a half-written checkpoint.
 */
export async function writeHFCheckpoint(dir: string, ckpt: HFCheckpoint): Promise<void> {
  if (typeof ckpt.config.model_type !== 'string') throw new Error('writeHFCheckpoint: config.model_type is required');
  const files: Record<string, Uint8Array | string> = {
    'model.safetensors': encodeSafetensors(ckpt.tensors, { format: 'pt' }),
    'tokenizer.json': JSON.stringify(ckpt.tokenizerJson),
  };
  if (ckpt.tokenizerConfig) files['tokenizer_config.json'] = JSON.stringify(ckpt.tokenizerConfig, null, 2) + '\n';
  await writeArtifact(dir, { kind: `hf-causal-lm:${ckpt.config.model_type}`, config: ckpt.config, files });
}

/**
 * Saves a GPT-2-family model loaded or built by this package in the Hugging Face layout
 * (`GPT2LMHeadModel` tensor names and orientations), readable by {@link loadCausalLM} and by
 * `transformers`. Other families: use {@link writeHFCheckpoint} with their HF tensors.
 */
export async function saveCausalLM(dir: string, lm: CausalLM): Promise<void> {
  if (!(lm instanceof TransformerLM) || lm.config.family !== 'gpt2') {
    throw new Error('saveCausalLM supports GPT-2-family models built by @allmrec/llm-bridge; use writeHFCheckpoint for others');
  }
  if (!(lm.tokenizer instanceof HFTokenizer)) throw new Error('saveCausalLM: the tokenizer has no tokenizer.json form');
  await writeHFCheckpoint(dir, {
    config: gpt2ConfigJson(lm),
    tensors: gpt2TensorsToHF(lm.weights),
    tokenizerJson: lm.tokenizer.json,
    tokenizerConfig: lm.tokenizer.tokenizerConfig,
  });
}

function gpt2ConfigJson(lm: TransformerLM): Record<string, unknown> {
  const c = lm.config;
  const b = lm.weights.blocks[0];
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_embd: c.hiddenSize,
    n_layer: c.layers,
    n_head: c.heads,
    n_positions: c.maxPositions,
    n_inner: b ? b.up.w.shape[1] : null,
    layer_norm_epsilon: lm.weights.finalNorm?.eps ?? 1e-5,
    activation_function: lm.weights.activation === 'gelu_tanh' ? 'gelu_new' : lm.weights.activation,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    ...(c.padTokenId !== c.eosTokenId ? { pad_token_id: c.padTokenId } : {}),
    tie_word_embeddings: lm.weights.headVE === lm.weights.embed,
    torch_dtype: 'float32',
  };
}
