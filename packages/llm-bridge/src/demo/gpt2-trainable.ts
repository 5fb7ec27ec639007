/**
 * The trainable GPT-2 of the demonstration LM ({@link TrainableGPT2}): its architecture
 * ({@link GPT2Spec}), the custom-gradient layers it trains with (linear, LayerNorm, GELU, causal
 * attention, tied cross-entropy), its parameter names and shapes ({@link gpt2ParameterShapes}),
 * its initialisation (sinusoidal positions, mimetic attention, the wired heads of `look-back.ts`
 * and `match-head.ts`) and its Hugging Face export.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  Rng, customOp, fusedCausalAttention, fusedCausalAttentionGrad, hasFusedAttention, layerNorm, layerNormBackward, linear, type TensorInput,
} from '@allmrec/core';
import { FIRST_POSITION_GAIN, LOOK_BACK_AMPLITUDE, lookBackFrequencies, lookBackHeads, lookBackScales, type LookBackScales } from './look-back';
import { matchEntries, sectionLambda, slotInterfaceOf } from './match-head';
import { MIMETIC_OV, mimeticQKV } from './mimetic';
import { withSlotVectors, type SlotVectors } from './slot-vectors';

/** Architecture of a {@link TrainableGPT2}. */
export interface GPT2Spec {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  maxPositions: number;
  eosTokenId: number;
  /**
   * Token rows [start, end) initialised around one shared random mean (the added title tokens):
   * as when tokens are added to a trained LM (initialised from the mean of the others), the new
   * tokens start alike, so attention can pick "a title" with one direction before telling titles apart.
   */
  sharedInitRows?: [number, number];
  /**
   * Standard deviation of each of those rows around the shared mean (default 0.02, as every other
   * weight). Copying a title means telling it apart from ~10^3 others through the tied
   * embedding, so rows that start distinct (0.1) are copied far sooner than rows that start alike.
   */
  sharedInitSpread?: number;
  /**
   * Mimetic initialisation of attention (Trockman & Kolter, ICML 2023): in every head W_K = W_Q
   * and W_O = W_V^T, so at the start W_Q·W_K^T and W_V·W_O are positive semi-definite, close to
   * a multiple of the identity summed over heads. Heads then start out attending to positions
   * that resemble the query and copying what they attend to, the two halves of in-context
   * retrieval, instead of having to discover both at once behind a long loss plateau.
   */
  mimeticInit?: boolean;
  /**
   * Initialise the (learned) position table with sinusoids (Vaswani et al. 2017) of amplitude
   * 0.1 instead of small noise. Nearby positions then start out similar, so a head with
   * W_Q·W_K^T ≈ I (mimetic) begins with a bias towards recent tokens, e.g. from a slot to the
   * title just before it.
   */
  sinusoidalPositions?: boolean;
  /**
   * Layer-0 heads that start out attending `offset` positions back and copying what they find
   * there (default none). Dimensions [0, H/heads) of the residual are kept for position: token rows
   * start at 0 there and the position table holds sinusoid pairs in them; each
   * of the last `heads` heads of layer 0 has W_K = I and W_Q = the rotation by −offset·ω_i on
   * those dimensions (ω_i = π/2^i, so q_p·k_p' = Σ_i cos((p − offset − p')·ω_i), largest at p' = p − offset,
   * sharpened to a margin of ~16 logits), and copies its own slice of the token dimensions
   * (W_V = I, W_O = γ·I). In the Stage 2 prompt a slot sits two tokens after its title
   * (`"title"[slot]`), so with offset 2 every slot starts out holding its title: the relative-
   * position step that in-context retrieval needs, which learned absolute positions otherwise
   * have to discover separately for every position. `first` more heads (just before those)
   * start out attending to position 0 (a constant query: W_Q = 0, its bias the position-0 pair
   * pattern) and copying their slice there: in the Stage 2 prompt, the user slot F_U(x_u), which
   * the answer has to compare with every candidate's slot.
   *
   * `match` (needs `first` ≥ 1, two layers and room for a free head 1 in layer 0) also wires the
   * comparison, as a fixed retrieval circuit in reserved subspaces of the residual: the user slot's
   * vector lives in the first first-position head's slice U, every item slot's in head 1's slice
   * S, and tokens are 0 on both; layer 0's other heads and its MLP do not write into S, U or the
   * look-back heads' slices C (where each slot receives its title, one dh slice per look-back
   * head); and layer 1's heads 1 .. `heads` each have W_Q reading U, W_K reading S, W_V reading
   * one look-back slice and W_O writing it back: the answer position attends to the item slot
   * whose vector is most similar to the user's and copies its title, as many dimensions of it as
   * there are look-back heads (more slices tell a copied title apart from more others). The
   * frequencies become ω_i = π·ρ^i, ρ chosen so no other offset within `maxPositions` aliases
   * the look-back offset. Slot vectors of pretraining then fill U and S (see `SlotVectorOptions`).
   *
   * `section` (with `match`; a token id, {@link sectionMarkerToken}) keeps the matching head off the
   * history: the marker token that opens the candidate list has a token row that is 0 except for
   * the last dimension M of S; layer 0's head 0 has a constant query and its key on M, so every
   * position after a marker attends to it and every position before one spreads evenly over
   * tokens that are 0 on M; its value 1 − M/λ (λ the marker's normalised value) writes a flag F
   * into the last dimension of U that is 1 before the marker and ≈ 0 after it, the same for every
   * position after it. The matching head's last query dimension is a constant −penalty and its key
   * reads F: slots before the marker (the history) lose ~20+ logits however similar their vectors
   * are to the user's, and the candidates all keep their scores. The user and item vectors then
   * use the first dh − 1 dimensions of U and S. Measured at initialisation (H 128, 8 heads, worded
   * lists of 1-10 history and 2-20 candidates with history decoys): the most similar candidate
   * ranks first in 96% of lists with the flag, 84% without it (97% without decoys).
   */
  lookBack?: { offset: number; heads: number; first?: number; match?: boolean; section?: number };
}

