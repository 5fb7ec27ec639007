/**
 * The wired matching head of `GPT2Spec.lookBack.match` and its section flag
 * (`lookBack.section`), written by hand: the reserved residual slices ({@link matchSlices}), the
 * entries the wiring sets (and the hold keeps), the section marker ({@link sectionMarkerToken}),
 * and the slot interface a checkpoint records (`CausalLMConfig.slotInterface`) with the slot
 * vectors that fit it ({@link interfaceSlotVectors}).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SlotInterface } from '../causal-lm';
import type { GPT2Spec, TrainableGPT2 } from './gpt2-trainable';
import { WIRED } from './look-back';
import type { SlotVectorOptions } from './slot-vectors';

/** Layer 1's first matching head: heads MATCH_HEAD .. MATCH_HEAD + lookBack.heads − 1 copy one look-back slice each. */
const MATCH_HEAD = 1;
/**
 * W_Q gain of the matching head and W_O gain of its copy. Measured at initialisation (H 128,
 * 8 heads, unit slot vectors, bare lists of 2-20 candidates): with these the head attends to the
 * most similar slot in 96-100% of documents and the copied title ranks first in 92-100%.
 */
const MATCH_QUERY_GAIN = 16;
const MATCH_COPY_GAIN = 16;

/**
 * Values of `lookBack.section`'s wiring: the marker's entry in its (otherwise zero) token row; the
 * section head's query gain (a margin of ≥ 20 logits for the marker over every other position);
 * the gain of its write into the flag; and the matching head's constant query on the flag (the
 * penalty of a slot before the marker, i.e. a history slot).
 */
const SECTION_MARKER_VALUE = 0.5;
const SECTION_QUERY = 16;
const SECTION_FLAG_GAIN = 1;
const SECTION_PENALTY = 48;

/**
 * The marker's layer-normalised value in its dimension M at layer 0 (mean over positions; the
 * marker row and the position table are held, so it stays this): the section head's value is
 * 1 − LN(x)[M]/λ, 1 where no marker has come yet and ≈ 0 after one.
 */
export function sectionLambda(spec: GPT2Spec, wte: Float32Array, wpe: Float32Array): number {
  const H = spec.hidden;
  const { M } = matchSlices(spec);
  const row = spec.lookBack!.section! * H;
  let sum = 0;
  for (let p = 1; p < spec.maxPositions; p++) {
    const x = Float32Array.from({ length: H }, (_, j) => wte[row + j] + wpe[p * H + j]);
    const mean = x.reduce((a, b) => a + b, 0) / H;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / H;
    sum += (x[M] - mean) / Math.sqrt(variance + 1e-5);
  }
  return sum / (spec.maxPositions - 1);
}

/**
 * Residual slices of `lookBack.match` (start of each, width dh): item slots S, user slot U, copied
 * titles C (`copy` wide: one dh slice per look-back head, the last `lookBack.heads` slices);
 * `width` of the user and item vectors in U and S (dh, or dh − 1 with `section`, whose marker
 * dimension is M = S + dh − 1 and flag dimension F = U + dh − 1).
 */
export function matchSlices(spec: GPT2Spec): { dh: number; S: number; U: number; C: number; copy: number; width: number; M: number; F: number } {
  const dh = spec.hidden / spec.heads;
  const { heads: n, first = 0, section } = spec.lookBack!;
  const S = dh;
  const U = (spec.heads - n - first) * dh;
  return { dh, S, U, C: (spec.heads - n) * dh, copy: n * dh, width: section === undefined ? dh : dh - 1, M: S + dh - 1, F: U + dh - 1 };
}

/**
 * Visits the entries `lookBack.match` wires in weight `name` (flat index and value); see
 * `GPT2Spec.lookBack`. The same entries are what `hold` keeps.
 */
