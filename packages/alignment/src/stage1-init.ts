/**
 * Data-fitted initialisation of the Stage 1 autoencoders (`init: 'fitted'`).
 *
 * With PyTorch's default initialisation dec_I(enc_I(E_i)) has nothing to do with E_i, and the
 * paper's budget (Adam 1e-4, a few hundred steps on a small dataset) does not get it there, so
 * x_u · dec_I(enc_I(E_i)) starts far from the backbone's x_u · E_i. Here, on the items training
 * may use (never the cold ones):
 *
 *   enc_I: W1 drawn as PyTorch does; b1 = −mean(E)·W1, so the pre-activations are centred on the
 *          sigmoid's steepest, most linear part.
 *   dec_I: W2, b2 = the least-squares map from Z_I = enc_I(E) back to E (ridge 1e-6 · mean
 *          diagonal of Z_IᵀZ_I): dec_I(enc_I(E_i)) ≈ E_i from the first step.
 *   enc_T: W3, b3 = the ridge regression of enc_I's pre-activations E·W1 + b1 on Q, so
 *          enc_T(Q_i) ≈ enc_I(E_i) on training items and, for a cold item, enc_T(Q_i) =
 *          enc_I(Ê_i) with Ê_i a linear text-to-CF prediction.
 *   dec_T: W4, b4 = the least-squares map from Z_T = enc_T(Q) back to Q (same small ridge).
 *
 * Intercepts are not penalised (inputs and targets are centred first). Solved in float64 with a
 * Cholesky factorisation of the (p × p) normal equations.
 */

/** Ridge (relative to the mean diagonal of XᵀX) of the two decoders: just enough to stay solvable. */
export const DECODER_RIDGE = 1e-6;

/**
 * Least squares with an unpenalised intercept: W, b minimising ‖X·W + 1·b − Y‖² + λ‖W‖², where
 * λ = `ridge` × the mean diagonal of the centred XᵀX.
 * @param X [n, p] row-major; @param Y [n, m] row-major.
 * @returns W [p, m] and b [m] as float64.
 */
export function ridgeRegression(
  X: ArrayLike<number>, Y: ArrayLike<number>, n: number, p: number, m: number, ridge: number,
): { W: Float64Array; b: Float64Array } {
  if (X.length !== n * p || Y.length !== n * m) throw new Error(`ridgeRegression: expected [${n}, ${p}] and [${n}, ${m}] inputs`);
  if (n < 1) throw new Error('ridgeRegression: no rows');
  const mx = colMeans(X, n, p);
  const my = colMeans(Y, n, m);
  const Xc = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) Xc[i * p + j] = X[i * p + j] - mx[j];
  const W = p <= n ? primalSolve(Xc, Y, n, p, m, ridge) : dualSolve(Xc, Y, n, p, m, ridge);
  const b = new Float64Array(m);
  for (let c = 0; c < m; c++) {
    let s = my[c];
    for (let a = 0; a < p; a++) s -= mx[a] * W[a * m + c];
    b[c] = s;
  }
  return { W, b };
}

/** (XcᵀXc + λI)⁻¹ XcᵀY: a p × p system (p ≤ n). λ = ridge · trace(XcᵀXc) / p. */
function primalSolve(Xc: Float64Array, Y: ArrayLike<number>, n: number, p: number, m: number, ridge: number): Float64Array {
  // G = XcᵀXc (upper triangle, then mirrored), R = XcᵀY (Y need not be centred once X is).
  const G = new Float64Array(p * p);
  const R = new Float64Array(p * m);
  for (let i = 0; i < n; i++) {
    const xo = i * p;
    for (let a = 0; a < p; a++) {
      const xa = Xc[xo + a];
      if (xa === 0) continue;
      const go = a * p;
      for (let c = a; c < p; c++) G[go + c] += xa * Xc[xo + c];
      const ro = a * m;
      for (let c = 0; c < m; c++) R[ro + c] += xa * Y[i * m + c];
    }
  }
  let trace = 0;
  for (let a = 0; a < p; a++) {
    trace += G[a * p + a];
    for (let c = 0; c < a; c++) G[a * p + c] = G[c * p + a];
  }
  const lambda = ridge * (trace / p) + 1e-12;
  for (let a = 0; a < p; a++) G[a * p + a] += lambda;
  return choleskySolve(G, R, p, m);
}

/**
 * The same solution through the n × n system (for p > n, e.g. wide sparse text features):
 * Xcᵀ (XcXcᵀ + λI)⁻¹ Y, with λ as in {@link primalSolve} (trace(XcXcᵀ) = trace(XcᵀXc)).
 */
