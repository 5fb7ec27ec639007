/**
 * Test helper: an independent plain-JS forward of the supported decoder families, written from
 * the Hugging Face modelling code (not from the exporter): straightforward loops in float64 over
 * one unpadded sequence at positions 0..T-1. Reads the raw config.json fields and HF tensor names.
 */
type W = Map<string, { shape: readonly number[]; data: Float32Array }>;
type Mat = Float64Array; // row-major

function get(w: W, names: string[]): Float32Array {
  for (const n of names) { const t = w.get(n); if (t) return t.data; }
  throw new Error(`reference: none of ${names.join(', ')}`);
}
function maybe(w: W, names: string[]): Float32Array | undefined {
  for (const n of names) { const t = w.get(n); if (t) return t.data; }
  return undefined;
}

/** y[t, o] = sum_i x[t, i] W[i, o] + b[o]  (W stored [in, out], GPT-2 Conv1D). */
function conv1d(x: Mat, T: number, inD: number, Wt: Float32Array, outD: number, b?: Float32Array): Mat {
  const y = new Float64Array(T * outD);
  for (let t = 0; t < T; t++) for (let o = 0; o < outD; o++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < inD; i++) s += x[t * inD + i] * Wt[i * outD + o];
    y[t * outD + o] = s;
  }
  return y;
}
/** y[t, o] = sum_i x[t, i] W[o, i] + b[o]  (W stored [out, in], torch Linear). */
function linear(x: Mat, T: number, inD: number, Wt: Float32Array, outD: number, b?: Float32Array): Mat {
  const y = new Float64Array(T * outD);
  for (let t = 0; t < T; t++) for (let o = 0; o < outD; o++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < inD; i++) s += x[t * inD + i] * Wt[o * inD + i];
    y[t * outD + o] = s;
  }
  return y;
}
function layerNorm(x: Mat, T: number, D: number, g: Float32Array | undefined, b: Float32Array | undefined, eps: number): Mat {
  const y = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    let mean = 0; for (let i = 0; i < D; i++) mean += x[t * D + i]; mean /= D;
    let v = 0; for (let i = 0; i < D; i++) v += (x[t * D + i] - mean) ** 2; v /= D;
    for (let i = 0; i < D; i++) y[t * D + i] = ((x[t * D + i] - mean) / Math.sqrt(v + eps)) * (g ? g[i] : 1) + (b ? b[i] : 0);
  }
  return y;
}
function rmsNorm(x: Mat, T: number, D: number, g: Float32Array, eps: number): Mat {
  const y = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    let ms = 0; for (let i = 0; i < D; i++) ms += x[t * D + i] ** 2; ms /= D;
    for (let i = 0; i < D; i++) y[t * D + i] = (x[t * D + i] / Math.sqrt(ms + eps)) * g[i];
  }
  return y;
}
const add = (a: Mat, b: Mat): Mat => a.map((v, i) => v + b[i]);
const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const silu = (v: number) => v / (1 + Math.exp(-v));

/** Rotary embedding in place on [T, heads * hd] (rotate_half layout). */
function rope(x: Mat, T: number, heads: number, hd: number, theta: number): void {
  const half = hd / 2;
  for (let t = 0; t < T; t++) for (let h = 0; h < heads; h++) {
    const o = t * heads * hd + h * hd;
    for (let i = 0; i < half; i++) {
      const ang = t / theta ** ((2 * i) / hd);
      const c = Math.cos(ang), s = Math.sin(ang);
      const a = x[o + i], b = x[o + half + i];
      x[o + i] = a * c - b * s;
      x[o + half + i] = b * c + a * s;
    }
  }
}

