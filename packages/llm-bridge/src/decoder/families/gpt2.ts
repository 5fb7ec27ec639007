/**
 * GPT-2 (Radford et al. 2019): learned positions, pre-LayerNorm blocks, GELU (tanh), `Conv1D`
 * weights stored [in, out] with q, k, v packed in `attn.c_attn`, output tied to the embeddings.
 *
 *   HF name (optionally prefixed "transformer.")   shape
 *   wte.weight / wpe.weight                         [V, H] / [n_positions, H]
 *   h.{i}.ln_1.{weight,bias}, h.{i}.ln_2.*          [H]
 *   h.{i}.attn.c_attn.{weight,bias}                 [H, 3H], [3H]
 *   h.{i}.attn.c_proj.{weight,bias}                 [H, H], [H]
 *   h.{i}.mlp.c_fc.*, h.{i}.mlp.c_proj.*            [H, n_inner], [n_inner, H]
 *   ln_f.{weight,bias}                              [H]
 *   lm_head.weight (untied only)                    [V, H]
 */
import type { BlockData } from '../arch';
import { splitLinear } from '../tensors';
import { activationOf, seamConfig, type DecoderFamily } from './family';

export const gpt2Family: DecoderFamily = {
  modelTypes: ['gpt2'],
  prefixes: ['transformer.', ''],
  arch(c) {
    const H = c.int(['n_embd', 'hidden_size'], 768);
    const heads = c.int(['n_head', 'num_attention_heads'], 12);
    if (H % heads !== 0) c.fail(`n_embd ${H} is not a multiple of n_head ${heads}`);
    const layers = c.int(['n_layer', 'num_hidden_layers'], 12);
    const headDim = H / heads;
    const positions = c.int(['n_positions', 'n_ctx', 'max_position_embeddings'], 1024);
    const base = c.bool('scale_attn_weights', true) ? 1 / Math.sqrt(headDim) : 1;
    const byLayer = c.bool('scale_attn_by_inverse_layer_idx', false);
    // reorder_and_upcast_attn only changes fp16 rounding; this package computes in float32.
    return {
      ...seamConfig(c, { vocabSize: c.int('vocab_size', 50257), hiddenSize: H, maxPositions: positions }, { bos: 50256, eos: 50256 }),
      family: 'gpt2', residualSize: H, layers, heads, kvHeads: heads, headDim,
      intermediateSize: c.has('n_inner') ? c.int('n_inner') : 4 * H,
      norm: 'layer', normEps: c.num('layer_norm_epsilon', 1e-5),
      activation: activationOf(c, 'activation_function', 'gelu_new'), gatedMlp: false, layout: 'pre',
      learnedPositions: { rows: positions, offset: 0 },
      attnScales: Array.from({ length: layers }, (_, l) => (byLayer ? base / (l + 1) : base)),
      slidingWindows: new Array<number>(layers).fill(0), qkNorm: false, embedScale: 1,
    };
  },
  weights(a, r, c) {
    const H = a.residualSize;
    const I = a.intermediateSize;
    const blocks: BlockData[] = [];
    for (let i = 0; i < a.layers; i++) {
      const p = `h.${i}.`;
      const [q, k, v] = splitLinear(r.conv1d(p + 'attn.c_attn', H, 3 * H), [H, H, H]);
      blocks.push({
        norm1: r.norm(p + 'ln_1', H), q, k, v, o: r.conv1d(p + 'attn.c_proj', H, H),
        norm2: r.norm(p + 'ln_2', H), up: r.conv1d(p + 'mlp.c_fc', H, I), down: r.conv1d(p + 'mlp.c_proj', I, H),
      });
    }
    const { embed, head } = r.embeddingsAndHead('wte.weight', 'lm_head.weight', a.vocabSize, H, c.bool('tie_word_embeddings', true));
    return { embed, positions: r.get('wpe.weight', [a.learnedPositions!.rows, H]), blocks, finalNorm: r.norm('ln_f', H), head };
  },
};