function dualSolve(Xc: Float64Array, Y: ArrayLike<number>, n: number, p: number, m: number, ridge: number): Float64Array {
  const K = new Float64Array(n * n);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let a = 0; a < p; a++) s += Xc[i * p + a] * Xc[j * p + a];
      K[i * n + j] = s;
      K[j * n + i] = s;
    }
    trace += K[i * n + i];
  }
  const lambda = ridge * (trace / p) + 1e-12;
  for (let i = 0; i < n; i++) K[i * n + i] += lambda;
  // Centred targets: K·1 = 0, so the mean would only pass through (K + λI)⁻¹ as a 1/λ-sized term.
  const my = colMeans(Y, n, m);
  const A = choleskySolve(K, Float64Array.from({ length: n * m }, (_, i) => Y[i] - my[i % m]), n, m); // [n, m]
  const W = new Float64Array(p * m);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < p; a++) {
      const x = Xc[i * p + a];
      if (x === 0) continue;
      for (let c = 0; c < m; c++) W[a * m + c] += x * A[i * m + c];
    }
  }
  return W;
}

function colMeans(X: ArrayLike<number>, n: number, p: number): Float64Array {
  const mu = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mu[j] += X[i * p + j];
  for (let j = 0; j < p; j++) mu[j] /= n;
  return mu;
}

/** Solves A·X = B for symmetric positive-definite A [p, p] (overwritten) and B [p, m]. */
function choleskySolve(A: Float64Array, B: Float64Array, p: number, m: number): Float64Array {
  // A = L·Lᵀ, L stored in the lower triangle of A.
  for (let j = 0; j < p; j++) {
    let d = A[j * p + j];
    for (let k = 0; k < j; k++) d -= A[j * p + k] * A[j * p + k];
    if (!(d > 0)) throw new Error('ridgeRegression: the normal equations are not positive definite (non-finite inputs?)');
    const ljj = Math.sqrt(d);
    A[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let s = A[i * p + j];
      for (let k = 0; k < j; k++) s -= A[i * p + k] * A[j * p + k];
      A[i * p + j] = s / ljj;
    }
  }
  const X = Float64Array.from(B);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < p; i++) { // L·y = b
      let s = X[i * m + c];
      for (let k = 0; k < i; k++) s -= A[i * p + k] * X[k * m + c];
      X[i * m + c] = s / A[i * p + i];
    }
    for (let i = p - 1; i >= 0; i--) { // Lᵀ·x = y
      let s = X[i * m + c];
      for (let k = i + 1; k < p; k++) s -= A[k * p + i] * X[k * m + c];
      X[i * m + c] = s / A[i * p + i];
    }
  }
  return X;
}

/** σ(z), the logistic sigmoid (float64). */
const logistic = (z: number) => 1 / (1 + Math.exp(-z));

/** Y = σ(X·W + b) or X·W + b for X [n, p], W [p, m] (plain float64 loops; init only). */
export function affine(X: ArrayLike<number>, W: ArrayLike<number>, b: ArrayLike<number>, n: number, p: number, m: number, sigmoid: boolean): Float64Array {
  const Y = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const yo = i * m;
    for (let c = 0; c < m; c++) Y[yo + c] = b[c];
    for (let a = 0; a < p; a++) {
      const x = X[i * p + a];
      if (x === 0) continue;
      const wo = a * m;
      for (let c = 0; c < m; c++) Y[yo + c] += x * W[wo + c];
    }
    if (sigmoid) for (let c = 0; c < m; c++) Y[yo + c] = logistic(Y[yo + c]);
  }
  return Y;
}

/**
 * Replaces b1, W2, b2, W3, b3, W4, b4 of `params` (W1 kept as drawn) by the fitted values above.
 * @param E [n, d] item embeddings and @param Q [n, t] text embeddings of the same n training items.
 * @param textRidge ridge of the text-to-latent regression (relative to the mean diagonal of QᵀQ).
 */
