/**
 * OPT (Zhang et al. 2022; A-LLMRec uses OPT-6.7B): learned positions offset by 2, LayerNorm before
 * (do_layer_norm_before, every size but 350m) or after each sub-layer, ReLU MLP, `nn.Linear`
 * weights [out, in], project_in / project_out when word_embed_proj_dim != hidden_size, output tied.
 *
 *   HF name (prefix "model.decoder." or "decoder.")   shape
 *   embed_tokens.weight                               [V, P]         (P = word_embed_proj_dim)
 *   embed_positions.weight                            [max_position_embeddings + 2, H]
 *   project_in.weight, project_out.weight             [H, P], [P, H] (only when P != H)
 *   layers.{i}.self_attn_layer_norm.*, final_layer_norm.*   [H]
 *   layers.{i}.self_attn.{q,k,v,out}_proj.*           [H, H], [H]
 *   layers.{i}.fc1.*, fc2.*                           [F, H], [H, F]
 *   final_layer_norm.*                                [H]  (pre-norm models only)
 */
import type { BlockData, F32, NormData } from '../arch';
import { activationOf, seamConfig, type DecoderFamily } from './family';

export const optFamily: DecoderFamily = {
  modelTypes: ['opt'],
  prefixes: ['model.decoder.', 'decoder.', ''],
  arch(c) {
    const H = c.int('hidden_size', 768);
    const heads = c.int('num_attention_heads', 12);
    if (H % heads !== 0) c.fail(`hidden_size ${H} is not a multiple of num_attention_heads ${heads}`);
    const layers = c.int('num_hidden_layers', 12);
    const maxPositions = c.int('max_position_embeddings', 2048);
    return {
      ...seamConfig(c, { vocabSize: c.int('vocab_size', 50272), hiddenSize: c.int('word_embed_proj_dim', H), maxPositions }, { bos: 2, eos: 2, pad: 1 }),
      family: 'opt', residualSize: H, layers, heads, kvHeads: heads, headDim: H / heads,
      intermediateSize: c.int('ffn_dim', 3072), norm: 'layer', normEps: 1e-5, // nn.LayerNorm's default
      activation: activationOf(c, 'activation_function', 'relu'), gatedMlp: false,
      layout: c.bool('do_layer_norm_before', true) ? 'pre' : 'post',
      learnedPositions: { rows: maxPositions + 2, offset: 2 },
      attnScales: new Array<number>(layers).fill((H / heads) ** -0.5),
      slidingWindows: new Array<number>(layers).fill(0), qkNorm: false, embedScale: 1,
    };
  },
  weights(a, r, c) {
    const H = a.residualSize;
    const P = a.hiddenSize;
    const F = a.intermediateSize;
    const bias = c.bool('enable_bias', true);
    const affine = c.bool('layer_norm_elementwise_affine', true);
    const ln = (name: string): NormData => (affine ? r.norm(name, H) : unitNorm(H));
    const blocks: BlockData[] = [];
    for (let i = 0; i < a.layers; i++) {
      const p = `layers.${i}.`;
      const at = `${p}self_attn.`;
      blocks.push({
        norm1: ln(p + 'self_attn_layer_norm'),
        q: r.linear(at + 'q_proj', H, H, bias), k: r.linear(at + 'k_proj', H, H, bias),
        v: r.linear(at + 'v_proj', H, H, bias), o: r.linear(at + 'out_proj', H, H, bias),
        norm2: ln(p + 'final_layer_norm'), up: r.linear(p + 'fc1', H, F, bias), down: r.linear(p + 'fc2', F, H, bias),
      });
    }
    const finalNorm = a.layout === 'pre' && !c.bool('_remove_final_layer_norm', false) ? ln('final_layer_norm') : undefined;
    const { embed, head } = r.embeddingsAndHead('embed_tokens.weight', 'lm_head.weight', a.vocabSize, P, c.bool('tie_word_embeddings', true));
    return {
      embed, positions: r.get('embed_positions.weight', [a.learnedPositions!.rows, H]),
      ...(P !== H ? { projectIn: r.linear('project_in', P, H, false), projectOut: r.linear('project_out', H, P, false) } : {}),
      blocks, finalNorm, head,
    };
  },
};

/** A LayerNorm without parameters (layer_norm_elementwise_affine = false). */
function unitNorm(dim: number): NormData {
  const g: F32 = { shape: [dim], data: new Float32Array(dim).fill(1) };
  return { g };
}
