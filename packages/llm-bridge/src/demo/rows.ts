/**
 * Training rows of pretraining: tokenized documents packed into rows of T inputs with shifted
 * targets ({@link packRows}), batches cut from them ({@link batchOf}), and the length
 * curriculum's pool of the shortest rows ({@link curriculumPool}).
 */

/** Share of the (shortest) training rows a length curriculum starts from. */
const CURRICULUM_START = 0.1;

/**
 * How many of the shortest `rows` a batch at `step` draws from under a length curriculum that
 * grows linearly from {@link CURRICULUM_START} of them to all over the first `curriculum` share
 * of `steps` (never fewer than one batch).
 */
export function curriculumPool(step: number, steps: number, curriculum: number, rows: number, batchSize: number): number {
  if (curriculum <= 0) return rows;
  const share = CURRICULUM_START + (1 - CURRICULUM_START) * Math.min(1, step / (curriculum * steps));
  return Math.min(rows, Math.max(batchSize, Math.ceil(share * rows - 1e-9)));
}

export interface Rows {
  inputs: Int32Array[];
  targets: Int32Array[];
  weights: Float32Array[];
  /** Vector-slot roles of each row's inputs (undefined for a row without vector slots). */
  roles: (Uint8Array | undefined)[];
  /** Used length of each row (the rest is padding). */
  lengths: number[];
  tokens: number;
}

/**
 * Tokenized documents as rows of T inputs (+ shifted targets). Packed (default): whole documents
 * one after another. `oneDocPerRow`: every document starts a row at position 0, as a Stage 2
 * prompt does, and the rest of the row is padding. A document longer than a row continues in
 * the next one either way.
 */
export function packRows(docs: { ids: number[]; target: boolean[]; roles?: number[] }[], T: number, pad: number, oneDocPerRow = false): Rows {
  const rows: Rows = { inputs: [], targets: [], weights: [], roles: [], lengths: [], tokens: 0 };
  let ids: number[] = [];
  let tg: boolean[] = [];
  let rl: number[] = [];
  const flush = () => {
    if (ids.length < 2) { ids = []; tg = []; rl = []; return; }
    const inp = new Int32Array(T).fill(pad);
    const out = new Int32Array(T).fill(pad);
    const w = new Float32Array(T);
    const roles = rl.some((r) => r !== 0) ? new Uint8Array(T) : undefined;
    let n = 0;
    for (let t = 0; t + 1 < ids.length; t++) {
      inp[t] = ids[t];
      out[t] = ids[t + 1];
      w[t] = tg[t + 1] ? 1 : 0;
      if (roles) roles[t] = rl[t];
      n += w[t];
    }
    // A row of context only (the start of a long list document) teaches nothing: dropped.
    if (n > 0) { rows.inputs.push(inp); rows.targets.push(out); rows.weights.push(w); rows.roles.push(roles); rows.lengths.push(ids.length - 1); rows.tokens += n; }
    ids = []; tg = []; rl = [];
  };
  for (const d of docs) {
    if (ids.length > 0 && (oneDocPerRow || ids.length + d.ids.length > T + 1)) flush();
    for (let i = 0; i < d.ids.length; i++) {
      ids.push(d.ids[i]);
      tg.push(d.target[i]);
      rl.push(d.roles?.[i] ?? 0);
      if (ids.length === T + 1) {
        // A document longer than a row continues in the next one (sharing the boundary token).
        const last = ids[T];
        const lastT = tg[T];
        const lastR = rl[T];
        flush();
        if (i + 1 < d.ids.length) { ids.push(last); tg.push(lastT); rl.push(lastR); }
      }
    }
  }
  flush();
  return rows;
}

/** Rows `idx` as one batch, cut to the longest used length among them (≤ T). */
export function batchOf(rows: Rows, idx: number[], T: number): { inputs: Int32Array; targets: Int32Array; weights: Float32Array; roles: Uint8Array; T: number } {
  const B = idx.length;
  const Tb = Math.max(1, Math.min(T, Math.max(...idx.map((r) => rows.lengths[r]))));
  const inputs = new Int32Array(B * Tb);
  const targets = new Int32Array(B * Tb);
  const weights = new Float32Array(B * Tb);
  const roles = new Uint8Array(B * Tb);
  idx.forEach((r, b) => {
    inputs.set(rows.inputs[r].subarray(0, Tb), b * Tb);
    targets.set(rows.targets[r].subarray(0, Tb), b * Tb);
    weights.set(rows.weights[r].subarray(0, Tb), b * Tb);
    const rr = rows.roles[r];
    if (rr) roles.set(rr.subarray(0, Tb), b * Tb);
  });
  return { inputs, targets, weights, roles, T: Tb };
}
