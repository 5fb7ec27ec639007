/**
 * The pretraining corpus: list documents follow renderPrompt's token boundaries with slots,
 * marker documents share one token between the user slot and the answer's, and bare documents
 * keep the slots, titles and answer without the wording.
 */
import { Rng } from '@allmrec/core';
import { TEMPLATES, renderPrompt } from '../prompt';
import { HFTokenizer } from '../tokenizer';
import { trainByteLevelBPE } from './bpe-trainer';
import { CONTEXT_MARK, PIECE_BREAK, SLOT_MARK, SLOT_MATCH, buildPretrainCorpus, listCopyDocument, textPieces, tokenizeDocument } from './corpus';
import { ITEMS } from './test-helpers';

test('corpus documents follow renderPrompt token boundaries, with slots', () => {
  const corpus = buildPretrainCorpus(ITEMS, { seed: 1, template: TEMPLATES.movies, documents: 5, listHistory: [2, 2], listCandidates: [3, 3] });
  expect(corpus.length).toBe(ITEMS.length + 5);
  const doc = corpus[ITEMS.length];
  const raw = doc.split(PIECE_BREAK);
  // Prompt pieces are context only (CONTEXT_MARK); the answer is the one target piece.
  expect(raw.slice(0, -1).every((p) => p === SLOT_MARK || p.startsWith(CONTEXT_MARK))).toBe(true);
  expect(raw[raw.length - 1].startsWith(CONTEXT_MARK)).toBe(false);
  const pieces = raw.map((p) => (p.startsWith(CONTEXT_MARK) ? p.slice(1) : p));
  expect(pieces.filter((p) => p === SLOT_MARK).length).toBe(1 + 2 + 3);
  expect(pieces[pieces.length - 1]).toMatch(/^".*"$/);
  // The answer is one of the candidates.
  const answer = pieces[pieces.length - 1];
  const cands = pieces.slice(pieces.indexOf(pieces.find((p) => p.includes('title set'))!) + 1, -2).filter((p) => p !== SLOT_MARK).map((p) => p.replace(/^, /, ''));
  expect(cands).toContain(answer);
  // Same ids as renderPrompt with the slot placeholders at the same positions.
  const bpe = trainByteLevelBPE(corpus.flatMap((d) => textPieces(d)), { vocabSize: 400 });
  const tok = new HFTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig);
  const { ids, target } = tokenizeDocument(tok, raw.slice(0, -1).join(PIECE_BREAK), bpe.eosTokenId, new Rng(0), bpe.eosTokenId);
  expect(target.slice(0, -1).every((t) => !t)).toBe(true);
  const hist = pieces.slice(2, 6).filter((p) => p !== SLOT_MARK).map((p, i) => ({ id: i + 1, title: p.replace(/^, /, '').slice(1, -1) }));
  const cand = cands.map((c, i) => ({ id: 10 + i, title: c.slice(1, -1) }));
  const r = renderPrompt(tok, TEMPLATES.movies, hist, cand, { placeholderId: -1 });
  expect(ids.length - 1).toBe(r.ids.length);
  r.ids.forEach((id, i) => { if (id === -1) expect(target[i]).toBe(false); else expect(ids[i]).toBe(id); });
});

test('marker documents: the user slot and the answer slot share one token no other slot has', () => {
  const titles = ITEMS.map((i) => i.title);
  const tok = new HFTokenizer(trainByteLevelBPE(titles, { vocabSize: 300 }).tokenizerJson, {});
  const rng = new Rng(4);
  for (let d = 0; d < 40; d++) {
    const doc = listCopyDocument(titles, rng, TEMPLATES.movies, [1, 3], [2, 6], 'marker');
    expect(doc.pieces[0]).toBe(SLOT_MATCH);
    expect(doc.pieces.filter((p) => p === SLOT_MATCH)).toHaveLength(2);
    // The second SLOT_MATCH follows the answer's title.
    const at = doc.pieces.lastIndexOf(SLOT_MATCH);
    expect(doc.pieces[at - 1].replace(/^, /, '')).toBe(`"${doc.candidates[doc.answer]}"`);
    const { ids, target } = tokenizeDocument(tok, doc.pieces.join(PIECE_BREAK), 0, rng, 8);
    // Slot positions: not targets. The marker value appears at exactly the two SLOT_MATCH slots.
    const slots = ids.filter((_, i) => !target[i]);
    expect(slots).toHaveLength(doc.pieces.filter((p) => p === SLOT_MARK || p === SLOT_MATCH).length);
    const marker = ids[0];
    expect(target[0]).toBe(false);
    expect(slots.filter((t) => t === marker)).toHaveLength(2);
  }
  // 'random' documents have no marker.
  const r = listCopyDocument(titles, new Rng(1), TEMPLATES.movies, [1, 3], [2, 6]);
  expect(r.pieces.includes(SLOT_MATCH)).toBe(false);
});

test('bare list documents keep the slots, titles and answer, without the wording', () => {
  const titles = ITEMS.map((i) => i.title);
  const worded = buildPretrainCorpus(ITEMS, { seed: 3, documents: 30, listAnswer: 'marker', itemTexts: false });
  const bare = buildPretrainCorpus(ITEMS, { seed: 3, documents: 30, listAnswer: 'marker', itemTexts: false, bareLists: 1 });
  for (let d = 0; d < 30; d++) {
    const w = worded[d].split(PIECE_BREAK);
    const b = bare[d].split(PIECE_BREAK);
    // Same slots in the same order, same answer, same quoted titles.
    const slots = (x: string[]) => x.filter((p) => p === SLOT_MARK || p === SLOT_MATCH);
    expect(slots(b)).toEqual(slots(w));
    expect(b[b.length - 1]).toBe(w[w.length - 1]);
    const quoted = (x: string[]) => x.join('').match(/"[^"]*"/g);
    expect(quoted(b)).toEqual(quoted(w));
    const text = textPieces(bare[d]).join('');
    expect(text).not.toMatch(/recommend|user/i);
    expect(text).toMatch(/ = "/);
    expect(titles).toContain(b[b.length - 1].slice(1, -1));
  }
});
