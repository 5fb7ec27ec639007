/**
 * A byte-level BPE trainer in the GPT-2 style, emitting a Hugging Face `tokenizer.json` that
 * `@huggingface/tokenizers` (and `transformers`) load:
 *
 * - Pre-tokenization: GPT-2's regex split (`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
 *   ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`), then every UTF-8 byte of a piece is mapped to a printable
 *   character with GPT-2's byte→unicode table (space → "Ġ"), exactly as the `ByteLevel`
 *   pre-tokenizer does. No prefix space is added.
 * - Vocabulary: the 256 byte symbols first (ids 0..255, in GPT-2's table order: "!" is 0), then
 *   one token per learned merge, then the special tokens (`<|endoftext|>` last, as in GPT-2).
 * - Merges: repeatedly the most frequent adjacent pair over the pre-tokenized words (weighted by
 *   word frequency); ties go to the pair with the smaller (left id, right id), so training is
 *   deterministic. Training stops at the requested vocabulary size or when no pair occurs at
 *   least `minFrequency` times.
 */

import { byteLevelBpeTokenizerJson } from '../tokenizer';

/** GPT-2's pre-tokenization pattern (the `ByteLevel` pre-tokenizer with `use_regex: true`). */
export const GPT2_SPLIT_REGEX = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

let byteTable: { byteToChar: string[]; order: number[] } | undefined;

/**
 * GPT-2's byte→unicode map: printable Latin-1 bytes map to themselves, the others to U+0100 and
 * up. `order` lists the bytes in the table's order (the order of GPT-2's first 256 vocabulary ids).
 */
export function bytesToUnicode(): { byteToChar: string[]; order: number[] } {
  if (byteTable) return byteTable;
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const byteToChar = new Array<string>(256);
  bs.forEach((b, i) => { byteToChar[b] = String.fromCharCode(cs[i]); });
  byteTable = { byteToChar, order: bs };
  return byteTable;
}

/** GPT-2's pre-tokenization of `text` into byte-level pieces (e.g. " world" → "Ġworld"). */
export function byteLevelPieces(text: string): string[] {
  const { byteToChar } = bytesToUnicode();
  const enc = new TextEncoder();
  const out: string[] = [];
  for (const m of text.matchAll(GPT2_SPLIT_REGEX)) {
    let s = '';
    for (const b of enc.encode(m[0])) s += byteToChar[b];
    out.push(s);
  }
  return out;
}

/** Options of {@link trainByteLevelBPE}. */
export interface BPETrainOptions {
  /** Total vocabulary size including the 256 byte tokens and the special tokens (default 2048). */
  vocabSize?: number;
  /** Special tokens appended after the merges (default ["<|endoftext|>"]). */
  specialTokens?: string[];
  /** A pair is merged only when it occurs at least this often (default 2). */
  minFrequency?: number;
  /**
   * Strings that become whole tokens (Hugging Face "added tokens", not special): matched in the
   * raw text before the BPE, longest first, and decoded back verbatim; ids follow the special
   * tokens. Their occurrences are cut out of the texts the merges are learned from. Used for item
   * titles, so a small LM copies a title from its prompt as one token.
   */
  addedTokens?: string[];
  /**
   * Words (each one pre-token, e.g. " set") that must be one token whatever their frequency. When
   * the learned merges already make every one of them a token nothing changes; otherwise the
   * tokenizer is trained again with their merges first, left to right, before the learned ones.
   */
  wholeWords?: string[];
}

/** A trained byte-level BPE. */
export interface TrainedBPE {
  /** Token string (byte-level characters) → id. */
  vocab: Record<string, number>;
  /** Merges in order, each [left, right]. */
  merges: [string, string][];
  /** The Hugging Face `tokenizer.json` object. */
  tokenizerJson: Record<string, any>;
  /** A matching `tokenizer_config.json` object (eos/bos/unk/pad = the first special token). */
  tokenizerConfig: Record<string, any>;
  /** Id of the first special token (`<|endoftext|>` by default), right after the merges. */
  eosTokenId: number;
  /** Every id: bytes + merges + special tokens + added tokens. */
  vocabSize: number;
  /** Number of added tokens (ids vocabSize - addedTokens .. vocabSize - 1). */
  addedTokens: number;
}

/**
 * Trains a GPT-2-style byte-level BPE on `texts`. The result's `tokenizerJson` loads with
 * `new HFTokenizer(json, config)` / `loadTokenizer(dir)`.
 */
export function trainByteLevelBPE(texts: Iterable<string>, options: BPETrainOptions = {}): TrainedBPE {
  const whole = options.wholeWords ?? [];
  if (whole.length === 0) return trainBPE(texts, options, []);
  const pieces = whole.map((w) => {
    const p = byteLevelPieces(w);
    if (p.length !== 1) throw new RangeError(`wholeWords: "${w}" is ${p.length} pre-tokens, not one word`);
    return p[0];
  });
  const all = [...texts];
  const learned = trainBPE(all, options, []);
  if (pieces.every((p) => learned.vocab[p] !== undefined)) return learned;
  return trainBPE(all, options, whole);
}

