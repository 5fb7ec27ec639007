/**
 * Exports a decoder-only checkpoint (Hugging Face tensor names and layouts) to an ONNX graph that
 * onnxruntime runs from input embeddings.
 *
 * Graph contract (opset 17, float32):
 * - inputs: `inputs_embeds` [batch, seq, E] float (E = token-embedding width; OPT's project_in is
 *   inside the graph), `attention_mask` [batch, seq] int64 (LEFT padding: 1 real, 0 pad),
 *   `position_ids` [batch, seq] int64 (cumsum(mask) - 1 clamped at 0, computed by the caller),
 *   `num_logits_to_keep` [] int64 (logits for the last K positions only; 0 = every position).
 * - outputs: `logits` [batch, K (or seq), vocab] float, and `log_probs` (log-softmax of the
 *   logits over the vocabulary; onnxruntime computes only the outputs a run fetches).
 * The causal + padding mask is built inside the graph (Trilu of ones, times the attention mask,
 * turned into an additive -1e9 bias before Softmax).
 *
 * KV-cache variant (`withPast: true`): extra inputs `past_key_values.{i}.key` / `.value`
 * [past_batch, kvHeads, past, headDim] per layer (past_batch = batch, or 1 to broadcast one shared
 * prefix over the batch; past may be 0), extra outputs `present.{i}.key` / `.value`
 * [batch, kvHeads, past + seq, headDim] (keys after RoPE). `attention_mask` then covers
 * [batch, past + seq] and `position_ids` [batch, seq] are the new tokens' positions (the caller's).
 * Attention runs over concat(past, new) with the causal rule key j <= past + query i.
 *
 * Families: GPT-2 (learned positions, pre-LN, GELU-tanh, Conv1D weights [in, out]); OPT (learned
 * positions offset by 2, pre- or post-LN, ReLU, Linear weights [out, in] transposed once here,
 * project_in/out when word_embed_proj_dim != hidden_size); Llama-style (llama, mistral, qwen2:
 * RMSNorm from standard ops, RoPE from precomputed cos/sin tables gathered by position, grouped
 * KV heads, SwiGLU, optional q/k/v/o biases, tied or separate lm_head).
 */
import type { CausalLMConfig, LMFamily } from '../causal-lm';
import { DataType, GraphBuilder, attr, encodeModel, type EncodeOptions, type EncodedModel, type ModelSpec } from './onnx-proto';

/** Bumped whenever the exported graph changes (part of the cache key). */
export const ONNX_EXPORT_VERSION = 3;

/** Activations the exporter writes out. */
export type OnnxActivation = 'gelu_tanh' | 'gelu' | 'relu' | 'silu';

/** RoPE frequency scaling (Hugging Face `rope_scaling`). */
export type OnnxRopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** Architecture facts beyond {@link CausalLMConfig} that the graph needs. */
export interface OnnxDecoderExtras {
  /** LayerNorm / RMSNorm epsilon. */
  normEps: number;
  activation: OnnxActivation;
  /** MLP width (GPT-2 n_inner, OPT ffn_dim, Llama intermediate_size). */
  intermediateSize: number;
  /** Pre-LN (true) or post-LN (OPT-350m: do_layer_norm_before = false). */
  preNorm: boolean;
  /** Decoder-level final norm (false for post-LN OPT or `_remove_final_layer_norm`). */
  finalNorm: boolean;
  /** Index offset of learned position embeddings (OPT: 2). */
  positionOffset: number;
  /** Attention scores scale (default headDim ** -0.5; GPT-2 scale_attn_weights = false: 1). */
  attnScale: number;
  /** RoPE base (Llama family). */
  ropeTheta: number;
  ropeScaling?: OnnxRopeScaling;
  /** Llama family: lm_head tied to embed_tokens. GPT-2/OPT: tied unless `lm_head.weight` exists. */
  tieWordEmbeddings: boolean;
}

/** Everything the exporter reads about an architecture. */
export type OnnxDecoderArch = CausalLMConfig & OnnxDecoderExtras;

/** A {@link CausalLMConfig} with some or all extras (family defaults fill the rest). */
export type OnnxDecoderArchInput = CausalLMConfig & Partial<OnnxDecoderExtras>;

/** One checkpoint tensor, Hugging Face name and layout. */
export interface OnnxWeightTensor { shape: readonly number[]; data: Float32Array }
export type OnnxWeightMap = Map<string, OnnxWeightTensor>;

const LLAMA_TYPES = new Set(['llama', 'mistral', 'qwen2']);

function num(v: unknown, fallback?: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (fallback === undefined) throw new Error(`config value ${JSON.stringify(v)} is not a number`);
  return fallback;
}

