/**
 * Phi-3 (and Phi-3.5 / Phi-4-mini): the Llama layout with q, k, v fused in `qkv_proj` and gate,
 * up fused in `gate_up_proj` (split at load), no biases, a sliding window on every layer when
 * set, partial rotary embeddings and longrope scaling with the top-level
 * original_max_position_embeddings.
 *
 *   HF name (prefix "model.")                       shape
 *   embed_tokens.weight                             [V, H]
 *   layers.{i}.input_layernorm.weight               [H]
 *   layers.{i}.self_attn.qkv_proj.weight            [(heads + 2 kvHeads) D, H]
 *   layers.{i}.self_attn.o_proj.weight              [H, heads D]
 *   layers.{i}.post_attention_layernorm.weight      [H]
 *   layers.{i}.mlp.gate_up_proj.weight              [2I, H]   (gate first)
 *   layers.{i}.mlp.down_proj.weight                 [H, I]
 *   norm.weight, lm_head.weight                     [H], [V, H]
 */
import type { BlockData, DecoderArch } from '../arch';
import { ropeFromConfig } from '../rope';
import { splitLinear } from '../tensors';
import { activationOf, seamConfig, windowOf, type DecoderFamily } from './family';

export const phi3Family: DecoderFamily = {
  modelTypes: ['phi3'],
  prefixes: ['model.', ''],
  arch(c): DecoderArch {
    const H = c.int('hidden_size', 3072);
    const heads = c.int('num_attention_heads', 32);
    const kvHeads = c.int('num_key_value_heads', heads);
    if (heads % kvHeads !== 0) c.fail(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
    const headDim = c.has('head_dim') ? c.int('head_dim') : Math.floor(H / heads);
    const layers = c.int('num_hidden_layers', 32);
    const maxPositions = c.int('max_position_embeddings', 4096);
    return {
      ...seamConfig(c, { vocabSize: c.int('vocab_size', 32064), hiddenSize: H, maxPositions }, { bos: 1, eos: 32000, pad: 32000 }),
      family: 'phi3', residualSize: H, layers, heads, kvHeads, headDim,
      intermediateSize: c.int('intermediate_size', 8192), norm: 'rms', normEps: c.num('rms_norm_eps', 1e-5),
      activation: activationOf(c, 'hidden_act', 'silu'), gatedMlp: true, layout: 'pre',
      rope: ropeFromConfig(c, headDim, maxPositions, { originalMaxDefault: 4096 }),
      attnScales: new Array<number>(layers).fill(headDim ** -0.5),
      slidingWindows: new Array<number>(layers).fill(windowOf(c) ?? 0), qkNorm: false, embedScale: 1,
    };
  },
  weights(a, r, c) {
    const H = a.residualSize;
    const D = a.headDim;
    const I = a.intermediateSize;
    const blocks: BlockData[] = [];
    for (let i = 0; i < a.layers; i++) {
      const p = `layers.${i}.`;
      const [q, k, v] = splitLinear(r.linear(p + 'self_attn.qkv_proj', H, (a.heads + 2 * a.kvHeads) * D, false), [a.heads * D, a.kvHeads * D, a.kvHeads * D]);
      const [gate, up] = splitLinear(r.linear(p + 'mlp.gate_up_proj', H, 2 * I, false), [I, I]);
      blocks.push({
        norm1: r.norm(p + 'input_layernorm', H, { bias: false }), q, k, v,
        o: r.linear(p + 'self_attn.o_proj', a.heads * D, H, false),
        norm2: r.norm(p + 'post_attention_layernorm', H, { bias: false }),
        gate, up, down: r.linear(p + 'mlp.down_proj', I, H, false),
      });
    }
    const { embed, head } = r.embeddingsAndHead('embed_tokens.weight', 'lm_head.weight', a.vocabSize, H, c.bool('tie_word_embeddings', false));
    return { embed, blocks, finalNorm: r.norm('norm', H, { bias: false }), head };
  },
};
