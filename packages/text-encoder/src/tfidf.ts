/**
 * A lexical baseline: hashed TF-IDF over word unigrams and bigrams. Dependency-free and fast
 * (tens of thousands of titles per second), useful as a floor for learned encoders.
 */
import { sha256Hex } from '@allmrec/core';
import { reportProgress, type EncodeOptions, type TextEncoder } from './text-encoder';

/** Options of {@link HashedTfidfEncoder}. */
export interface HashedTfidfOptions {
  /** Number of hash buckets = vector size (default 4096). */
  dim?: number;
  /** Also hash word bigrams ("star wars") besides unigrams (default true). */
  bigrams?: boolean;
  /** A previously fitted IDF table (`encoder.idf` of a fitted encoder), length `dim`. */
  idf?: Float32Array | number[];
}

/** Lower-cased word tokens: maximal runs of letters, digits and marks (accents are kept). */
export function tfidfTokens(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
}

/** Unigram and (optionally) bigram features of a text, with repeats (their count is the TF). */
export function tfidfFeatures(text: string, bigrams = true): string[] {
  const words = tfidfTokens(text);
  const feats = [...words];
  if (bigrams) for (let i = 0; i + 1 < words.length; i++) feats.push(`${words[i]} ${words[i + 1]}`);
  return feats;
}

/**
 * The 32-bit hash of a feature: FNV-1a over UTF-16 code units followed by murmur3's finaliser.
 * The bucket is `hash % dim` and the sign is `+1` when bit 31 is clear, else `-1`.
 */
export function featureHash(feature: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < feature.length; i++) {
    h ^= feature.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Bucket and sign of a feature in a `dim`-bucket hashed space. */
export function hashFeature(feature: string, dim: number): { bucket: number; sign: 1 | -1 } {
  const h = featureHash(feature);
  return { bucket: h % dim, sign: h & 0x80000000 ? -1 : 1 };
}

/**
 * Hashed TF-IDF encoder. Each text's unigrams and bigrams are hashed into `dim` buckets with a
 * signed hash (colliding features partly cancel instead of piling up); bucket value =
 * (sum of signed term counts) x idf[bucket]; each row is then L2-normalised.
 *
 * IDF choice: it is fitted once by {@link fit} (smooth IDF as in scikit-learn,
 * `ln((1 + N) / (1 + df)) + 1`, with df counted per bucket over the fitted corpus) and then kept
 * fixed, so a text's vector never depends on the other texts of an `encode` call. Before any
 * `fit` (and without an `idf` option) every idf is 1, i.e. the vectors are normalised hashed TF.
 * The `id` includes a hash of the idf table, so caches keyed by it stay correct after a re-fit.
 */
export class HashedTfidfEncoder implements TextEncoder {
  readonly dim: number;
  readonly bigrams: boolean;
  private idfTable: Float32Array;
  private fitted: boolean;
  private cachedId?: string;

  /** Creates an (unfitted unless `options.idf` is given) encoder. */
  constructor(options: HashedTfidfOptions = {}) {
    this.dim = options.dim ?? 4096;
    if (!Number.isInteger(this.dim) || this.dim < 1) throw new Error(`tfidf: dim must be a positive integer, got ${this.dim}`);
    this.bigrams = options.bigrams ?? true;
    if (options.idf) {
      if (options.idf.length !== this.dim) throw new Error(`tfidf: idf has ${options.idf.length} entries, expected dim ${this.dim}`);
      this.idfTable = Float32Array.from(options.idf);
      this.fitted = true;
    } else {
      this.idfTable = new Float32Array(this.dim).fill(1);
      this.fitted = false;
    }
  }

  /** "tfidf-<dim>". */
  get name(): string { return `tfidf-${this.dim}`; }

  /** Name + config + a hash of the idf table ("unfitted" before {@link fit}). */
  get id(): string {
    if (!this.cachedId) {
      const cfg = `${this.name}${this.bigrams ? '' : '-unigram'}`;
      const idfHash = this.fitted
        ? sha256Hex(new Uint8Array(this.idfTable.buffer, this.idfTable.byteOffset, this.idfTable.byteLength)).slice(0, 12)
        : 'unfitted';
      this.cachedId = `${cfg}@v1-${idfHash}`;
    }
    return this.cachedId;
  }

  /** The current idf per bucket (a copy; pass it back as `options.idf` to restore). */
  get idf(): Float32Array { return this.idfTable.slice(); }

  /** True once {@link fit} ran or an idf table was given. */
  get isFitted(): boolean { return this.fitted; }

  /** Fits the idf table on `texts` (typically every item text of the catalogue). Returns `this`. */
  fit(texts: readonly string[]): this {
    const df = new Float64Array(this.dim);
    const seen = new Set<number>();
    for (const t of texts) {
      seen.clear();
      for (const f of tfidfFeatures(t, this.bigrams)) seen.add(hashFeature(f, this.dim).bucket);
      for (const b of seen) df[b]++;
    }
    const n = texts.length;
    for (let b = 0; b < this.dim; b++) this.idfTable[b] = Math.log((1 + n) / (1 + df[b])) + 1;
    this.fitted = true;
    this.cachedId = undefined;
    return this;
  }

  /** Encodes `texts` into L2-normalised `[n, dim]` TF-IDF rows. */
  async encode(texts: string[], options: EncodeOptions = {}): Promise<Float32Array> {
    const dim = this.dim;
    const out = new Float32Array(texts.length * dim);
    const acc = new Float64Array(dim);
    const mark = new Uint8Array(dim);
    const touched: number[] = [];
    reportProgress(options.onProgress, this.name, 0, texts.length);
    for (let i = 0; i < texts.length; i++) {
      touched.length = 0;
      for (const f of tfidfFeatures(texts[i], this.bigrams)) {
        const { bucket, sign } = hashFeature(f, dim);
        if (!mark[bucket]) { mark[bucket] = 1; touched.push(bucket); }
        acc[bucket] += sign;
      }
      let norm = 0;
      for (const b of touched) { acc[b] *= this.idfTable[b]; norm += acc[b] * acc[b]; }
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (const b of touched) { out[i * dim + b] = acc[b] * inv; acc[b] = 0; mark[b] = 0; }
    }
    reportProgress(options.onProgress, this.name, texts.length, texts.length);
    return out;
  }

  /** No-op (nothing to free). */
  dispose(): void { /* nothing to free */ }
}
