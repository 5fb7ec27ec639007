/**
 * Rotary position embeddings as transformers computes them: the config's RoPE parameters in either
 * form transformers writes (5.x `rope_parameters`, 4.x top-level `rope_theta` + `rope_scaling`,
 * GPT-NeoX's `rotary_pct` / `rotary_emb_base`), the inverse frequencies of every supported type
 * (default, linear, dynamic, llama3, yarn, longrope) and the cos/sin tables, computed in float32
 * step by step as torch does, so logits match transformers' to ~1e-6.
 *
 * `dynamic` and `longrope` depend on the length of the call (max position + 1), as transformers'
 * rotary layer does on a fresh model: dynamic NTK raises the base past max_position_embeddings,
 * longrope switches from the short to the long factors past original_max_position_embeddings.
 */
import type { RopeSpec } from './arch';
import type { HFConfig } from './hf-config';

const f = Math.fround;

/** Names a family's config may use for RoPE facts beyond transformers 5's `rope_parameters`. */
export interface RopeConfigNames {
  /** Legacy fields holding the partial rotary factor (e.g. GPT-NeoX `rotary_pct`). */
  partial?: string[];
  /** Legacy fields holding theta (e.g. GPT-NeoX `rotary_emb_base`). */
  theta?: string[];
  /** The family's config class defines `original_max_position_embeddings` with this default (Phi-3). */
  originalMaxDefault?: number;
  /** Per-layer RoPE dictionaries are keyed by these labels (refused when present). */
  layerTypes?: readonly string[];
}

const TYPES = ['default', 'linear', 'dynamic', 'llama3', 'yarn', 'longrope'] as const;

/**
 * The {@link RopeSpec} of a config (transformers' `convert_rope_params_to_dict` +
 * `standardize_rope_params`): `rope_scaling` (4.x) takes precedence over `rope_parameters`;
 * theta and the partial factor come from the dictionary, else the top level, else legacy names.
 */