export function matchEntries(name: string, shape: number[], spec: GPT2Spec, visit: (index: number, value: number) => void, lambda = 1): void {
  const { hidden: H, heads } = spec;
  const { dh, S, U, C, copy, width, M, F } = matchSlices(spec);
  const section = spec.lookBack!.section;
  const copied = Array.from({ length: copy / dh }, (_, i) => C + i * dh); // one slice per look-back head
  const reserved = [S, U, ...copied];
  // Matching head MATCH_HEAD + i (columns from m) copies the i-th look-back slice (from c0); all attend alike.
  const matching = copied.map((c0, i) => ({ m: (MATCH_HEAD + i) * dh, c0 }));
  const columns = (rows: number, width: number, cols: number[], skipRow?: (r: number) => boolean) => {
    for (let r = 0; r < rows; r++) if (!skipRow?.(r)) for (const c0 of cols) for (let j = 0; j < dh; j++) visit(r * width + c0 + j, 0);
  };
  const h0 = heads - spec.lookBack!.heads - (spec.lookBack!.first ?? 0);
  switch (name) {
    case 'wte.weight':
      columns(shape[0], H, [S, U]);
      if (section !== undefined) for (let j = 0; j < H; j++) visit(section * H + j, j === M ? SECTION_MARKER_VALUE : 0); // the marker's row: only M
      break;
    case 'wpe.weight': columns(shape[0], H, [S, U]); break;
    case 'h.0.attn.c_proj.weight':
      columns(H, H, reserved, (r) => r >= h0 * dh); // the wired heads write only their own slices
      if (section !== undefined) for (let c = 0; c < H; c++) visit(c, c === F ? SECTION_FLAG_GAIN : 0); // head 0, dimension 0 → the flag
      break;
    case 'h.0.attn.c_attn.weight':
      // The section head (layer 0, head 0): a constant query (its bias), key M, value 1 − M/λ.
      if (section !== undefined) {
        for (let r = 0; r < H; r++) for (let j = 0; j < dh; j++) for (const part of [0, H, 2 * H]) visit(r * 3 * H + part + j, j === 0 && r === M ? (part === H ? 1 : part === 2 * H ? -1 / lambda : 0) : 0);
      }
      break;
    case 'h.0.attn.c_attn.bias':
      if (section !== undefined) for (let j = 0; j < dh; j++) for (const part of [0, H, 2 * H]) visit(part + j, j === 0 && part !== H ? (part === 0 ? SECTION_QUERY : 1) : 0);
      break;
    case 'h.0.mlp.c_proj.weight': columns(shape[0], H, reserved); break;
    case 'h.0.attn.c_proj.bias': case 'h.0.mlp.c_proj.bias': case 'h.1.ln_1.bias': columns(1, H, reserved); break;
    case 'h.1.ln_1.weight': for (const c0 of reserved) for (let j = 0; j < dh; j++) visit(c0 + j, 1); break;
    case 'h.1.attn.c_attn.weight':
      for (const { m, c0 } of matching) {
        for (let r = 0; r < H; r++) {
          for (let j = 0; j < dh; j++) {
            const flag = j >= width; // with `section`, the last dimension compares the flag, not the vectors
            visit(r * 3 * H + m + j, !flag && r === U + j ? MATCH_QUERY_GAIN : 0); // W_Q: the user vector (copied to every position)
            visit(r * 3 * H + H + m + j, r === (flag ? F : S + j) ? 1 : 0); // W_K: the item slot's own vector (and the flag)
            visit(r * 3 * H + 2 * H + m + j, r === c0 + j ? 1 : 0); // W_V: the title (slice) the slot received
          }
        }
      }
      break;
    case 'h.1.attn.c_attn.bias':
      for (const { m } of matching) for (let j = 0; j < dh; j++) { visit(m + j, j >= width ? -SECTION_PENALTY : 0); visit(H + m + j, 0); visit(2 * H + m + j, 0); }
      break;
    case 'h.1.attn.c_proj.weight':
      for (const { m, c0 } of matching) for (let j = 0; j < dh; j++) for (let c = 0; c < H; c++) visit((m + j) * H + c, c === c0 + j ? MATCH_COPY_GAIN : 0);
      break;
  }
}

/**
 * The token that opens the candidate list in every prompt template (" set", as in "… from the
 * following movie title set, "): `lookBack.section`'s marker. It must be one token of its own, or
 * the flag would rise at every word that shares a piece with it.
 */
export function sectionMarkerToken(tokenizer: { encode(text: string): number[] }): number {
  const ids = tokenizer.encode(SECTION_MARKER);
  if (ids.length !== 1) throw new Error(`the section marker "${SECTION_MARKER}" is ${ids.length} tokens in this tokenizer, not one; train it with BPETrainOptions.wholeWords [${JSON.stringify(SECTION_MARKER)}]`);
  return ids[0];
}

/** The word whose token is `lookBack.section`'s marker (a whole word of tokenizers trained for it). */
export const SECTION_MARKER = ' set';

/**
 * Entries `lookBack.match` keeps as wired while held: per weight, `keep` (0 on a held entry, 1
 * elsewhere) and `value` (the wired values, 0 elsewhere), so a held weight is p·keep + value.
 */
export function matchHeld(model: TrainableGPT2): { name: string; keep: tf.Tensor; value: tf.Tensor }[] {
  const out: { name: string; keep: tf.Tensor; value: tf.Tensor }[] = [];
  for (const [name, v] of model.params) {
    if (WIRED.includes(name)) continue; // held whole
    const keep = new Float32Array(v.size).fill(1);
    let any = false;
    matchEntries(name, v.shape, model.spec, (i) => { keep[i] = 0; any = true; });
    if (any) out.push({ name, keep: tf.tensor(keep, v.shape), value: tf.tidy(() => tf.mul(v, tf.sub(1, tf.tensor(keep, v.shape)))) });
  }
  return out;
}

/** The slot interface of a spec with `lookBack.match` (config.json `allmrec_slot_interface`). */
export function slotInterfaceOf(spec: GPT2Spec): SlotInterface {
  const { width, S, U } = matchSlices(spec);
  const section = spec.lookBack!.section;
  return { user: [U, U + width], item: [S, S + width], ...(section !== undefined ? { section } : {}) };
}

/**
 * How pretraining draws slot vectors for a spec's wiring: clear of the position dimensions with
 * `lookBack`; with `lookBack.match`, as {@link interfaceSlotVectors} draws them for its interface.
 */
export function wiredSlotVectors(spec: GPT2Spec): SlotVectorOptions {
  if (!spec.lookBack) return {};
  if (!spec.lookBack.match) return { zeroDims: spec.hidden / spec.heads };
  return interfaceSlotVectors(slotInterfaceOf(spec));
}

/**
 * Slot vectors as an LM with a slot interface was pretrained on (`CausalLMConfig.slotInterface`):
 * pass to `listCopyAccuracy` to check such an LM as it was trained.
 */
export function interfaceSlotVectors({ user, item, section }: SlotInterface): SlotVectorOptions {
  // With a section flag the history may be more similar than the answer: the LM must ignore it.
  return { userDims: user, itemDims: item, normSpread: 0, historyDecoys: section !== undefined };
}
