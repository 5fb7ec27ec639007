/**
 * GPT-2 (Radford et al. 2019) from a Hugging Face checkpoint: learned positions, pre-LayerNorm
 * blocks, GELU (tanh approximation), `Conv1D` weights stored [in, out] with q, k, v packed in
 * `attn.c_attn` ([H, 3H]), and the output layer tied to the token embeddings.
 *
 *   HF name (optionally prefixed "transformer.")   shape
 *   wte.weight                                     [V, H]
 *   wpe.weight                                     [n_positions, H]
 *   h.{i}.ln_1.{weight,bias}                       [H]
 *   h.{i}.attn.c_attn.{weight,bias}                [H, 3H], [3H]
 *   h.{i}.attn.c_proj.{weight,bias}                [H, H], [H]
 *   h.{i}.ln_2.{weight,bias}                       [H]
 *   h.{i}.mlp.c_fc.{weight,bias}                   [H, n_inner], [n_inner]   (n_inner = 4H by default)
 *   h.{i}.mlp.c_proj.{weight,bias}                 [n_inner, H], [H]
 *   ln_f.{weight,bias}                             [H]
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInput } from '@allmrec/core';
import type { CausalLMConfig } from './causal-lm';
import { activationFromConfig, type Linear } from './layers';
import type { BlockWeights, DecoderWeights } from './transformer';
import { WeightReader, configInt, outputHead, tokenId } from './weights';

/** Architecture facts of a GPT-2 config.json. */
export function gpt2Config(raw: Record<string, unknown>): CausalLMConfig {
  const hidden = configInt(raw, ['n_embd', 'hidden_size']);
  const heads = configInt(raw, ['n_head', 'num_attention_heads']);
  const eos = tokenId(raw.eos_token_id) ?? 50256;
  return {
    family: 'gpt2',
    modelType: String(raw.model_type ?? 'gpt2'),
    vocabSize: configInt(raw, ['vocab_size']),
    hiddenSize: hidden,
    embedSize: hidden,
    layers: configInt(raw, ['n_layer', 'num_hidden_layers']),
    heads,
    kvHeads: heads,
    headDim: hidden / heads,
    maxPositions: configInt(raw, ['n_positions', 'max_position_embeddings']),
    bosTokenId: tokenId(raw.bos_token_id) ?? 50256,
    eosTokenId: eos,
    padTokenId: tokenId(raw.pad_token_id) ?? eos,
  };
}

/** Maps GPT-2 tensors onto {@link DecoderWeights}. */
export function gpt2Weights(raw: Record<string, unknown>, c: CausalLMConfig, reader: WeightReader): DecoderWeights {
  const H = c.hiddenSize;
  const inner = typeof raw.n_inner === 'number' ? raw.n_inner : 4 * H;
  const eps = typeof raw.layer_norm_epsilon === 'number' ? raw.layer_norm_epsilon : 1e-5;
  const scaleWeights = raw.scale_attn_weights !== false;
  const byLayer = raw.scale_attn_by_inverse_layer_idx === true;
  const embed = reader.get('wte.weight', [c.vocabSize, H]) as tf.Tensor2D;
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < c.layers; i++) {
    const p = `h.${i}.`;
    const qkv = reader.linearInOut(p + 'attn.c_attn', H, 3 * H);
    const [q, k, v] = splitColumns(qkv, H);
    let attnScale = scaleWeights ? 1 / Math.sqrt(c.headDim) : 1;
    if (byLayer) attnScale /= i + 1;
    blocks.push({
      norm1: reader.norm(p + 'ln_1', H, 'layer', eps),
      q, k, v,
      o: reader.linearInOut(p + 'attn.c_proj', H, H),
      norm2: reader.norm(p + 'ln_2', H, 'layer', eps),
      up: reader.linearInOut(p + 'mlp.c_fc', H, inner),
      down: reader.linearInOut(p + 'mlp.c_proj', inner, H),
      attnScale,
    });
  }
  return {
    embed,
    positions: { table: reader.get('wpe.weight', [c.maxPositions, H]) as tf.Tensor2D, offset: 0 },
    blocks,
    finalNorm: reader.norm('ln_f', H, 'layer', eps),
    preNorm: true,
    activation: activationFromConfig(raw.activation_function as string | undefined, 'gelu_tanh'),
    ...outputHead(reader, embed, raw.tie_word_embeddings !== false),
  };
}

/** Splits a packed [H, 3H] projection into q, k, v. Disposes the packed tensors. */
function splitColumns(l: Linear, H: number): [Linear, Linear, Linear] {
  const ws = tf.split(l.w, 3, 1) as tf.Tensor2D[];
  const bs = tf.split(l.b!, 3, 0) as tf.Tensor1D[];
  l.w.dispose();
  l.b!.dispose();
  if (ws[0].shape[1] !== H) throw new Error('c_attn split failed');
  return [{ w: ws[0], b: bs[0] }, { w: ws[1], b: bs[1] }, { w: ws[2], b: bs[2] }];
}

/**
 * The Hugging Face tensors (names without prefix, as `GPT2LMHeadModel.save_pretrained` minus the
 * "transformer." prefix, like the hub's `gpt2` checkpoint) of GPT-2 weights: the inverse of
 * {@link gpt2Weights}.
 */
export function gpt2TensorsToHF(w: DecoderWeights): Map<string, TensorInput> {
  const out = new Map<string, TensorInput>();
  const put = (name: string, t: tf.Tensor) => out.set(name, { shape: t.shape, data: t.dataSync() as Float32Array });
  put('wte.weight', w.embed);
  if (!w.positions) throw new Error('gpt2TensorsToHF: not a GPT-2 model (no learned positions)');
  put('wpe.weight', w.positions.table);
  w.blocks.forEach((b, i) => {
    const p = `h.${i}.`;
    put(p + 'ln_1.weight', b.norm1.g); put(p + 'ln_1.bias', b.norm1.b!);
    tf.tidy(() => {
      put(p + 'attn.c_attn.weight', tf.concat([b.q.w, b.k.w, b.v.w], 1));
      put(p + 'attn.c_attn.bias', tf.concat([b.q.b!, b.k.b!, b.v.b!], 0));
    });
    put(p + 'attn.c_proj.weight', b.o.w); put(p + 'attn.c_proj.bias', b.o.b!);
    put(p + 'ln_2.weight', b.norm2.g); put(p + 'ln_2.bias', b.norm2.b!);
    put(p + 'mlp.c_fc.weight', b.up.w); put(p + 'mlp.c_fc.bias', b.up.b!);
    put(p + 'mlp.c_proj.weight', b.down.w); put(p + 'mlp.c_proj.bias', b.down.b!);
  });
  put('ln_f.weight', w.finalNorm!.g); put('ln_f.bias', w.finalNorm!.b!);
  if (w.headVE !== w.embed) put('lm_head.weight', w.headVE);
  return out;
}