export function ropeFromConfig(c: HFConfig, headDim: number, maxPositions: number, names: RopeConfigNames = {}): RopeSpec {
  const scaling = c.raw.rope_scaling;
  const params0 = (scaling !== null && scaling !== undefined ? scaling : c.raw.rope_parameters) ?? {};
  const field = scaling !== null && scaling !== undefined ? 'rope_scaling' : 'rope_parameters';
  if (typeof params0 !== 'object' || Array.isArray(params0)) c.fail(`"${field}" must be an object or null, got ${JSON.stringify(params0)}`);
  const p = params0 as Record<string, unknown>;
  const labels = names.layerTypes ?? ['full_attention', 'sliding_attention'];
  const nested = Object.keys(p).filter((k) => labels.includes(k));
  if (nested.length > 0) c.fail(`"${field}" holds per-layer RoPE parameters (${nested.join(', ')}), which are not supported for model_type "${c.modelType}"`);

  const num = (key: string, fallback?: number): number | undefined => {
    const v = p[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) c.fail(`"${field}.${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const topNum = (keys: string[]): number | undefined => {
    for (const k of keys) if (c.has(k)) return c.num(k);
    return undefined;
  };
  const type = String(p.rope_type ?? p.type ?? 'default');
  if (!(TYPES as readonly string[]).includes(type)) {
    c.fail(`"${field}.rope_type": "${type}" is not supported (supported: ${TYPES.join(', ')})`);
  }
  const theta = num('rope_theta') ?? topNum(['rope_theta', ...(names.theta ?? [])]) ?? 10000;
  const partial = num('partial_rotary_factor') ?? topNum(['partial_rotary_factor', ...(names.partial ?? [])]) ?? 1;
  if (!(partial > 0 && partial <= 1)) c.fail(`partial_rotary_factor must be in (0, 1], got ${partial}`);
  const dim = Math.floor(headDim * partial);
  if (dim % 2 !== 0 || dim === 0) c.fail(`the rotary dimension int(head_dim ${headDim} × partial_rotary_factor ${partial}) = ${dim} must be even and positive`);

  const spec: RopeSpec = { dim, theta, type: type as RopeSpec['type'], maxPositions };
  const needFactor = (): number => {
    const v = num('factor');
    if (v === undefined) c.fail(`"${field}.factor" is required for rope_type "${type}"`);
    return v;
  };
  if (type === 'llama3' || type === 'yarn' || type === 'longrope') {
    const top = c.has('original_max_position_embeddings') ? c.int('original_max_position_embeddings') : names.originalMaxDefault;
    spec.originalMaxPositions = top ?? num('original_max_position_embeddings') ?? maxPositions;
  }
  if (type === 'linear' || type === 'dynamic') spec.factor = needFactor();
  if (type === 'llama3') {
    spec.factor = needFactor();
    spec.lowFreqFactor = num('low_freq_factor');
    spec.highFreqFactor = num('high_freq_factor');
    if (spec.lowFreqFactor === undefined || spec.highFreqFactor === undefined) c.fail(`"${field}" needs low_freq_factor and high_freq_factor for rope_type "llama3"`);
  }
  if (type === 'yarn') {
    spec.factor = num('factor') ?? maxPositions / spec.originalMaxPositions!;
    spec.attentionFactor = num('attention_factor');
    spec.betaFast = num('beta_fast');
    spec.betaSlow = num('beta_slow');
    spec.mscale = num('mscale');
    spec.mscaleAllDim = num('mscale_all_dim');
    const t = p.truncate;
    if (t !== undefined && t !== null && typeof t !== 'boolean') c.fail(`"${field}.truncate" must be true or false, got ${JSON.stringify(t)}`);
    spec.truncate = t === undefined || t === null ? true : t;
  }
  if (type === 'longrope') {
    const list = (key: string): number[] => {
      const v = p[key];
      if (!Array.isArray(v) || v.length !== dim / 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        c.fail(`"${field}.${key}" must be a list of ${dim / 2} numbers (rotary dimension / 2), got ${JSON.stringify(v)?.slice(0, 80)}`);
      }
      return v as number[];
    };
    spec.shortFactor = list('short_factor');
    spec.longFactor = list('long_factor');
    spec.factor = num('factor') ?? maxPositions / spec.originalMaxPositions!;
    spec.attentionFactor = num('attention_factor');
  }
  return spec;
}

/** torch.arange(0, dim, 2).float() / dim, in float32. */
function exponents(dim: number): Float32Array {
  const e = new Float32Array(dim / 2);
  for (let i = 0; i < e.length; i++) e[i] = f((2 * i) / dim);
  return e;
}

/** 1 / (base ** e) elementwise in float32. */
function baseInv(base: number, e: Float32Array): Float32Array {
  const inv = new Float32Array(e.length);
  for (let i = 0; i < e.length; i++) inv[i] = f(1 / f(Math.pow(base, e[i])));
  return inv;
}

/**
 * Inverse frequencies (dim / 2, float32) and the factor applied to cos and sin, for a call whose
 * longest sequence is `seqLen` (max position + 1).
 */
export function ropeInvFreq(spec: RopeSpec, seqLen: number): { inv: Float32Array; attention: number } {
  const { dim, theta } = spec;
  const e = exponents(dim);
  switch (spec.type) {
    case 'default':
      return { inv: baseInv(theta, e), attention: 1 };
    case 'linear': {
      const inv = baseInv(theta, e);
      for (let i = 0; i < inv.length; i++) inv[i] = f(inv[i] / spec.factor!);
      return { inv, attention: 1 };
    }
    case 'dynamic': {
      if (seqLen <= spec.maxPositions) return { inv: baseInv(theta, e), attention: 1 };
      const factor = spec.factor!;
      // transformers computes the new base on float32 tensors (seq_len is a tensor).
      const ratio = f(f(f(f(factor * seqLen) / spec.maxPositions)) - f(factor - 1));
      const base = f(theta * f(Math.pow(ratio, f(dim / (dim - 2)))));
      return { inv: baseInv(base, e), attention: 1 };
    }
    case 'llama3': {
      const inv = baseInv(theta, e);
      const { factor, lowFreqFactor: lo, highFreqFactor: hi, originalMaxPositions: old } = spec as Required<RopeSpec>;
      const lowWave = old / lo;
      const highWave = old / hi;
      for (let i = 0; i < inv.length; i++) {
        const wave = f((2 * Math.PI) / inv[i]);
        const scaled = wave > lowWave ? f(inv[i] / factor) : inv[i];
        if (!(wave < highWave) && !(wave > lowWave)) {
          const s = f(f(f(old / wave) - lo) / (hi - lo));
          inv[i] = f(f(f(f(1 - s) * scaled) / factor) + f(s * scaled));
        } else {
          inv[i] = scaled;
        }
      }
      return { inv, attention: 1 };
    }
    case 'yarn': {
      const factor = spec.factor!;
      const old = spec.originalMaxPositions!;
      const mscaleOf = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
      let attention = spec.attentionFactor;
      if (attention === undefined) {
        attention = spec.mscale && spec.mscaleAllDim ? mscaleOf(factor, spec.mscale) / mscaleOf(factor, spec.mscaleAllDim) : mscaleOf(factor);
      }
      const betaFast = spec.betaFast || 32;
      const betaSlow = spec.betaSlow || 1;
      const corr = (rot: number) => (dim * Math.log(old / (rot * 2 * Math.PI))) / (2 * Math.log(theta));
      let low = corr(betaFast);
      let high = corr(betaSlow);
      if (spec.truncate !== false) { low = Math.floor(low); high = Math.ceil(high); }
      low = Math.max(low, 0);
      high = Math.min(high, dim - 1);
      if (low === high) high += 0.001;
      const inv = new Float32Array(dim / 2);
      for (let i = 0; i < inv.length; i++) {
        const pos = f(Math.pow(theta, e[i]));
        const extrap = f(1 / pos);
        const interp = f(1 / f(factor * pos));
        const ramp = Math.min(1, Math.max(0, f(f(i - low) / f(high - low))));
        const ef = f(1 - ramp);
        inv[i] = f(f(interp * f(1 - ef)) + f(extrap * ef));
      }
      return { inv, attention };
    }
    case 'longrope': {
      const old = spec.originalMaxPositions!;
      const factor = spec.factor!;
      let attention = spec.attentionFactor;
      if (attention === undefined) attention = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(old));
      const ext = seqLen > old ? spec.longFactor! : spec.shortFactor!;
      const inv = new Float32Array(dim / 2);
      for (let i = 0; i < inv.length; i++) inv[i] = f(1 / f(f(ext[i]) * f(Math.pow(theta, e[i]))));
      return { inv, attention };
    }
  }
}

/**
 * cos and sin tables [positions.length, spec.dim] (halves repeated, transformers' rotate_half
 * layout) for the given positions; `seqLen` defaults to max(positions) + 1.
 */
export function ropeCosSin(spec: RopeSpec, positions: ArrayLike<number>, seqLen?: number): { cos: Float32Array; sin: Float32Array } {
  let longest = 0;
  for (let i = 0; i < positions.length; i++) longest = Math.max(longest, positions[i] + 1);
  const { inv, attention } = ropeInvFreq(spec, seqLen ?? longest);
  const d = spec.dim;
  const half = d / 2;
  const cos = new Float32Array(positions.length * d);
  const sin = new Float32Array(positions.length * d);
  const scaled = attention !== 1;
  for (let r = 0; r < positions.length; r++) {
    for (let i = 0; i < half; i++) {
      const a = f(positions[r] * inv[i]);
      let c = f(Math.cos(a));
      let s = f(Math.sin(a));
      if (scaled) { c = f(c * attention); s = f(s * attention); }
      cos[r * d + i] = c; cos[r * d + half + i] = c;
      sin[r * d + i] = s; sin[r * d + half + i] = s;
    }
  }
  return { cos, sin };
}
