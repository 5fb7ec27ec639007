/**
 * The family-independent description of a decoder-only transformer, and its weights as plain
 * float32 arrays. Every supported checkpoint family (gpt2, opt, llama, mistral, qwen2, qwen3,
 * gemma, gemma2, phi3, gpt_neox) maps its config.json onto a {@link DecoderArch} and its tensors
 * onto {@link DecoderData}; both runtimes (tfjs in `transformer.ts`, onnxruntime in
 * `onnx/export.ts`) read only these two, so a family is described once.
 *
 * One block, by {@link BlockLayout} (x is the residual stream):
 *   pre:      x += Attn(N1(x));               x += MLP(N2(x))
 *   post:     x = N1(x + Attn(x));            x = N2(x + MLP(x))                 (OPT-350m)
 *   sandwich: x += Nao(Attn(N1(x)));          x += Nmo(MLP(N2(x)))               (Gemma 2)
 *   parallel: x += Attn(N1(x)) + MLP(N2(x))                                       (GPT-NeoX)
 * Attn = softmax(cap(q·kᵀ·scale) + mask)·v over grouped KV heads, with RoPE on the first
 * `rope.dim` dimensions of each q/k head, optional per-head RMSNorm of q and k (Qwen3) and an
 * optional sliding window per layer. MLP = down(act(up(x))) or down(act(gate(x)) * up(x)).
 * logits = cap(project_out(N_final(x)) · Headᵀ + headBias).
 */
import type { CausalLMConfig } from '../causal-lm';

/** Element-wise activations of the supported families. */
export type Activation = 'gelu_tanh' | 'gelu' | 'relu' | 'silu';

/** Where a block's norms sit (see the module comment). */
export type BlockLayout = 'pre' | 'post' | 'sandwich' | 'parallel';

/** Rotary position embedding, as transformers' `rope_parameters` (checked, defaults filled in). */
export interface RopeSpec {
  /** Rotated dimensions of each head: int(head_dim × partial_rotary_factor) (the rest pass through). */
  dim: number;
  theta: number;
  type: 'default' | 'linear' | 'dynamic' | 'llama3' | 'yarn' | 'longrope';
  /** linear, dynamic, llama3, yarn; longrope (default max_position_embeddings / original). */
  factor?: number;
  /** The pretraining context (llama3, yarn, longrope). */
  originalMaxPositions?: number;
  /** max_position_embeddings (dynamic NTK rescales past it). */
  maxPositions: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  /** yarn, longrope: multiplies cos and sin (undefined: computed as transformers does). */
  attentionFactor?: number;
  betaFast?: number;
  betaSlow?: number;
  mscale?: number;
  mscaleAllDim?: number;
  truncate?: boolean;
  shortFactor?: number[];
  longFactor?: number[];
}

/** Everything the runtimes need to know about a decoder. */
export interface DecoderArch extends CausalLMConfig {
  /** Which family file described it (`families/*.ts`). */
  family: string;
  /**
   * Width of the residual stream. `hiddenSize` (from {@link CausalLMConfig}) is the width of the
   * token embeddings the seam passes around; they differ only for OPT with word_embed_proj_dim.
   */
  residualSize: number;
  layers: number;
  heads: number;
  /** Key/value heads (grouped-query attention). */
  kvHeads: number;
  headDim: number;
  intermediateSize: number;
  norm: 'layer' | 'rms';
  normEps: number;
  activation: Activation;
  /** down(act(gate(x)) * up(x)) instead of down(act(up(x))). */
  gatedMlp: boolean;
  layout: BlockLayout;
  /** Learned absolute positions: table rows and the index of position 0 (OPT: 2). */
  learnedPositions?: { rows: number; offset: number };
  rope?: RopeSpec;
  /** Per layer: multiplier of q·kᵀ. */
  attnScales: number[];
  /** tanh soft-capping of attention scores (Gemma 2). */
  attnSoftcap?: number;
  /** tanh soft-capping of the logits (Gemma 2). */
  finalSoftcap?: number;
  /** Per layer: a key is seen when query index − key index < window (0 = every earlier key). */
  slidingWindows: number[];
  /** Per-head RMSNorm of q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  /** Multiplier applied by `embedTokens` (Gemma: sqrt(hidden), as transformers' scaled embedding). */
  embedScale: number;
}

/** A float32 array with its shape. */
export interface F32 {
  shape: number[];
  data: Float32Array;
}

/** A linear layer, weight [in, out] (so y = x·w + b). */
export interface LinearData {
  w: F32;
  b?: F32;
}

/** A LayerNorm (gain + optional bias) or RMSNorm (gain) over the last axis. */
export interface NormData {
  g: F32;
  b?: F32;
}

/** Weights of one block; which norms exist follows {@link DecoderArch.layout}. */
export interface BlockData {
  norm1: NormData;
  norm2: NormData;
  /** sandwich: after attention and after the MLP, before the residual add. */
  attnOutNorm?: NormData;
  mlpOutNorm?: NormData;
  q: LinearData;
  k: LinearData;
  v: LinearData;
  o: LinearData;
  /** qkNorm: RMSNorm gains over head_dim. */
  qNorm?: NormData;
  kNorm?: NormData;
  gate?: LinearData;
  up: LinearData;
  down: LinearData;
}

/** Every weight of a decoder, family-independent. */
export interface DecoderData {
  /** Token embeddings [V, E]. */
  embed: F32;
  /** Learned position table [rows, H]. */
  positions?: F32;
  /** OPT with word_embed_proj_dim != hidden_size. */
  projectIn?: LinearData;
  projectOut?: LinearData;
  blocks: BlockData[];
  finalNorm?: NormData;
  /** Output matrix [V, E] (the same object as `embed` when tied). */
  head: F32;
  headBias?: F32;
}

/** [rows, cols] -> [cols, rows]. */
export function transposeData(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) {
    const ro = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[ro + c];
  }
  return out;
}

/** Rows [start, start + count) of a [rows, cols] array. */
export function rowSlice(a: F32, start: number, count: number): F32 {
  const cols = a.shape.length > 1 ? a.shape[1] : 1;
  const data = a.data.slice(start * cols, (start + count) * cols);
  return { shape: a.shape.length > 1 ? [count, cols] : [count], data };
}
