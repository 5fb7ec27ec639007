/**
 * Exports a decoder ({@link DecoderArch} + {@link DecoderData}, the same description the tfjs
 * runtime reads) to an ONNX graph that onnxruntime runs from input embeddings.
 *
 * Graph contract (opset 17, float32):
 * - inputs: `inputs_embeds` [batch, seq, E]; `attention_bias` [batch, 1, seq, total] (0 = attend,
 *   -1e9 = not: causal + padding, built by the caller with layers.ts's attentionBiasData) and one
 *   `attention_bias.window_{W}` per distinct sliding window W; `position_ids` [batch, seq] int64
 *   (learned positions only); `rope_cos` / `rope_sin` [batch, seq, rotary_dim] (RoPE only, from
 *   decoder/rope.ts); `logit_rows` [n] int64 (the flat positions b·seq + t whose logits are
 *   computed: the rest never reach the vocabulary projection);
 *   `past_key_values.{i}.key` / `.value` [past_batch, kvHeads, past, headDim] per layer
 *   (past_batch = batch, or 1 to share one prefix with every row; past may be 0).
 * - outputs: `logits` [n, vocab]; `log_probs` (their log-softmax, computed only when fetched); `present.{i}.key` / `.value` [batch, kvHeads, total, headDim]
 *   (keys after RoPE).
 * Masks and RoPE tables are inputs so the host computes them with the same functions as the tfjs
 * runtime: every rope type and sliding window is then the same code on both runtimes.
 */
import type { DecoderArch, DecoderData, LinearData, NormData } from '../decoder/arch';
import { DataType, GraphBuilder, attr, encodeModel, type EncodeOptions, type EncodedModel, type ModelSpec } from './onnx-proto';

/** Bumped whenever the exported graph changes (part of the cache key). */
export const ONNX_EXPORT_VERSION = 6;

/** Input / output names of the exported graph. */
export const ONNX_IO = {
  inputsEmbeds: 'inputs_embeds',
  attentionBias: 'attention_bias',
  windowBias: (w: number) => `attention_bias.window_${w}`,
  positionIds: 'position_ids',
  ropeCos: 'rope_cos',
  ropeSin: 'rope_sin',
  logitRows: 'logit_rows',
  logits: 'logits',
  logProbs: 'log_probs',
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
} as const;

/** Options of {@link buildDecoderModel}. */
export interface OnnxExportOptions extends EncodeOptions {
  /** Graph name (default `<modelType>_decoder`). */
  graphName?: string;
}

/** The distinct sliding windows of a decoder (0 = full causal attention). */
export function windowsOf(a: DecoderArch): number[] {
  return [...new Set(a.slidingWindows)];
}