/** The BPE of {@link trainByteLevelBPE}; `wholeWords` (one pre-token each, checked there) are merged first. */
function trainBPE(texts: Iterable<string>, options: BPETrainOptions, wholeWords: string[]): TrainedBPE {
  const specials = options.specialTokens ?? ['<|endoftext|>'];
  const vocabSize = options.vocabSize ?? 2048;
  const minFrequency = options.minFrequency ?? 2;
  if (!Number.isInteger(vocabSize) || vocabSize < 256 + specials.length) {
    throw new RangeError(`vocabSize must be an integer >= ${256 + specials.length} (256 bytes + special tokens), got ${vocabSize}`);
  }
  const { byteToChar, order } = bytesToUnicode();
  const tokens: string[] = order.map((b) => byteToChar[b]);
  const idOfChar = new Map<string, number>(tokens.map((t, i) => [t, i]));

  // Word frequencies over the pre-tokenized corpus (added tokens cut out).
  const added = [...new Set((options.addedTokens ?? []).filter((t) => t.length > 0 && !specials.includes(t)))];
  const cut = added.length ? addedTokenSplitter(added) : undefined;
  const freq = new Map<string, number>();
  for (const text of texts) {
    for (const part of cut ? text.split(cut) : [text]) for (const p of byteLevelPieces(part)) freq.set(p, (freq.get(p) ?? 0) + 1);
  }
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of [...freq.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    words.push([...w].map((ch) => idOfChar.get(ch)!));
    counts.push(c);
  }

  const K = 1 << 16;
  if (vocabSize > K) throw new RangeError(`vocabSize ${vocabSize} exceeds ${K}`);
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i] * K + w[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * counts[wi]);
      if (sign > 0) {
        let s = pairWords.get(key);
        if (!s) pairWords.set(key, (s = new Set()));
        s.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

  const merges: [string, string][] = [];
  const target = vocabSize - specials.length;
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const merge = (a: number, b: number) => {
    const best = a * K + b;
    const id = tokens.length;
    idOf.set(tokens[a] + tokens[b], id);
    tokens.push(tokens[a] + tokens[b]);
    merges.push([tokens[a], tokens[b]]);
    const affected = [...(pairWords.get(best) ?? [])].sort((x, y) => x - y);
    for (const wi of affected) {
      const w = words[wi];
      let has = false;
      for (let i = 0; i + 1 < w.length; i++) if (w[i] === a && w[i + 1] === b) { has = true; break; }
      if (!has) continue;
      addPairs(wi, -1);
      const next: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          next.push(id);
          i++;
        } else next.push(w[i]);
      }
      words[wi] = next;
      addPairs(wi, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
    for (const [key, c] of pairCount) if (c <= 0 && pairCount.size > 4096) pairCount.delete(key);
  };
  for (const word of wholeWords) {
    const chars = [...byteLevelPieces(word)[0]];
    let left = idOfChar.get(chars[0])!;
    for (const ch of chars.slice(1)) {
      const joined = tokens[left] + ch;
      if (!idOf.has(joined)) {
        if (tokens.length >= target) throw new RangeError(`vocabSize ${vocabSize} has no room for the whole word "${word}"`);
        merge(left, idOfChar.get(ch)!);
      }
      left = idOf.get(joined)!;
    }
  }
  while (tokens.length < target) {
    let best = -1;
    let bestCount = 0;
    for (const [key, c] of pairCount) {
      if (c > bestCount || (c === bestCount && c > 0 && key < best)) {
        best = key;
        bestCount = c;
      }
    }
    if (best < 0 || bestCount < minFrequency) break;
    merge(Math.floor(best / K), best % K);
  }

  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  const eosTokenId = tokens.length;
  specials.forEach((s, i) => { vocab[s] = tokens.length + i; });
  const base = tokens.length + specials.length;
  const size = base + added.length;
  const tokenizerJson = byteLevelBpeTokenizerJson(
    vocab, merges.map(([l, r]) => `${l} ${r}`), specials.map((content, i) => ({ id: tokens.length + i, content })),
  );
  added.forEach((content, i) => {
    tokenizerJson.added_tokens.push({ id: base + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
  });
  const first = specials[0];
  const tokenizerConfig = {
    tokenizer_class: 'GPT2Tokenizer',
    ...(first ? { bos_token: first, eos_token: first, unk_token: first } : {}),
    model_max_length: 1024,
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
  };
  return { vocab, merges, tokenizerJson, tokenizerConfig, eosTokenId, vocabSize: size, addedTokens: added.length };
}

/** A regex matching any of `words`, longest first (the order added tokens are matched in). */
function addedTokenSplitter(words: string[]): RegExp {
  const esc = [...words].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(esc.join('|'), 'gu');
}