/** Causal attention: q [T, nh*hd], k/v [T, kvh*hd] -> [T, nh*hd]; q head h uses kv head floor(h / (nh / kvh)). */
function attention(q: Mat, k: Mat, v: Mat, T: number, nh: number, kvh: number, hd: number, scale: number): Mat {
  const out = new Float64Array(T * nh * hd);
  const rep = nh / kvh;
  for (let h = 0; h < nh; h++) {
    const kh = Math.floor(h / rep);
    for (let t = 0; t < T; t++) {
      const s = new Float64Array(t + 1);
      let max = -Infinity;
      for (let u = 0; u <= t; u++) {
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[t * nh * hd + h * hd + i] * k[u * kvh * hd + kh * hd + i];
        s[u] = d * scale; max = Math.max(max, s[u]);
      }
      let z = 0; for (let u = 0; u <= t; u++) { s[u] = Math.exp(s[u] - max); z += s[u]; }
      for (let u = 0; u <= t; u++) for (let i = 0; i < hd; i++) out[t * nh * hd + h * hd + i] += (s[u] / z) * v[u * kvh * hd + kh * hd + i];
    }
  }
  return out;
}
function split(x: Mat, T: number, sizes: number[]): Mat[] {
  const D = sizes.reduce((a, b) => a + b, 0);
  let off = 0;
  return sizes.map((n) => {
    const y = new Float64Array(T * n);
    for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) y[t * n + i] = x[t * D + off + i];
    off += n;
    return y;
  });
}