const custom = customOp as (f: (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] }) => (...x: tf.Tensor[]) => tf.Tensor;

const linearW = linear;

const LN_EPS = 1e-5;
const layerNormW = custom((x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  const { y, cache } = layerNorm(x, g, b, LN_EPS);
  save([cache.xhat, cache.rstd, g]);
  return {
    value: y,
    gradFunc: (dy, [xhat, rstd, gs]) => {
      const r = layerNormBackward(dy as tf.Tensor2D, { xhat: xhat as tf.Tensor2D, rstd: rstd as tf.Tensor2D, g: gs as tf.Tensor1D });
      return [r.dx, r.dg, r.db];
    },
  };
});

const GELU_C = Math.sqrt(2 / Math.PI);
/** GELU, tanh approximation (as `layers.activate('gelu_tanh')`), closed-form gradient. */
const geluTanh = custom((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), GELU_C);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner))),
    gradFunc: (dy, [xs]) => {
      const th = tf.tanh(tf.mul(tf.add(xs, tf.mul(tf.pow(xs, 3), 0.044715)), GELU_C));
      const du = tf.mul(tf.add(1, tf.mul(tf.square(xs), 3 * 0.044715)), GELU_C);
      const d = tf.add(tf.mul(tf.add(1, th), 0.5), tf.mul(tf.mul(tf.mul(xs, 0.5), tf.sub(1, tf.square(th))), du));
      return tf.mul(dy, d);
    },
  };
});

