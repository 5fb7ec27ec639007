/** Small vector helpers for embeddings stored as row-major `Float32Array` matrices. */

/** Row `i` of a row-major `[n, dim]` matrix (a view, not a copy). */
export function row(matrix: Float32Array, dim: number, i: number): Float32Array {
  return matrix.subarray(i * dim, (i + 1) * dim);
}

/** Cosine similarity of two equal-length vectors (0 when either is all zeros). */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosineSimilarity: lengths differ (${a.length} vs ${b.length})`);
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** L2-normalises every row of a row-major `[n, dim]` matrix in place (all-zero rows stay zero). */
export function l2NormalizeRows(matrix: Float32Array, dim: number): Float32Array {
  for (let off = 0; off < matrix.length; off += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += matrix[off + j] * matrix[off + j];
    if (s > 0) {
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < dim; j++) matrix[off + j] *= inv;
    }
  }
  return matrix;
}

/**
 * Indices that sort `texts` by length (stable), used to batch texts of similar length together.
 */
export function orderByLength(lengths: ArrayLike<number>): number[] {
  const order = Array.from({ length: lengths.length }, (_, i) => i);
  order.sort((a, b) => lengths[a] - lengths[b] || a - b);
  return order;
}