function optId(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

function activationName(name: unknown, fallback: OnnxActivation): OnnxActivation {
  switch (typeof name === 'string' ? name : '') {
    case '': return fallback;
    case 'gelu_new': case 'gelu_pytorch_tanh': case 'gelu_fast': return 'gelu_tanh';
    case 'gelu': return 'gelu';
    case 'relu': return 'relu';
    case 'silu': case 'swish': return 'silu';
    default: throw new Error(`unsupported activation function "${String(name)}"`);
  }
}

/**
 * Reads a Hugging Face config.json (as parsed JSON) into a {@link OnnxDecoderArch}.
 * @throws Error for model types or options the exporter does not implement.
 */
export function decoderArchFromHfConfig(hf: Record<string, unknown>): OnnxDecoderArch {
  const modelType = String(hf.model_type ?? '');
  const ids = {
    bosTokenId: optId(hf.bos_token_id),
    eosTokenId: optId(hf.eos_token_id),
    padTokenId: optId(hf.pad_token_id) ?? optId(hf.eos_token_id),
  };
  if (modelType === 'gpt2') {
    if (hf.scale_attn_by_inverse_layer_idx === true) throw new Error('gpt2: scale_attn_by_inverse_layer_idx is not supported');
    const hidden = num(hf.n_embd, 768);
    const heads = num(hf.n_head, 12);
    return {
      family: 'gpt2', modelType, vocabSize: num(hf.vocab_size, 50257), hiddenSize: hidden, embedSize: hidden,
      layers: num(hf.n_layer, 12), heads, kvHeads: heads, headDim: hidden / heads,
      maxPositions: num(hf.n_positions ?? hf.n_ctx, 1024), ...ids,
      normEps: num(hf.layer_norm_epsilon, 1e-5), activation: activationName(hf.activation_function, 'gelu_tanh'),
      intermediateSize: num(hf.n_inner, 4 * hidden), preNorm: true, finalNorm: true, positionOffset: 0,
      attnScale: hf.scale_attn_weights === false ? 1 : (hidden / heads) ** -0.5, ropeTheta: 10000, tieWordEmbeddings: true,
    };
  }
  if (modelType === 'opt') {
    const hidden = num(hf.hidden_size, 768);
    const heads = num(hf.num_attention_heads, 12);
    const preNorm = hf.do_layer_norm_before !== false;
    return {
      family: 'opt', modelType, vocabSize: num(hf.vocab_size, 50272), hiddenSize: hidden,
      embedSize: num(hf.word_embed_proj_dim, hidden), layers: num(hf.num_hidden_layers, 12), heads, kvHeads: heads,
      headDim: hidden / heads, maxPositions: num(hf.max_position_embeddings, 2048), ...ids,
      normEps: 1e-5, activation: activationName(hf.activation_function, 'relu'), intermediateSize: num(hf.ffn_dim, 3072),
      preNorm, finalNorm: preNorm && hf._remove_final_layer_norm !== true, positionOffset: 2,
      attnScale: (hidden / heads) ** -0.5, ropeTheta: 10000, tieWordEmbeddings: hf.tie_word_embeddings !== false,
    };
  }
  if (LLAMA_TYPES.has(modelType)) {
    const hidden = num(hf.hidden_size, 4096);
    const heads = num(hf.num_attention_heads, 32);
    const headDim = num(hf.head_dim, hidden / heads);
    return {
      family: 'llama', modelType, vocabSize: num(hf.vocab_size, 32000), hiddenSize: hidden, embedSize: hidden,
      layers: num(hf.num_hidden_layers, 32), heads, kvHeads: num(hf.num_key_value_heads, heads), headDim,
      maxPositions: num(hf.max_position_embeddings, 2048), ...ids,
      normEps: num(hf.rms_norm_eps, 1e-6), activation: activationName(hf.hidden_act, 'silu'),
      intermediateSize: num(hf.intermediate_size, 11008), preNorm: true, finalNorm: true, positionOffset: 0,
      attnScale: headDim ** -0.5, ropeTheta: num(hf.rope_theta, 10000),
      ropeScaling: ropeScalingFromHf(hf.rope_scaling, num(hf.max_position_embeddings, 2048)),
      tieWordEmbeddings: hf.tie_word_embeddings === true,
    };
  }
  throw new Error(`ONNX export: unsupported model_type "${modelType}" (supported: gpt2, opt, ${[...LLAMA_TYPES].join(', ')})`);
}

function ropeScalingFromHf(rs: unknown, maxPos: number): OnnxRopeScaling | undefined {
  if (rs === null || rs === undefined) return undefined;
  const r = rs as Record<string, unknown>;
  const type = String(r.rope_type ?? r.type ?? 'default');
  if (type === 'default') return undefined;
  if (type === 'linear') return { type, factor: num(r.factor) };
  if (type === 'llama3') {
    return {
      type, factor: num(r.factor), lowFreqFactor: num(r.low_freq_factor, 1), highFreqFactor: num(r.high_freq_factor, 4),
      originalMaxPositions: num(r.original_max_position_embeddings, maxPos),
    };
  }
  throw new Error(`ONNX export: unsupported rope_scaling type "${type}"`);
}

/** Completes a {@link OnnxDecoderArchInput} with the family's defaults. */
export function completeArch(c: OnnxDecoderArchInput): OnnxDecoderArch {
  const byFamily: Record<LMFamily, Omit<OnnxDecoderExtras, 'intermediateSize' | 'attnScale'>> = {
    gpt2: { normEps: 1e-5, activation: 'gelu_tanh', preNorm: true, finalNorm: true, positionOffset: 0, ropeTheta: 10000, tieWordEmbeddings: true },
    opt: { normEps: 1e-5, activation: 'relu', preNorm: true, finalNorm: true, positionOffset: 2, ropeTheta: 10000, tieWordEmbeddings: true },
    llama: { normEps: 1e-6, activation: 'silu', preNorm: true, finalNorm: true, positionOffset: 0, ropeTheta: 10000, tieWordEmbeddings: false },
  };
  const d = byFamily[c.family];
  if (!d) throw new Error(`ONNX export: unknown family "${String(c.family)}"`);
  return {
    ...d,
    intermediateSize: c.intermediateSize ?? (c.family === 'gpt2' ? 4 * c.hiddenSize : NaN),
    attnScale: c.headDim ** -0.5,
    ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)),
  } as OnnxDecoderArch;
}

