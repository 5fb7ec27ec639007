/**
 * OPT (Zhang et al. 2022; A-LLMRec uses OPT-6.7B) from a Hugging Face checkpoint: learned
 * positions with an index offset of 2, LayerNorm before (do_layer_norm_before, all sizes but
 * 350m) or after each sub-layer, ReLU MLP, `nn.Linear` weights stored [out, in], optional
 * project_in / project_out when word_embed_proj_dim != hidden_size, and the output layer tied to
 * the token embeddings.
 *
 *   HF name (prefix "model.decoder." or "decoder.")   shape
 *   embed_tokens.weight                               [V, P]         (P = word_embed_proj_dim)
 *   embed_positions.weight                            [max_position_embeddings + 2, H]
 *   project_in.weight, project_out.weight             [H, P], [P, H] (only when P != H)
 *   layers.{i}.self_attn_layer_norm.{weight,bias}     [H]
 *   layers.{i}.self_attn.{q,k,v,out}_proj.{weight,bias}  [H, H], [H]
 *   layers.{i}.final_layer_norm.{weight,bias}         [H]
 *   layers.{i}.fc1.{weight,bias}, fc2.{weight,bias}   [F, H], [F]; [H, F], [H]
 *   final_layer_norm.{weight,bias}                    [H]  (pre-norm models only)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLMConfig } from './causal-lm';
import { activationFromConfig } from './layers';
import type { BlockWeights, DecoderWeights } from './transformer';
import { WeightReader, configInt, outputHead, tokenId } from './weights';

/** Architecture facts of an OPT config.json. */
export function optConfig(raw: Record<string, unknown>): CausalLMConfig {
  const hidden = configInt(raw, ['hidden_size']);
  const heads = configInt(raw, ['num_attention_heads']);
  return {
    family: 'opt',
    modelType: String(raw.model_type ?? 'opt'),
    vocabSize: configInt(raw, ['vocab_size']),
    hiddenSize: hidden,
    embedSize: configInt(raw, ['word_embed_proj_dim'], hidden),
    layers: configInt(raw, ['num_hidden_layers']),
    heads,
    kvHeads: heads,
    headDim: hidden / heads,
    maxPositions: configInt(raw, ['max_position_embeddings']),
    bosTokenId: tokenId(raw.bos_token_id) ?? 2,
    eosTokenId: tokenId(raw.eos_token_id) ?? 2,
    padTokenId: tokenId(raw.pad_token_id) ?? 1,
  };
}

/** Maps OPT tensors onto {@link DecoderWeights}. */
export function optWeights(raw: Record<string, unknown>, c: CausalLMConfig, reader: WeightReader): DecoderWeights {
  const H = c.hiddenSize;
  const P = c.embedSize;
  const F = configInt(raw, ['ffn_dim'], 4 * H);
  const eps = 1e-5; // OPT's nn.LayerNorm default
  const bias = raw.enable_bias === false ? false : true;
  const preNorm = raw.do_layer_norm_before !== false;
  const embed = reader.get('embed_tokens.weight', [c.vocabSize, P]) as tf.Tensor2D;
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < c.layers; i++) {
    const p = `layers.${i}.`;
    blocks.push({
      norm1: reader.norm(p + 'self_attn_layer_norm', H, 'layer', eps),
      q: reader.linearOutIn(p + 'self_attn.q_proj', H, H, bias),
      k: reader.linearOutIn(p + 'self_attn.k_proj', H, H, bias),
      v: reader.linearOutIn(p + 'self_attn.v_proj', H, H, bias),
      o: reader.linearOutIn(p + 'self_attn.out_proj', H, H, bias),
      norm2: reader.norm(p + 'final_layer_norm', H, 'layer', eps),
      up: reader.linearOutIn(p + 'fc1', H, F, bias),
      down: reader.linearOutIn(p + 'fc2', F, H, bias),
      attnScale: 1 / Math.sqrt(c.headDim),
    });
  }
  const project = P !== H;
  return {
    embed,
    positions: { table: reader.get('embed_positions.weight', [c.maxPositions + 2, H]) as tf.Tensor2D, offset: 2 },
    projectIn: project ? reader.linearOutIn('project_in', P, H, false) : undefined,
    projectOut: project ? reader.linearOutIn('project_out', H, P, false) : undefined,
    blocks,
    finalNorm: preNorm && raw._remove_final_layer_norm !== true ? reader.norm('final_layer_norm', H, 'layer', eps) : undefined,
    preNorm,
    activation: activationFromConfig(raw.activation_function as string | undefined, 'relu'),
    ...outputHead(reader, embed, raw.tie_word_embeddings !== false),
  };
}