export function fitInitialParameters(
  params: Map<string, Float32Array>, E: Float32Array, Q: Float32Array,
  dims: { n: number; d: number; t: number; k: number }, textRidge: number, examples?: ScaleExamples,
): number {
  const { n, d, t, k } = dims;
  if (!E.every(Number.isFinite) || !Q.every(Number.isFinite)) {
    throw new Error('Stage1Alignment: init \'fitted\' found a non-finite (NaN or infinite) item or text embedding among the training items');
  }
  const W1 = params.get('encI.w')!;
  const muE = colMeans(E, n, d);
  const b1 = new Float64Array(k);
  for (let a = 0; a < d; a++) for (let c = 0; c < k; c++) b1[c] -= muE[a] * W1[a * k + c];
  const preI = affine(E, W1, b1, n, d, k, false); // E·W1 + b1
  const ZI = preI.map(logistic);
  const dec = ridgeRegression(ZI, E, n, k, d, DECODER_RIDGE);
  const encT = ridgeRegression(Q, preI, n, t, k, textRidge);
  const ZT = affine(Q, encT.W, encT.b, n, t, k, true);
  const decT = ridgeRegression(ZT, Q, n, k, t, DECODER_RIDGE);
  params.set('encI.b', Float32Array.from(b1));
  let scale = 1;
  if (examples) {
    const Ehat = affine(ZI, dec.W, dec.b, n, k, d, false);
    scale = decoderScale(E, Ehat, d, examples);
  }
  params.set('decI.w', Float32Array.from(dec.W, (v) => v * scale));
  params.set('decI.b', Float32Array.from(dec.b, (v) => v * scale));
  params.set('encT.w', Float32Array.from(encT.W));
  params.set('encT.b', Float32Array.from(encT.b));
  params.set('decT.w', Float32Array.from(decT.W));
  params.set('decT.b', Float32Array.from(decT.b));
  return scale;
}

/** Training examples for {@link decoderScale}: x_u rows and the rows of E of their positive and negative. */
export interface ScaleExamples {
  /** x_u [m, d]. */
  X: Float32Array;
  /** Row (in E) of each example's positive and of one negative. */
  pos: ArrayLike<number>;
  neg: ArrayLike<number>;
  /** Weight of L_item_recon (0 when the reconstruction terms are off). */
  alpha: number;
}

/**
 * The factor c in [{@link MIN_DECODER_SCALE}, {@link MAX_DECODER_SCALE}] that minimises the Stage 1 loss along the
 * ray dec_I ← c·dec_I, i.e. the part of L_rec + α·L_item_recon that depends on c:
 *
 *   mean_u softplus(−c·s⁺_u) + mean_u softplus(c·s⁻_u) + α·(mean((c·Ê⁺ − E⁺)²) + mean((c·Ê⁻ − E⁻)²))
 *
 * with s_u = mean_k(x_u ⊙ Ê) and Ê the least-squares reconstruction. Convex in c: bisection on the
 * derivative. The paper's logits are means over d, not sums, so at c = 1 they are d times smaller
 * than the backbone's own; L_rec then pulls the scale up during training and, with Adam's
 * per-coordinate steps, reshapes the map on the way. Starting at this c removes that pull.
 */
export function decoderScale(E: ArrayLike<number>, Ehat: ArrayLike<number>, d: number, ex: ScaleExamples): number {
  const m = ex.pos.length;
  const sPos = new Float64Array(m);
  const sNeg = new Float64Array(m);
  // Item reconstruction along the ray: mean((c·Ê − E)²) = c²·aa − 2c·ab + bb over the used rows.
  let aa = 0;
  let ab = 0;
  for (let u = 0; u < m; u++) {
    for (const [rows, s] of [[ex.pos, sPos], [ex.neg, sNeg]] as const) {
      const r = rows[u] * d;
      let dot = 0;
      for (let j = 0; j < d; j++) {
        const e = Ehat[r + j];
        dot += ex.X[u * d + j] * e;
        aa += e * e;
        ab += e * E[r + j];
      }
      s[u] = dot / d;
    }
  }
  aa /= m * d; // the sum of the positive and the negative part, each a mean over m·d elements
  ab /= m * d;
  const slope = (c: number) => {
    let g = 0;
    for (let u = 0; u < m; u++) g += -sPos[u] * logistic(-c * sPos[u]) + sNeg[u] * logistic(c * sNeg[u]);
    return g / m + ex.alpha * (2 * c * aa - 2 * ab);
  };
  if (slope(MIN_DECODER_SCALE) >= 0) return MIN_DECODER_SCALE;
  if (slope(MAX_DECODER_SCALE) <= 0) return MAX_DECODER_SCALE;
  let lo = MIN_DECODER_SCALE;
  let hi = MAX_DECODER_SCALE;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (slope(mid) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Bounds of {@link decoderScale} (the upper one is reached only when nothing but L_rec depends on the scale). */
export const MIN_DECODER_SCALE = 0.01;
export const MAX_DECODER_SCALE = 100;
