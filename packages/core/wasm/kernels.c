/*
 * allmrec WASM kernels: causal scaled dot-product attention, forward and backward, for many
 * small independent problems (batch x heads) at once. tfjs 4.22's WASM BatchMatMul runs these
 * [L, dh] x [dh, L] products at ~3 GFLOP/s; here each (i, j <= i) pair is one SIMD dot or axpy.
 *
 * The module imports tfjs's own WebAssembly.Memory, so every pointer is a byte offset of a tfjs
 * tensor on the tfjs heap: no copies. It has no data segment and uses no heap of its own;
 * `scratch` (L floats) is a tfjs-allocated buffer.
 *
 * Build: packages/core/wasm/build.sh (clang --target=wasm32 -msimd128; committed output
 * kernels.wasm is checked against the tfjs-op implementation in tests).
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static inline float dot(const float *a, const float *b, int n) {
  v128_t acc = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  }
  float s = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) +
            wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

/* y += a * x */
static inline void axpy(float *y, float a, const float *x, int n) {
  v128_t va = wasm_f32x4_splat(a);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(va, wasm_v128_load(x + i))));
  }
  for (; i < n; i++) y[i] += a * x[i];
}

static inline void zero(float *y, int n) {
  for (int i = 0; i < n; i++) y[i] = 0.0f;
}

/* exp for softmax arguments (x <= 0): Cephes-style range reduction, rel. error ~1e-7. */
static inline float expf_neg(float x) {
  if (x < -87.0f) return 0.0f;
  const float LOG2E = 1.44269504088896341f;
  float fx = __builtin_floorf(x * LOG2E + 0.5f);
  float r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  union { float f; int i; } u;
  u.i = ((int)fx + 127) << 23;
  return p * u.f;
}

/*
 * Forward for n = batch*heads problems.
 *   S = scale * q k^T (causal: j <= i), P = softmax_j(S), O = (P ⊙ mask) v
 * q, k, v, O: [n, L, dh]; P, mask: [n, L, L] (mask may be 0 = no dropout). P's entries above the
 * diagonal are written as 0.
 */
EXPORT(attn_fwd)
void attn_fwd(int n, int L, int dh, float scale, const float *q, const float *k, const float *v,
              const float *mask, float *P, float *O) {
  for (int b = 0; b < n; b++) {
    const float *qb = q + (long)b * L * dh, *kb = k + (long)b * L * dh, *vb = v + (long)b * L * dh;
    float *Pb = P + (long)b * L * L, *Ob = O + (long)b * L * dh;
    const float *Mb = mask ? mask + (long)b * L * L : 0;
    for (int i = 0; i < L; i++) {
      float *prow = Pb + i * L;
      float mx = -3.4e38f;
      for (int j = 0; j <= i; j++) {
        float s = scale * dot(qb + i * dh, kb + j * dh, dh);
        prow[j] = s;
        if (s > mx) mx = s;
      }
      float sum = 0.0f;
      for (int j = 0; j <= i; j++) {
        float e = expf_neg(prow[j] - mx);
        prow[j] = e;
        sum += e;
      }
      float inv = 1.0f / sum;
      float *orow = Ob + i * dh;
      zero(orow, dh);
      for (int j = 0; j <= i; j++) {
        float p = prow[j] * inv;
        prow[j] = p;
        float pd = Mb ? p * Mb[i * L + j] : p;
        if (pd != 0.0f) axpy(orow, pd, vb + j * dh, dh);
      }
      for (int j = i + 1; j < L; j++) prow[j] = 0.0f;
    }
  }
}

/*
 * Backward. Given dO, writes dq, dk, dv ([n, L, dh]). scratch: L floats.
 *   Pd = P ⊙ mask; dv = Pdᵀ dO; dPd = dO vᵀ; dP = dPd ⊙ mask;
 *   dS = P ⊙ (dP − rowsum(dP ⊙ P)); dq = scale·dS k; dk = scale·dSᵀ q
 */
EXPORT(attn_bwd)
void attn_bwd(int n, int L, int dh, float scale, const float *q, const float *k, const float *v,
              const float *mask, const float *P, const float *dO, float *dq, float *dk, float *dv,
              float *scratch) {
  for (int b = 0; b < n; b++) {
    const long off = (long)b * L * dh;
    const float *qb = q + off, *kb = k + off, *vb = v + off, *dOb = dO + off;
    float *dqb = dq + off, *dkb = dk + off, *dvb = dv + off;
    const float *Pb = P + (long)b * L * L;
    const float *Mb = mask ? mask + (long)b * L * L : 0;
    zero(dkb, L * dh);
    zero(dvb, L * dh);
    for (int i = 0; i < L; i++) {
      const float *prow = Pb + i * L;
      const float *mrow = Mb ? Mb + i * L : 0;
      const float *dOi = dOb + i * dh;
      float rs = 0.0f;
      for (int j = 0; j <= i; j++) {
        float m = mrow ? mrow[j] : 1.0f;
        float p = prow[j];
        if (p * m != 0.0f) axpy(dvb + j * dh, p * m, dOi, dh);
        float dp = m != 0.0f ? dot(dOi, vb + j * dh, dh) * m : 0.0f;
        scratch[j] = dp;
        rs += dp * p;
      }
      float *dqi = dqb + i * dh;
      zero(dqi, dh);
      const float *qi = qb + i * dh;
      for (int j = 0; j <= i; j++) {
        float ds = prow[j] * (scratch[j] - rs) * scale;
        if (ds != 0.0f) {
          axpy(dqi, ds, kb + j * dh, dh);
          axpy(dkb + j * dh, ds, qi, dh);
        }
      }
    }
  }
}

