/**
 * Llama-layout decoders: Llama 1/2/3 (TinyLlama, SmolLM), Mistral, Qwen2 / Qwen2.5 and Qwen3.
 * RMSNorm, SwiGLU, rotary positions (every rope type of rope.ts), grouped KV heads, an explicit
 * head_dim, and per type:
 *   llama:   attention_bias (q, k, v, o), mlp_bias
 *   mistral: sliding_window on every layer
 *   qwen2:   q/k/v biases; sliding windows on the layers layer_types marks (use_sliding_window)
 *   qwen3:   attention_bias; per-head RMSNorm of q and k before RoPE; sliding as qwen2
 *
 *   HF name (prefix "model.")                       shape
 *   embed_tokens.weight                             [V, H]
 *   layers.{i}.input_layernorm.weight               [H]
 *   layers.{i}.self_attn.q_proj.{weight,bias?}      [heads*D, H]
 *   layers.{i}.self_attn.{k,v}_proj.{weight,bias?}  [kvHeads*D, H]
 *   layers.{i}.self_attn.o_proj.{weight,bias?}      [H, heads*D]
 *   layers.{i}.self_attn.{q,k}_norm.weight          [D]   (qwen3)
 *   layers.{i}.post_attention_layernorm.weight      [H]
 *   layers.{i}.mlp.{gate,up}_proj.weight            [I, H]
 *   layers.{i}.mlp.down_proj.weight                 [H, I]
 *   norm.weight                                     [H]
 *   lm_head.weight (no prefix)                      [V, H]   (absent when tied)
 */
import type { BlockData, DecoderArch } from '../arch';
import type { HFConfig } from '../hf-config';
import { ropeFromConfig } from '../rope';
import { activationOf, seamConfig, windowOf, windowsFromLayerTypes, type DecoderFamily } from './family';

/** What differs between the Llama-layout model types. */
interface Variant {
  qkvBias: (c: HFConfig) => boolean;
  oBias: (c: HFConfig) => boolean;
  mlpBias: (c: HFConfig) => boolean;
  qkNorm: boolean;
  windows: (c: HFConfig, layers: number) => number[];
  defaults: { vocab: number; hidden: number; heads: number; layers: number; inter: number; maxPos: number; bos?: number; eos?: number };
}

const none = () => false;
const attentionBias = (c: HFConfig) => c.bool('attention_bias', false);

/** Qwen2/Qwen3: `layer_types`, or sliding from layer max_window_layers on when use_sliding_window. */
function qwenWindows(c: HFConfig, layers: number): number[] {
  const window = c.bool('use_sliding_window', false) ? windowOf(c) : undefined;
  const from = c.int('max_window_layers', 28);
  return windowsFromLayerTypes(c, layers, window, (i) => window !== undefined && i >= from);
}

const VARIANTS: Record<string, Variant> = {
  llama: {
    qkvBias: attentionBias, oBias: attentionBias, mlpBias: (c) => c.bool('mlp_bias', false), qkNorm: false,
    windows: (_c, n) => new Array<number>(n).fill(0),
    defaults: { vocab: 32000, hidden: 4096, heads: 32, layers: 32, inter: 11008, maxPos: 2048, bos: 1, eos: 2 },
  },
  mistral: {
    qkvBias: none, oBias: none, mlpBias: none, qkNorm: false,
    windows: (c, n) => new Array<number>(n).fill(windowOf(c) ?? 0),
    defaults: { vocab: 32000, hidden: 4096, heads: 32, layers: 32, inter: 14336, maxPos: 4096 * 32, bos: 1, eos: 2 },
  },
  qwen2: {
    qkvBias: () => true, oBias: none, mlpBias: none, qkNorm: false, windows: qwenWindows,
    defaults: { vocab: 151936, hidden: 4096, heads: 32, layers: 32, inter: 22016, maxPos: 32768 },
  },
  qwen3: {
    qkvBias: attentionBias, oBias: attentionBias, mlpBias: none, qkNorm: true, windows: qwenWindows,
    defaults: { vocab: 151936, hidden: 4096, heads: 32, layers: 32, inter: 22016, maxPos: 32768 },
  },
};

function variantOf(c: HFConfig): Variant {
  return VARIANTS[c.modelType] ?? c.fail(`model_type "${c.modelType}" is not a Llama-layout type`);
}

export const llamaFamily: DecoderFamily = {
  modelTypes: Object.keys(VARIANTS),
  prefixes: ['model.', ''],
  arch(c): DecoderArch {
    const v = variantOf(c);
    const d = v.defaults;
    const H = c.int('hidden_size', d.hidden);
    const heads = c.int('num_attention_heads', d.heads);
    const kvHeads = c.int('num_key_value_heads', heads);
    if (heads % kvHeads !== 0) c.fail(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
    const headDim = c.has('head_dim') ? c.int('head_dim') : Math.floor(H / heads);
    const layers = c.int('num_hidden_layers', d.layers);
    const maxPositions = c.int('max_position_embeddings', d.maxPos);
    // pretraining_tp > 1 only splits the matmuls (the same math in float32).
    return {
      ...seamConfig(c, { vocabSize: c.int('vocab_size', d.vocab), hiddenSize: H, maxPositions }, { bos: d.bos, eos: d.eos }),
      family: 'llama', residualSize: H, layers, heads, kvHeads, headDim,
      intermediateSize: c.int('intermediate_size', d.inter), norm: 'rms', normEps: c.num('rms_norm_eps', 1e-6),
      activation: activationOf(c, 'hidden_act', 'silu'), gatedMlp: true, layout: 'pre',
      rope: ropeFromConfig(c, headDim, maxPositions),
      attnScales: new Array<number>(layers).fill(headDim ** -0.5),
      slidingWindows: v.windows(c, layers), qkNorm: v.qkNorm, embedScale: 1,
    };
  },
  weights(a, r, c) {
    const v = variantOf(c);
    const H = a.residualSize;
    const D = a.headDim;
    const I = a.intermediateSize;
    const [qkvB, oB, mlpB] = [v.qkvBias(c), v.oBias(c), v.mlpBias(c)];
    const blocks: BlockData[] = [];
    for (let i = 0; i < a.layers; i++) {
      const p = `layers.${i}.`;
      const at = `${p}self_attn.`;
      blocks.push({
        norm1: r.norm(p + 'input_layernorm', H, { bias: false }),
        q: r.linear(at + 'q_proj', H, a.heads * D, qkvB),
        k: r.linear(at + 'k_proj', H, a.kvHeads * D, qkvB),
        v: r.linear(at + 'v_proj', H, a.kvHeads * D, qkvB),
        o: r.linear(at + 'o_proj', a.heads * D, H, oB),
        ...(v.qkNorm ? { qNorm: r.norm(at + 'q_norm', D, { bias: false }), kNorm: r.norm(at + 'k_norm', D, { bias: false }) } : {}),
        norm2: r.norm(p + 'post_attention_layernorm', H, { bias: false }),
        gate: r.linear(p + 'mlp.gate_proj', H, I, mlpB),
        up: r.linear(p + 'mlp.up_proj', H, I, mlpB),
        down: r.linear(p + 'mlp.down_proj', I, H, mlpB),
      });
    }
    const { embed, head } = r.embeddingsAndHead('embed_tokens.weight', 'lm_head.weight', a.vocabSize, H, c.bool('tie_word_embeddings', false));
    return { embed, blocks, finalNorm: r.norm('norm', H, { bias: false }), head };
  },
};