/** Causal self-attention of q, k, v [n, T, dh] (fused kernel when available). */
function causalAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, scale: number): tf.Tensor3D {
  if (hasFusedAttention()) {
    const f = custom((qi: tf.Tensor3D, ki: tf.Tensor3D, vi: tf.Tensor3D, save: tf.GradSaveFunc) => {
      const { P, O } = fusedCausalAttention(qi, ki, vi, scale);
      save([qi, ki, vi, P]);
      return {
        value: O,
        gradFunc: (dy, [qs, ks, vs, ps]) => {
          const g = fusedCausalAttentionGrad(qs as tf.Tensor3D, ks as tf.Tensor3D, vs as tf.Tensor3D, ps as tf.Tensor3D, dy as tf.Tensor3D, scale);
          return [g.dq, g.dk, g.dv];
        },
      };
    });
    return f(q, k, v) as tf.Tensor3D;
  }
  const T = q.shape[1];
  const biasData = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) biasData[i * T + j] = -1e9;
  const bias = tf.tensor2d(biasData, [T, T]);
  const f = custom((qi: tf.Tensor3D, ki: tf.Tensor3D, vi: tf.Tensor3D, save: tf.GradSaveFunc) => {
    const s = tf.add(tf.mul(tf.matMul(qi, tf.transpose(ki, [0, 2, 1])), scale), bias);
    const p = tf.softmax(s) as tf.Tensor3D;
    save([qi, ki, vi, p]);
    return {
      value: tf.matMul(p, vi),
      gradFunc: (dy, saved) => {
        const [sq, sk, sv, sp] = saved as tf.Tensor3D[];
        const dO = dy as tf.Tensor3D;
        const dP = tf.matMul(dO, tf.transpose(sv, [0, 2, 1]));
        const dV = tf.matMul(tf.transpose(sp, [0, 2, 1]), dO);
        const dS = tf.mul(tf.mul(sp, tf.sub(dP, tf.sum(tf.mul(dP, sp), -1, true))), scale) as tf.Tensor3D;
        return [tf.matMul(dS, sk), tf.matMul(tf.transpose(dS, [0, 2, 1]), sq), dV];
      },
    };
  });
  const out = f(q, k, v) as tf.Tensor3D;
  bias.dispose();
  return out;
}

/**
 * Weighted mean cross-entropy of `targets` from hidden states h [N, H] through the tied output
 * matrix wte [V, H]; gradients w.r.t. h and wte (softmax − one-hot, no broadcast Equal).
 */
function tiedCrossEntropy(h: tf.Tensor2D, wte: tf.Tensor2D, targets: Int32Array, weights: Float32Array): tf.Scalar {
  let total = 0;
  for (const w of weights) total += w;
  if (total <= 0) throw new Error('tiedCrossEntropy: no target has a positive weight');
  const V = wte.shape[0];
  const f = custom((hi: tf.Tensor2D, wi: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const logits = tf.matMul(hi, tf.transpose(wi));
    const lse = tf.logSumExp(logits, -1, true);
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), V), 'float32');
    const wt = tf.tensor2d(weights, [weights.length, 1]);
    const nll = tf.sub(lse, tf.sum(tf.mul(logits, onehot), -1, true));
    save([hi, wi, logits, lse, onehot, wt]);
    return {
      value: tf.div(tf.sum(tf.mul(nll, wt)), total),
      gradFunc: (dy, [hs, ws, lg, l, oh, w]) => {
        const dl = tf.mul(tf.sub(tf.exp(tf.sub(lg, l)), oh), tf.mul(w, tf.div(dy, total))) as tf.Tensor2D;
        return [tf.matMul(dl, ws as tf.Tensor2D), tf.matMul(tf.transpose(dl), hs as tf.Tensor2D)];
      },
    };
  });
  return f(h, wte) as tf.Scalar;
}

