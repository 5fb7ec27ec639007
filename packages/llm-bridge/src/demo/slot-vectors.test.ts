/**
 * Slot vectors: vector documents give every slot its role and the answer is the candidate most
 * similar to the user slot; vectors in subspaces keep to their dimensions, norms and cosines.
 */
import { Rng } from '@allmrec/core';
import { TEMPLATES } from '../prompt';
import { HFTokenizer } from '../tokenizer';
import { trainByteLevelBPE } from './bpe-trainer';
import { PIECE_BREAK, VECTOR_ROLES, VECTOR_SLOT, listCopyDocument, tokenizeDocument } from './corpus';
import { slotVectors } from './slot-vectors';
import { ITEMS } from './test-helpers';

test('slot vectors in subspaces: the user\'s in userDims, the items\' in itemDims, one norm, history below the answer', () => {
  const roles = new Uint8Array([1, 0, 4, 0, 4, 0, 3, 0, 2, 0, 3, 0]);
  const H = 40;
  const U: [number, number] = [24, 32];
  const S: [number, number] = [8, 16];
  for (let seed = 0; seed < 20; seed++) {
    const v = slotVectors(roles, 1, roles.length, H, new Rng(seed), { userDims: U, itemDims: S, normSpread: 0, historyDecoys: false })!;
    const row = (i: number) => Array.from(v.vectors.subarray(i * H, (i + 1) * H));
    const inside = (r: number[], [a, b]: [number, number]) => r.every((x, j) => (j >= a && j < b) || x === 0);
    expect(inside(row(0), U)).toBe(true);
    for (const i of [2, 4, 6, 8, 10]) expect(inside(row(i), S)).toBe(true);
    for (const i of [0, 2, 4, 6, 8, 10]) expect(Math.hypot(...row(i))).toBeCloseTo(1, 5);
    // Cosines are taken between the slices: the answer's is the largest, history included.
    const u = row(0).slice(U[0], U[1]);
    const cos = (i: number) => row(i).slice(S[0], S[1]).reduce((s, x, j) => s + x * u[j], 0);
    const ca = cos(8);
    expect(ca).toBeGreaterThanOrEqual(0.6 - 1e-5);
    for (const i of [2, 4, 6, 10]) expect(cos(i)).toBeLessThanOrEqual(ca - 0.3 + 1e-4);
  }
  expect(() => slotVectors(roles, 1, roles.length, H, new Rng(1), { userDims: U })).toThrow(/go together/);
  expect(() => slotVectors(roles, 1, roles.length, H, new Rng(1), { userDims: [0, 8], itemDims: [8, 12] })).toThrow(/one width/);
  // userScale shrinks only the user vectors (log-uniformly in [lo, hi]); the items and the cosines stay as drawn.
  const base = { userDims: U, itemDims: S, normSpread: 0, historyDecoys: false };
  const norms: number[] = [];
  for (let seed = 0; seed < 200; seed++) {
    const v = slotVectors(roles, 1, roles.length, H, new Rng(seed), { ...base, userScale: [0.1, 1] })!;
    const row = (i: number) => Array.from(v.vectors.subarray(i * H, (i + 1) * H));
    norms.push(Math.hypot(...row(0)));
    for (const i of [2, 4, 6, 8, 10]) expect(Math.hypot(...row(i))).toBeCloseTo(1, 5);
    const u = row(0).slice(U[0], U[1]).map((x) => x / norms[norms.length - 1]);
    const cos = (i: number) => row(i).slice(S[0], S[1]).reduce((s, x, j) => s + x * u[j], 0);
    for (const i of [2, 4, 6, 10]) expect(cos(i)).toBeLessThanOrEqual(cos(8) - 0.3 + 1e-4);
  }
  expect(Math.min(...norms)).toBeGreaterThanOrEqual(0.1 - 1e-6);
  expect(Math.max(...norms)).toBeLessThanOrEqual(1 + 1e-6);
  expect(norms.filter((n) => n < Math.sqrt(0.1)).length / norms.length).toBeGreaterThan(0.4); // log-uniform: half below √0.1
  expect(norms.filter((n) => n < Math.sqrt(0.1)).length / norms.length).toBeLessThan(0.6);
  // A fixed scale draws nothing extra: the same vectors as without it, the user's scaled.
  const plain = slotVectors(roles, 1, roles.length, H, new Rng(5), base)!.vectors;
  const fixed = slotVectors(roles, 1, roles.length, H, new Rng(5), { ...base, userScale: [0.5, 0.5] })!.vectors;
  for (let i = 0; i < plain.length; i++) expect(fixed[i]).toBeCloseTo(i < H ? plain[i] * 0.5 : plain[i], 6);
  expect(() => slotVectors(roles, 1, roles.length, H, new Rng(1), { ...base, userScale: [1, 0.5] })).toThrow(/userScale/);
});

