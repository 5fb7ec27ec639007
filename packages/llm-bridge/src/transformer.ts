/**
 * One decoder-only transformer that every supported family maps its checkpoint onto:
 *
 *   x      = inputEmbeds                                  [B, T, E]
 *   x      = project_in(x)                                (OPT with word_embed_proj_dim only)
 *   x     += P[position]                                  (learned positions: GPT-2, OPT)
 *   block (pre-norm):  x += Attn(N1(x));  x += MLP(N2(x))
 *   block (post-norm): x = N1(x + Attn(x)); x = N2(x + MLP(x))   (OPT-350m)
 *   Attn   = softmax(q·kᵀ·scale + mask)·v over grouped KV heads, RoPE on q, k (Llama family)
 *   MLP    = down(act(up(x)))  or  down(act(gate(x)) * up(x))  (SwiGLU)
 *   logits = project_out(N_final(x)) · Headᵀ              (Head = the tied embeddings or lm_head)
 *
 * Positions are cumsum(mask) - 1 (left padding safe). The class implements {@link CausalLM}:
 * forward, loss, greedy generation and continuation scoring share this one forward.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  CausalLM, CausalLMConfig, ForwardOptions, ForwardResult, GenerateOptions, LMTokenizer, LossOptions, PastKeyValues,
} from './causal-lm';
import { disposePastKeyValues } from './causal-lm';
import {
  activate, attend, customOp, attentionBias, crossEntropyFromHidden, linear, norm, positionsFromMask, rope, ropeTables,
  type Activation, type Linear, type Norm,
} from './layers';

/** Weights of one block, in the family-independent layout (linear weights [in, out]). */
export interface BlockWeights {
  norm1: Norm;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  norm2: Norm;
  /** Present for gated MLPs (SwiGLU): down(act(gate(x)) * up(x)). */
  gate?: Linear;
  up: Linear;
  down: Linear;
  /** Multiplier of q·kᵀ (1/sqrt(headDim), or GPT-2's per-layer variant). */
  attnScale: number;
}

/** Every weight of a decoder, family-independent. Plain tensors, never variables. */
export interface DecoderWeights {
  /** Token embeddings [V, E]. */
  embed: tf.Tensor2D;
  /** Learned position table and the index offset of position 0 (2 for OPT). */
  positions?: { table: tf.Tensor2D; offset: number };
  /** Rotary embeddings over the whole head. */
  rope?: { theta: number };
  projectIn?: Linear;
  projectOut?: Linear;
  blocks: BlockWeights[];
  finalNorm?: Norm;
  /** False for post-norm blocks (OPT with do_layer_norm_before = false). */
  preNorm: boolean;
  activation: Activation;
  /** Output projection [E, V] (logits = h·headEV). */
  headEV: tf.Tensor2D;
  /** The same matrix as [V, E] (the embeddings when tied), used by the loss's backward pass. */
  headVE: tf.Tensor2D;
}

/** A {@link CausalLM} over {@link DecoderWeights}. Build one with `loadCausalLM`. */
export class TransformerLM implements CausalLM {
  readonly hiddenSize: number;

  constructor(
    readonly config: CausalLMConfig,
    readonly weights: DecoderWeights,
    readonly tokenizer: LMTokenizer,
  ) {
    this.hiddenSize = config.embedSize;
  }