/** Logits [T, V] (float64) of one unpadded sequence of input embeddings `embeds` [T, E]. */
export function referenceForward(hf: Record<string, any>, w: W, embeds: Float32Array, T: number): Float64Array {
  const type = hf.model_type as string;
  let x: Mat;
  let logitsIn: Mat;
  let head: Float32Array;
  let D: number;
  const V = hf.vocab_size as number;
  if (type === 'gpt2') {
    const H = hf.n_embd, nh = hf.n_head, hd = H / nh, eps = hf.layer_norm_epsilon ?? 1e-5, I = hf.n_inner ?? 4 * H;
    const g = (n: string) => get(w, [n, `transformer.${n}`]);
    const wpe = g('wpe.weight');
    x = Float64Array.from(embeds, (v, i) => v + wpe[i]); // positions 0..T-1 row-major line up
    for (let l = 0; l < hf.n_layer; l++) {
      const p = `h.${l}.`;
      let h = layerNorm(x, T, H, g(`${p}ln_1.weight`), g(`${p}ln_1.bias`), eps);
      const [q, k, v] = split(conv1d(h, T, H, g(`${p}attn.c_attn.weight`), 3 * H, g(`${p}attn.c_attn.bias`)), T, [H, H, H]);
      x = add(x, conv1d(attention(q, k, v, T, nh, nh, hd, 1 / Math.sqrt(hd)), T, H, g(`${p}attn.c_proj.weight`), H, g(`${p}attn.c_proj.bias`)));
      h = layerNorm(x, T, H, g(`${p}ln_2.weight`), g(`${p}ln_2.bias`), eps);
      h = conv1d(h, T, H, g(`${p}mlp.c_fc.weight`), I, g(`${p}mlp.c_fc.bias`)).map(geluTanh);
      x = add(x, conv1d(h, T, I, g(`${p}mlp.c_proj.weight`), H, g(`${p}mlp.c_proj.bias`)));
    }
    logitsIn = layerNorm(x, T, H, g('ln_f.weight'), g('ln_f.bias'), eps);
    head = maybe(w, ['lm_head.weight']) ?? g('wte.weight');
    D = H;
  } else if (type === 'opt') {
    const H = hf.hidden_size, nh = hf.num_attention_heads, hd = H / nh, I = hf.ffn_dim;
    const E = hf.word_embed_proj_dim ?? H;
    const pre = hf.do_layer_norm_before !== false;
    const g = (n: string) => get(w, [`model.decoder.${n}`, `decoder.${n}`]);
    const o = (n: string) => maybe(w, [`model.decoder.${n}`, `decoder.${n}`]);
    let inp: Mat = Float64Array.from(embeds);
    if (E !== H) inp = linear(inp, T, E, g('project_in.weight'), H);
    const pos = g('embed_positions.weight');
    x = inp.map((v, i) => v + pos[2 * H + i]); // position t uses row t + 2
    const ln = (y: Mat, n: string) => layerNorm(y, T, H, o(`${n}.weight`), o(`${n}.bias`), 1e-5);
    for (let l = 0; l < hf.num_hidden_layers; l++) {
      const p = `layers.${l}.`;
      const a = `${p}self_attn.`;
      let h = pre ? ln(x, `${p}self_attn_layer_norm`) : x;
      const q = linear(h, T, H, g(`${a}q_proj.weight`), H, o(`${a}q_proj.bias`)).map((v) => v * hd ** -0.5);
      const k = linear(h, T, H, g(`${a}k_proj.weight`), H, o(`${a}k_proj.bias`));
      const v = linear(h, T, H, g(`${a}v_proj.weight`), H, o(`${a}v_proj.bias`));
      h = linear(attention(q, k, v, T, nh, nh, hd, 1), T, H, g(`${a}out_proj.weight`), H, o(`${a}out_proj.bias`));
      x = add(x, h);
      if (!pre) x = ln(x, `${p}self_attn_layer_norm`);
      h = pre ? ln(x, `${p}final_layer_norm`) : x;
      h = linear(h, T, H, g(`${p}fc1.weight`), I, o(`${p}fc1.bias`)).map((z) => Math.max(0, z));
      x = add(x, linear(h, T, I, g(`${p}fc2.weight`), H, o(`${p}fc2.bias`)));
      if (!pre) x = ln(x, `${p}final_layer_norm`);
    }
    if (pre && !hf._remove_final_layer_norm) x = ln(x, 'final_layer_norm');
    if (E !== H) x = linear(x, T, H, g('project_out.weight'), E);
    logitsIn = x;
    head = maybe(w, ['lm_head.weight']) ?? g('embed_tokens.weight');
    D = E;
  } else {
    const H = hf.hidden_size, nh = hf.num_attention_heads, kvh = hf.num_key_value_heads ?? nh;
    const hd = hf.head_dim ?? H / nh, I = hf.intermediate_size, eps = hf.rms_norm_eps ?? 1e-6, theta = hf.rope_theta ?? 10000;
    const g = (n: string) => get(w, [`model.${n}`]);
    const o = (n: string) => maybe(w, [`model.${n}`]);
    x = Float64Array.from(embeds);
    for (let l = 0; l < hf.num_hidden_layers; l++) {
      const p = `layers.${l}.`;
      const a = `${p}self_attn.`;
      let h = rmsNorm(x, T, H, g(`${p}input_layernorm.weight`), eps);
      const q = linear(h, T, H, g(`${a}q_proj.weight`), nh * hd, o(`${a}q_proj.bias`));
      const k = linear(h, T, H, g(`${a}k_proj.weight`), kvh * hd, o(`${a}k_proj.bias`));
      const v = linear(h, T, H, g(`${a}v_proj.weight`), kvh * hd, o(`${a}v_proj.bias`));
      rope(q, T, nh, hd, theta); rope(k, T, kvh, hd, theta);
      x = add(x, linear(attention(q, k, v, T, nh, kvh, hd, 1 / Math.sqrt(hd)), T, nh * hd, g(`${a}o_proj.weight`), H, o(`${a}o_proj.bias`)));
      h = rmsNorm(x, T, H, g(`${p}post_attention_layernorm.weight`), eps);
      const gate = linear(h, T, H, g(`${p}mlp.gate_proj.weight`), I);
      const up = linear(h, T, H, g(`${p}mlp.up_proj.weight`), I);
      x = add(x, linear(gate.map((z, i) => silu(z) * up[i]), T, I, g(`${p}mlp.down_proj.weight`), H));
    }
    logitsIn = rmsNorm(x, T, H, g('norm.weight'), eps);
    head = hf.tie_word_embeddings ? g('embed_tokens.weight') : get(w, ['lm_head.weight']);
    D = H;
  }
  return linear(logitsIn, T, D, head, V);
}

/** log-softmax of row `t` of [T, V] logits, at index `id`. */
export function logProb(logits: ArrayLike<number>, V: number, t: number, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[t * V + i]);
  let z = 0;
  for (let i = 0; i < V; i++) z += Math.exp(logits[t * V + i] - max);
  return logits[t * V + id] - max - Math.log(z);
}
