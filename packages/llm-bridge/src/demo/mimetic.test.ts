/** Mimetic initialisation: W_K = W_Q and W_V·W_O close to a positive multiple of the identity. */
import { selectBackend } from '@allmrec/core';
import { TrainableGPT2 } from './gpt2-trainable';

beforeAll(async () => { await selectBackend(); });

test('mimetic initialisation: W_K = W_Q, and W_V·W_O is close to a positive multiple of the identity', () => {
  const H = 32;
  const spec = { vocabSize: 50, hidden: H, layers: 2, heads: 4, maxPositions: 16, eosTokenId: 49 };
  const stats = (mimeticInit: boolean) => {
    const m = new TrainableGPT2({ ...spec, mimeticInit }, 5);
    const out = [];
    for (let l = 0; l < spec.layers; l++) {
      const qkv = m.params.get(`h.${l}.attn.c_attn.weight`)!.dataSync() as Float32Array;
      const wo = m.params.get(`h.${l}.attn.c_proj.weight`)!.dataSync() as Float32Array;
      let kqDiff = 0;
      for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) kqDiff = Math.max(kqDiff, Math.abs(qkv[i * 3 * H + j] - qkv[i * 3 * H + H + j]));
      // OV = W_V · W_O ([H, H]); its mean diagonal against its mean |off-diagonal|.
      let diag = 0;
      let off = 0;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < H; j++) {
          let ov = 0;
          for (let r = 0; r < H; r++) ov += qkv[i * 3 * H + 2 * H + r] * wo[r * H + j];
          if (i === j) diag += ov / H; else off += Math.abs(ov) / (H * H - H);
        }
      }
      out.push({ kqDiff, diag, off });
    }
    m.dispose();
    return out;
  };
  for (const l of stats(true)) {
    expect(l.kqDiff).toBe(0);
    expect(l.diag).toBeGreaterThan(0.3); // γ = 0.5 times ≈ 1 (W_V·W_V^T with std 1/√H)
    expect(l.diag).toBeGreaterThan(3 * l.off);
  }
  for (const l of stats(false)) {
    expect(l.kqDiff).toBeGreaterThan(0.01);
    expect(Math.abs(l.diag)).toBeLessThan(0.01);
  }
});
