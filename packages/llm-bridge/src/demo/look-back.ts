/**
 * The wired look-back heads of `GPT2Spec.lookBack`, written by hand: layer-0 heads that start out
 * attending `offset` positions back (each slot receives its title) or to position 0 (the user
 * slot), their position frequencies and scales, and the hold that keeps them as wired
 * (`PretrainOptions.lookBack.hold`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GPT2Spec } from './gpt2-trainable';
import { MIMETIC_OV } from './mimetic';

/** Amplitude of the position pairs of `GPT2Spec.lookBack`. */
export const LOOK_BACK_AMPLITUDE = 0.3;
/** Logit margin of a look-back head between its offset and the next-best position, at initialisation. */
const LOOK_BACK_MARGIN = 16;

/**
 * Frequencies of the position pairs of `GPT2Spec.lookBack`: ω_i = π/2^i, so Σ_i cos(d·ω_i) falls
 * from P/2 at d = 0 to at most P/2 − 2 elsewhere (the ω = π pair alone separates neighbours), and
 * repeats only after 2^(P/2) positions. With `match`, ω_i = π·ρ^i with ρ in [0.3, 0.8] chosen to
 * keep the largest Σ_i cos(d·ω_i) over d in 1..maxPositions−1 lowest (for 8 pairs and 256
 * positions: 4.2 at ρ = 0.6, against 6 for π/2^i), because a title row's larger LayerNorm σ
 * shrinks its key and a near-alias then wins over it in long prompts.
 */
export function lookBackFrequencies(spec: GPT2Spec): number[] {
  const pairs = spec.hidden / spec.heads / 2;
  const at = (rho: number) => Array.from({ length: pairs }, (_, i) => Math.PI * rho ** i);
  if (!spec.lookBack?.match) return at(0.5);
  let best = { alias: Infinity, rho: 0.5 };
  for (let k = 300; k <= 800; k++) {
    const omega = at(k / 1000);
    const alias = largestAlias(omega, spec.maxPositions);
    if (alias < best.alias - 1e-9) best = { alias, rho: k / 1000 };
  }
  return at(best.rho);
}

/** max over d in 1..positions−1 of Σ_i cos(d·ω_i). */
function largestAlias(omega: number[], positions: number): number {
  let best = -Infinity;
  for (let d = 1; d < positions; d++) {
    let sum = 0;
    for (const w of omega) sum += Math.cos(d * w);
    best = Math.max(best, sum);
  }
  return best;
}

/**
 * Gain of position 0's pairs when first-position heads are on: the user slot's vector there would
 * otherwise dominate LayerNorm's σ at position 0 and shrink the key those heads look for below
 * its neighbours'.
 */
export const FIRST_POSITION_GAIN = 4;

/** Scales of the wired layer-0 heads (see {@link lookBackScales}). */
export interface LookBackScales {
  /** σ² of LayerNorm at a typical position: (mean token row² + mean position row²) / H. */
  sigma2: number;
  /** W_O gain of the look-back heads and of the first-position heads (position 0's σ is larger). */
  gamma: number;
  gamma0: number;
  /** Query gain that gives the look-back margin. */
  kappa: number;
  /** Frequencies of the position pairs ({@link lookBackFrequencies}). */
  omega: number[];
}

/**
 * The scales of `GPT2Spec.lookBack`'s heads, from the initial token and position tables. They
 * assume the first LayerNorm divides by σ ≈ the rms of a token row plus a position row.
 */
export function lookBackScales(spec: GPT2Spec, wte: tf.Variable, wpe: tf.Variable, omega: number[]): LookBackScales {
  const { hidden: H, heads } = spec;
  const dh = H / heads;
  const tok = wte.dataSync() as Float32Array;
  const pos = wpe.dataSync() as Float32Array;
  const rows = tok.length / H;
  let tokSq = 0;
  for (let i = 0; i < tok.length; i++) tokSq += tok[i] * tok[i];
  let posSq = 0;
  for (let i = 0; i < pos.length; i++) posSq += pos[i] * pos[i];
  const sigma2 = (tokSq / rows + posSq / (pos.length / H)) / H;
  const gamma = MIMETIC_OV * Math.sqrt(sigma2); // W_O: copies about half a token row
  // Position 0's LayerNorm divides by a larger σ (its pairs are FIRST_POSITION_GAIN times larger):
  // the first-position heads' W_O makes up for it, so they too copy about half of what sits there.
  let row0Sq = 0;
  for (let j = 0; j < H; j++) row0Sq += pos[j] * pos[j];
  const gamma0 = MIMETIC_OV * Math.sqrt((tokSq / rows + row0Sq) / H);
  // Margin of Σ_i cos(d·ω_i) between d = 0 and the best d ≠ 0 within the table.
  const best = largestAlias(omega, spec.maxPositions);
  if (best > dh / 2 - 1) throw new RangeError(`lookBack: ${H / heads} position dimensions tell apart at most ${2 ** (dh / 2)} positions, not ${spec.maxPositions}; use a larger hidden size or fewer heads`);
  const kappa = (LOOK_BACK_MARGIN * Math.sqrt(dh) * sigma2) / (LOOK_BACK_AMPLITUDE ** 2 * (dh / 2 - best));
  return { sigma2, gamma, gamma0, kappa, omega };
}

