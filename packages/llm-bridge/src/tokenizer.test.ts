import { encode as referenceEncode } from 'gpt-3-encoder';
import { GPT2_EOS, HFTokenizer, gpt2Tokenizer } from './tokenizer';
import { TINY_SPECIAL, tinyTokenizerConfig, tinyTokenizerJson } from './testing/tiny';

describe('gpt2Tokenizer', () => {
  const tok = gpt2Tokenizer();

  test('encodes known strings like GPT-2', () => {
    expect(tok.encode('Hello world')).toEqual([15496, 995]);
    expect(tok.vocabSize).toBe(50257);
    expect(tok.eosTokenId).toBe(GPT2_EOS);
    expect(tok.padTokenId).toBe(GPT2_EOS);
  });

  test('agrees with the gpt-3-encoder reference and round-trips non-ASCII text', () => {
    const texts = [
      ' Héllo wörld — 日本語 🙂 naïve café',
      "I'm here  twice\n\nnew line's end",
      'The recommendation is "Star Wars: Episode IV (1977)"',
      'Ελληνικά, русский, العربية',
    ];
    for (const t of texts) {
      const ids = tok.encode(t);
      expect(ids).toEqual(referenceEncode(t));
      expect(tok.decode(ids)).toBe(t);
    }
  });

  test('treats <|endoftext|> as the special end token', () => {
    expect(tok.encode('a<|endoftext|>b')).toEqual([64, GPT2_EOS, 65]);
    expect(tok.decode([64, GPT2_EOS, 65])).toBe('ab');
    expect(tok.decode([64, GPT2_EOS, 65], { skipSpecialTokens: false })).toBe('a<|endoftext|>b');
  });
});

describe('tiny tokenizer.json', () => {
  const tok = new HFTokenizer(tinyTokenizerJson(), tinyTokenizerConfig());
  test('encodes, decodes and adds BOS only on request', () => {
    const ids = tok.encode('The cat, "again"!');
    expect(ids[0]).not.toBe(TINY_SPECIAL.bos);
    expect(tok.encode('the', { addSpecialTokens: true })[0]).toBe(TINY_SPECIAL.bos);
    expect(tok.decode(ids)).toBe('the cat, "again"!');
    expect(tok.eosTokenId).toBe(TINY_SPECIAL.eos);
    expect(tok.padTokenId).toBe(TINY_SPECIAL.pad);
    expect(Math.max(...ids)).toBeLessThan(tok.vocabSize);
  });
});
