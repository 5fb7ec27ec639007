/**
 * Reading Hugging Face tensors into the family-independent layout: name look-up with the
 * prefixes different saving classes use, shape checks, and the [out, in] -> [in, out] transpose
 * of `nn.Linear` weights (done once, at load).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SafetensorsTensor } from '@allmrec/core';
import type { Linear, Norm } from './layers';

/** Tensors of a checkpoint by Hugging Face name, read lazily into tfjs float32 tensors. */
export class WeightReader {
  private readonly used = new Set<string>();

  /**
   * @param tensors by Hugging Face name
   * @param prefixes tried in order before each name (e.g. ["model.", ""]).
   * @param label checkpoint path for error messages
   */
  constructor(readonly tensors: Map<string, SafetensorsTensor>, readonly prefixes: string[], readonly label: string) {}

  private resolve(name: string): string | undefined {
    for (const p of this.prefixes) if (this.tensors.has(p + name)) return p + name;
    return undefined;
  }

  /** True when the checkpoint has `name` under one of the prefixes. */
  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  /** The tensor `name` as float32, checking its shape when `shape` is given. */
  get(name: string, shape?: number[]): tf.Tensor {
    const full = this.resolve(name);
    if (!full) {
      throw new Error(`${this.label}: tensor "${name}" not found (tried prefixes ${this.prefixes.map((p) => JSON.stringify(p)).join(', ')})`);
    }
    const t = this.tensors.get(full)!;
    if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new Error(`${this.label}: tensor "${full}" has shape [${t.shape}] but the config implies [${shape}]`);
    }
    this.used.add(full);
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>, Number);
    return tf.tensor(data, t.shape, 'float32');
  }

  /** An `nn.Linear` stored [out, in] (+ optional bias) as a {@link Linear} [in, out]. */
  linearOutIn(name: string, inDim: number, outDim: number, bias: boolean | 'optional' = 'optional'): Linear {
    const w = tf.tidy(() => tf.transpose(this.get(`${name}.weight`, [outDim, inDim])) as tf.Tensor2D);
    return { w, b: this.bias(`${name}.bias`, outDim, bias) };
  }

  /** A GPT-2 `Conv1D` stored [in, out] (+ bias). */
  linearInOut(name: string, inDim: number, outDim: number): Linear {
    return { w: this.get(`${name}.weight`, [inDim, outDim]) as tf.Tensor2D, b: this.bias(`${name}.bias`, outDim, true) };
  }

  private bias(name: string, dim: number, mode: boolean | 'optional'): tf.Tensor1D | undefined {
    if (mode === false || (mode === 'optional' && !this.has(name))) return undefined;
    return this.get(name, [dim]) as tf.Tensor1D;
  }

  /** A LayerNorm (weight + bias when present) or RMSNorm (weight). */
  norm(name: string, dim: number, kind: 'layer' | 'rms', eps: number): Norm {
    const g = this.get(`${name}.weight`, [dim]) as tf.Tensor1D;
    const b = kind === 'layer' && this.has(`${name}.bias`) ? (this.get(`${name}.bias`, [dim]) as tf.Tensor1D) : undefined;
    return { kind, g, b, eps };
  }
}

/** Reads an integer field of config.json, trying several names; `fallback` when all are absent. */
export function configInt(raw: Record<string, unknown>, names: string[], fallback?: number): number {
  for (const n of names) {
    const v = raw[n];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json lacks ${names.map((n) => `"${n}"`).join(' / ')}`);
}

/** A token id field that may be a number, a list (first entry) or absent. */
export function tokenId(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

/** The output matrix as [E, V] and [V, E]: the tied embeddings, or lm_head.weight when present. */
export function outputHead(
  reader: WeightReader, embed: tf.Tensor2D, tied: boolean, headName = 'lm_head.weight',
): { headEV: tf.Tensor2D; headVE: tf.Tensor2D } {
  const [V, E] = embed.shape;
  const headVE = !tied && reader.has(headName) ? (reader.get(headName, [V, E]) as tf.Tensor2D) : embed;
  return { headVE, headEV: tf.tidy(() => tf.transpose(headVE) as tf.Tensor2D) };
}
