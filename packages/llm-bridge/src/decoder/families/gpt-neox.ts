/**
 * GPT-NeoX (Pythia): LayerNorm with biases, partial rotary embeddings (rotary_pct /
 * partial_rotary_factor of each head), q, k, v fused per head in `query_key_value`
 * ([heads, 3, D] along the output axis), GELU MLP, attention and MLP in parallel on the same
 * residual by default (use_parallel_residual), and an untied `embed_out`.
 *
 *   HF name (prefix "gpt_neox.")                         shape
 *   embed_in.weight                                      [V, H]
 *   layers.{i}.input_layernorm.{weight,bias}             [H]
 *   layers.{i}.post_attention_layernorm.{weight,bias}    [H]
 *   layers.{i}.attention.query_key_value.{weight,bias}   [3H, H], [3H]
 *   layers.{i}.attention.dense.{weight,bias}             [H, H], [H]
 *   layers.{i}.mlp.dense_h_to_4h.*, dense_4h_to_h.*      [I, H], [H, I]
 *   final_layer_norm.{weight,bias}                       [H]
 *   embed_out.weight (no prefix)                         [V, H]
 */
import type { BlockData, DecoderArch, F32, LinearData } from '../arch';
import { ropeFromConfig } from '../rope';
import { activationOf, seamConfig, type DecoderFamily } from './family';

export const gptNeoxFamily: DecoderFamily = {
  modelTypes: ['gpt_neox'],
  prefixes: ['gpt_neox.', ''],
  arch(c): DecoderArch {
    const H = c.int('hidden_size', 6144);
    const heads = c.int('num_attention_heads', 64);
    if (H % heads !== 0) c.fail(`hidden_size ${H} is not a multiple of num_attention_heads ${heads}`);
    const headDim = H / heads;
    const layers = c.int('num_hidden_layers', 44);
    const maxPositions = c.int('max_position_embeddings', 2048);
    return {
      ...seamConfig(c, { vocabSize: c.int('vocab_size', 50432), hiddenSize: H, maxPositions }, { bos: 0, eos: 2 }),
      family: 'gpt_neox', residualSize: H, layers, heads, kvHeads: heads, headDim,
      intermediateSize: c.int('intermediate_size', 24576), norm: 'layer', normEps: c.num('layer_norm_eps', 1e-5),
      activation: activationOf(c, 'hidden_act', 'gelu'), gatedMlp: false,
      layout: c.bool('use_parallel_residual', true) ? 'parallel' : 'pre',
      // transformers 4.x wrote rotary_pct and rotary_emb_base; 5.x moves them into rope_parameters.
      rope: ropeFromConfig(c, headDim, maxPositions, { partial: ['rotary_pct'], theta: ['rotary_emb_base'] }),
      attnScales: new Array<number>(layers).fill(headDim ** -0.5),
      slidingWindows: new Array<number>(layers).fill(0), qkNorm: false, embedScale: 1,
    };
  },
  weights(a, r, c) {
    const H = a.residualSize;
    const I = a.intermediateSize;
    const bias = c.bool('attention_bias', true);
    const blocks: BlockData[] = [];
    for (let i = 0; i < a.layers; i++) {
      const p = `layers.${i}.`;
      const [q, k, v] = splitPerHead(r.linear(p + 'attention.query_key_value', H, 3 * H, bias), a.heads, a.headDim);
      blocks.push({
        norm1: r.norm(p + 'input_layernorm', H), q, k, v,
        o: r.linear(p + 'attention.dense', H, H, bias),
        norm2: r.norm(p + 'post_attention_layernorm', H),
        up: r.linear(p + 'mlp.dense_h_to_4h', H, I, true),
        down: r.linear(p + 'mlp.dense_4h_to_h', I, H, true),
      });
    }
    const { embed, head } = r.embeddingsAndHead('embed_in.weight', 'embed_out.weight', a.vocabSize, H, c.bool('tie_word_embeddings', false));
    return { embed, blocks, finalNorm: r.norm('final_layer_norm', H), head };
  },
};

/** Output column h·3D + s·D + d of the fused layer is head h, part s (q, k, v), dimension d. */
function splitPerHead(l: LinearData, heads: number, D: number): [LinearData, LinearData, LinearData] {
  const [rows, cols] = l.w.shape;
  const part = (s: number): LinearData => {
    const w = new Float32Array(rows * heads * D);
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < heads; h++) {
        const from = r * cols + h * 3 * D + s * D;
        w.set(l.w.data.subarray(from, from + D), r * heads * D + h * D);
      }
    }
    let b: F32 | undefined;
    if (l.b) {
      const bd = new Float32Array(heads * D);
      for (let h = 0; h < heads; h++) bd.set(l.b.data.subarray(h * 3 * D + s * D, h * 3 * D + (s + 1) * D), h * D);
      b = { shape: [heads * D], data: bd };
    }
    return { w: { shape: [rows, heads * D], data: w }, b };
  };
  return [part(0), part(1), part(2)];
}