/**
 * Rewrites layer 0's c_attn [H, 3H] ('qkv'), its bias [3H] ('bias') or c_proj [H, H] ('proj') in
 * place so its last `lookBack.heads` heads attend `lookBack.offset` positions back and the
 * `lookBack.first` heads before them attend to position 0 (see `GPT2Spec.lookBack`).
 */
export function lookBackHeads(w: Float32Array, part: 'qkv' | 'proj' | 'bias', spec: GPT2Spec, { sigma2, gamma, gamma0, kappa, omega }: LookBackScales): void {
  const { hidden: H, heads } = spec;
  const { offset, heads: n, first = 0 } = spec.lookBack!;
  const dh = H / heads;
  const h0 = heads - n - first; // first-position heads [h0, heads - n), look-back heads [heads - n, heads)
  if (part === 'proj') {
    for (let h = h0; h < heads; h++) {
      const g = h < heads - n ? gamma0 : gamma;
      for (let r = h * dh; r < (h + 1) * dh; r++) for (let c = 0; c < H; c++) w[r * H + c] = r === c ? g : 0;
    }
    return;
  }
  if (part === 'bias') {
    // Query = the position-0 pattern (sin 0, cos 0) = (0, 1) per pair, as LayerNorm leaves it (÷σ).
    for (let h = h0; h < heads - n; h++) for (let i = 0; i < dh / 2; i++) w[h * dh + 2 * i + 1] = (kappa * LOOK_BACK_AMPLITUDE) / Math.sqrt(sigma2);
    return;
  }
  for (let h = h0; h < heads; h++) {
    const look = h >= heads - n;
    const q0 = h * dh;
    const k0 = H + h * dh;
    const v0 = 2 * H + h * dh;
    for (let i = 0; i < H; i++) for (let j = 0; j < dh; j++) { w[i * 3 * H + q0 + j] = 0; w[i * 3 * H + k0 + j] = 0; w[i * 3 * H + v0 + j] = 0; }
    for (let i = 0; i < dh / 2; i++) {
      const c = Math.cos(offset * omega[i]);
      const s = Math.sin(offset * omega[i]);
      // q_sin = c·x_sin − s·x_cos, q_cos = s·x_sin + c·x_cos: the pair rotated back by offset·ω_i.
      // (A first-position head's query is its bias alone.)
      if (look) {
        w[2 * i * 3 * H + q0 + 2 * i] = kappa * c;
        w[(2 * i + 1) * 3 * H + q0 + 2 * i] = -kappa * s;
        w[2 * i * 3 * H + q0 + 2 * i + 1] = kappa * s;
        w[(2 * i + 1) * 3 * H + q0 + 2 * i + 1] = kappa * c;
      }
      w[2 * i * 3 * H + k0 + 2 * i] = 1;
      w[(2 * i + 1) * 3 * H + k0 + 2 * i + 1] = 1;
    }
    for (let j = 0; j < dh; j++) w[(h * dh + j) * 3 * H + v0 + j] = 1;
  }
}

/** Names of the weights `PretrainOptions.lookBack.hold` keeps as wired (with wte's position columns). */
export const WIRED = ['wpe.weight', 'h.0.ln_1.weight', 'h.0.ln_1.bias', 'h.0.attn.c_attn.weight', 'h.0.attn.c_attn.bias', 'h.0.attn.c_proj.weight', 'h.0.attn.c_proj.bias'];

/** Drops the gradients of the wired weights and zeroes wte's on the position dimensions (in a tidy). */
export function holdWired(grads: Map<string, tf.Tensor>, spec: GPT2Spec): void {
  for (const n of WIRED) grads.delete(n);
  const g = grads.get('wte.weight');
  if (g) {
    const P = spec.hidden / spec.heads;
    grads.set('wte.weight', tf.concat([tf.zeros([spec.vocabSize, P]), tf.slice(g, [0, P], [spec.vocabSize, spec.hidden - P])], 1));
  }
}
