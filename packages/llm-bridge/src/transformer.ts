/**
 * The tfjs runtime of every supported decoder family: a {@link CausalLM} over a
 * {@link DecoderArch} and its {@link DecoderData} (see decoder/arch.ts for the math). The weights
 * are uploaded once as plain tensors (never variables); the forward is differentiable w.r.t. the
 * input embeddings, with custom gradients where WASM needs them (layers.ts).
 *
 * Positions are cumsum(mask) - 1 (left padding safe); RoPE tables and attention masks are
 * computed on the host for each call (decoder/rope.ts, layers.ts), so the ONNX runtime, which
 * reads the same functions, cannot drift from this one.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM, ForwardOptions, ForwardResult, KVCache, LMTokenizer } from './causal-lm';
import type { DecoderArch, DecoderData, LinearData, NormData } from './decoder/arch';
import { decoderCall, logitRows } from './decoder/call';
import { ropeCosSin } from './decoder/rope';
import {
  activate, attend, attentionBias, customOp, headLogits, linear, norm, rope, type Linear, type Norm,
} from './layers';

/** Weights of one block as tensors. */
interface Block {
  norm1: Norm;
  norm2: Norm;
  attnOutNorm?: Norm;
  mlpOutNorm?: Norm;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  qNorm?: Norm;
  kNorm?: Norm;
  gate?: Linear;
  up: Linear;
  down: Linear;
}

/** Per-call tensors shared by every block. */
interface CallContext {
  /** Additive mask per distinct sliding window (0 = full causal). */
  bias: Map<number, tf.Tensor4D>;
  rope?: { cos: tf.Tensor4D; sin: tf.Tensor4D };
}

/** The cache of a {@link TransformerLM}: keys and values per layer, [B, kvHeads, past, headDim] (keys after RoPE). */
export class TransformerKVCache implements KVCache {
  constructor(readonly keys: tf.Tensor4D[], readonly values: tf.Tensor4D[], readonly length: number) {}
  get batch(): number {
    return this.keys[0]?.shape[0] ?? 1;
  }
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}

/** A decoder on tfjs. Build one with `loadCausalLM` (or from arch + data with the constructor). */
export class TransformerLM implements CausalLM {
  readonly differentiable = true;
  private readonly embed: tf.Tensor2D;
  private readonly positions?: tf.Tensor2D;
  private readonly projectIn?: Linear;
  private readonly projectOut?: Linear;
  private readonly blocks: Block[];
  private readonly finalNorm?: Norm;
  /** Output matrix as [E, V] (forward) and [V, E] (backward). */
  private readonly headEV: tf.Tensor2D;
  private readonly headVE: tf.Tensor2D;
  private readonly headBias?: tf.Tensor1D;
  private readonly windows: number[];

  constructor(readonly config: DecoderArch, data: DecoderData, readonly tokenizer: LMTokenizer) {
    const a = config;
    const t2 = (x: { shape: number[]; data: Float32Array }) => tf.tensor2d(x.data, x.shape as [number, number]);
    const t1 = (x: { shape: number[]; data: Float32Array }) => tf.tensor1d(x.data);
    const lin = (l: LinearData): Linear => ({ w: t2(l.w), b: l.b ? t1(l.b) : undefined });
    const nrm = (n: NormData, kind: 'layer' | 'rms' = a.norm): Norm => ({ kind, g: t1(n.g), b: n.b ? t1(n.b) : undefined, eps: a.normEps });
    this.embed = t2(data.embed);
    if (data.positions) this.positions = t2(data.positions);
    if (data.projectIn) this.projectIn = lin(data.projectIn);
    if (data.projectOut) this.projectOut = lin(data.projectOut);
    this.blocks = data.blocks.map((b) => ({
      norm1: nrm(b.norm1),
      norm2: b.norm2 === b.norm1 ? nrm(b.norm1) : nrm(b.norm2),
      attnOutNorm: b.attnOutNorm && nrm(b.attnOutNorm),
      mlpOutNorm: b.mlpOutNorm && nrm(b.mlpOutNorm),
      q: lin(b.q), k: lin(b.k), v: lin(b.v), o: lin(b.o),
      qNorm: b.qNorm && nrm(b.qNorm, 'rms'), kNorm: b.kNorm && nrm(b.kNorm, 'rms'),
      gate: b.gate && lin(b.gate), up: lin(b.up), down: lin(b.down),
    }));
    if (data.finalNorm) this.finalNorm = nrm(data.finalNorm);
    this.headVE = data.head === data.embed ? this.embed : t2(data.head);
    this.headEV = tf.tidy(() => tf.transpose(this.headVE) as tf.Tensor2D);
    if (data.headBias) this.headBias = t1(data.headBias);
    this.windows = [...new Set(a.slidingWindows)];
  }