/** Builds the ONNX model of a decoder (see the module comment for the graph contract). */
export function buildDecoderModel(a: DecoderArch, d: DecoderData, options: OnnxExportOptions = {}): ModelSpec {
  const g = new GraphBuilder();
  const { heads: nh, kvHeads: kvh, headDim: hd, hiddenSize: E, vocabSize: V } = a;
  if (nh % kvh !== 0) throw new Error(`ONNX export: heads (${nh}) must be a multiple of kvHeads (${kvh})`);
  const rep = nh / kvh;
  const X = ONNX_IO.inputsEmbeds;
  const R = ONNX_IO.logitRows;
  const inputs: ModelSpec['graph']['inputs'] = [
    { name: X, elemType: DataType.FLOAT, dims: ['batch', 'seq', E] },
    { name: R, elemType: DataType.INT64, dims: ['n'] },
  ];
  const biasOf = new Map<number, string>();
  for (const w of windowsOf(a)) {
    const name = w === 0 ? ONNX_IO.attentionBias : ONNX_IO.windowBias(w);
    biasOf.set(w, name);
    inputs.push({ name, elemType: DataType.FLOAT, dims: ['batch', 1, 'seq', 'total'] });
  }
  let counter = 0;
  const name = (prefix: string) => `${prefix}.${counter++}`;
  const lin = (x: string, l: LinearData): string => {
    const [inDim, outDim] = l.w.shape;
    const y = g.op('MatMul', [x, g.float(name('w'), [inDim, outDim], l.w.data)]);
    return l.b ? g.op('Add', [y, g.float(name('b'), [outDim], l.b.data)]) : y;
  };
  /** Several linear layers of the same input as one MatMul (weights side by side), split after. */
  const linMany = (x: string, ls: LinearData[]): string[] => {
    const inDim = ls[0].w.shape[0];
    const widths = ls.map((l) => l.w.shape[1]);
    const total = widths.reduce((a, b) => a + b, 0);
    const w = new Float32Array(inDim * total);
    for (let r = 0; r < inDim; r++) {
      let o = r * total;
      for (const l of ls) { w.set(l.w.data.subarray(r * l.w.shape[1], (r + 1) * l.w.shape[1]), o); o += l.w.shape[1]; }
    }
    let y = g.op('MatMul', [x, g.float(name('w'), [inDim, total], w)]);
    if (ls.some((l) => l.b)) {
      const b = new Float32Array(total);
      let o = 0;
      for (const l of ls) { if (l.b) b.set(l.b.data, o); o += l.w.shape[1]; }
      y = g.op('Add', [y, g.float(name('b'), [total], b)]);
    }
    return g.opN('Split', [y, g.int64(widths)], ls.length, { axis: attr.int(-1) });
  };
  const nrm = (x: string, n: NormData, kind: 'layer' | 'rms' = a.norm): string => {
    const dim = n.g.shape[0];
    if (kind === 'layer') {
      return g.op('LayerNormalization', [x, g.float(name('g'), [dim], n.g.data), g.float(name('b'), [dim], n.b?.data ?? new Float32Array(dim))],
        { axis: attr.int(-1), epsilon: attr.float(a.normEps) });
    }
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: attr.ints([-1]), keepdims: attr.int(1) });
    const normed = g.op('Mul', [x, g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(a.normEps)])])])]);
    return g.op('Mul', [g.float(name('g'), [dim], n.g.data), normed]);
  };
  const activation = (x: string): string => {
    switch (a.activation) {
      case 'relu': return g.op('Relu', [x]);
      case 'silu': return g.op('Mul', [x, g.op('Sigmoid', [x])]);
      case 'gelu': {
        const erf = g.op('Erf', [g.op('Mul', [x, g.scalar(Math.SQRT1_2)])]);
        return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [erf, g.scalar(1)])]);
      }
      case 'gelu_tanh': {
        const cube = g.op('Pow', [x, g.scalar(3)]);
        const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
        return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.scalar(1)])]);
      }
    }
  };
  const softcap = (x: string, cap: number) => g.op('Mul', [g.op('Tanh', [g.op('Div', [x, g.scalar(cap)])]), g.scalar(cap)]);

  // RoPE tables [B, T, 1, rd], broadcast over heads.
  let rope: { cos: string; sin: string; dim: number } | undefined;
  if (a.rope) {
    inputs.push({ name: ONNX_IO.ropeCos, elemType: DataType.FLOAT, dims: ['batch', 'seq', a.rope.dim] });
    inputs.push({ name: ONNX_IO.ropeSin, elemType: DataType.FLOAT, dims: ['batch', 'seq', a.rope.dim] });
    const unsq = (n: string) => g.op('Unsqueeze', [n, g.int64([2])]);
    rope = { cos: unsq(ONNX_IO.ropeCos), sin: unsq(ONNX_IO.ropeSin), dim: a.rope.dim };
  }
  const applyRope = (x: string): string => {
    // x [B, T, h, hd]: the first rd dims rotate (x·cos + rotate_half(x)·sin), the rest pass.
    const rd = rope!.dim;
    const [xr, xp] = rd === hd ? [x, undefined] : g.opN('Split', [x, g.int64([rd, hd - rd])], 2, { axis: attr.int(-1) });
    const [x1, x2] = g.opN('Split', [xr, g.int64([rd / 2, rd / 2])], 2, { axis: attr.int(-1) });
    const rot = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: attr.int(-1) });
    const y = g.op('Add', [g.op('Mul', [xr, rope!.cos]), g.op('Mul', [rot, rope!.sin])]);
    return xp ? g.op('Concat', [y, xp], { axis: attr.int(-1) }) : y;
  };

  // Past broadcast target [B, 1, 1, 1] (a batch-1 past is shared by every row).
  const B1 = g.op('Gather', [g.op('Shape', [X]), g.int64([0], [1])], { axis: attr.int(0) });
  const pastExpand = g.op('Concat', [B1, g.int64([1, 1, 1])], { axis: attr.int(0) });
  const pastInputs: string[] = [];
  const presentOutputs: string[] = [];

  const attention = (h: string, l: number): string => {
    const bw = d.blocks[l];
    const [q0, k0, v0] = linMany(h, [bw.q, bw.k, bw.v]);
    let q = g.op('Reshape', [q0, g.int64([0, 0, nh, hd])]);
    let k = g.op('Reshape', [k0, g.int64([0, 0, kvh, hd])]);
    const v4 = g.op('Reshape', [v0, g.int64([0, 0, kvh, hd])]);
    if (bw.qNorm) q = nrm(q, bw.qNorm, 'rms');
    if (bw.kNorm) k = nrm(k, bw.kNorm, 'rms');
    if (rope) { q = applyRope(q); k = applyRope(k); }
    q = g.op('Mul', [g.op('Transpose', [q], { perm: attr.ints([0, 2, 1, 3]) }), g.scalar(a.attnScales[l])]); // [B, nh, T, hd]
    const pk = ONNX_IO.pastKey(l), pv = ONNX_IO.pastValue(l);
    pastInputs.push(pk, pv);
    const kNew = g.op('Transpose', [k], { perm: attr.ints([0, 2, 1, 3]) });
    const vNew = g.op('Transpose', [v4], { perm: attr.ints([0, 2, 1, 3]) });
    const kAll = g.op('Concat', [g.op('Expand', [pk, pastExpand]), kNew], { axis: attr.int(2) }, ONNX_IO.presentKey(l));
    const v = g.op('Concat', [g.op('Expand', [pv, pastExpand]), vNew], { axis: attr.int(2) }, ONNX_IO.presentValue(l));
    presentOutputs.push(kAll, v);
    const kT = g.op('Transpose', [kAll], { perm: attr.ints([0, 1, 3, 2]) }); // [B, kvh, hd, S]
    const bias = biasOf.get(a.slidingWindows[l])!;
    const scored = (s: string) => (a.attnSoftcap !== undefined ? softcap(s, a.attnSoftcap) : s);
    let ctx: string;
    if (rep === 1) {
      const probs = g.op('Softmax', [g.op('Add', [scored(g.op('MatMul', [q, kT])), bias])], { axis: attr.int(-1) });
      ctx = g.op('MatMul', [probs, v]);
    } else {
      // Grouped heads without repeating K/V: q heads j·rep .. j·rep + rep - 1 share kv head j.
      const qg = g.op('Reshape', [q, g.int64([0, kvh, -1, hd])]); // [B, kvh, rep T, hd]
      const scores = g.op('Reshape', [scored(g.op('MatMul', [qg, kT])), g.int64([0, nh, -1, 0])]); // [B, nh, T, S]
      const probs = g.op('Softmax', [g.op('Add', [scores, bias])], { axis: attr.int(-1) });
      const pg = g.op('Reshape', [probs, g.int64([0, kvh, -1, 0])]);
      ctx = g.op('Reshape', [g.op('MatMul', [pg, v]), g.int64([0, nh, -1, hd])]); // [B, nh, T, hd]
    }
    return lin(g.op('Reshape', [g.op('Transpose', [ctx], { perm: attr.ints([0, 2, 1, 3]) }), g.int64([0, 0, nh * hd])]), bw.o);
  };
  const mlp = (h: string, l: number): string => {
    const bw = d.blocks[l];
    let inner: string;
    if (bw.gate) {
      const [gate, up] = linMany(h, [bw.gate, bw.up]);
      inner = g.op('Mul', [activation(gate), up]);
    } else inner = activation(lin(h, bw.up));
    return lin(inner, bw.down);
  };

  let x: string = X;
  if (d.projectIn) x = lin(x, d.projectIn);
  if (d.positions && a.learnedPositions) {
    inputs.push({ name: ONNX_IO.positionIds, elemType: DataType.INT64, dims: ['batch', 'seq'] });
    const idx = a.learnedPositions.offset ? g.op('Add', [ONNX_IO.positionIds, g.int64([a.learnedPositions.offset], [])]) : ONNX_IO.positionIds;
    x = g.op('Add', [x, g.op('Gather', [g.float('positions', d.positions.shape, d.positions.data), idx], { axis: attr.int(0) })]);
  }
  for (let l = 0; l < a.layers; l++) {
    const bw = d.blocks[l];
    switch (a.layout) {
      case 'pre':
        x = g.op('Add', [x, attention(nrm(x, bw.norm1), l)]);
        x = g.op('Add', [x, mlp(nrm(x, bw.norm2), l)]);
        break;
      case 'post':
        x = nrm(g.op('Add', [x, attention(x, l)]), bw.norm1);
        x = nrm(g.op('Add', [x, mlp(x, l)]), bw.norm2);
        break;
      case 'sandwich':
        x = g.op('Add', [x, nrm(attention(nrm(x, bw.norm1), l), bw.attnOutNorm!)]);
        x = g.op('Add', [x, nrm(mlp(nrm(x, bw.norm2), l), bw.mlpOutNorm!)]);
        break;
      case 'parallel': {
        const at = attention(nrm(x, bw.norm1), l);
        x = g.op('Add', [g.op('Add', [mlp(nrm(x, bw.norm2), l), at]), x]);
        break;
      }
    }
  }
  if (d.finalNorm) x = nrm(x, d.finalNorm);
  if (d.projectOut) x = lin(x, d.projectOut);

  // Logits of the requested rows only: Gather them from [batch·seq, E], then Gemm with the [V, E] head (transB).
  const rows = g.op('Gather', [g.op('Reshape', [x, g.int64([-1, E])]), R], { axis: attr.int(0) }); // [n, E]
  let logits2 = g.op('Gemm', [rows, g.float('lm_head', [V, E], d.head.data)], { transB: attr.int(1) });
  if (d.headBias) logits2 = g.op('Add', [logits2, g.float('lm_head.bias', [V], d.headBias.data)]);
  if (a.finalSoftcap !== undefined) logits2 = softcap(logits2, a.finalSoftcap);
  g.op('Identity', [logits2], undefined, ONNX_IO.logits);
  // Computed only when a run fetches it: log-softmax over the vocabulary (scoring).
  g.op('LogSoftmax', [ONNX_IO.logits], { axis: attr.int(-1) }, ONNX_IO.logProbs);

  return {
    opset: 17,
    irVersion: 8,
    producerName: 'allmrec-llm-bridge',
    metadata: { allmrec_export_version: String(ONNX_EXPORT_VERSION), family: a.family, model_type: a.modelType },
    graph: {
      name: options.graphName ?? `${a.modelType}_decoder`,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [...inputs, ...pastInputs.map((n) => ({ name: n, elemType: DataType.FLOAT, dims: ['past_batch', kvh, 'past', hd] }))],
      outputs: [
        { name: ONNX_IO.logits, elemType: DataType.FLOAT, dims: ['n', V] },
        { name: ONNX_IO.logProbs, elemType: DataType.FLOAT, dims: ['n', V] },
        ...presentOutputs.map((n) => ({ name: n, elemType: DataType.FLOAT, dims: ['batch', kvh, 'total', hd] })),
      ],
    },
  };
}

/** Exports a decoder to ONNX, with optional external data (see {@link EncodeOptions}). */
export function exportDecoderToOnnx(a: DecoderArch, d: DecoderData, options: OnnxExportOptions = {}): EncodedModel {
  return encodeModel(buildDecoderModel(a, d, options), options);
}
