/**
 * Gemma and Gemma 2: the Llama layout with token embeddings scaled by sqrt(hidden_size) (in the
 * embedding layer, as transformers 5 does, so input embeddings given directly are not scaled),
 * RMSNorm computing x̂ · (1 + weight), a gelu_pytorch_tanh gated MLP and tied embeddings.
 * Gemma 2 adds a norm after attention and after the MLP (the "sandwich"), attention scaled by
 * query_pre_attn_scalar^-0.5, tanh soft-capping of attention scores and of the logits, and sliding
 * windows on alternating layers (layer_types; by default layers 0, 2, 4, ...).
 *
 *   HF name (prefix "model.")                                shape
 *   embed_tokens.weight                                      [V, H]
 *   layers.{i}.input_layernorm.weight                        [H]
 *   layers.{i}.self_attn.{q,k,v,o}_proj.{weight,bias?}       as Llama
 *   layers.{i}.post_attention_layernorm.weight               [H]
 *   layers.{i}.pre_feedforward_layernorm.weight              [H]   (gemma2)
 *   layers.{i}.post_feedforward_layernorm.weight             [H]   (gemma2)
 *   layers.{i}.mlp.{gate,up,down}_proj.weight                as Llama
 *   norm.weight                                              [H]
 */
import type { BlockData, DecoderArch } from '../arch';
import { ropeFromConfig } from '../rope';
import { activationOf, seamConfig, windowOf, windowsFromLayerTypes, type DecoderFamily } from './family';

/** Gemma's RMSNorm multiplies by (1 + weight): folded into the gain at load. */
const ONE_PLUS = { bias: false, offset: 1 } as const;

export const gemmaFamily: DecoderFamily = {
  modelTypes: ['gemma', 'gemma2'],
  prefixes: ['model.', ''],
  arch(c): DecoderArch {
    const v2 = c.modelType === 'gemma2';
    c.refuse('use_bidirectional_attention', (v) => v === null || v === false, 'bidirectional attention');
    const H = c.int('hidden_size', v2 ? 2304 : 3072);
    const heads = c.int('num_attention_heads', v2 ? 8 : 16);
    const kvHeads = c.int('num_key_value_heads', v2 ? 4 : 16);
    if (heads % kvHeads !== 0) c.fail(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
    const headDim = c.int('head_dim', 256);
    const layers = c.int('num_hidden_layers', v2 ? 26 : 28);
    const maxPositions = c.int('max_position_embeddings', 8192);
    // Gemma 1 reads hidden_act (the legacy value "gelu" means the tanh approximation);
    // Gemma 2 reads hidden_activation.
    let activation = v2 ? activationOf(c, 'hidden_activation', 'gelu_pytorch_tanh') : activationOf(c, 'hidden_act', 'gelu_pytorch_tanh');
    if (!v2 && activation === 'gelu') activation = 'gelu_tanh';
    const scale = v2 ? c.num('query_pre_attn_scalar', 256) ** -0.5 : headDim ** -0.5;
    const softcap = (name: string, fallback: number): number | undefined => (c.raw[name] === null ? undefined : c.num(name, fallback));
    return {
      ...seamConfig(c, { vocabSize: c.int('vocab_size', 256000), hiddenSize: H, maxPositions }, { bos: 2, eos: 1, pad: 0 }),
      family: c.modelType, residualSize: H, layers, heads, kvHeads, headDim,
      intermediateSize: c.int('intermediate_size', v2 ? 9216 : 24576), norm: 'rms', normEps: c.num('rms_norm_eps', 1e-6),
      activation, gatedMlp: true, layout: v2 ? 'sandwich' : 'pre',
      rope: ropeFromConfig(c, headDim, maxPositions),
      attnScales: new Array<number>(layers).fill(scale),
      ...(v2 ? { attnSoftcap: softcap('attn_logit_softcapping', 50), finalSoftcap: softcap('final_logit_softcapping', 30) } : {}),
      slidingWindows: v2 ? windowsFromLayerTypes(c, layers, c.raw.sliding_window === undefined ? 4096 : windowOf(c), (i) => (i + 1) % 2 === 1) : new Array<number>(layers).fill(0),
      qkNorm: false,
      // transformers: torch.tensor(hidden_size ** 0.5) cast to the weights' dtype (float32 here).
      embedScale: Math.fround(Math.sqrt(H)),
    };
  },
  weights(a, r, c) {
    const H = a.residualSize;
    const D = a.headDim;
    const I = a.intermediateSize;
    const bias = c.bool('attention_bias', false);
    const v2 = a.layout === 'sandwich';
    const blocks: BlockData[] = [];
    for (let i = 0; i < a.layers; i++) {
      const p = `layers.${i}.`;
      const at = `${p}self_attn.`;
      blocks.push({
        norm1: r.norm(p + 'input_layernorm', H, ONE_PLUS),
        q: r.linear(at + 'q_proj', H, a.heads * D, bias),
        k: r.linear(at + 'k_proj', H, a.kvHeads * D, bias),
        v: r.linear(at + 'v_proj', H, a.kvHeads * D, bias),
        o: r.linear(at + 'o_proj', a.heads * D, H, bias),
        ...(v2
          ? {
            attnOutNorm: r.norm(p + 'post_attention_layernorm', H, ONE_PLUS),
            norm2: r.norm(p + 'pre_feedforward_layernorm', H, ONE_PLUS),
            mlpOutNorm: r.norm(p + 'post_feedforward_layernorm', H, ONE_PLUS),
          }
          : { norm2: r.norm(p + 'post_attention_layernorm', H, ONE_PLUS) }),
        gate: r.linear(p + 'mlp.gate_proj', H, I, false),
        up: r.linear(p + 'mlp.up_proj', H, I, false),
        down: r.linear(p + 'mlp.down_proj', I, H, false),
      });
    }
    const { embed, head } = r.embeddingsAndHead('embed_tokens.weight', 'lm_head.weight', a.vocabSize, H, c.bool('tie_word_embeddings', true));
    return { embed, blocks, finalNorm: r.norm('norm', H, ONE_PLUS), head };
  },
};
