/**
 * Reading a checkpoint's tensors into the family-independent layout of {@link DecoderData}: the
 * safetensors files of a directory (single file or sharded index; F32/F16/BF16/F64 read as
 * float32), name look-up under the prefixes the saving classes use, shape checks against the
 * config, the [out, in] -> [in, out] transpose of `nn.Linear` weights, and tied embeddings stored
 * under either name or both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors, type SafetensorsTensor } from '@allmrec/core';
import { transposeData, type F32, type LinearData, type NormData } from './arch';
import { readJsonObject } from './hf-config';

/**
 * Every tensor of a checkpoint directory, from `model.safetensors` or from the shards listed in
 * `model.safetensors.index.json`.
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
  const map = readJsonObject(index).weight_map as Record<string, string> | undefined;
  if (!map || typeof map !== 'object') throw new Error(`${index}: no "weight_map"`);
  const out = new Map<string, SafetensorsTensor>();
  for (const shard of [...new Set(Object.values(map))].sort()) {
    const file = path.join(dir, shard);
    if (!fs.existsSync(file)) throw new Error(`${dir}: shard ${shard} listed in model.safetensors.index.json is missing`);
    for (const [name, t] of readSafetensors(file).tensors) out.set(name, t);
  }
  for (const name of Object.keys(map)) {
    if (!out.has(name)) throw new Error(`${index}: "${name}" is listed in shard ${map[name]} but that file does not hold it`);
  }
  return out;
}

/** Tensors by Hugging Face name, read into float32 {@link F32} arrays with checked shapes. */
export class TensorReader {
  /**
   * @param prefixes tried in order before each name (e.g. ["model.", ""]).
   * @param label the checkpoint, for error messages
   */
  constructor(readonly tensors: Map<string, SafetensorsTensor>, readonly prefixes: string[], readonly label: string) {}

  private resolve(name: string): string | undefined {
    for (const p of this.prefixes) if (this.tensors.has(p + name)) return p + name;
    return undefined;
  }

  /** True when the checkpoint holds `name` under one of the prefixes. */
  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  /** The tensor `name`, shape-checked. */
  get(name: string, shape: number[]): F32 {
    const full = this.resolve(name);
    if (!full) {
      throw new Error(`${this.label}: tensor "${name}" not found (tried prefixes ${this.prefixes.map((p) => JSON.stringify(p)).join(', ')})`);
    }
    const t = this.tensors.get(full)!;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${this.label}: tensor "${full}" has shape [${t.shape}] but the config implies [${shape}]`);
    }
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
      throw new Error(`${this.label}: tensor "${full}" is ${t.dtype}; weights must be F32, F16, BF16 or F64`);
    }
    return { shape: [...shape], data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) };
  }

  /** An `nn.Linear` stored [out, in] (+ bias) as [in, out]. `bias`: required, absent, or when present. */
  linear(name: string, inDim: number, outDim: number, bias: boolean | 'optional' = 'optional'): LinearData {
    const w = this.get(`${name}.weight`, [outDim, inDim]);
    return { w: { shape: [inDim, outDim], data: transposeData(w.data, outDim, inDim) }, b: this.bias(`${name}.bias`, outDim, bias) };
  }

  /** A GPT-2 `Conv1D` stored [in, out] (+ bias). */
  conv1d(name: string, inDim: number, outDim: number): LinearData {
    return { w: this.get(`${name}.weight`, [inDim, outDim]), b: this.bias(`${name}.bias`, outDim, true) };
  }

  private bias(name: string, dim: number, mode: boolean | 'optional'): F32 | undefined {
    if (mode === false || (mode === 'optional' && !this.has(name))) return undefined;
    return this.get(name, [dim]);
  }

  /**
   * A norm's gain (+ bias for LayerNorm when present). `offset` is added to the gain (Gemma's
   * RMSNorm multiplies by 1 + weight).
   */
  norm(name: string, dim: number, options: { bias?: boolean | 'optional'; offset?: number } = {}): NormData {
    const g = this.get(`${name}.weight`, [dim]);
    if (options.offset) {
      const data = new Float32Array(dim);
      for (let i = 0; i < dim; i++) data[i] = Math.fround(options.offset + g.data[i]);
      g.data = data;
    }
    return { g, b: this.bias(`${name}.bias`, dim, options.bias ?? 'optional') };
  }

  /**
   * Input embeddings [V, E] and the output matrix, as transformers ties them. Tied: the matrix
   * stored as `embedName`, or only as `headName` (as transformers wrote tied models before 5.x);
   * when both are stored with different values, transformers does not tie them and neither does
   * this. Untied: both must exist.
   */
  embeddingsAndHead(embedName: string, headName: string, V: number, E: number, tied: boolean): { embed: F32; head: F32 } {
    const hasEmbed = this.has(embedName);
    const hasHead = this.has(headName);
    if (tied) {
      if (!hasEmbed && !hasHead) throw new Error(`${this.label}: the tied embedding is stored neither as "${embedName}" nor as "${headName}"`);
      if (hasEmbed && hasHead) {
        const embed = this.get(embedName, [V, E]);
        const head = this.get(headName, [V, E]);
        const same = embed.data.every((x, i) => x === head.data[i]);
        return same ? { embed, head: embed } : { embed, head };
      }
      const embed = hasEmbed ? this.get(embedName, [V, E]) : this.get(headName, [V, E]);
      return { embed, head: embed };
    }
    if (!hasHead) throw new Error(`${this.label}: tie_word_embeddings is false but the output matrix "${headName}" is missing`);
    return { embed: this.get(embedName, [V, E]), head: this.get(headName, [V, E]) };
  }
}

/** Splits the columns of a [rows, sum(widths)] matrix into [rows, width_i] pieces. */
export function splitColumns(m: F32, widths: number[]): F32[] {
  const [rows, cols] = m.shape;
  if (widths.reduce((a, b) => a + b, 0) !== cols) throw new Error(`splitColumns: widths ${widths} do not add up to ${cols}`);
  let start = 0;
  return widths.map((w) => {
    const data = new Float32Array(rows * w);
    for (let r = 0; r < rows; r++) data.set(m.data.subarray(r * cols + start, r * cols + start + w), r * w);
    start += w;
    return { shape: [rows, w], data };
  });
}

/** Splits a vector into consecutive pieces. */
export function splitVector(v: F32, widths: number[]): F32[] {
  let start = 0;
  return widths.map((w) => {
    const data = v.data.slice(start, start + w);
    start += w;
    return { shape: [w], data };
  });
}

/** Splits a fused linear layer's output columns (and bias) into several layers. */
export function splitLinear(l: LinearData, widths: number[]): LinearData[] {
  const ws = splitColumns(l.w, widths);
  const bs = l.b ? splitVector(l.b, widths) : undefined;
  return ws.map((w, i) => ({ w, b: bs?.[i] }));
}
