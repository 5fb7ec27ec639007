import * as fs from 'node:fs';
import * as path from 'node:path';
import { SentencePieceTokenizer, type SentencePieceVocab } from './sentencepiece';
import { defaultUseLiteDir } from './use-lite';

describe('SentencePieceTokenizer (toy vocabulary)', () => {
  // ids 0..5 are reserved control symbols, never matched.
  const vocab: SentencePieceVocab = [
    ['<unk>', 0], ['<s>', 0], ['</s>', 0], ['x1', 0], ['x2', 0], ['x3', 0],
    ['▁', -1], ['a', -1], ['b', -1], ['ab', -1.5], ['▁ab', -5], ['▁a', -0.5],
  ];
  const tok = new SentencePieceTokenizer(vocab);

  it('normalises: leading ▁ and spaces to ▁', () => {
    expect(SentencePieceTokenizer.normalize('ab ab')).toBe('▁ab▁ab');
    expect(SentencePieceTokenizer.normalize('')).toBe('');
  });

  it('picks the segmentation with the highest total score (Viterbi)', () => {
    // "▁ab": ▁ab = -5; ▁ + ab = -2.5; ▁a + b = -1.5 (best); ▁ + a + b = -3.
    expect(tok.pieces(tok.encode('ab'))).toEqual(['▁a', 'b']);
    // "▁b": only ▁ + b.
    expect(tok.encode('b')).toEqual([6, 8]);
  });

  it('maps uncovered characters to the unknown id 0, merging runs', () => {
    expect(tok.encode('a€€b')).toEqual([11, 0, 8]);
  });
});

describe('SentencePieceTokenizer (USE-lite vocab.json)', () => {
  const vocab = JSON.parse(fs.readFileSync(path.join(defaultUseLiteDir(), 'vocab.json'), 'utf8')) as SentencePieceVocab;
  const tok = new SentencePieceTokenizer(vocab);

  it('has the 8k vocabulary with the unknown token first', () => {
    expect(vocab).toHaveLength(8000);
    expect(vocab[0][0]).toBe('\ufffd');
  });

  it('tokenizes known answers (case-sensitive pieces)', () => {
    expect(tok.encode('Hello world.')).toEqual([341, 4125, 311, 6]);
    expect(tok.pieces(tok.encode('Hello world.'))).toEqual(['▁H', 'ello', '▁world', '.']);
    expect(tok.pieces(tok.encode('Star Wars (1977)'))).toEqual(['▁Star', '▁War', 's', '▁(19', '77', ')']);
    expect(tok.encode('Star Wars (1977)')).toEqual([2306, 1145, 7, 3513, 4287, 52]);
    expect(tok.encode('')).toEqual([]);
  });

  it('gives unknown characters id 0', () => {
    const ids = tok.encode('a \u{1F600}\u{1F601} b');
    expect(ids.filter((i) => i === 0)).toHaveLength(1);
  });
});