// ---------------------------------------------------------------------------------------------
// Weight access and layout helpers.

class WeightReader {
  constructor(private readonly weights: OnnxWeightMap, private readonly prefixes: readonly string[]) {}

  /** The full name of `name` under one of the prefixes, or undefined. */
  resolve(name: string): string | undefined {
    for (const p of this.prefixes) if (this.weights.has(p + name)) return p + name;
    return undefined;
  }
  has(name: string): boolean { return this.resolve(name) !== undefined; }

  get(name: string, shape: readonly number[]): Float32Array {
    const full = this.resolve(name);
    if (!full) throw new Error(`ONNX export: weight "${name}" not found (tried prefixes ${this.prefixes.map((p) => JSON.stringify(p)).join(', ')})`);
    const t = this.weights.get(full)!;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`ONNX export: weight "${full}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    if (!(t.data instanceof Float32Array) || t.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new Error(`ONNX export: weight "${full}" must be a Float32Array of ${shape.reduce((a, b) => a * b, 1)} values`);
    }
    return t.data;
  }
  opt(name: string, shape: readonly number[]): Float32Array | undefined {
    return this.has(name) ? this.get(name, shape) : undefined;
  }
}

/** [rows, cols] -> [cols, rows]. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) {
    const ro = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[ro + c];
  }
  return out;
}

/** Concatenates [rows, c_i] matrices along columns. */
function concatCols(mats: { data: Float32Array; cols: number }[], rows: number): Float32Array {
  const total = mats.reduce((s, m) => s + m.cols, 0);
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let o = r * total;
    for (const m of mats) { out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), o); o += m.cols; }
  }
  return out;
}

function concat1d(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/**
 * RoPE cos/sin tables [positions, headDim] (halves repeated, as Hugging Face's rotate_half
 * layout), emulating its float32 arithmetic: inv_freq and position * inv_freq in float32.
 */
export function ropeTables(arch: Pick<OnnxDecoderArch, 'headDim' | 'ropeTheta' | 'ropeScaling'>, positions: number): { cos: Float32Array; sin: Float32Array } {
  const f = Math.fround;
  const hd = arch.headDim;
  const half = hd / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(arch.ropeTheta, f((2 * i) / hd))));
  const rs = arch.ropeScaling;
  if (rs?.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = f(inv[i] / rs.factor);
  } else if (rs?.type === 'llama3') {
    const lowWave = rs.originalMaxPositions / rs.lowFreqFactor;
    const highWave = rs.originalMaxPositions / rs.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wave = (2 * Math.PI) / inv[i];
      let v = wave > lowWave ? inv[i] / rs.factor : inv[i];
      if (!(wave < highWave) && !(wave > lowWave)) {
        const smooth = (rs.originalMaxPositions / wave - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
        v = (1 - smooth) * (v / rs.factor) + smooth * v;
      }
      inv[i] = f(v);
    }
  }
  const cos = new Float32Array(positions * hd);
  const sin = new Float32Array(positions * hd);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = f(p * inv[i]);
      const c = Math.cos(a);
      const s = Math.sin(a);
      cos[p * hd + i] = c; cos[p * hd + half + i] = c;
      sin[p * hd + i] = s; sin[p * hd + half + i] = s;
    }
  }
  return { cos, sin };
}

// ---------------------------------------------------------------------------------------------
// Graph construction.

/** Options of {@link exportDecoderToOnnx}. */
export interface OnnxExportOptions extends EncodeOptions {
  /**
   * Llama family: rows of the precomputed RoPE tables (longest supported sequence). Default
   * min(maxPositions, 8192): larger context windows cost table memory (positions x headDim x 8 bytes).
   */
  ropeTablePositions?: number;
  /** Graph name (default `<modelType>_decoder`). */
  graphName?: string;
  /** Export the KV-cache variant (past_key_values inputs, present outputs; see the module doc). */
  withPast?: boolean;
}

/** Input / output names of the exported graph. */
export const ONNX_IO = {
  inputsEmbeds: 'inputs_embeds',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  numLogitsToKeep: 'num_logits_to_keep',
  logits: 'logits',
  logProbs: 'log_probs',
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
} as const;

const INT64_MAX = Number.MAX_SAFE_INTEGER; // large enough as a Slice end

/**
 * Builds the ONNX model description of a decoder (see the module doc for the graph contract).
 * `weights` uses Hugging Face names with or without the model prefix (`transformer.`,
 * `model.decoder.`, `model.`).
 */
export function buildDecoderModel(config: OnnxDecoderArchInput, weights: OnnxWeightMap, options: OnnxExportOptions = {}): ModelSpec {
  const a = completeArch(config);
  const g = new GraphBuilder();
  const { heads: nh, kvHeads: kvh, headDim: hd, hiddenSize: H, embedSize: E, vocabSize: V } = a;
  if (nh % kvh !== 0) throw new Error(`ONNX export: heads (${nh}) must be a multiple of kvHeads (${kvh})`);
  if (a.family !== 'llama' && nh * hd !== H) throw new Error(`ONNX export: heads x headDim (${nh} x ${hd}) != hiddenSize ${H}`);
  if (!(a.intermediateSize > 0)) throw new Error('ONNX export: intermediateSize is required');
  const rep = nh / kvh;
  const I = a.intermediateSize;
  const prefixes = a.family === 'gpt2' ? ['', 'transformer.'] : a.family === 'opt' ? ['model.decoder.', 'decoder.', ''] : ['model.', ''];
  const w = new WeightReader(weights, prefixes);
  const top = new WeightReader(weights, ['']);
  const metadata: Record<string, string> = {};

  const X = ONNX_IO.inputsEmbeds;
  const M = ONNX_IO.attentionMask;
  const P = ONNX_IO.positionIds;
  const K = ONNX_IO.numLogitsToKeep;

  const withPast = options.withPast === true;
  // --- masks: bias [B, 1, T, S] = 0 where allowed, -1e9 elsewhere (S = past + T; no past: S = T).
  const shapeX = g.op('Shape', [X]);
  const T1 = g.op('Gather', [shapeX, g.int64([1], [1])], { axis: attr.int(0) }); // [1]
  const B1 = g.op('Gather', [shapeX, g.int64([0], [1])], { axis: attr.int(0) }); // [1]
  const S1 = withPast ? g.op('Gather', [g.op('Shape', [M]), g.int64([1], [1])], { axis: attr.int(0) }) : T1; // [1]
  const TS = g.op('Concat', [T1, S1], { axis: attr.int(0) });
  const ones = g.op('ConstantOfShape', [TS], {
    value: attr.tensor({ name: 'one', dataType: DataType.FLOAT, dims: [1], data: Float32Array.of(1) }),
  });
  // Keeps key j <= query i + past (Trilu's k = past = S - T).
  const tril = withPast
    ? g.op('Trilu', [ones, g.op('Squeeze', [g.op('Sub', [S1, T1]), g.int64([0])])], { upper: attr.int(0) })
    : g.op('Trilu', [ones], { upper: attr.int(0) });
  const maskF = g.op('Cast', [M], { to: attr.int(DataType.FLOAT) });
  const mask4 = g.op('Unsqueeze', [maskF, g.int64([1, 2])]); // [B, 1, 1, S]
  const allowed = g.op('Mul', [tril, mask4]); // [B, 1, T, S]
  // Past broadcast target [B, 1, 1, 1] (a batch-1 past is shared by every row).
  const pastExpand = withPast ? g.op('Concat', [B1, g.int64([1, 1, 1])], { axis: attr.int(0) }) : '';
  const pastInputs: string[] = [];
  const presentOutputs: string[] = [];
  const maskBias = g.op('Mul', [g.op('Sub', [allowed, g.scalar(1)]), g.scalar(1e9)]);

  // --- helpers
  const lin = (x: string, name: string, wInOut: Float32Array, inDim: number, outDim: number, bias?: Float32Array): string => {
    const y = g.op('MatMul', [x, g.float(`${name}.w`, [inDim, outDim], wInOut)]);
    return bias ? g.op('Add', [y, g.float(`${name}.b`, [outDim], bias)]) : y;
  };
  const layerNorm = (x: string, name: string, dim: number, gain?: Float32Array, bias?: Float32Array): string =>
    g.op('LayerNormalization', [
      x,
      g.float(`${name}.g`, [dim], gain ?? new Float32Array(dim).fill(1)),
      g.float(`${name}.b`, [dim], bias ?? new Float32Array(dim)),
    ], { axis: attr.int(-1), epsilon: attr.float(a.normEps) });
  const rmsNorm = (x: string, name: string, gain: Float32Array): string => {
    const ms = g.op('ReduceMean', [g.op('Pow', [x, g.scalar(2)])], { axes: attr.ints([-1]), keepdims: attr.int(1) });
    const normed = g.op('Div', [x, g.op('Sqrt', [g.op('Add', [ms, g.scalar(a.normEps)])])]);
    return g.op('Mul', [normed, g.float(`${name}.g`, [H], gain)]);
  };
  const activation = (x: string): string => {
    switch (a.activation) {
      case 'relu': return g.op('Relu', [x]);
      case 'silu': return g.op('Mul', [x, g.op('Sigmoid', [x])]);
      case 'gelu': {
        const erf = g.op('Erf', [g.op('Mul', [x, g.scalar(Math.SQRT1_2)])]);
        return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [erf, g.scalar(1)])]);
      }
      case 'gelu_tanh': {
        const cube = g.op('Pow', [x, g.scalar(3)]);
        const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
        return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.scalar(1)])]);
      }
    }
  };

  // RoPE: cos/sin [B, T, 1, hd] gathered once by position.
  let rope: { cos: string; sin: string } | undefined;
  if (a.family === 'llama') {
    const rows = options.ropeTablePositions ?? Math.min(a.maxPositions, 8192);
    const t = ropeTables(a, rows);
    metadata.rope_table_positions = String(rows);
    const gather = (name: string, data: Float32Array) =>
      g.op('Unsqueeze', [g.op('Gather', [g.float(name, [rows, hd], data), P], { axis: attr.int(0) }), g.int64([2])]);
    rope = { cos: gather('rope.cos', t.cos), sin: gather('rope.sin', t.sin) };
  }
  const applyRope = (x: string): string => {
    // x [B, T, h, hd]: x * cos + rotate_half(x) * sin, rotate_half(x) = concat(-x2, x1).
    const [x1, x2] = g.opN('Split', [x, g.int64([hd / 2, hd / 2])], 2, { axis: attr.int(-1) });
    const rot = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: attr.int(-1) });
    return g.op('Add', [g.op('Mul', [x, rope!.cos]), g.op('Mul', [rot, rope!.sin])]);
  };

  /** Attention from fused q|k|v [B, T, (nh + 2 kvh) hd] to [B, T, nh hd]. */
  let layerIndex = 0;
  const attention = (qkv: string): string => {
    const layer = layerIndex++;
    const [q0, k0, v0] = g.opN('Split', [qkv, g.int64([nh * hd, kvh * hd, kvh * hd])], 3, { axis: attr.int(-1) });
    let q = g.op('Reshape', [q0, g.int64([0, 0, nh, hd])]);
    let k = g.op('Reshape', [k0, g.int64([0, 0, kvh, hd])]);
    const v4 = g.op('Reshape', [v0, g.int64([0, 0, kvh, hd])]);
    if (rope) { q = applyRope(q); k = applyRope(k); }
    q = g.op('Mul', [g.op('Transpose', [q], { perm: attr.ints([0, 2, 1, 3]) }), g.scalar(a.attnScale)]); // [B, nh, T, hd]
    let kT: string;
    let v: string;
    if (withPast) {
      // [B, kvh, S, hd] = concat(past broadcast to B rows, new).
      const pk = ONNX_IO.pastKey(layer), pv = ONNX_IO.pastValue(layer);
      pastInputs.push(pk, pv);
      const kNew = g.op('Transpose', [k], { perm: attr.ints([0, 2, 1, 3]) });
      const vNew = g.op('Transpose', [v4], { perm: attr.ints([0, 2, 1, 3]) });
      const kAll = g.op('Concat', [g.op('Expand', [pk, pastExpand]), kNew], { axis: attr.int(2) }, ONNX_IO.presentKey(layer));
      v = g.op('Concat', [g.op('Expand', [pv, pastExpand]), vNew], { axis: attr.int(2) }, ONNX_IO.presentValue(layer));
      presentOutputs.push(kAll, v);
      kT = g.op('Transpose', [kAll], { perm: attr.ints([0, 1, 3, 2]) }); // [B, kvh, hd, S]
    } else {
      kT = g.op('Transpose', [k], { perm: attr.ints([0, 2, 3, 1]) }); // [B, kvh, hd, T]
      v = g.op('Transpose', [v4], { perm: attr.ints([0, 2, 1, 3]) }); // [B, kvh, T, hd]
    }
    let probs: string;
    let ctx: string;
    if (rep === 1) {
      const scores = g.op('Add', [g.op('MatMul', [q, kT]), maskBias]);
      probs = g.op('Softmax', [scores], { axis: attr.int(-1) });
      ctx = g.op('MatMul', [probs, v]);
    } else {
      // Grouped heads without repeating K/V: q heads j*rep..j*rep+rep-1 share kv head j.
      const qg = g.op('Reshape', [q, g.int64([0, kvh, -1, hd])]); // [B, kvh, rep T, hd]
      const scores = g.op('Reshape', [g.op('MatMul', [qg, kT]), g.int64([0, nh, -1, 0])]); // [B, nh, T, T]
      probs = g.op('Softmax', [g.op('Add', [scores, maskBias])], { axis: attr.int(-1) });
      const pg = g.op('Reshape', [probs, g.int64([0, kvh, -1, 0])]); // [B, kvh, rep T, T]
      ctx = g.op('Reshape', [g.op('MatMul', [pg, v]), g.int64([0, nh, -1, hd])]); // [B, nh, T, hd]
    }
    return g.op('Reshape', [g.op('Transpose', [ctx], { perm: attr.ints([0, 2, 1, 3]) }), g.int64([0, 0, nh * hd])]);
  };

  let x: string;
  let lmHead: Float32Array;
  let lmDim: number;

  if (a.family === 'gpt2') {
    const wte = w.get('wte.weight', [V, E]);
    const wpe = w.get('wpe.weight', [w.resolve('wpe.weight') ? weights.get(w.resolve('wpe.weight')!)!.shape[0] : a.maxPositions, H]);
    metadata.max_positions = String(wpe.length / H);
    x = g.op('Add', [X, g.op('Gather', [g.float('wpe', [wpe.length / H, H], wpe), P], { axis: attr.int(0) })]);
    for (let l = 0; l < a.layers; l++) {
      const p = `h.${l}.`;
      let h = layerNorm(x, `${p}ln_1`, H, w.get(`${p}ln_1.weight`, [H]), w.get(`${p}ln_1.bias`, [H]));
      const qkv = lin(h, `${p}c_attn`, w.get(`${p}attn.c_attn.weight`, [H, 3 * H]), H, 3 * H, w.get(`${p}attn.c_attn.bias`, [3 * H]));
      const att = lin(attention(qkv), `${p}attn.c_proj`, w.get(`${p}attn.c_proj.weight`, [H, H]), H, H, w.get(`${p}attn.c_proj.bias`, [H]));
      x = g.op('Add', [x, att]);
      h = layerNorm(x, `${p}ln_2`, H, w.get(`${p}ln_2.weight`, [H]), w.get(`${p}ln_2.bias`, [H]));
      h = activation(lin(h, `${p}mlp.c_fc`, w.get(`${p}mlp.c_fc.weight`, [H, I]), H, I, w.get(`${p}mlp.c_fc.bias`, [I])));
      x = g.op('Add', [x, lin(h, `${p}mlp.c_proj`, w.get(`${p}mlp.c_proj.weight`, [I, H]), I, H, w.get(`${p}mlp.c_proj.bias`, [H]))]);
    }
    x = layerNorm(x, 'ln_f', H, w.get('ln_f.weight', [H]), w.get('ln_f.bias', [H]));
    lmHead = top.opt('lm_head.weight', [V, H]) ?? wte;
    lmDim = H;
  } else if (a.family === 'opt') {
    const embed = w.get('embed_tokens.weight', [V, E]);
    const posName = w.resolve('embed_positions.weight');
    const posRows = posName ? weights.get(posName)!.shape[0] : a.maxPositions + a.positionOffset;
    const pos = w.get('embed_positions.weight', [posRows, H]);
    metadata.max_positions = String(posRows - a.positionOffset);
    x = X;
    if (E !== H) x = lin(x, 'project_in', transpose(w.get('project_in.weight', [H, E]), H, E), E, H);
    const posIds = g.op('Add', [P, g.int64([a.positionOffset], [])]);
    x = g.op('Add', [x, g.op('Gather', [g.float('embed_positions', [posRows, H], pos), posIds], { axis: attr.int(0) })]);
    // Linear [out, in] -> [in, out] once.
    const L = (name: string, outDim: number, inDim: number) => transpose(w.get(`${name}.weight`, [outDim, inDim]), outDim, inDim);
    const B = (name: string, dim: number) => w.opt(`${name}.bias`, [dim]);
    for (let l = 0; l < a.layers; l++) {
      const p = `layers.${l}.`;
      const ln = (name: string, y: string) => layerNorm(y, `${p}${name}`, H, w.opt(`${p}${name}.weight`, [H]), w.opt(`${p}${name}.bias`, [H]));
      const at = `${p}self_attn.`;
      const qkvW = concatCols([{ data: L(`${at}q_proj`, H, H), cols: H }, { data: L(`${at}k_proj`, H, H), cols: H }, { data: L(`${at}v_proj`, H, H), cols: H }], H);
      const qb = B(`${at}q_proj`, H);
      const qkvB = qb ? concat1d([qb, B(`${at}k_proj`, H)!, B(`${at}v_proj`, H)!]) : undefined;
      let h = a.preNorm ? ln('self_attn_layer_norm', x) : x;
      h = lin(attention(lin(h, `${at}qkv`, qkvW, H, 3 * H, qkvB)), `${at}out_proj`, L(`${at}out_proj`, H, H), H, H, B(`${at}out_proj`, H));
      x = g.op('Add', [x, h]);
      if (!a.preNorm) x = ln('self_attn_layer_norm', x);
      h = a.preNorm ? ln('final_layer_norm', x) : x;
      h = activation(lin(h, `${p}fc1`, L(`${p}fc1`, I, H), H, I, B(`${p}fc1`, I)));
      x = g.op('Add', [x, lin(h, `${p}fc2`, L(`${p}fc2`, H, I), I, H, B(`${p}fc2`, H))]);
      if (!a.preNorm) x = ln('final_layer_norm', x);
    }
    if (a.finalNorm) x = layerNorm(x, 'final_layer_norm', H, w.opt('final_layer_norm.weight', [H]), w.opt('final_layer_norm.bias', [H]));
    if (E !== H) x = lin(x, 'project_out', transpose(w.get('project_out.weight', [E, H]), E, H), H, E);
    lmHead = top.opt('lm_head.weight', [V, E]) ?? embed;
    lmDim = E;
  } else {
    const embed = w.get('embed_tokens.weight', [V, H]);
    const qd = nh * hd;
    const kd = kvh * hd;
    const L = (name: string, outDim: number, inDim: number) => transpose(w.get(`${name}.weight`, [outDim, inDim]), outDim, inDim);
    x = X;
    for (let l = 0; l < a.layers; l++) {
      const p = `layers.${l}.`;
      const at = `${p}self_attn.`;
      const qkvW = concatCols([{ data: L(`${at}q_proj`, qd, H), cols: qd }, { data: L(`${at}k_proj`, kd, H), cols: kd }, { data: L(`${at}v_proj`, kd, H), cols: kd }], H);
      const qb = w.opt(`${at}q_proj.bias`, [qd]);
      const qkvB = qb ? concat1d([qb, w.get(`${at}k_proj.bias`, [kd]), w.get(`${at}v_proj.bias`, [kd])]) : undefined;
      let h = rmsNorm(x, `${p}input_layernorm`, w.get(`${p}input_layernorm.weight`, [H]));
      h = lin(attention(lin(h, `${at}qkv`, qkvW, H, qd + 2 * kd, qkvB)), `${at}o_proj`, L(`${at}o_proj`, H, qd), qd, H, w.opt(`${at}o_proj.bias`, [H]));
      x = g.op('Add', [x, h]);
      h = rmsNorm(x, `${p}post_attention_layernorm`, w.get(`${p}post_attention_layernorm.weight`, [H]));
      const m = `${p}mlp.`;
      const guW = concatCols([{ data: L(`${m}gate_proj`, I, H), cols: I }, { data: L(`${m}up_proj`, I, H), cols: I }], H);
      const gb = w.opt(`${m}gate_proj.bias`, [I]);
      const guB = gb ? concat1d([gb, w.get(`${m}up_proj.bias`, [I])]) : undefined;
      const [gate, up] = g.opN('Split', [lin(h, `${m}gate_up`, guW, H, 2 * I, guB), g.int64([I, I])], 2, { axis: attr.int(-1) });
      h = lin(g.op('Mul', [activation(gate), up]), `${m}down_proj`, L(`${m}down_proj`, H, I), I, H, w.opt(`${m}down_proj.bias`, [H]));
      x = g.op('Add', [x, h]);
    }
    x = rmsNorm(x, 'norm', w.get('norm.weight', [H]));
    if (a.tieWordEmbeddings) lmHead = embed;
    else {
      const head = top.opt('lm_head.weight', [V, H]);
      if (!head) throw new Error('ONNX export: tie_word_embeddings is false but "lm_head.weight" is missing');
      lmHead = head;
    }
    lmDim = H;
    metadata.max_positions = metadata.rope_table_positions;
  }

  // --- logits for the last K positions (K = 0: all): Slice, then Gemm with the [V, D] head (transB).
  const kNeg = g.op('Neg', [g.op('Unsqueeze', [K, g.int64([0])])]);
  const kept = g.op('Slice', [x, kNeg, g.int64([INT64_MAX]), g.int64([1])]); // [B, K, D]
  const flat = g.op('Reshape', [kept, g.int64([-1, lmDim])]);
  g.float('lm_head', [V, lmDim], lmHead);
  const logits2 = g.op('Gemm', [flat, 'lm_head'], { transB: attr.int(1) });
  const outShape = g.op('Concat', [g.op('Slice', [g.op('Shape', [kept]), g.int64([0]), g.int64([2])]), g.int64([V])], { axis: attr.int(0) });
  g.op('Reshape', [logits2, outShape], undefined, ONNX_IO.logits);
  // Second output, computed only when fetched: log-softmax over the vocabulary (scoring).
  g.op('LogSoftmax', [ONNX_IO.logits], { axis: attr.int(-1) }, ONNX_IO.logProbs);

  if (withPast) metadata.kv_cache = '1';
  metadata.allmrec_export_version = String(ONNX_EXPORT_VERSION);
  metadata.family = a.family;
  metadata.model_type = a.modelType;
  return {
    opset: 17,
    irVersion: 8,
    producerName: 'allmrec-llm-bridge',
    metadata,
    graph: {
      name: options.graphName ?? `${a.modelType}_decoder`,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [
        { name: X, elemType: DataType.FLOAT, dims: ['batch', 'seq', E] },
        { name: M, elemType: DataType.INT64, dims: ['batch', 'seq'] },
        { name: P, elemType: DataType.INT64, dims: ['batch', 'seq'] },
        { name: K, elemType: DataType.INT64, dims: [] },
        ...pastInputs.map((name) => ({ name, elemType: DataType.FLOAT, dims: ['past_batch', kvh, 'past', hd] })),
      ],
      outputs: [
        { name: ONNX_IO.logits, elemType: DataType.FLOAT, dims: ['batch', 'kept', V] },
        { name: ONNX_IO.logProbs, elemType: DataType.FLOAT, dims: ['batch', 'kept', V] },
        ...presentOutputs.map((name) => ({ name, elemType: DataType.FLOAT, dims: ['batch', kvh, 'total', hd] })),
      ],
    },
  };
}

/** Exports a decoder to ONNX bytes (initializers inline; fails past 2 GiB: use {@link exportDecoderToOnnxFiles}). */
export function exportDecoderToOnnx(config: OnnxDecoderArchInput, weights: OnnxWeightMap, options: OnnxExportOptions = {}): Uint8Array {
  const enc = encodeModel(buildDecoderModel(config, weights, options), { ...options, externalData: options.externalData ?? false });
  if (enc.externalData) throw new Error('exportDecoderToOnnx returns inline models only; use exportDecoderToOnnxEncoded for external data');
  return enc.model;
}

/** Exports a decoder to ONNX with optional external data (see {@link EncodeOptions}). */
export function exportDecoderToOnnxEncoded(config: OnnxDecoderArchInput, weights: OnnxWeightMap, options: OnnxExportOptions = {}): EncodedModel {
  return encodeModel(buildDecoderModel(config, weights, options), options);
}