  embedTokens(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => tf.gather(this.weights.embed, tf.cast(ids, 'int32')) as unknown as tf.Tensor3D);
  }

  forward(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
    const { hidden, cache } = this.hiddenStates(inputEmbeds, attentionMask, options.pastKeyValues, !!options.useCache);
    const logits = tf.tidy(() => {
      const [B, T, E] = hidden.shape;
      const h = options.lastPositionOnly ? tf.slice(hidden, [0, T - 1, 0], [B, 1, E]) : hidden;
      return tf.reshape(tf.matMul(tf.reshape(h, [-1, E]), this.weights.headEV), [B, h.shape[1], -1]) as tf.Tensor3D;
    });
    hidden.dispose();
    return cache ? { logits, pastKeyValues: cache } : { logits };
  }

  /** Final hidden states (after the final norm and project_out) [B, T, E] and the new cache. */
  private hiddenStates(
    inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, past: PastKeyValues | undefined, useCache: boolean, recompute = false,
  ): { hidden: tf.Tensor3D; cache?: PastKeyValues } {
    const c = this.config;
    const w = this.weights;
    const [B, T, E] = inputEmbeds.shape;
    if (E !== c.embedSize) throw new Error(`inputEmbeds width ${E} does not match the model's embedding size ${c.embedSize}`);
    const pastLen = past?.length ?? 0;
    const total = pastLen + T;
    if (attentionMask.shape[0] !== B || attentionMask.shape[1] !== total) {
      throw new Error(`attentionMask is [${attentionMask.shape}] but must be [${B}, ${total}] (${pastLen} cached + ${T} new positions)`);
    }
    const maskData = attentionMask.dataSync();
    const positions = positionsFromMask(maskData, B, total, T);
    let maxPos = 0;
    for (const p of positions) maxPos = Math.max(maxPos, p);
    if (maxPos >= c.maxPositions) throw new Error(`position ${maxPos} exceeds the model's ${c.maxPositions} positions`);

    const keys: tf.Tensor4D[] = [];
    const values: tf.Tensor4D[] = [];
    const hidden = tf.tidy(() => {
      const bias = attentionBias(maskData, B, total, T);
      const tables = w.rope ? ropeTables(positions, B, T, c.headDim, w.rope.theta) : undefined;
      let x: tf.Tensor3D = inputEmbeds;
      if (w.projectIn) x = linear(x, w.projectIn);
      if (w.positions) {
        const idx = tf.tensor2d(positions.map((p) => p + w.positions!.offset), [B, T], 'int32');
        x = tf.add(x, tf.gather(w.positions.table, idx)) as tf.Tensor3D;
      }
      for (let l = 0; l < w.blocks.length; l++) {
        if (recompute) {
          // Gradient checkpointing: keep only the block's input (and the masks) and run the
          // block again, under its own tape, during the backward pass.
          const f = customOp((xin: tf.Tensor, save: tf.GradSaveFunc) => {
            save(tables ? [xin, bias, tables.cos, tables.sin] : [xin, bias]);
            return {
              value: this.block(xin as tf.Tensor3D, w.blocks[l], bias, tables),
              gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
                const [xs, bs, cs, ss] = saved as [tf.Tensor3D, tf.Tensor4D, tf.Tensor4D?, tf.Tensor4D?];
                const tb = cs && ss ? { cos: cs, sin: ss } : undefined;
                // A tf.grad inside a backward pass starts a new tape and then drops the engine's
                // active tape, which the outer backward pass still needs: put it back.
                const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
                const outerTape = state.activeTape;
                try {
                  return tf.grad((xr: tf.Tensor) => this.block(xr as tf.Tensor3D, w.blocks[l], bs, tb))(xs, dy);
                } finally {
                  state.activeTape = outerTape;
                }
              },
            };
          });
          x = f(x) as tf.Tensor3D;
        } else {
          x = this.block(x, w.blocks[l], bias, tables, past?.keys[l], past?.values[l], useCache ? keys : undefined, useCache ? values : undefined);
        }
      }
      if (w.finalNorm) x = norm(x, w.finalNorm);
      if (w.projectOut) x = linear(x, w.projectOut);
      for (const t of [...keys, ...values]) tf.keep(t);
      return x;
    });
    const cache = useCache && !recompute ? { keys, values, length: total } : undefined;
    return { hidden, cache };
  }

  private block(
    x: tf.Tensor3D, bw: BlockWeights, bias: tf.Tensor4D, tables: { cos: tf.Tensor4D; sin: tf.Tensor4D } | undefined,
    pastK?: tf.Tensor4D, pastV?: tf.Tensor4D, keysOut?: tf.Tensor4D[], valuesOut?: tf.Tensor4D[],
  ): tf.Tensor3D {
    const pre = this.weights.preNorm;
    const h = pre ? norm(x, bw.norm1) : x;
    const a = this.attention(h, bw, bias, tables, pastK, pastV, keysOut, valuesOut);
    let y = tf.add(x, a) as tf.Tensor3D;
    if (!pre) y = norm(y, bw.norm1);
    const h2 = pre ? norm(y, bw.norm2) : y;
    const act = this.weights.activation;
    const inner = bw.gate ? tf.mul(activate(linear(h2, bw.gate), act), linear(h2, bw.up)) : activate(linear(h2, bw.up), act);
    let z = tf.add(y, linear(inner, bw.down)) as tf.Tensor3D;
    if (!pre) z = norm(z, bw.norm2);
    return z;
  }

  private attention(
    h: tf.Tensor3D, bw: BlockWeights, bias: tf.Tensor4D, tables: { cos: tf.Tensor4D; sin: tf.Tensor4D } | undefined,
    pastK: tf.Tensor4D | undefined, pastV: tf.Tensor4D | undefined, keysOut?: tf.Tensor4D[], valuesOut?: tf.Tensor4D[],
  ): tf.Tensor3D {
    const { heads, kvHeads, headDim: dh } = this.config;
    const [B, T] = h.shape;
    const split = (t: tf.Tensor3D, n: number) => tf.transpose(tf.reshape(t, [B, T, n, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
    let q = split(linear(h, bw.q), heads);
    let k = split(linear(h, bw.k), kvHeads);
    let v = split(linear(h, bw.v), kvHeads);
    if (tables) {
      q = rope(q, tables.cos, tables.sin);
      k = rope(k, tables.cos, tables.sin);
    }
    if (pastK && pastV) {
      k = tf.concat([pastK, k], 2);
      v = tf.concat([pastV, v], 2);
    }
    keysOut?.push(k);
    valuesOut?.push(v);
    const o = attend(q, k, v, bias, bw.attnScale);
    const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, T, heads * dh]) as tf.Tensor3D;
    return linear(merged, bw.o);
  }

  loss(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, labels: tf.Tensor2D, options: LossOptions = {}): tf.Scalar {
    const [B, T] = labels.shape;
    if (inputEmbeds.shape[0] !== B || inputEmbeds.shape[1] !== T) {
      throw new Error(`labels are [${labels.shape}] but inputEmbeds are [${inputEmbeds.shape}]`);
    }
    const lab = labels.dataSync();
    const rows: number[] = [];
    const targets: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let t = 0; t + 1 < T; t++) {
        const y = lab[b * T + t + 1];
        if (y === -100) continue;
        if (!(y >= 0 && y < this.config.vocabSize)) throw new Error(`label ${y} at [${b}, ${t + 1}] is outside the vocabulary (0..${this.config.vocabSize - 1}, or -100)`);
        rows.push(b * T + t);
        targets.push(y);
      }
    }
    if (rows.length === 0) throw new Error('loss: every label is -100; there is nothing to predict');
    return tf.tidy(() => {
      const { hidden } = this.hiddenStates(inputEmbeds, attentionMask, undefined, false, !!options.recompute);
      const E = hidden.shape[2];
      const picked = tf.gather(tf.reshape(hidden, [B * T, E]), tf.tensor1d(rows, 'int32')) as tf.Tensor2D;
      return crossEntropyFromHidden(picked, this.weights.headEV, this.weights.headVE, Int32Array.from(targets));
    });
  }

  generate(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, options: GenerateOptions): number[][] {
    const B = inputEmbeds.shape[0];
    const penalty = options.repetitionPenalty ?? 1.5;
    const eosOpt = options.eosTokenId ?? this.config.eosTokenId;
    const eos = new Set(eosOpt === undefined ? [] : Array.isArray(eosOpt) ? eosOpt : [eosOpt]);
    const padId = this.config.padTokenId ?? this.config.eosTokenId ?? 0;
    const out: number[][] = Array.from({ length: B }, () => []);
    const done = new Array<boolean>(B).fill(false);
    let cache: PastKeyValues | undefined;
    let mask = tf.clone(attentionMask);
    let embeds = inputEmbeds;
    const V = this.config.vocabSize;
    try {
      for (let step = 0; step < options.maxNewTokens; step++) {
        const res = this.forward(embeds, mask, { pastKeyValues: cache, useCache: true, lastPositionOnly: true });
        disposePastKeyValues(cache);
        cache = res.pastKeyValues;
        const logits = res.logits.dataSync() as Float32Array;
        res.logits.dispose();
        const next: number[] = [];
        for (let b = 0; b < B; b++) {
          if (done[b]) { next.push(padId); continue; }
          const row = logits.subarray(b * V, (b + 1) * V);
          if (penalty !== 1) {
            for (const id of new Set(out[b])) row[id] = row[id] > 0 ? row[id] / penalty : row[id] * penalty;
          }
          let best = 0;
          for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
          if (eos.has(best)) done[b] = true;
          else out[b].push(best);
          next.push(best);
        }
        if (done.every(Boolean) || step + 1 === options.maxNewTokens) break;
        if (embeds !== inputEmbeds) embeds.dispose();
        embeds = tf.tidy(() => this.embedTokens(tf.tensor2d(next, [B, 1], 'int32')));
        const grown = tf.tidy(() => tf.concat([mask, tf.ones([B, 1], mask.dtype)], 1) as tf.Tensor2D);
        mask.dispose();
        mask = grown;
      }
    } finally {
      disposePastKeyValues(cache);
      mask.dispose();
      if (embeds !== inputEmbeds) embeds.dispose();
    }
    return out;
  }

  scoreContinuations(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, continuations: number[][]): Float32Array {
    if (inputEmbeds.shape[0] !== 1) throw new Error(`scoreContinuations takes one prompt ([1, T, H]), got batch ${inputEmbeds.shape[0]}`);
    const C = continuations.length;
    const scores = new Float32Array(C);
    if (C === 0) return scores;
    const V = this.config.vocabSize;
    for (const cont of continuations) {
      for (const id of cont) if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`continuation token ${id} is outside the vocabulary`);
    }
    const first = this.forward(inputEmbeds, attentionMask, { useCache: true, lastPositionOnly: true });
    const cache = first.pastKeyValues!;
    try {
      // The first token of every continuation is predicted by the prompt's last position.
      const firstLp = tf.tidy(() => tf.logSoftmax(tf.reshape(first.logits, [1, V])).dataSync() as Float32Array);
      first.logits.dispose();
      for (let c = 0; c < C; c++) if (continuations[c].length > 0) scores[c] = firstLp[continuations[c][0]];
      const L = Math.max(...continuations.map((x) => x.length)) - 1; // inputs beyond the first token
      if (L <= 0) return scores;
      // Continuations are right-padded after the prompt: padding comes after real tokens, so the
      // causal mask keeps it from affecting them.
      const ids = new Int32Array(C * L);
      const maskCont = new Float32Array(C * L);
      const rows: number[] = [];
      const targets: number[] = [];
      const owner: number[] = [];
      for (let c = 0; c < C; c++) {
        const cont = continuations[c];
        for (let j = 0; j < L; j++) {
          if (j + 1 < cont.length) {
            ids[c * L + j] = cont[j];
            maskCont[c * L + j] = 1;
            rows.push(c * L + j);
            targets.push(cont[j + 1]);
            owner.push(c);
          }
        }
      }
      const picked = tf.tidy(() => {
        const T = cache.length;
        const expand = (t: tf.Tensor4D) => tf.tile(t, [C, 1, 1, 1]) as tf.Tensor4D;
        const past: PastKeyValues = { keys: cache.keys.map(expand), values: cache.values.map(expand), length: T };
        const mask = tf.concat([tf.tile(tf.cast(attentionMask, 'float32'), [C, 1]), tf.tensor2d(maskCont, [C, L])], 1) as tf.Tensor2D;
        const embeds = this.embedTokens(tf.tensor2d(ids, [C, L], 'int32'));
        const { logits } = this.forward(embeds, mask, { pastKeyValues: past });
        const flat = tf.reshape(logits, [C * L, V]);
        const sel = tf.gather(flat, tf.tensor1d(rows, 'int32'));
        const lse = tf.logSumExp(sel, -1);
        const idx = tf.tensor1d(targets.map((y, i) => i * V + y), 'int32');
        return tf.sub(tf.gather(tf.reshape(sel, [-1]), idx), lse);
      });
      const lp = picked.dataSync();
      picked.dispose();
      for (let i = 0; i < owner.length; i++) scores[owner[i]] += lp[i];
      return scores;
    } finally {
      disposePastKeyValues(cache);
    }
  }

  dispose(): void {
    const seen = new Set<tf.Tensor>();
    const add = (t: tf.Tensor | undefined) => { if (t) seen.add(t); };
    const w = this.weights;
    const addLinear = (l?: Linear) => { add(l?.w); add(l?.b); };
    const addNorm = (n?: Norm) => { add(n?.g); add(n?.b); };
    add(w.embed); add(w.positions?.table); add(w.headEV); add(w.headVE);
    addLinear(w.projectIn); addLinear(w.projectOut); addNorm(w.finalNorm);
    for (const b of w.blocks) {
      addNorm(b.norm1); addNorm(b.norm2);
      for (const l of [b.q, b.k, b.v, b.o, b.gate, b.up, b.down]) addLinear(l);
    }
    for (const t of seen) if (!t.isDisposed) t.dispose();
  }
}