/** Hugging Face names and shapes of a GPT-2's weights (GPT2LMHeadModel without "transformer."). */
export function gpt2ParameterShapes(s: GPT2Spec): Record<string, number[]> {
  const H = s.hidden;
  const out: Record<string, number[]> = { 'wte.weight': [s.vocabSize, H], 'wpe.weight': [s.maxPositions, H] };
  for (let i = 0; i < s.layers; i++) {
    const p = `h.${i}.`;
    Object.assign(out, {
      [p + 'ln_1.weight']: [H], [p + 'ln_1.bias']: [H],
      [p + 'attn.c_attn.weight']: [H, 3 * H], [p + 'attn.c_attn.bias']: [3 * H],
      [p + 'attn.c_proj.weight']: [H, H], [p + 'attn.c_proj.bias']: [H],
      [p + 'ln_2.weight']: [H], [p + 'ln_2.bias']: [H],
      [p + 'mlp.c_fc.weight']: [H, 4 * H], [p + 'mlp.c_fc.bias']: [4 * H],
      [p + 'mlp.c_proj.weight']: [4 * H, H], [p + 'mlp.c_proj.bias']: [H],
    });
  }
  out['ln_f.weight'] = [H];
  out['ln_f.bias'] = [H];
  return out;
}

/** Amplitude of a sinusoidal position table (title rows have norm ≈ 0.1·√H, these ≈ 0.1·√(H/2)). */
const SINUSOID_AMPLITUDE = 0.1;

/**
 * Writes sinusoid pairs into dimensions [0, 2·pairs) of a [positions, H] table in place:
 * row p, pair i = amplitude(p)·(sin(p·ω_i), cos(p·ω_i)).
 */
function sinusoidPairs(w: Float32Array, positions: number, H: number, pairs: number, omega: (i: number) => number, amplitude: (p: number) => number): void {
  for (let p = 0; p < positions; p++) {
    const a = amplitude(p);
    for (let i = 0; i < pairs; i++) {
      const angle = p * omega(i);
      w[p * H + 2 * i] = a * Math.sin(angle);
      w[p * H + 2 * i + 1] = a * Math.cos(angle);
    }
  }
}

/**
 * A GPT-2 whose weights are `tf.Variable`s, for pretraining. `toHF()` gives the tensors
 * `loadCausalLM` reads back with the same logits.
 */
export class TrainableGPT2 {
  readonly params = new Map<string, tf.Variable>();

