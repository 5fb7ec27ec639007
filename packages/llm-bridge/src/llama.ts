/**
 * Llama-style decoders (Llama 1/2, TinyLlama, SmolLM, Mistral without sliding windows, Qwen2)
 * from a Hugging Face checkpoint: rotary position embeddings (rope_theta, rotate_half layout),
 * RMSNorm (rms_norm_eps), SwiGLU MLP, grouped key/value heads (num_key_value_heads), q/k/v
 * biases when present (Qwen2, or attention_bias), and an lm_head unless tie_word_embeddings.
 *
 *   HF name (prefix "model.")                       shape
 *   embed_tokens.weight                             [V, H]
 *   layers.{i}.input_layernorm.weight               [H]
 *   layers.{i}.self_attn.q_proj.{weight,bias?}      [heads*D, H]
 *   layers.{i}.self_attn.{k,v}_proj.{weight,bias?}  [kvHeads*D, H]
 *   layers.{i}.self_attn.o_proj.weight              [H, heads*D]
 *   layers.{i}.post_attention_layernorm.weight      [H]
 *   layers.{i}.mlp.{gate,up}_proj.weight            [I, H]
 *   layers.{i}.mlp.down_proj.weight                 [H, I]
 *   norm.weight                                     [H]
 *   lm_head.weight (no prefix)                      [V, H]   (absent when tied)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLMConfig } from './causal-lm';
import { activationFromConfig } from './layers';
import type { BlockWeights, DecoderWeights } from './transformer';
import { WeightReader, configInt, outputHead, tokenId } from './weights';

/** config.json model_type values decoded as Llama-style. */
export const LLAMA_MODEL_TYPES = ['llama', 'qwen2', 'mistral'];

/** Architecture facts of a Llama-style config.json. */
export function llamaConfig(raw: Record<string, unknown>): CausalLMConfig {
  const hidden = configInt(raw, ['hidden_size']);
  const heads = configInt(raw, ['num_attention_heads']);
  const rs = raw.rope_scaling as Record<string, unknown> | null | undefined;
  const ropeType = rs ? String(rs.rope_type ?? rs.type ?? 'default') : 'default';
  if (ropeType !== 'default') {
    throw new Error(`rope_scaling type "${ropeType}" is not supported (only unscaled RoPE)`);
  }
  const eos = tokenId(raw.eos_token_id);
  return {
    family: 'llama',
    modelType: String(raw.model_type ?? 'llama'),
    vocabSize: configInt(raw, ['vocab_size']),
    hiddenSize: hidden,
    embedSize: hidden,
    layers: configInt(raw, ['num_hidden_layers']),
    heads,
    kvHeads: configInt(raw, ['num_key_value_heads'], heads),
    headDim: configInt(raw, ['head_dim'], hidden / heads),
    maxPositions: configInt(raw, ['max_position_embeddings']),
    bosTokenId: tokenId(raw.bos_token_id),
    eosTokenId: eos,
    padTokenId: tokenId(raw.pad_token_id) ?? eos,
  };
}

/** Maps Llama-style tensors onto {@link DecoderWeights}. */
export function llamaWeights(raw: Record<string, unknown>, c: CausalLMConfig, reader: WeightReader): DecoderWeights {
  const H = c.hiddenSize;
  const D = c.headDim;
  const I = configInt(raw, ['intermediate_size']);
  const eps = typeof raw.rms_norm_eps === 'number' ? raw.rms_norm_eps : 1e-6;
  if (c.heads % c.kvHeads !== 0) throw new Error(`num_attention_heads ${c.heads} is not a multiple of num_key_value_heads ${c.kvHeads}`);
  // Qwen2 always has q/k/v biases; Llama has them (and an o_proj bias) with attention_bias.
  const qkvBias = c.modelType === 'qwen2' || raw.attention_bias === true;
  const oBias = raw.attention_bias === true && c.modelType !== 'qwen2';
  const mlpBias = raw.mlp_bias === true;
  const embed = reader.get('embed_tokens.weight', [c.vocabSize, H]) as tf.Tensor2D;
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < c.layers; i++) {
    const p = `layers.${i}.`;
    blocks.push({
      norm1: reader.norm(p + 'input_layernorm', H, 'rms', eps),
      q: reader.linearOutIn(p + 'self_attn.q_proj', H, c.heads * D, qkvBias),
      k: reader.linearOutIn(p + 'self_attn.k_proj', H, c.kvHeads * D, qkvBias),
      v: reader.linearOutIn(p + 'self_attn.v_proj', H, c.kvHeads * D, qkvBias),
      o: reader.linearOutIn(p + 'self_attn.o_proj', c.heads * D, H, oBias),
      norm2: reader.norm(p + 'post_attention_layernorm', H, 'rms', eps),
      gate: reader.linearOutIn(p + 'mlp.gate_proj', H, I, mlpBias),
      up: reader.linearOutIn(p + 'mlp.up_proj', H, I, mlpBias),
      down: reader.linearOutIn(p + 'mlp.down_proj', I, H, mlpBias),
      attnScale: 1 / Math.sqrt(D),
    });
  }
  return {
    embed,
    rope: { theta: typeof raw.rope_theta === 'number' ? raw.rope_theta : 10000 },
    blocks,
    finalNorm: reader.norm('norm', H, 'rms', eps),
    preNorm: true,
    activation: activationFromConfig(raw.hidden_act as string | undefined, 'silu'),
    ...outputHead(reader, embed, raw.tie_word_embeddings === true),
  };
}
