/**
 * BERT WordPiece tokenization from a Hugging Face `tokenizer.json` (the file every
 * Sentence-Transformers checkpoint ships): normalizer, pre-tokenizer, WordPiece model,
 * [CLS]/[SEP] post-processing, truncation and padding. Also builds from a bare `vocab.txt`.
 */
import * as fs from 'node:fs';

/** One encoded text. */
export interface WordPieceEncoding {
  /** Token ids including the special tokens, truncated to the max length. */
  ids: number[];
  /** Segment ids (all 0 for a single text). */
  typeIds: number[];
  /** The token strings (for debugging and tests). */
  tokens: string[];
}

/** A padded batch, row-major `[batch, length]`. */
export interface WordPieceBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  batch: number;
  length: number;
}

/** Normalizer settings (a BertNormalizer, or the equivalent Sequence of steps). */
export interface WordPieceNormalizer {
  cleanText: boolean;
  handleChineseChars: boolean;
  stripAccents: boolean;
  lowercase: boolean;
  /** Apply Unicode NFC/NFD/NFKC/NFKD first (from a Sequence normalizer). */
  unicodeForm?: 'NFC' | 'NFD' | 'NFKC' | 'NFKD';
}

/** Everything {@link WordPieceTokenizer} needs; {@link WordPieceTokenizer.fromTokenizerJson} fills it. */
export interface WordPieceConfig {
  vocab: Map<string, number>;
  unkToken: string;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
  normalizer: WordPieceNormalizer;
  /** How words are split: BERT (whitespace + punctuation) or whitespace only. */
  preTokenizer: 'bert' | 'whitespace' | 'whitespace-split';
  /** Tokens around a single text, e.g. `[[CLS]]` and `[[SEP]]` (empty arrays: none). */
  prefix: { token: string; id: number; typeId: number }[];
  suffix: { token: string; id: number; typeId: number }[];
  /** Maximum sequence length including special tokens. */
  maxLength: number;
  padId: number;
  /** Added tokens matched verbatim in the raw text before normalisation (e.g. "[MASK]"). */
  addedTokens: Map<string, number>;
}

/** Options when loading a tokenizer. */
export interface WordPieceLoadOptions {
  /** Overrides the truncation length (default: tokenizer.json's truncation.max_length, else 512). */
  maxLength?: number;
}

const DEFAULT_MAX_LENGTH = 512;

/** BERT's notion of punctuation: ASCII symbol ranges plus Unicode category P. */
export function isBertPunctuation(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return /\p{P}/u.test(ch);
}

function isChineseChar(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df)
    || (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf)
    || (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /\p{Zs}/u.test(ch);
}

function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return /\p{Cc}|\p{Cf}/u.test(ch);
}

/** A BERT WordPiece tokenizer. */
export class WordPieceTokenizer {
  /** The configuration in use. */
  constructor(readonly config: WordPieceConfig) {}

  /**
   * Builds a tokenizer from the contents of a Hugging Face `tokenizer.json` with a WordPiece
   * model. Supported: normalizers BertNormalizer, Lowercase, StripAccents, NFC/NFD/NFKC/NFKD and
   * Sequence of these; pre-tokenizers BertPreTokenizer, Whitespace, WhitespaceSplit and Sequence
   * of these; post-processors TemplateProcessing and BertProcessing.
   * @throws Error naming the unsupported component otherwise (e.g. a BPE or Unigram model).
   */
  static fromTokenizerJson(json: unknown, options: WordPieceLoadOptions = {}): WordPieceTokenizer {
    const j = json as Record<string, any>;
    const model = j.model ?? {};
    if (model.type !== 'WordPiece' && !(model.type === undefined && model.vocab && model.continuing_subword_prefix)) {
      throw new Error(`tokenizer.json: model type "${model.type}" is not supported (only WordPiece / BERT-style)`);
    }
    const vocab = new Map<string, number>(Object.entries(model.vocab as Record<string, number>));
    const addedTokens = new Map<string, number>();
    for (const t of (j.added_tokens ?? []) as { content: string; id: number }[]) {
      addedTokens.set(t.content, t.id);
      if (!vocab.has(t.content)) vocab.set(t.content, t.id);
    }
    const normalizer = parseNormalizer(j.normalizer);
    const preTokenizer = parsePreTokenizer(j.pre_tokenizer);
    const { prefix, suffix } = parsePostProcessor(j.post_processor, vocab);
    const maxLength = options.maxLength ?? j.truncation?.max_length ?? DEFAULT_MAX_LENGTH;
    const unkToken = model.unk_token ?? '[UNK]';
    if (!vocab.has(unkToken)) throw new Error(`tokenizer.json: unknown token "${unkToken}" is not in the vocabulary`);
    return new WordPieceTokenizer({
      vocab, unkToken,
      continuingSubwordPrefix: model.continuing_subword_prefix ?? '##',
      maxInputCharsPerWord: model.max_input_chars_per_word ?? 100,
      normalizer, preTokenizer, prefix, suffix, maxLength,
      padId: j.padding?.pad_id ?? vocab.get('[PAD]') ?? 0,
      addedTokens,
    });
  }