  constructor(readonly spec: GPT2Spec, seed: number) {
    const { hidden: H, heads, layers } = spec;
    if (H % heads !== 0) throw new RangeError(`hidden ${H} is not divisible by heads ${heads}`);
    if (spec.lookBack) {
      const { offset, heads: n, first = 0 } = spec.lookBack;
      if (!(Number.isInteger(n) && n >= 1 && n < heads)) throw new RangeError(`lookBack.heads must be 1..${heads - 1} (head 0's dimensions hold the positions), got ${n}`);
      if (!(Number.isInteger(first) && first >= 0 && n + first < heads)) throw new RangeError(`lookBack.first must be 0..${heads - 1 - n} (head 0's dimensions hold the positions), got ${first}`);
      if (!(Number.isInteger(offset) && offset >= 1)) throw new RangeError(`lookBack.offset must be a positive integer, got ${offset}`);
      if (spec.lookBack.match && !(first >= 1 && layers >= 2 && heads - n - first >= 2)) {
        throw new RangeError(`lookBack.match needs a first-position head, two layers, and heads 0 and 1 of layer 0 unwired (heads ${heads}, look-back ${n}, first ${first}, layers ${layers})`);
      }
      const section = spec.lookBack.section;
      if (section !== undefined && !(spec.lookBack.match && Number.isInteger(section) && section >= 0 && section < spec.vocabSize)) {
        throw new RangeError(`lookBack.section must be a token id in [0, ${spec.vocabSize}) and needs lookBack.match, got ${section}`);
      }
    }
    const rng = new Rng(seed).fork('gpt2-init');
    let wiring: LookBackScales | undefined; // computed once, from the initial wte and wpe
    const omega = spec.lookBack ? lookBackFrequencies(spec) : [];
    const scales = () => (wiring ??= lookBackScales(spec, this.params.get('wte.weight')!, this.params.get('wpe.weight')!, omega));
    for (const [name, shape] of Object.entries(gpt2ParameterShapes(spec))) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name === 'ln_f.weight') data.fill(1);
      else if (shape.length === 2) {
        const std = name === 'wpe.weight' ? 0.01 : name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * layers) : 0.02;
        for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
        if (name === 'wte.weight' && spec.sharedInitRows) {
          const [a, b] = spec.sharedInitRows;
          const mean = Float32Array.from({ length: H }, () => rng.normal() * std);
          const k = (spec.sharedInitSpread ?? std) / std;
          for (let r = a; r < b; r++) for (let j = 0; j < H; j++) data[r * H + j] = data[r * H + j] * k + mean[j];
        }
        if (spec.sinusoidalPositions && name === 'wpe.weight') sinusoidPairs(data, shape[0], H, H / 2, (i) => Math.pow(10000, (-2 * i) / H), () => SINUSOID_AMPLITUDE);
        if (spec.lookBack && name === 'wte.weight') for (let r = 0; r < shape[0]; r++) data.fill(0, r * H, r * H + H / heads);
        if (spec.lookBack && name === 'wpe.weight') {
          const gain0 = spec.lookBack.first ? FIRST_POSITION_GAIN : 1;
          sinusoidPairs(data, shape[0], H, H / heads / 2, (i) => omega[i], (p) => LOOK_BACK_AMPLITUDE * (p === 0 ? gain0 : 1));
        }
        if (spec.mimeticInit && name.endsWith('attn.c_attn.weight')) mimeticQKV(data, H, rng);
        if (spec.mimeticInit && name.endsWith('attn.c_proj.weight')) {
          const qkv = this.params.get(name.replace('c_proj', 'c_attn'))!.dataSync() as Float32Array;
          // W_O[r, c] = W_V[c, r] · γ: W_V·W_O = γ·W_V·W_V^T, block by block per head.
          for (let r = 0; r < H; r++) for (let c = 0; c < H; c++) data[r * H + c] = MIMETIC_OV * qkv[c * 3 * H + 2 * H + r];
        }
        if (spec.lookBack && (name === 'h.0.attn.c_attn.weight' || name === 'h.0.attn.c_proj.weight')) {
          lookBackHeads(data, name.endsWith('c_attn.weight') ? 'qkv' : 'proj', spec, scales());
        }
      } else if (spec.lookBack?.first && name === 'h.0.attn.c_attn.bias') {
        lookBackHeads(data, 'bias', spec, scales());
      }
      const lambda = spec.lookBack?.section !== undefined && name === 'h.0.attn.c_attn.weight'
        ? sectionLambda(spec, this.params.get('wte.weight')!.dataSync() as Float32Array, this.params.get('wpe.weight')!.dataSync() as Float32Array)
        : 1;
      if (spec.lookBack?.match) matchEntries(name, shape, spec, (i, value) => { data[i] = value; }, lambda);
      this.params.set(name, tf.tidy(() => tf.variable(tf.tensor(data, shape), true, `pretrain/${name}/${rng.nextUint32()}`)));
    }
  }

  private p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  /**
   * Final hidden states (after ln_f) [B·T, H] of token rows `ids` [B·T] starting at position 0;
   * `slots` replaces the token embeddings at its masked positions by its vectors.
   */
  hidden(ids: Int32Array, B: number, T: number, slots?: SlotVectors): tf.Tensor2D {
    const { hidden: H, heads, layers, maxPositions } = this.spec;
    if (T > maxPositions) throw new RangeError(`sequence length ${T} exceeds ${maxPositions} positions`);
    const dh = H / heads;
    const scale = 1 / Math.sqrt(dh);
    const gathered = tf.gather(this.p('wte.weight'), tf.tensor1d(ids, 'int32'));
    const tok = slots ? withSlotVectors(gathered, slots) : gathered;
    const pos = tf.slice(this.p('wpe.weight'), [0, 0], [T, H]);
    let x = tf.reshape(tf.add(tf.reshape(tok, [B, T, H]), pos), [B * T, H]) as tf.Tensor2D;
    const heads3 = (t: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, heads, dh]), [0, 2, 1, 3]), [B * heads, T, dh]) as tf.Tensor3D;
    for (let l = 0; l < layers; l++) {
      const p = `h.${l}.`;
      const h = layerNormW(x, this.p(p + 'ln_1.weight'), this.p(p + 'ln_1.bias'));
      const qkv = linearW(h, this.p(p + 'attn.c_attn.weight'), this.p(p + 'attn.c_attn.bias'));
      const [q, k, v] = tf.split(qkv, 3, 1);
      const o = causalAttention(heads3(q), heads3(k), heads3(v), scale);
      const merged = tf.reshape(tf.transpose(tf.reshape(o, [B, heads, T, dh]), [0, 2, 1, 3]), [B * T, H]);
      x = tf.add(x, linearW(merged, this.p(p + 'attn.c_proj.weight'), this.p(p + 'attn.c_proj.bias'))) as tf.Tensor2D;
      const h2 = layerNormW(x, this.p(p + 'ln_2.weight'), this.p(p + 'ln_2.bias'));
      const up = geluTanh(linearW(h2, this.p(p + 'mlp.c_fc.weight'), this.p(p + 'mlp.c_fc.bias')));
      x = tf.add(x, linearW(up, this.p(p + 'mlp.c_proj.weight'), this.p(p + 'mlp.c_proj.bias'))) as tf.Tensor2D;
    }
    return layerNormW(x, this.p('ln_f.weight'), this.p('ln_f.bias')) as tf.Tensor2D;
  }

  /** Logits [B, T, V] of token rows `ids` [B·T] (vector slots as in {@link hidden}). */
  logits(ids: Int32Array, B: number, T: number, slots?: SlotVectors): tf.Tensor3D {
    return tf.tidy(() => tf.reshape(tf.matMul(this.hidden(ids, B, T, slots), tf.transpose(this.p('wte.weight'))), [B, T, -1]) as tf.Tensor3D);
  }

  /**
   * Weighted mean next-token cross-entropy: `inputs` and `targets` [B·T] (targets[t] follows
   * inputs[t]), `weights` [B·T] (0 = not a target), vector slots as in {@link hidden}.
   * Differentiable w.r.t. every weight.
   */
  loss(inputs: Int32Array, targets: Int32Array, weights: Float32Array, B: number, T: number, slots?: SlotVectors): tf.Scalar {
    return tiedCrossEntropy(this.hidden(inputs, B, T, slots), this.p('wte.weight') as tf.Tensor as tf.Tensor2D, targets, weights);
  }

  /** Number of parameters. */
  get size(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** The weights as Hugging Face tensors (GPT2LMHeadModel names, tied head omitted). */
  toHF(): Map<string, TensorInput> {
    const out = new Map<string, TensorInput>();
    for (const [k, v] of this.params) out.set(k, { shape: v.shape, data: v.dataSync().slice() as Float32Array });
    return out;
  }

  /** config.json of the checkpoint. */
  configJson(): Record<string, unknown> {
    const s = this.spec;
    return {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: s.vocabSize, n_embd: s.hidden, n_layer: s.layers,
      n_head: s.heads, n_positions: s.maxPositions, n_ctx: s.maxPositions, n_inner: 4 * s.hidden,
      activation_function: 'gelu_new', layer_norm_epsilon: LN_EPS, bos_token_id: s.eosTokenId, eos_token_id: s.eosTokenId,
      tie_word_embeddings: true, scale_attn_weights: true, torch_dtype: 'float32',
      ...(s.lookBack?.match ? { allmrec_slot_interface: slotInterfaceOf(s) } : {}),
    };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