  embedTokens(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const e = tf.gather(this.embed, tf.cast(ids, 'int32')) as unknown as tf.Tensor3D;
      return this.config.embedScale === 1 ? e : (tf.mul(e, this.config.embedScale) as tf.Tensor3D);
    });
  }

  forward(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
    const a = this.config;
    const past = options.pastKeyValues as TransformerKVCache | undefined;
    const { B, T, total, mask: maskData, positions } = decoderCall(a, inputEmbeds, attentionMask, past, TransformerKVCache, 'TransformerLM');
    const keys: tf.Tensor4D[] = [];
    const values: tf.Tensor4D[] = [];
    const useCache = !!options.useCache && !options.recompute;
    const logits = tf.tidy(() => {
      const ctx: CallContext = { bias: new Map(this.windows.map((w) => [w, attentionBias(maskData, B, total, T, w)])) };
      if (a.rope) {
        const { cos, sin } = ropeCosSin(a.rope, positions);
        ctx.rope = { cos: tf.tensor4d(cos, [B, 1, T, a.rope.dim]), sin: tf.tensor4d(sin, [B, 1, T, a.rope.dim]) };
      }
      let x: tf.Tensor3D = inputEmbeds;
      if (this.projectIn) x = linear(x, this.projectIn);
      if (this.positions) {
        const idx = tf.tensor2d(positions.map((p) => p + a.learnedPositions!.offset), [B, T], 'int32');
        x = tf.add(x, tf.gather(this.positions, idx)) as tf.Tensor3D;
      }
      for (let l = 0; l < this.blocks.length; l++) {
        if (options.recompute) x = this.recomputedBlock(x, l, ctx);
        else {
          const pk = past && (past.batch === B ? past.keys[l] : tf.tile(past.keys[l], [B, 1, 1, 1]) as tf.Tensor4D);
          const pv = past && (past.batch === B ? past.values[l] : tf.tile(past.values[l], [B, 1, 1, 1]) as tf.Tensor4D);
          x = this.block(x, l, ctx, pk, pv, useCache ? { keys, values } : undefined);
        }
      }
      if (this.finalNorm) x = norm(x, this.finalNorm);
      if (this.projectOut) x = linear(x, this.projectOut);
      const out = this.logits(x, options);
      for (const t of [...keys, ...values]) tf.keep(t);
      return out;
    });
    return useCache ? { logits, pastKeyValues: new TransformerKVCache(keys, values, total) } : { logits };
  }

  /** Logits of the final hidden states x [B, T, E] at the positions `options` asks for. */
  private logits(x: tf.Tensor3D, options: ForwardOptions): tf.Tensor3D {
    const [B, T, E] = x.shape;
    const { rows: picks, shape } = logitRows(options, B, T, this.config.vocabSize);
    const flat = tf.reshape(x, [B * T, E]) as tf.Tensor2D;
    const rows = picks ? (tf.gather(flat, tf.tensor1d(picks, 'int32')) as tf.Tensor2D) : flat;
    let out: tf.Tensor = headLogits(rows, this.headEV, this.headVE);
    if (this.headBias) out = tf.add(out, this.headBias);
    const cap = this.config.finalSoftcap;
    if (cap !== undefined) out = tf.mul(tf.tanh(tf.div(out, cap)), cap);
    if (options.logProbs) out = tf.logSoftmax(out);
    return tf.reshape(out, shape) as tf.Tensor3D;
  }

  /** One block with gradient checkpointing: only its input is kept, and it runs again in the backward pass. */
  private recomputedBlock(x: tf.Tensor3D, l: number, ctx: CallContext): tf.Tensor3D {
    const extras = [...ctx.bias.values(), ...(ctx.rope ? [ctx.rope.cos, ctx.rope.sin] : [])];
    const rebuild = (saved: tf.Tensor[]): CallContext => {
      const bias = new Map<number, tf.Tensor4D>();
      this.windows.forEach((w, i) => bias.set(w, saved[i] as tf.Tensor4D));
      const r = ctx.rope ? { cos: saved[this.windows.length] as tf.Tensor4D, sin: saved[this.windows.length + 1] as tf.Tensor4D } : undefined;
      return { bias, rope: r };
    };
    const f = customOp((xin: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xin, ...extras]);
      return {
        value: this.block(xin as tf.Tensor3D, l, ctx),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const c2 = rebuild(saved.slice(1));
          // A tf.grad inside a backward pass starts a new tape and then drops the engine's active
          // tape, which the outer backward pass still needs: put it back.
          const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
          const outerTape = state.activeTape;
          try {
            return tf.grad((xr: tf.Tensor) => this.block(xr as tf.Tensor3D, l, c2))(saved[0], dy);
          } finally {
            state.activeTape = outerTape;
          }
        },
      };
    });
    return f(x) as tf.Tensor3D;
  }

  private block(
    x: tf.Tensor3D, l: number, ctx: CallContext, pastK?: tf.Tensor4D, pastV?: tf.Tensor4D, cacheOut?: { keys: tf.Tensor4D[]; values: tf.Tensor4D[] },
  ): tf.Tensor3D {
    const bw = this.blocks[l];
    const attn = (h: tf.Tensor3D) => this.attention(h, l, ctx, pastK, pastV, cacheOut);
    const mlp = (h: tf.Tensor3D) => {
      const act = this.config.activation;
      const inner = bw.gate ? tf.mul(activate(linear(h, bw.gate), act), linear(h, bw.up)) : activate(linear(h, bw.up), act);
      return linear(inner as tf.Tensor3D, bw.down);
    };
    switch (this.config.layout) {
      case 'pre': {
        const y = tf.add(x, attn(norm(x, bw.norm1))) as tf.Tensor3D;
        return tf.add(y, mlp(norm(y, bw.norm2))) as tf.Tensor3D;
      }
      case 'post': {
        const y = norm(tf.add(x, attn(x)) as tf.Tensor3D, bw.norm1);
        return norm(tf.add(y, mlp(y)) as tf.Tensor3D, bw.norm2);
      }
      case 'sandwich': {
        const y = tf.add(x, norm(attn(norm(x, bw.norm1)), bw.attnOutNorm!)) as tf.Tensor3D;
        return tf.add(y, norm(mlp(norm(y, bw.norm2)), bw.mlpOutNorm!)) as tf.Tensor3D;
      }
      case 'parallel':
        return tf.add(tf.add(mlp(norm(x, bw.norm2)), attn(norm(x, bw.norm1))), x) as tf.Tensor3D;
    }
  }

  private attention(
    h: tf.Tensor3D, l: number, ctx: CallContext, pastK: tf.Tensor4D | undefined, pastV: tf.Tensor4D | undefined,
    cacheOut?: { keys: tf.Tensor4D[]; values: tf.Tensor4D[] },
  ): tf.Tensor3D {
    const bw = this.blocks[l];
    const { heads, kvHeads, headDim: dh } = this.config;
    const [B, T] = h.shape;
    const split = (t: tf.Tensor3D, n: number) => tf.transpose(tf.reshape(t, [B, T, n, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
    let q = split(linear(h, bw.q), heads);
    let k = split(linear(h, bw.k), kvHeads);
    let v = split(linear(h, bw.v), kvHeads);
    if (bw.qNorm) q = norm(q, bw.qNorm);
    if (bw.kNorm) k = norm(k, bw.kNorm);
    if (ctx.rope) {
      q = rope(q, ctx.rope.cos, ctx.rope.sin);
      k = rope(k, ctx.rope.cos, ctx.rope.sin);
    }
    if (pastK && pastV) {
      k = tf.concat([pastK, k], 2);
      v = tf.concat([pastV, v], 2);
    }
    cacheOut?.keys.push(k);
    cacheOut?.values.push(v);
    const o = attend(q, k, v, ctx.bias.get(this.config.slidingWindows[l])!, this.config.attnScales[l], this.config.attnSoftcap);
    const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, T, heads * dh]) as tf.Tensor3D;
    return linear(merged, bw.o);
  }

  /** Every weight tensor (once each). */
  private tensors(): Set<tf.Tensor> {
    const seen = new Set<tf.Tensor>();
    const add = (t: tf.Tensor | undefined) => { if (t) seen.add(t); };
    const addLinear = (l?: Linear) => { add(l?.w); add(l?.b); };
    const addNorm = (n?: Norm) => { add(n?.g); add(n?.b); };
    add(this.embed); add(this.positions); add(this.headEV); add(this.headVE); add(this.headBias);
    addLinear(this.projectIn); addLinear(this.projectOut); addNorm(this.finalNorm);
    for (const b of this.blocks) {
      for (const n of [b.norm1, b.norm2, b.attnOutNorm, b.mlpOutNorm, b.qNorm, b.kNorm]) addNorm(n);
      for (const l of [b.q, b.k, b.v, b.o, b.gate, b.up, b.down]) addLinear(l);
    }
    return seen;
  }

  dispose(): void {
    for (const t of this.tensors()) if (!t.isDisposed) t.dispose();
  }
}