  /** Reads `tokenizer.json` from disk, see {@link fromTokenizerJson}. */
  static fromFile(file: string, options: WordPieceLoadOptions = {}): WordPieceTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read tokenizer ${file}: ${(err as Error).message}`, { cause: err });
    }
    return WordPieceTokenizer.fromTokenizerJson(json, options);
  }

  /**
   * Builds a standard BERT tokenizer from a `vocab.txt` (one token per line, id = line number):
   * BertNormalizer (`lowercase` default true, accents stripped when lower-casing), BERT
   * pre-tokenizer, [CLS] text [SEP].
   */
  static fromVocabTxt(text: string, options: WordPieceLoadOptions & { lowercase?: boolean } = {}): WordPieceTokenizer {
    const vocab = new Map<string, number>();
    text.split(/\r?\n/).forEach((tok, i) => { if (tok.length > 0 && !vocab.has(tok)) vocab.set(tok, i); });
    const special = (t: string) => {
      const id = vocab.get(t);
      if (id === undefined) throw new Error(`vocab.txt: special token ${t} missing`);
      return { token: t, id, typeId: 0 };
    };
    const lowercase = options.lowercase ?? true;
    const addedTokens = new Map<string, number>();
    for (const t of ['[CLS]', '[SEP]', '[PAD]', '[MASK]', '[UNK]']) if (vocab.has(t)) addedTokens.set(t, vocab.get(t)!);
    return new WordPieceTokenizer({
      vocab, unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100,
      normalizer: { cleanText: true, handleChineseChars: true, stripAccents: lowercase, lowercase },
      preTokenizer: 'bert', prefix: [special('[CLS]')], suffix: [special('[SEP]')],
      maxLength: options.maxLength ?? DEFAULT_MAX_LENGTH, padId: vocab.get('[PAD]') ?? 0, addedTokens,
    });
  }

  /** Applies the normalizer. */
  normalize(text: string): string {
    const n = this.config.normalizer;
    let t = n.unicodeForm ? text.normalize(n.unicodeForm) : text;
    if (n.cleanText) {
      let s = '';
      for (const ch of t) {
        const c = ch.codePointAt(0)!;
        if (c === 0 || c === 0xfffd || isControl(ch)) continue;
        s += isWhitespace(ch) ? ' ' : ch;
      }
      t = s;
    }
    if (n.handleChineseChars) {
      let s = '';
      for (const ch of t) s += isChineseChar(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
      t = s;
    }
    if (n.stripAccents) t = t.normalize('NFD').replace(/\p{Mn}/gu, '');
    if (n.lowercase) t = t.toLowerCase();
    return t;
  }

  /** Splits normalised text into words. */
  preTokenize(text: string): string[] {
    const words: string[] = [];
    if (this.config.preTokenizer === 'whitespace') return text.match(/\w+|[^\w\s]+/gu) ?? [];
    let cur = '';
    for (const ch of text) {
      if (isWhitespace(ch)) {
        if (cur) { words.push(cur); cur = ''; }
      } else if (this.config.preTokenizer === 'bert' && isBertPunctuation(ch)) {
        if (cur) { words.push(cur); cur = ''; }
        words.push(ch);
      } else {
        cur += ch;
      }
    }
    if (cur) words.push(cur);
    return words;
  }

  /** Greedy longest-match-first WordPiece of one word ([UNK] when any part has no match). */
  wordPiece(word: string): string[] {
    const { vocab, unkToken, continuingSubwordPrefix: pre, maxInputCharsPerWord } = this.config;
    const chars = Array.from(word);
    if (chars.length > maxInputCharsPerWord) return [unkToken];
    const out: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? pre : '') + chars.slice(start, end).join('');
        if (vocab.has(sub)) { found = sub; break; }
        end--;
      }
      if (found === undefined) return [unkToken];
      out.push(found);
      start = end;
    }
    return out;
  }

  /** Word-piece tokens of a text, without special tokens and without truncation. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const part of this.splitAddedTokens(text)) {
      if (part.added) { out.push(part.text); continue; }
      for (const w of this.preTokenize(this.normalize(part.text))) out.push(...this.wordPiece(w));
    }
    return out;
  }

  /** Encodes one text: special tokens added, truncated to `maxLength`. */
  encode(text: string): WordPieceEncoding {
    const { vocab, prefix, suffix, maxLength } = this.config;
    const budget = Math.max(0, maxLength - prefix.length - suffix.length);
    const body = this.tokenize(text).slice(0, budget);
    const tokens = [...prefix.map((p) => p.token), ...body, ...suffix.map((s) => s.token)];
    const ids = [...prefix.map((p) => p.id), ...body.map((t) => vocab.get(t)!), ...suffix.map((s) => s.id)];
    const typeIds = [...prefix.map((p) => p.typeId), ...body.map(() => prefix[0]?.typeId ?? 0), ...suffix.map((s) => s.typeId)];
    return { ids, typeIds, tokens };
  }

  /** Pads encodings to their longest member (right padding), as int64 model inputs. */
  pad(encodings: readonly WordPieceEncoding[]): WordPieceBatch {
    const batch = encodings.length;
    const length = Math.max(1, ...encodings.map((e) => e.ids.length));
    const inputIds = new BigInt64Array(batch * length).fill(BigInt(this.config.padId));
    const attentionMask = new BigInt64Array(batch * length);
    const tokenTypeIds = new BigInt64Array(batch * length);
    encodings.forEach((e, b) => {
      for (let t = 0; t < e.ids.length; t++) {
        inputIds[b * length + t] = BigInt(e.ids[t]);
        attentionMask[b * length + t] = 1n;
        tokenTypeIds[b * length + t] = BigInt(e.typeIds[t]);
      }
    });
    return { inputIds, attentionMask, tokenTypeIds, batch, length };
  }

  private splitAddedTokens(text: string): { text: string; added: boolean }[] {
    const added = this.config.addedTokens;
    if (added.size === 0) return [{ text, added: false }];
    const pattern = new RegExp(
      `(${[...added.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|')})`, 'u',
    );
    return text.split(pattern).filter((s) => s.length > 0).map((s) => ({ text: s, added: added.has(s) }));
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function parseNormalizer(n: any): WordPieceNormalizer {
  const out: WordPieceNormalizer = { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false };
  const apply = (x: any) => {
    if (!x) return;
    switch (x.type) {
      case 'BertNormalizer':
        out.cleanText = x.clean_text ?? true;
        out.handleChineseChars = x.handle_chinese_chars ?? true;
        out.lowercase = x.lowercase ?? true;
        out.stripAccents = x.strip_accents ?? out.lowercase; // null follows lowercase, as in HF
        break;
      case 'Lowercase': out.lowercase = true; break;
      case 'StripAccents': out.stripAccents = true; break;
      case 'NFC': case 'NFD': case 'NFKC': case 'NFKD': out.unicodeForm = x.type; break;
      case 'Sequence': for (const s of x.normalizers ?? []) apply(s); break;
      default: throw new Error(`tokenizer.json: normalizer "${x.type}" is not supported`);
    }
  };
  apply(n);
  return out;
}

function parsePreTokenizer(p: any): WordPieceConfig['preTokenizer'] {
  if (!p) return 'whitespace-split';
  switch (p.type) {
    case 'BertPreTokenizer': return 'bert';
    case 'Whitespace': return 'whitespace';
    case 'WhitespaceSplit': return 'whitespace-split';
    case 'Sequence': {
      const kinds = (p.pretokenizers ?? []).map(parsePreTokenizer);
      return kinds.includes('bert') ? 'bert' : kinds.includes('whitespace') ? 'whitespace' : 'whitespace-split';
    }
    default: throw new Error(`tokenizer.json: pre_tokenizer "${p.type}" is not supported`);
  }
}

function parsePostProcessor(p: any, vocab: Map<string, number>): Pick<WordPieceConfig, 'prefix' | 'suffix'> {
  if (!p) return { prefix: [], suffix: [] };
  if (p.type === 'BertProcessing' || p.type === 'RobertaProcessing') {
    const [clsTok, clsId] = p.cls as [string, number];
    const [sepTok, sepId] = p.sep as [string, number];
    return { prefix: [{ token: clsTok, id: clsId, typeId: 0 }], suffix: [{ token: sepTok, id: sepId, typeId: 0 }] };
  }
  if (p.type === 'TemplateProcessing') {
    const prefix: WordPieceConfig['prefix'] = [];
    const suffix: WordPieceConfig['suffix'] = [];
    let seenSeq = false;
    for (const piece of p.single ?? []) {
      if (piece.Sequence) { seenSeq = true; continue; }
      if (piece.SpecialToken) {
        const name = piece.SpecialToken.id as string;
        const spec = p.special_tokens?.[name];
        const ids: number[] = spec?.ids ?? [vocab.get(name)];
        const toks: string[] = spec?.tokens ?? [name];
        ids.forEach((id, k) => {
          if (id === undefined) throw new Error(`tokenizer.json: special token ${name} has no id`);
          (seenSeq ? suffix : prefix).push({ token: toks[k] ?? name, id, typeId: piece.SpecialToken.type_id ?? 0 });
        });
      }
    }
    return { prefix, suffix };
  }
  throw new Error(`tokenizer.json: post_processor "${p.type}" is not supported`);
}
