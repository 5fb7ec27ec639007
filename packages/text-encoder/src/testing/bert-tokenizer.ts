/**
 * Test fixture: a small but structurally real BERT `tokenizer.json` (the layout Hugging Face
 * tokenizers writes for bert-base-uncased / all-MiniLM-L6-v2: BertNormalizer, BertPreTokenizer,
 * WordPiece, TemplateProcessing, truncation). No real tokenizer.json ships in node_modules here,
 * so the vocabulary is a hand-picked subset with BERT's special-token ids.
 */

/** The fixture's vocabulary in id order (ids 0..): specials at BERT's positions 0, 100-103. */
export function fixtureVocab(): string[] {
  const vocab: string[] = ['[PAD]'];
  for (let i = 1; i < 100; i++) vocab.push(`[unused${i - 1}]`);
  vocab.push('[UNK]', '[CLS]', '[SEP]', '[MASK]');
  vocab.push(
    '!', '"', '(', ')', ',', '-', '.', ':', '?', '\'', '1', '2', '9', '19', '##9', '##5', '##7', '##77',
    'a', 'the', 'of', 'star', 'wars', 'die', 'hard', 'return', 'jedi', 'free', 'will', '##y', 'adventure',
    'home', 'cafe', 'un', '##aff', '##able', 'toy', 'story', 'é', 'batman', 'returns', '##s', 'jaws',
  );
  return vocab;
}

/** A tokenizer.json object over {@link fixtureVocab}. */
export function fixtureTokenizerJson(maxLength = 16): Record<string, unknown> {
  const vocab = fixtureVocab();
  const ids: Record<string, number> = {};
  vocab.forEach((t, i) => { ids[t] = i; });
  const special = (content: string) => ({
    id: ids[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [ids['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [ids['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids,
    },
  };
}
