/**
 * The wired matching head and its section flag: at initialisation the LM ranks the candidate most
 * similar to the user slot first (past more similar history slots with the flag), more look-back
 * slices let it name the copied title, and the hold keeps every wired entry through training.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TEMPLATES } from '../prompt';
import { HFTokenizer } from '../tokenizer';
import { trainByteLevelBPE } from './bpe-trainer';
import { buildPretrainCorpus, textPieces } from './corpus';
import { TrainableGPT2 } from './gpt2-trainable';
import { listCopyAccuracy } from './list-copy';
import { interfaceSlotVectors, matchSlices, sectionMarkerToken } from './match-head';
import { pretrainLM } from './pretrain';
import { ITEMS, atInitSpec, makeTmpDir, readSafetensorsForTest, removeTmpDir, savedAndLoaded } from './test-helpers';

let tmp: string;
beforeAll(async () => { tmp = await makeTmpDir(); });
afterAll(() => removeTmpDir(tmp));

test('wired matching head: at initialisation the LM already ranks the candidate most similar to the user slot first; without it, chance', async () => {
  const titles = ['Toy Story (1995)', 'GoldenEye (1995)', 'Four Rooms (1995)', 'Get Shorty (1995)', 'Copycat (1995)', 'Babe (1995)', 'Heat (1995)', 'Casino (1995)', 'Sabrina (1995)', 'Nixon (1995)', 'Balto (1995)', 'Othello (1995)'];
  const corpus = buildPretrainCorpus(titles.map((title) => ({ title })), { seed: 3, documents: 40, listHistory: [1, 2], listCandidates: [3, 5], listAnswer: 'vector', itemTexts: false });
  const bpe = trainByteLevelBPE((function* () { for (const d of corpus) yield* textPieces(d); })(), { vocabSize: 300, addedTokens: titles });
  const lookBack = { offset: 2, heads: 1, first: 1, match: true };
  const spec = atInitSpec(bpe, titles);
  const rank = async (name: string, wired: boolean) => {
    const model = new TrainableGPT2({ ...spec, ...(wired ? { lookBack } : {}) }, 2);
    const lm = await savedAndLoaded(model, bpe, path.join(tmp, name));
    model.dispose();
    const { dh, S, U } = matchSlices({ ...spec, lookBack });
    const acc = await listCopyAccuracy(lm, titles, {
      seed: 4, documents: 40, template: TEMPLATES.movies, listHistory: [1, 2], listCandidates: [3, 5], maxNewTokens: 1, answerBy: 'vector',
      slotVectors: { userDims: [U, U + dh], itemDims: [S, S + dh], normSpread: 0, historyDecoys: false },
    });
    lm.dispose();
    return acc;
  };
  const wired = await rank('match-wired', true);
  const plain = await rank('match-plain', false);
  expect(wired.chance).toBeGreaterThan(0.2);
  expect(wired.chance).toBeLessThan(0.34);
  expect(wired.rankRate).toBeGreaterThanOrEqual(0.8);
  expect(plain.rankRate).toBeLessThan(wired.chance + 0.25);
  expect(() => new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 1, first: 0, match: true } }, 1)).toThrow(/lookBack.match/);
  expect(() => new TrainableGPT2({ ...spec, layers: 1, lookBack }, 1)).toThrow(/lookBack.match/);
});

test('section flag: with history slots more similar than the answer, the matching head still picks the answer among the candidates; without the flag the history draws it', async () => {
  const titles = ['Toy Story (1995)', 'GoldenEye (1995)', 'Four Rooms (1995)', 'Get Shorty (1995)', 'Copycat (1995)', 'Babe (1995)', 'Heat (1995)', 'Casino (1995)', 'Sabrina (1995)', 'Nixon (1995)', 'Balto (1995)', 'Othello (1995)'];
  const options = { seed: 3, documents: 40, template: TEMPLATES.movies, listHistory: [4, 6] as [number, number], listCandidates: [3, 5] as [number, number], listAnswer: 'vector' as const, itemTexts: false };
  const corpus = buildPretrainCorpus(titles.map((title) => ({ title })), options);
  const bpe = trainByteLevelBPE((function* () { for (const d of corpus) yield* textPieces(d); })(), { vocabSize: 400, addedTokens: titles });
  const tok = new HFTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig, { eosTokenId: bpe.eosTokenId, bosTokenId: bpe.eosTokenId });
  const small = trainByteLevelBPE((function* () { for (const d of corpus) yield* textPieces(d); })(), { vocabSize: 270 });
  expect(() => sectionMarkerToken(new HFTokenizer(small.tokenizerJson, small.tokenizerConfig, { eosTokenId: small.eosTokenId, bosTokenId: small.eosTokenId }))).toThrow(/" set" is \d+ tokens/);
  const marker = sectionMarkerToken(tok);
  expect(tok.decode([marker])).toBe(' set');
  const spec = atInitSpec(bpe, titles);
  const rank = async (name: string, section: boolean, decoys: boolean) => {
    const model = new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 1, first: 1, match: true, ...(section ? { section: marker } : {}) } }, 2);
    const iface = model.configJson().allmrec_slot_interface as { user: [number, number]; item: [number, number]; section?: number };
    const lm = await savedAndLoaded(model, bpe, path.join(tmp, name));
    model.dispose();
    expect(lm.config.slotInterface).toEqual(iface);
    const acc = await listCopyAccuracy(lm, titles, { ...options, seed: 4, maxNewTokens: 1, answerBy: 'vector', slotVectors: { ...interfaceSlotVectors(iface), historyDecoys: decoys } });
    lm.dispose();
    return acc.rankRate;
  };
  const sectioned = await rank('section-decoys', true, true);
  const drawn = await rank('nosection-decoys', false, true);
  const clean = await rank('nosection-clean', false, false);
  expect(sectioned).toBeGreaterThanOrEqual(0.8);
  expect(sectioned).toBeGreaterThanOrEqual(clean - 0.1); // the flag costs (almost) nothing
  expect(drawn).toBeLessThan(sectioned - 0.15);
  expect(() => new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 1, first: 1, section: marker } }, 1)).toThrow(/lookBack.section/);
  expect(() => new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 1, first: 1, match: true, section: spec.vocabSize } }, 1)).toThrow(/lookBack.section/);
});

test('copy width: with 300 titles the matching head copies a title the LM can name only when it copies more than one dh slice of it', async () => {
  const words = ['Red', 'Blue', 'Night', 'River', 'Star', 'Ghost', 'King', 'Lost', 'City', 'Dream', 'Fire', 'Moon', 'Iron', 'Glass', 'Wild', 'Silent'];
  const titles = Array.from({ length: 300 }, (_, i) => `${words[i % 16]} ${words[Math.floor(i / 16) % 16]} ${i} (${1950 + (i % 50)})`);
  const options = { seed: 3, documents: 40, template: TEMPLATES.movies, listHistory: [1, 3] as [number, number], listCandidates: [10, 20] as [number, number], listAnswer: 'vector' as const, itemTexts: false, sectionMarker: true };
  const corpus = buildPretrainCorpus(titles.map((title) => ({ title })), options);
  const bpe = trainByteLevelBPE((function* () { for (const d of corpus) yield* textPieces(d); })(), { vocabSize: 700, addedTokens: titles, wholeWords: [' set'] });
  const marker = sectionMarkerToken(new HFTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig, { eosTokenId: bpe.eosTokenId, bosTokenId: bpe.eosTokenId }));
  const spec = atInitSpec(bpe, titles);
  const named = async (heads: number) => {
    const model = new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads, first: 1, match: true, section: marker } }, 2);
    const iface = model.configJson().allmrec_slot_interface as { user: [number, number]; item: [number, number]; section?: number };
    const lm = await savedAndLoaded(model, bpe, path.join(tmp, `copy-${heads}`));
    model.dispose();
    const acc = await listCopyAccuracy(lm, titles, { ...options, seed: 4, maxNewTokens: 1, answerBy: 'vector', slotVectors: interfaceSlotVectors(iface) });
    lm.dispose();
    return acc;
  };
  const one = await named(1);
  const four = await named(4);
  // The greedy first token is a candidate's title (valid) far more often with 4 slices (64 of 128 dimensions) than with 1 (16).
  expect(four.validRate).toBeGreaterThanOrEqual(0.95);
  expect(one.validRate).toBeLessThan(four.validRate - 0.15);
  expect(four.rankRate).toBeGreaterThanOrEqual(0.9);
  const w = new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads: 4, first: 1, match: true, section: marker } }, 2);
  const { dh, C, copy } = matchSlices(w.spec);
  expect([C, copy]).toEqual([4 * dh, 4 * dh]);
  // Layer 1's heads 1..4 each read and write one of the four look-back slices.
  const v = w.params.get('h.1.attn.c_attn.weight')!.dataSync();
  const o = w.params.get('h.1.attn.c_proj.weight')!.dataSync();
  const H = 128;
  for (let i = 0; i < 4; i++) {
    const m = (1 + i) * dh;
    expect(v[(C + i * dh + 3) * 3 * H + 2 * H + m + 3]).toBe(1);
    expect(o[(m + 3) * H + C + i * dh + 3]).toBeGreaterThan(1);
    expect(o[(m + 3) * H + C + ((i + 1) % 4) * dh + 3]).toBe(0);
  }
  w.dispose();
});

test('matching-head hold: every wired entry keeps its value through training (weight decay included), the rest trains', async () => {
  const corpus = buildPretrainCorpus(ITEMS, { seed: 2, documents: 30, listHistory: [0, 1], listCandidates: [2, 3], listAnswer: 'vector', itemTexts: false, bareLists: 1, sectionMarker: true });
  expect(corpus.filter((d) => d.includes(' set;')).length).toBe(30); // bare lists keep the section marker
  const lookBack = { offset: 2, heads: 1, first: 1, match: true };
  const base = { corpus, seed: 8, vocabSize: 300, hidden: 64, layers: 2, heads: 4, maxPositions: 64, seqLen: 64, batchSize: 4, steps: 4, lr: 3e-3, oneDocPerRow: true, weightDecay: 0.5 };
  await pretrainLM({ ...base, outDir: path.join(tmp, 'mhold'), lookBack: { ...lookBack, section: true, hold: 1 } });
  const cfg = JSON.parse(fs.readFileSync(path.join(tmp, 'mhold', 'config.json'), 'utf8'));
  const marker = cfg.allmrec_slot_interface.section as number;
  const init = new TrainableGPT2({ vocabSize: cfg.vocab_size, hidden: 64, layers: 2, heads: 4, maxPositions: 64, eosTokenId: cfg.eos_token_id, lookBack: { ...lookBack, section: marker } }, 8);
  const w = readSafetensorsForTest(path.join(tmp, 'mhold', 'model.safetensors'));
  const { dh, S, U, C, M, F } = matchSlices(init.spec);
  expect(cfg.allmrec_slot_interface).toEqual({ user: [U, U + dh - 1], item: [S, S + dh - 1], section: marker });
  const H = 64;
  const m = dh; // layer 1's head 1
  const q = (name: string, i: number) => [w.get(name)![i], init.params.get(name)!.dataSync()[i]];
  // W_Q reads U, W_K reads S, W_V reads C; W_O writes C; nothing else in those columns.
  for (let r = 0; r < H; r++) {
    for (let j = 0; j < dh; j++) {
      for (const off of [0, H, 2 * H]) {
        const [now, was] = q('h.1.attn.c_attn.weight', r * 3 * H + off + m + j);
        expect(now).toBe(was);
      }
    }
  }
  expect(init.params.get('h.1.attn.c_attn.weight')!.dataSync()[(U + 3) * 3 * H + m + 3]).toBeGreaterThan(1);
  expect(init.params.get('h.1.attn.c_attn.weight')!.dataSync()[(S + 3) * 3 * H + H + m + 3]).toBe(1);
  expect(init.params.get('h.1.attn.c_attn.weight')!.dataSync()[(C + 3) * 3 * H + 2 * H + m + 3]).toBe(1);
  for (let c = 0; c < H; c++) expect(q('h.1.attn.c_proj.weight', (m + 2) * H + c)[0]).toBe(c === C + 2 ? q('h.1.attn.c_proj.weight', (m + 2) * H + c)[1] : 0);
  // Token rows stay 0 on S and U, layer 0's MLP never writes there, and layer 1's LayerNorm keeps gain 1 on the slices.
  const wte = w.get('wte.weight')!;
  const mlp = w.get('h.0.mlp.c_proj.weight')!;
  for (let r = 0; r < cfg.vocab_size; r++) for (let j = 0; j < dh; j++) { expect(wte[r * H + S + j]).toBe(r === marker && S + j === M ? 0.5 : 0); expect(wte[r * H + U + j]).toBe(0); }
  // The marker's row is only M; layer 0's head 0 (the section head) and its write into the flag F stay wired.
  for (let j = 0; j < H; j++) expect(wte[marker * H + j]).toBe(j === M ? 0.5 : 0);
  for (const [name, i] of [['h.0.attn.c_attn.weight', M * 3 * H + H], ['h.0.attn.c_attn.weight', M * 3 * H + 2 * H], ['h.0.attn.c_attn.bias', 0], ['h.0.attn.c_attn.bias', 2 * H], ['h.0.attn.c_proj.weight', F], ['h.1.attn.c_attn.bias', m + dh - 1], ['h.1.attn.c_attn.weight', F * 3 * H + H + m + dh - 1]] as [string, number][]) {
    const [now, was] = q(name, i);
    expect(now).toBe(was);
    expect(now).not.toBe(0);
  }
  for (let r = 0; r < 4 * H; r++) for (const c0 of [S, U, C]) expect(mlp[r * H + c0 + 5]).toBe(0);
  for (const c0 of [S, U, C]) expect(w.get('h.1.ln_1.weight')![c0 + 1]).toBe(1);
  // The rest trained.
  const same = (n: string) => Array.from(w.get(n)!).every((x, i) => x === init.params.get(n)!.dataSync()[i]);
  expect(same('h.1.mlp.c_fc.weight')).toBe(false);
  expect(same('h.0.mlp.c_proj.weight')).toBe(false);
  init.dispose();
});
