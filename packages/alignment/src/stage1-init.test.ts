import { Rng } from '@allmrec/core';
import { decoderScale, ridgeRegression, MAX_DECODER_SCALE, MIN_DECODER_SCALE } from './stage1-init';

describe('ridgeRegression', () => {
  const rng = new Rng(7);
  const n = 30, p = 4, m = 3;
  const X = Float64Array.from({ length: n * p }, () => rng.normal());
  const W = Float64Array.from({ length: p * m }, () => rng.normal());
  const b = [0.5, -2, 3];
  const Y = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) {
    let s = b[c];
    for (let a = 0; a < p; a++) s += X[i * p + a] * W[a * m + c];
    Y[i * m + c] = s;
  }

  it('recovers an exact affine map (W and the unpenalised intercept)', () => {
    const r = ridgeRegression(X, Y, n, p, m, 1e-12);
    r.W.forEach((v, i) => expect(v).toBeCloseTo(W[i], 6));
    r.b.forEach((v, c) => expect(v).toBeCloseTo(b[c], 6));
  });

  it('a large ridge shrinks W to 0 and leaves the intercept at the mean of Y', () => {
    const r = ridgeRegression(X, Y, n, p, m, 1e9);
    for (const v of r.W) expect(Math.abs(v)).toBeLessThan(1e-6);
    for (let c = 0; c < m; c++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += Y[i * m + c];
      expect(r.b[c]).toBeCloseTo(mean / n, 4);
    }
  });

  it('more columns than rows (solved through the n × n system): the ridge normal equations hold', () => {
    const nw = 5, pw = 8, mw = 2, ridge = 0.1;
    const Xw = Float64Array.from({ length: nw * pw }, () => rng.normal());
    const Yw = Float64Array.from({ length: nw * mw }, () => rng.normal());
    const r = ridgeRegression(Xw, Yw, nw, pw, mw, ridge);
    const mean = (M: Float64Array, cols: number) => Array.from({ length: cols }, (_, j) => {
      let s = 0;
      for (let i = 0; i < nw; i++) s += M[i * cols + j];
      return s / nw;
    });
    const mx = mean(Xw, pw), my = mean(Yw, mw);
    const Xc = Xw.map((v, i) => v - mx[i % pw]);
    let trace = 0;
    for (const v of Xc) trace += v * v;
    const lambda = ridge * trace / pw;
    // (XcᵀXc + λI)·W = Xcᵀ(Y − mean Y), and b = mean Y − mean X·W.
    for (let a = 0; a < pw; a++) for (let c = 0; c < mw; c++) {
      let lhs = lambda * r.W[a * mw + c];
      let rhs = 0;
      for (let i = 0; i < nw; i++) {
        let xw = 0;
        for (let e = 0; e < pw; e++) xw += Xc[i * pw + e] * r.W[e * mw + c];
        lhs += Xc[i * pw + a] * xw;
        rhs += Xc[i * pw + a] * (Yw[i * mw + c] - my[c]);
      }
      expect(lhs).toBeCloseTo(rhs, 8);
    }
    for (let c = 0; c < mw; c++) {
      let s = my[c];
      for (let a = 0; a < pw; a++) s -= mx[a] * r.W[a * mw + c];
      expect(r.b[c]).toBeCloseTo(s, 10);
    }
  });
});

describe('decoderScale', () => {
  // 200 examples, d = 5: positives score higher than negatives on average, as with a trained backbone.
  const rng = new Rng(3);
  const d = 5, items = 50, m = 200;
  const E = Float64Array.from({ length: items * d }, () => 0.2 * rng.normal());
  const Ehat = E.map((v) => v + 0.01 * rng.normal());
  const pos = Int32Array.from({ length: m }, () => rng.int(items));
  const neg = Int32Array.from({ length: m }, () => rng.int(items));
  const X = new Float32Array(m * d);
  for (let u = 0; u < m; u++) for (let j = 0; j < d; j++) X[u * d + j] = 3 * E[pos[u] * d + j] - 1.5 * E[neg[u] * d + j] + 0.3 * rng.normal();
  /** The c-dependent part of L_rec + α·L_item_recon, written out directly. */
  const loss = (c: number, alpha: number) => {
    const softplus = (z: number) => Math.log1p(Math.exp(z));
    let rec = 0, rc = 0;
    for (let u = 0; u < m; u++) {
      let sp = 0, sn = 0;
      for (let j = 0; j < d; j++) {
        sp += X[u * d + j] * Ehat[pos[u] * d + j];
        sn += X[u * d + j] * Ehat[neg[u] * d + j];
        rc += (c * Ehat[pos[u] * d + j] - E[pos[u] * d + j]) ** 2 + (c * Ehat[neg[u] * d + j] - E[neg[u] * d + j]) ** 2;
      }
      rec += softplus(-c * sp / d) + softplus(c * sn / d);
    }
    return rec / m + alpha * rc / (m * d);
  };

  it('is the minimiser of the loss along the ray c·dec_I (checked on a grid)', () => {
    for (const alpha of [0.5, 5]) {
      const c = decoderScale(E, Ehat, d, { X, pos, neg, alpha });
      let best = 0, bestLoss = Infinity;
      for (let g = 0.01; g <= 30; g += 0.01) {
        const l = loss(g, alpha);
        if (l < bestLoss) { bestLoss = l; best = g; }
      }
      expect(Math.abs(c - best)).toBeLessThan(0.011);
      expect(loss(c, alpha)).toBeLessThanOrEqual(bestLoss + 1e-9);
    }
    // A heavier reconstruction weight pulls the scale towards 1 (Ê ≈ E).
    expect(decoderScale(E, Ehat, d, { X, pos, neg, alpha: 50 })).toBeLessThan(decoderScale(E, Ehat, d, { X, pos, neg, alpha: 0.5 }));
  });

  it('stays within its bounds', () => {
    // One item pair, d = 1: the positive scores +1, the negative −1.
    const E1 = [1, -1];
    // Without the reconstruction term separable examples make the loss fall forever: the upper bound.
    expect(decoderScale(E1, E1, 1, { X: Float32Array.of(1), pos: [0], neg: [1], alpha: 0 })).toBe(MAX_DECODER_SCALE);
    expect(decoderScale(E1, E1, 1, { X: Float32Array.of(1), pos: [0], neg: [1], alpha: 0.5 })).toBeLessThan(MAX_DECODER_SCALE);
    // Scores of the wrong sign: the lower bound, never 0 (which would erase the map).
    expect(decoderScale(E1, E1, 1, { X: Float32Array.of(-1), pos: [0], neg: [1], alpha: 0 })).toBe(MIN_DECODER_SCALE);
  });
});
