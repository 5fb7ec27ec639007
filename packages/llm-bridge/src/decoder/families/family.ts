/**
 * What a checkpoint family provides: its config.json read into a {@link DecoderArch}, and its
 * tensors read into {@link DecoderData}. One file per family under `families/`; the registry
 * (`registry.ts`) maps config.json `model_type` to them.
 */
import type { CausalLMConfig } from '../../causal-lm';
import type { Activation, DecoderArch, DecoderData } from '../arch';
import type { HFConfig } from '../hf-config';
import type { TensorReader } from '../tensors';

/** One checkpoint family. */
export interface DecoderFamily {
  /** config.json `model_type` values this family reads. */
  modelTypes: readonly string[];
  /** Prefixes tried before every tensor name, in order (e.g. ["model.", ""]). */
  prefixes: string[];
  /** The architecture, with every math-changing field checked (see hf-config.ts). */
  arch(c: HFConfig): DecoderArch;
  /** The weights, shape-checked against `a`. */
  weights(a: DecoderArch, r: TensorReader, c: HFConfig): DecoderData;
}

/** The seam's part of the config: sizes and special tokens (`eos_token_id` may be a list). */
export function seamConfig(
  c: HFConfig, sizes: { vocabSize: number; hiddenSize: number; maxPositions: number },
  defaults: { bos?: number; eos?: number; pad?: number } = {},
): CausalLMConfig {
  const eos = c.tokenIds('eos_token_id') ?? (defaults.eos !== undefined ? [defaults.eos] : undefined);
  return {
    modelType: c.modelType,
    vocabSize: sizes.vocabSize,
    hiddenSize: sizes.hiddenSize,
    maxPositions: sizes.maxPositions,
    bosTokenId: c.tokenId('bos_token_id') ?? defaults.bos,
    eosTokenId: eos?.[0],
    ...(eos && eos.length > 1 ? { eosTokenIds: eos } : {}),
    padTokenId: c.tokenId('pad_token_id') ?? defaults.pad ?? eos?.[0],
  };
}

/** transformers' ACT2FN names this package implements. */
export function activationOf(c: HFConfig, names: string | string[], fallback: string): Activation {
  const name = c.str(names, fallback);
  switch (name) {
    case 'gelu_new': case 'gelu_pytorch_tanh': case 'gelu_fast': return 'gelu_tanh';
    case 'gelu': return 'gelu';
    case 'relu': return 'relu';
    case 'silu': case 'swish': return 'silu';
    default: return c.fail(`activation "${name}" (${[names].flat().join(' / ')}) is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu)`);
  }
}

/** Per-layer windows from `layer_types` ("full_attention" | "sliding_attention"). */
export function windowsFromLayerTypes(c: HFConfig, layers: number, window: number | undefined, fallback: (i: number) => boolean): number[] {
  const lt = c.raw.layer_types;
  let sliding: boolean[];
  if (lt === undefined || lt === null) {
    sliding = Array.from({ length: layers }, (_, i) => fallback(i));
  } else {
    if (!Array.isArray(lt) || lt.length !== layers) c.fail(`"layer_types" must list one type per layer (${layers}), got ${JSON.stringify(lt)}`);
    sliding = lt.map((t, i) => {
      if (t === 'sliding_attention') return true;
      if (t === 'full_attention') return false;
      return c.fail(`"layer_types[${i}]": "${String(t)}" is not supported (full_attention, sliding_attention)`);
    });
  }
  return sliding.map((s) => (s && window ? window : 0));
}

/** A sliding window field: a positive integer or null/absent (none). */
export function windowOf(c: HFConfig, name = 'sliding_window'): number | undefined {
  if (!c.has(name)) return undefined;
  const w = c.int(name);
  if (w < 1) c.fail(`"${name}" must be a positive integer or null, got ${w}`);
  return w;
}
