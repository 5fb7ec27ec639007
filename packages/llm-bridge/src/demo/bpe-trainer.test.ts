/** The byte-level BPE trainer: known merges, deterministic ties, round trips, HF loading. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { byteLevelPieces, bytesToUnicode, trainByteLevelBPE } from './bpe-trainer';
import { HFTokenizer, gpt2Tokenizer, loadTokenizer } from '../tokenizer';

test('byte→unicode map and pre-tokenization match GPT-2', () => {
  const { byteToChar, order } = bytesToUnicode();
  expect(byteToChar[0x20]).toBe('Ġ');
  expect(byteToChar[0x0a]).toBe('Ċ');
  expect(order[0]).toBe(0x21);
  expect(new Set(byteToChar).size).toBe(256);
  expect(byteLevelPieces("Hello world, it's 2024!")).toEqual(['Hello', 'Ġworld', ',', 'Ġit', "'s", 'Ġ2024', '!']);
  // GPT-2's own vocabulary starts with the same 256 byte symbols in the same order.
  const g = gpt2Tokenizer();
  expect(g.encode('!')).toEqual([0]);
  expect(g.encode('"')).toEqual([1]);
});

test('a known tiny corpus gives the expected first merges (ties: smaller pair ids first)', () => {
  const r = trainByteLevelBPE(['low lower lowest', 'low low'], { vocabSize: 300 });
  // Pair counts: l-o 5, o-w 5 (tie → (l, o) has the smaller ids), then lo-w 5, Ġ-low 3, Ġlow-e 2.
  expect(r.merges.slice(0, 4)).toEqual([['l', 'o'], ['lo', 'w'], ['Ġ', 'low'], ['Ġlow', 'e']]);
  expect(r.vocab.l).toBe(0x6c - 0x21);
  expect(r.vocab.lo).toBe(256);
  expect(r.vocab['<|endoftext|>']).toBe(r.vocabSize - 1);
  // Deterministic.
  expect(trainByteLevelBPE(['low lower lowest', 'low low'], { vocabSize: 300 }).merges).toEqual(r.merges);
});

test('tokenizer.json loads in @huggingface/tokenizers; encode/decode round trip; vocabulary size honoured', () => {
  const corpus = Array.from({ length: 200 }, (_, i) => `"Movie number ${i} (199${i % 10})": a story about ${['cats', 'dogs', 'ships'][i % 3]}.`);
  const r = trainByteLevelBPE(corpus, { vocabSize: 400 });
  expect(r.vocabSize).toBeLessThanOrEqual(400); // training stops early when no pair occurs twice
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpe-'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(r.tokenizerJson));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(r.tokenizerConfig));
  const tok = loadTokenizer(dir);
  expect(tok.vocabSize).toBe(r.vocabSize);
  expect(tok.eosTokenId).toBe(r.vocabSize - 1);
  for (const s of ['"Movie number 7 (1997)": a story about dogs.', 'Café — naïve 東京 "quotes"\n\ttabs  spaces']) {
    expect(tok.decode(tok.encode(s))).toBe(s);
  }
  // A frequent word is one token; the special token is recognised.
  expect(tok.encode(' story').length).toBe(1);
  expect(tok.encode('a<|endoftext|>')).toEqual([...tok.encode('a'), r.vocabSize - 1]);
  expect(tok.decode(tok.encode('a<|endoftext|>'))).toBe('a');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('added tokens: each title is one token (longest match first), decodes verbatim, and trains no merges', () => {
  const titles = ['Star Wars', 'Star Wars (1977)', 'Toy Story (1995)', 'Toy Story (1995)'];
  const corpus = ['"Star Wars (1977)": a space opera.', 'Star Wars again', '"Toy Story (1995)": toys.'];
  const r = trainByteLevelBPE(corpus, { vocabSize: 300, addedTokens: titles });
  expect(r.addedTokens).toBe(3); // duplicates removed
  expect(r.vocabSize).toBe(r.eosTokenId + 1 + 3);
  // No merge was learned from inside a title (e.g. "St"+"ar", "Wars", "Toy").
  for (const [a, b] of r.merges) expect(['Star', 'Wars', 'Toy', 'Story', 'ĠWars', 'ĠStory'].includes(a + b)).toBe(false);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpe-added-'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(r.tokenizerJson));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(r.tokenizerConfig));
  const tok = loadTokenizer(dir);
  expect(tok.vocabSize).toBe(r.vocabSize);
  const id = (t: string) => r.tokenizerJson.added_tokens.find((x: { content: string }) => x.content === t).id;
  expect(tok.encode('"Star Wars (1977)"')).toEqual([...tok.encode('"'), id('Star Wars (1977)'), ...tok.encode('"')]);
  expect(tok.encode('Star Wars')).toEqual([id('Star Wars')]);
  expect(tok.encode('Toy Story (1995)')).toEqual([id('Toy Story (1995)')]);
  for (const s of ['The recommendation is "Star Wars (1977)"', ', "Toy Story (1995)", "Star Wars"']) expect(tok.decode(tok.encode(s))).toBe(s);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('whole words: a rare word is merged first, left to right, so it is one token; the learned merges follow', () => {
  const r = trainByteLevelBPE(['low lower lowest', 'low low', 'a set'], { vocabSize: 300, wholeWords: [' set'] });
  expect(r.merges.slice(0, 5)).toEqual([['Ġ', 's'], ['Ġs', 'e'], ['Ġse', 't'], ['l', 'o'], ['lo', 'w']]);
  const tok = new HFTokenizer(r.tokenizerJson, r.tokenizerConfig);
  expect(tok.encode(' set')).toEqual([r.vocab['Ġset']]);
  expect(tok.decode(tok.encode('a set of lows'))).toBe('a set of lows');
  // Without it the word is too rare to merge.
  const plain = new HFTokenizer(trainByteLevelBPE(['low lower lowest', 'low low', 'a set'], { vocabSize: 300 }).tokenizerJson, r.tokenizerConfig);
  expect(plain.encode(' set').length).toBeGreaterThan(1);
  // A word the learned merges already make whole changes nothing.
  const often = Array.from({ length: 20 }, () => 'a set');
  expect(trainByteLevelBPE(often, { vocabSize: 300, wholeWords: [' set'] }).merges).toEqual(trainByteLevelBPE(often, { vocabSize: 300 }).merges);
  expect(() => trainByteLevelBPE(['a'], { vocabSize: 300, wholeWords: ['two words'] })).toThrow(/2 pre-tokens/);
  expect(() => trainByteLevelBPE(['a'], { vocabSize: 258, wholeWords: [' set'] })).toThrow(/no room/);
});