test('vector documents: every slot is a vector slot with its role, and the answer is the candidate most similar to the user slot', () => {
  const titles = ITEMS.map((i) => i.title);
  const tok = new HFTokenizer(trainByteLevelBPE(titles, { vocabSize: 300 }).tokenizerJson, {});
  const rng = new Rng(6);
  const H = 24;
  for (let d = 0; d < 30; d++) {
    const doc = listCopyDocument(titles, rng, TEMPLATES.movies, [1, 3], [2, 6], 'vector');
    const { ids, target, roles } = tokenizeDocument(tok, doc.pieces.join(PIECE_BREAK), 0, rng, 8);
    expect(roles).toBeDefined();
    const at = (r: number) => roles!.flatMap((x, i) => (x === r ? [i] : []));
    expect(at(VECTOR_ROLES.user)).toEqual([0]);
    expect(at(VECTOR_ROLES.answer)).toHaveLength(1);
    expect(at(VECTOR_ROLES.candidate)).toHaveLength(doc.candidates.length - 1);
    expect(at(VECTOR_ROLES.history)).toHaveLength(doc.pieces.filter((p) => p === VECTOR_SLOT + 'h').length);
    // Vector slots are placeholders (the eos id) and never targets; the answer's slot follows its title.
    for (let i = 0; i < ids.length; i++) if (roles![i]) { expect(ids[i]).toBe(0); expect(target[i]).toBe(false); }
    const k = doc.pieces.indexOf(VECTOR_SLOT + 'a');
    expect(doc.pieces[k - 1].replace(/^, /, '')).toBe(`"${doc.candidates[doc.answer]}"`);

    const T = ids.length;
    const v = slotVectors(roles!, 1, T, H, new Rng(d))!;
    const again = slotVectors(roles!, 1, T, H, new Rng(d))!;
    expect(Array.from(again.vectors)).toEqual(Array.from(v.vectors));
    const row = (i: number) => v.vectors.subarray(i * H, (i + 1) * H);
    const norm = (x: Float32Array) => Math.hypot(...x);
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, j) => s + x * b[j], 0) / (norm(a) * norm(b));
    const u = row(0);
    const ca = cos(row(at(VECTOR_ROLES.answer)[0]), u);
    expect(ca).toBeGreaterThanOrEqual(0.6 - 1e-5);
    expect(ca).toBeLessThanOrEqual(1 + 1e-5);
    for (const i of at(VECTOR_ROLES.candidate)) expect(cos(row(i), u)).toBeLessThanOrEqual(ca - 0.3 + 1e-4);
    for (let i = 0; i < T; i++) {
      expect(v.mask[i]).toBe(roles![i] ? 1 : 0);
      if (roles![i]) { expect(norm(row(i))).toBeGreaterThan(0.5 - 1e-4); expect(norm(row(i))).toBeLessThan(2 + 1e-4); }
      else expect(norm(row(i))).toBe(0);
    }
  }
  // Documents without vector slots draw nothing.
  const plain = tokenizeDocument(tok, listCopyDocument(titles, rng, TEMPLATES.movies, [1, 3], [2, 6]).pieces.join(PIECE_BREAK), 0, rng, 8);
  expect(plain.roles).toBeUndefined();
  expect(slotVectors(new Uint8Array(10), 2, 5, H, new Rng(1))).toBeUndefined();
});
