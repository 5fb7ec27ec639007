import { WordPieceTokenizer, isBertPunctuation } from './wordpiece';
import { fixtureTokenizerJson, fixtureVocab } from './testing/bert-tokenizer';

describe('WordPieceTokenizer from tokenizer.json', () => {
  const tok = WordPieceTokenizer.fromTokenizerJson(fixtureTokenizerJson());

  it('reads specials, truncation and normalizer settings', () => {
    expect(tok.config.prefix).toEqual([{ token: '[CLS]', id: 101, typeId: 0 }]);
    expect(tok.config.suffix).toEqual([{ token: '[SEP]', id: 102, typeId: 0 }]);
    expect(tok.config.maxLength).toBe(16);
    expect(tok.config.padId).toBe(0);
    expect(tok.config.normalizer).toMatchObject({ lowercase: true, stripAccents: true, cleanText: true });
  });

  it('lower-cases, strips accents, splits punctuation and applies WordPiece', () => {
    expect(tok.encode('Star Wars (1977)').tokens).toEqual(['[CLS]', 'star', 'wars', '(', '19', '##77', ')', '[SEP]']);
    expect(tok.encode('Café  Unaffable!').tokens).toEqual(['[CLS]', 'cafe', 'un', '##aff', '##able', '!', '[SEP]']);
    const v = fixtureVocab();
    const e = tok.encode('Jaws');
    expect(e.ids).toEqual([101, v.indexOf('jaws'), 102]);
    expect(e.typeIds).toEqual([0, 0, 0]);
  });

  it('maps a word with an unmatched part to [UNK] as a whole', () => {
    expect(tok.encode('Star Wazzz').tokens).toEqual(['[CLS]', 'star', '[UNK]', '[SEP]']);
    expect(tok.encode('Star Wazzz').ids[2]).toBe(100);
  });

  it('matches added special tokens verbatim in the raw text', () => {
    expect(tok.encode('the [MASK] returns').tokens).toEqual(['[CLS]', 'the', '[MASK]', 'returns', '[SEP]']);
  });

  it('truncates to max length including the special tokens', () => {
    const e = tok.encode(Array(40).fill('jaws').join(' '));
    expect(e.ids).toHaveLength(16);
    expect(e.tokens[0]).toBe('[CLS]');
    expect(e.tokens[15]).toBe('[SEP]');
    const short = WordPieceTokenizer.fromTokenizerJson(fixtureTokenizerJson(), { maxLength: 4 });
    expect(short.encode('die hard returns').tokens).toEqual(['[CLS]', 'die', 'hard', '[SEP]']);
  });

  it('pads a batch on the right with attention mask 0', () => {
    const b = tok.pad([tok.encode('jaws'), tok.encode('die hard')]);
    expect(b.length).toBe(4);
    expect(Array.from(b.attentionMask, Number)).toEqual([1, 1, 1, 0, 1, 1, 1, 1]);
    expect(Number(b.inputIds[3])).toBe(0);
  });

  it('builds the same tokenizer from vocab.txt', () => {
    const fromTxt = WordPieceTokenizer.fromVocabTxt(fixtureVocab().join('\n'), { maxLength: 16 });
    for (const t of ['Star Wars (1977)', 'Café  Unaffable!', 'the [MASK] returns']) {
      expect(fromTxt.encode(t)).toEqual(tok.encode(t));
    }
  });

  it('rejects non-WordPiece models', () => {
    expect(() => WordPieceTokenizer.fromTokenizerJson({ model: { type: 'BPE', vocab: {}, merges: [] } })).toThrow(/BPE/);
  });

  it('knows BERT punctuation', () => {
    expect(['!', '(', '$', '~', '¿', '—'].every(isBertPunctuation)).toBe(true);
    expect(['a', '1', ' ', 'é'].some(isBertPunctuation)).toBe(false);
  });
});