/* dst[c, r] = src[r, c] for a [rows, cols] matrix, in 16x16 tiles. */
EXPORT(transpose2d)
void transpose2d(int rows, int cols, const float *src, float *dst) {
  const int T = 16;
  for (int r0 = 0; r0 < rows; r0 += T) {
    int r1 = r0 + T < rows ? r0 + T : rows;
    for (int c0 = 0; c0 < cols; c0 += T) {
      int c1 = c0 + T < cols ? c0 + T : cols;
      for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) dst[(long)c * rows + r] = src[(long)r * cols + c];
    }
  }
}

/* dst[c] = sum_r src[r, c] */
EXPORT(colsum)
void colsum(int rows, int cols, const float *src, float *dst) {
  zero(dst, cols);
  for (int r = 0; r < rows; r++) axpy(dst, 1.0f, src + (long)r * cols, cols);
}

/*
 * LayerNorm over the last axis of x [rows, d]: y = xhat * g + b, xhat = (x - mean) * rstd,
 * rstd = 1 / sqrt(var + eps). Also writes xhat [rows, d] and rstd [rows] for the backward pass
 * (either may be 0 to skip).
 */
EXPORT(layernorm_fwd)
void layernorm_fwd(int rows, int d, float eps, const float *x, const float *g, const float *b, float *y,
                   float *xhat, float *rstd) {
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (long)r * d;
    float mean = 0.0f;
    for (int i = 0; i < d; i++) mean += xr[i];
    mean /= (float)d;
    float var = 0.0f;
    for (int i = 0; i < d; i++) {
      float c = xr[i] - mean;
      var += c * c;
    }
    var /= (float)d;
    float rs = 1.0f / __builtin_sqrtf(var + eps);
    float *yr = y + (long)r * d;
    float *hr = xhat ? xhat + (long)r * d : 0;
    for (int i = 0; i < d; i++) {
      float h = (xr[i] - mean) * rs;
      if (hr) hr[i] = h;
      yr[i] = h * g[i] + b[i];
    }
    if (rstd) rstd[r] = rs;
  }
}

/*
 * LayerNorm backward: dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),
 * dxhat = dy * g; dg = sum_r dy * xhat; db = sum_r dy. scratch: d floats.
 */
EXPORT(layernorm_bwd)
void layernorm_bwd(int rows, int d, const float *dy, const float *xhat, const float *rstd, const float *g,
                   float *dx, float *dg, float *db) {
  zero(dg, d);
  zero(db, d);
  for (int r = 0; r < rows; r++) {
    const float *dyr = dy + (long)r * d, *hr = xhat + (long)r * d;
    float m1 = 0.0f, m2 = 0.0f;
    for (int i = 0; i < d; i++) {
      float dh = dyr[i] * g[i];
      m1 += dh;
      m2 += dh * hr[i];
      dg[i] += dyr[i] * hr[i];
      db[i] += dyr[i];
    }
    m1 /= (float)d;
    m2 /= (float)d;
    float rs = rstd[r];
    float *dxr = dx + (long)r * d;
    for (int i = 0; i < d; i++) dxr[i] = rs * (dyr[i] * g[i] - m1 - hr[i] * m2);
  }
}

static inline unsigned rotl32(unsigned x, int k) { return (x << k) | (x >> (32 - k)); }

/*
 * Inverted-dropout mask: out[i] = 0 with probability threshold/65536, else keep (= 1/(1-rate)).
 * xoshiro128** seeded with s0..s3 (not all zero), 16 random bits per element.
 */
EXPORT(dropout_mask)
void dropout_mask(int n, int threshold, float keep, unsigned s0, unsigned s1, unsigned s2, unsigned s3, float *out) {
  int i = 0;
  for (; i + 1 < n; i += 2) {
    unsigned r = rotl32(s1 * 5, 7) * 9;
    unsigned t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl32(s3, 11);
    out[i] = (int)(r & 0xffff) >= threshold ? keep : 0.0f;
    out[i + 1] = (int)(r >> 16) >= threshold ? keep : 0.0f;
  }
  if (i < n) {
    unsigned r = rotl32(s1 * 5, 7) * 9;
    out[i] = (int)(r & 0xffff) >= threshold ? keep : 0.0f;
  }
}
