/**
 * Hugging Face checkpoint directories: `config.json`, `model.safetensors` (or
 * `model.safetensors.index.json` + shards), `tokenizer.json` (+ optional `tokenizer_config.json`).
 * Loading picks the family from config.json `model_type` (decoder/registry.ts) and the runtime
 * (tfjs, trainable through; or onnxruntime, inference only); saving writes the same layout
 * atomically (through core's artifact writer, which adds a `manifest.json` with checksums).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSafetensors, writeArtifact, type TensorInput } from '@allmrec/core';
import type { CausalLM, SlotInterface } from './causal-lm';
import type { DecoderArch, DecoderData } from './decoder/arch';
import { readConfigJson, readJsonObject } from './decoder/hf-config';
import { decoderFromCheckpoint } from './decoder/registry';
import { readCheckpointTensors } from './decoder/tensors';
import { resolveCheckpoint, type ResolveOptions } from './hub';
import { OnnxCausalLM, type OnnxCausalLMOptions } from './onnx/onnx-lm';
import { HFTokenizer, loadTokenizer } from './tokenizer';
import { TransformerLM } from './transformer';

/** Where a loaded LM runs. */
export type LMRuntime = 'tfjs' | 'onnx';

/** Options of {@link loadCausalLM}. */
export interface LoadCausalLMOptions extends ResolveOptions {
  /**
   * `tfjs` (default): trainable through (Stage 2), on the backend `selectBackend()` chose.
   * `onnx`: onnxruntime-node, inference only and several times faster on CPU; the graph is
   * exported once and cached in `${ALLMREC_HOME}/onnx/<key>` (or `onnx.cacheDir`).
   */
  runtime?: LMRuntime;
  /** onnxruntime options (with `runtime: 'onnx'`). */
  onnx?: OnnxCausalLMOptions;
}

/** A checkpoint read into the family-independent description both runtimes use. */
export interface DecoderCheckpoint {
  dir: string;
  /** config.json as written. */
  raw: Record<string, unknown>;
  arch: DecoderArch;
  data: DecoderData;
  tokenizer: HFTokenizer;
}

/** config.json `allmrec_slot_interface` ({ user: [a, b], item: [a, b], section?: token id } inside the hidden size), checked. */
function slotInterfaceOf(raw: Record<string, unknown>, file: string, hidden: number): { slotInterface?: SlotInterface } {
  const v = raw.allmrec_slot_interface as Record<string, unknown> | undefined;
  if (v === undefined) return {};
  const range = (k: string): [number, number] => {
    const r = v?.[k];
    if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isInteger) || !(r[0] >= 0 && r[0] < r[1] && r[1] <= hidden)) {
      throw new Error(`${file}: allmrec_slot_interface.${k} must be [start, end] with 0 <= start < end <= ${hidden}, got ${JSON.stringify(r)}`);
    }
    return [r[0], r[1]];
  };
  const section = v.section;
  const vocab = Number(raw.vocab_size);
  if (section !== undefined && !(Number.isInteger(section) && (section as number) >= 0 && !((section as number) >= vocab))) {
    throw new Error(`${file}: allmrec_slot_interface.section must be a token id in [0, vocab_size), got ${JSON.stringify(section)}`);
  }
  return { slotInterface: { user: range('user'), item: range('item'), ...(section !== undefined ? { section: section as number } : {}) } };
}

/**
 * generation_config.json's end-of-sequence ids, which transformers' `generate` stops at (e.g. the
 * three of Llama 3 Instruct), joined to config.json's; a malformed file names itself.
 */
function generationEosOf(dir: string, fromConfig: number[]): { eosTokenIds?: number[]; eosTokenId?: number } {
  const file = path.join(dir, 'generation_config.json');
  if (!fs.existsSync(file)) return {};
  const v = readJsonObject(file).eos_token_id;
  if (v === undefined || v === null) return {};
  const ids = Array.isArray(v) ? v : [v];
  if (!ids.every((x) => Number.isInteger(x) && x >= 0)) throw new Error(`${file}: "eos_token_id" must be a token id or a list of them, got ${JSON.stringify(v)}`);
  const all = [...new Set([...fromConfig, ...(ids as number[])])];
  return all.length > 1 ? { eosTokenIds: all, eosTokenId: fromConfig[0] ?? all[0] } : { eosTokenId: all[0] };
}

/**
 * Reads a checkpoint directory: config.json (checked field by field; see decoder/hf-config.ts),
 * every tensor (F32/F16/BF16, single file or sharded) and the tokenizer.
 */
export function readDecoderCheckpoint(dir: string): DecoderCheckpoint {
  const { raw, file } = readConfigJson(dir);
  const tensors = readCheckpointTensors(dir);
  const { arch, data } = decoderFromCheckpoint(raw, file, tensors, dir);
  Object.assign(arch, slotInterfaceOf(raw, file, arch.hiddenSize), generationEosOf(dir, arch.eosTokenIds ?? (arch.eosTokenId === undefined ? [] : [arch.eosTokenId])));
  const tokenizer = loadTokenizer(dir, { eosTokenId: arch.eosTokenId, bosTokenId: arch.bosTokenId, padTokenId: arch.padTokenId });
  return { dir, raw, arch, data, tokenizer };
}

/**
 * Loads a causal LM from a checkpoint directory or a Hugging Face hub name (downloaded through
 * {@link resolveCheckpoint}); the family comes from config.json `model_type` (gpt2, opt, llama,
 * mistral, qwen2, qwen3, gemma, gemma2, phi3, gpt_neox). Call `selectBackend()` from
 * `@allmrec/core` first.
 *
 *   const lm = await loadCausalLM('../shared/models/tinystories-656k');
 *   const { text } = await generateText(lm, 'Once upon a time', { maxNewTokens: 30 });
 */
export async function loadCausalLM(nameOrDir: string, options: LoadCausalLMOptions = {}): Promise<CausalLM> {
  const runtime = options.runtime ?? 'tfjs';
  if (runtime !== 'tfjs' && runtime !== 'onnx') throw new Error(`runtime must be "tfjs" or "onnx", got "${String(runtime)}"`);
  const dir = await resolveCheckpoint(nameOrDir, options);
  const ck = readDecoderCheckpoint(dir);
  if (runtime === 'onnx') return OnnxCausalLM.fromCheckpoint(dir, ck.arch, ck.data, ck.tokenizer, options.onnx);
  return new TransformerLM(ck.arch, ck.data, ck.tokenizer);
}

/** {@link loadCausalLM} for a local directory on tfjs, synchronously. */
export function loadCausalLMSync(dir: string): TransformerLM {
  const ck = readDecoderCheckpoint(dir);
  return new TransformerLM(ck.arch, ck.data, ck.tokenizer);
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
  await writeArtifact(path.resolve(dir), { kind: `hf-causal-lm:${ckpt.config.model_type}`, config: ckpt.config, files });
}
