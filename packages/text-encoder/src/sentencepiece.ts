/**
 * A SentencePiece-style unigram tokenizer: the text is NFKC-normalised, prefixed with "▁"
 * (U+2581) and its spaces replaced by "▁"; a Viterbi pass then picks the segmentation that
 * maximises the sum of the vocabulary's piece scores. Characters no piece covers become the
 * unknown id (0), and runs of unknowns are merged into one. This matches the tokenizer the
 * Universal Sentence Encoder lite graph was trained with (its `vocab.json`, case-sensitive).
 */

/** A vocabulary entry: `[piece, logProbabilityScore]`; the array index is the token id. */
export type SentencePieceVocab = ReadonlyArray<readonly [string, number]>;

/** The word-boundary marker SentencePiece uses (U+2581 LOWER ONE EIGHTH BLOCK). */
export const SPIECE_UNDERLINE = '\u2581';

interface TrieNode {
  children: Map<string, TrieNode>;
  id: number;
  score: number;
}

function newNode(): TrieNode {
  return { children: new Map(), id: -1, score: 0 };
}

/** Options of {@link SentencePieceTokenizer}. */
export interface SentencePieceOptions {
  /** Leading ids that are control symbols, never matched in text (default 6: unk, <s>, </s>, 3 extras). */
  reservedCount?: number;
  /** Id of the unknown token (default 0). */
  unkId?: number;
}

/** Viterbi unigram tokenizer over a `[[piece, score], ...]` vocabulary. */
export class SentencePieceTokenizer {
  /** Id given to characters no piece covers. */
  readonly unkId: number;
  private readonly root = newNode();
  private readonly pieceLengths: number[];

  /** Builds the tokenizer from the vocabulary (pieces with index < `reservedCount` are never matched). */
  constructor(readonly vocab: SentencePieceVocab, options: SentencePieceOptions = {}) {
    const reserved = options.reservedCount ?? 6;
    this.unkId = options.unkId ?? 0;
    this.pieceLengths = vocab.map(([p]) => Array.from(p).length);
    for (let id = reserved; id < vocab.length; id++) {
      const [piece, score] = vocab[id];
      let node = this.root;
      for (const ch of piece) {
        let next = node.children.get(ch);
        if (!next) { next = newNode(); node.children.set(ch, next); }
        node = next;
      }
      if (node.id < 0) { node.id = id; node.score = score; }
    }
  }

  /** The normalised symbol sequence the lattice runs over ("Hi there" -> "▁Hi▁there"). */
  static normalize(text: string): string {
    const t = text.normalize('NFKC');
    return t.length > 0 ? SPIECE_UNDERLINE + t.replace(/ /g, SPIECE_UNDERLINE) : t;
  }

  /** Token ids of `text` (empty array for an empty text). */
  encode(text: string): number[] {
    const symbols = Array.from(SentencePieceTokenizer.normalize(text));
    const n = symbols.length;
    if (n === 0) return [];
    // best[i]: best total score of a segmentation of symbols[0, i); from[i]: its last piece.
    const best = new Float64Array(n + 1).fill(-Infinity);
    const lastId = new Int32Array(n + 1).fill(-1);
    const lastLen = new Int32Array(n + 1);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      if (best[i] === -Infinity) continue;
      let node: TrieNode | undefined = this.root;
      let matched = false;
      for (let j = i; j < n; j++) {
        node = node.children.get(symbols[j]);
        if (!node) break;
        if (node.id >= 0) {
          const s = best[i] + node.score;
          if (s >= best[j + 1]) { best[j + 1] = s; lastId[j + 1] = node.id; lastLen[j + 1] = j + 1 - i; }
          if (j === i) matched = true;
        }
      }
      // A symbol no single-symbol piece covers becomes unknown, with a score far below any piece.
      if (!matched) {
        const s = best[i] + UNK_PENALTY;
        if (s > best[i + 1]) { best[i + 1] = s; lastId[i + 1] = this.unkId; lastLen[i + 1] = 1; }
      }
    }
    const out: number[] = [];
    for (let end = n; end > 0; end -= lastLen[end]) out.push(lastId[end]);
    out.reverse();
    // Merge runs of unknown tokens into one.
    const merged: number[] = [];
    for (const id of out) {
      if (id === this.unkId && merged.length > 0 && merged[merged.length - 1] === this.unkId) continue;
      merged.push(id);
    }
    return merged;
  }

  /** The pieces of `ids` (for debugging and tests). */
  pieces(ids: readonly number[]): string[] {
    return ids.map((id) => this.vocab[id]?.[0] ?? '');
  }
}

/** Score of an unknown symbol: lower than any real piece so known pieces always win. */
const UNK_PENALTY = -100;
