/**
 * Mimetic initialisation of attention (Trockman & Kolter, ICML 2023; `GPT2Spec.mimeticInit`):
 * W_K = W_Q and W_O = W_V^T in every head.
 */
import type { Rng } from '@allmrec/core';

/** Scale of W_V·W_O at a mimetic initialisation (≈ γ·I summed over heads). */
export const MIMETIC_OV = 0.5;

/**
 * Rewrites a c_attn weight [H, 3H] (columns Q | K | V) in place: Q and V columns drawn with
 * std 1/√H so that W_Q·W_Q^T ≈ I summed over heads, and K = Q.
 */
export function mimeticQKV(w: Float32Array, H: number, rng: Rng): void {
  const std = 1 / Math.sqrt(H);
  for (let i = 0; i < H; i++) {
    const row = i * 3 * H;
    for (let j = 0; j < H; j++) {
      w[row + j] = rng.normal() * std;
      w[row + H + j] = w[row + j];
      w[row + 2 * H + j] = rng.normal() * std;
    }
  }
}
