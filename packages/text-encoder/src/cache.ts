/**
 * An on-disk embedding cache in front of any {@link TextEncoder}: re-runs skip texts already
 * encoded by the same encoder (same `id`).
 *
 * Layout: `<dir>/<sanitised encoder id>-<hash of id>/shard-<time>-<pid>-<random>.safetensors`.
 * Each encode call that had misses appends one shard holding `vectors` `[n, dim]` F32 and, in
 * the metadata, the encoder id, the sha256 of each text (in row order) and a sha256 of the
 * vector bytes. Shards are written atomically (temp file + rename) and never modified, so
 * concurrent writers cannot corrupt each other; a shard that fails to parse or verify is
 * ignored (its texts are simply encoded again). {@link CachedTextEncoder.compact} merges shards.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { cacheDir, encodeSafetensors, readSafetensors, sha256Hex, writeFileAtomic } from '@allmrec/core';
import type { EncodeOptions, TextEncoder } from './text-encoder';

/** Options of {@link CachedTextEncoder}. */
export interface CachedTextEncoderOptions {
  /** Cache root (default `cacheDir('embeddings')`, i.e. `$ALLMREC_HOME/embeddings`). */
  dir?: string;
  /** Called with a message when a corrupt or foreign shard is skipped (default: silent). */
  onWarning?: (message: string) => void;
}

/** Hit/miss counters of a {@link CachedTextEncoder} since it was created. */
export interface CacheStats {
  /** Texts served from the cache. */
  hits: number;
  /** Texts sent to the inner encoder. */
  misses: number;
  /** Shards skipped because they were unreadable or did not verify. */
  corruptShards: number;
}

const SHARD_PREFIX = 'shard-';
const SHARD_SUFFIX = '.safetensors';
const FORMAT = 'allmrec-embedding-cache/1';

/** Wraps an encoder with a persistent per-text cache (see the module doc for the file layout). */
export class CachedTextEncoder implements TextEncoder {
  /** Directory holding this encoder's shards. */
  readonly dir: string;
  /** Counters since creation. */
  readonly stats: CacheStats = { hits: 0, misses: 0, corruptShards: 0 };
  private memory?: Map<string, Float32Array>;
  private readonly loadedShards = new Set<string>();

  /** Wraps `inner`; nothing is read until the first {@link encode}. */
  constructor(readonly inner: TextEncoder, private readonly options: CachedTextEncoderOptions = {}) {
    const root = options.dir ?? cacheDir('embeddings');
    const safe = inner.id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
    this.dir = path.join(root, `${safe}-${sha256Hex(inner.id).slice(0, 12)}`);
  }

  /** The inner encoder's name. */
  get name(): string { return this.inner.name; }
  /** The inner encoder's id (the cache key). */
  get id(): string { return this.inner.id; }
  /** The inner encoder's dim. */
  get dim(): number { return this.inner.dim; }

  /**
   * Returns cached vectors for known texts and encodes only the others (each distinct text
   * once), then stores them in a new shard. Progress events come from the inner encoder.
   */
  async encode(texts: string[], options: EncodeOptions = {}): Promise<Float32Array> {
    const memory = this.refresh();
    const dim = this.dim;
    const out = new Float32Array(texts.length * dim);
    const keys = texts.map((t) => sha256Hex(t));
    const missing = new Map<string, number>(); // key -> index of the first text with it
    keys.forEach((k, i) => {
      const v = memory.get(k);
      if (v) { out.set(v, i * dim); this.stats.hits++; } else if (!missing.has(k)) missing.set(k, i);
    });
    if (missing.size > 0) {
      const missKeys = [...missing.keys()];
      const missTexts = missKeys.map((k) => texts[missing.get(k)!]);
      const vectors = await this.inner.encode(missTexts, options);
      if (vectors.length !== missTexts.length * dim) {
        throw new Error(`${this.name}: inner encoder returned ${vectors.length} values for ${missTexts.length} texts of dim ${dim}`);
      }
      this.stats.misses += missTexts.length;
      missKeys.forEach((k, r) => memory.set(k, vectors.slice(r * dim, (r + 1) * dim)));
      keys.forEach((k, i) => { if (missing.has(k)) out.set(memory.get(k)!, i * dim); });
      try {
        await this.writeShard(missKeys, vectors);
      } catch (err) {
        // A cache that cannot be written (read-only or full disk) must not fail the encoding.
        this.options.onWarning?.(`embedding cache: cannot write to ${this.dir}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  /** Number of distinct texts currently cached (reads new shards from disk first). */
  size(): number {
    return this.refresh().size;
  }

  /**
   * Merges all valid shards into one (written before the old ones are removed, so a crash
   * mid-way only leaves duplicates). Corrupt shards are deleted.
   */
  async compact(): Promise<void> {
    const memory = this.refresh();
    const existing = this.listShards();
    if (existing.length <= 1 && this.stats.corruptShards === 0) return;
    const keys = [...memory.keys()];
    const vectors = new Float32Array(keys.length * this.dim);
    keys.forEach((k, i) => vectors.set(memory.get(k)!, i * this.dim));
    const written = await this.writeShard(keys, vectors);
    for (const f of existing) {
      if (f !== written) await fs.promises.rm(path.join(this.dir, f), { force: true });
    }
    this.loadedShards.clear();
    this.loadedShards.add(written);
  }

  /** Drops the in-memory copy and disposes the inner encoder. */
  dispose(): void {
    this.memory = undefined;
    this.inner.dispose();
  }

  private listShards(): string[] {
    try {
      return fs.readdirSync(this.dir).filter((f) => f.startsWith(SHARD_PREFIX) && f.endsWith(SHARD_SUFFIX)).sort();
    } catch {
      return [];
    }
  }

  /** Loads shards not seen yet (including ones other processes wrote since). */
  private refresh(): Map<string, Float32Array> {
    const memory = (this.memory ??= new Map());
    for (const f of this.listShards()) {
      if (this.loadedShards.has(f)) continue;
      this.loadedShards.add(f);
      const file = path.join(this.dir, f);
      try {
        const { keys, vectors } = this.readShard(file);
        keys.forEach((k, r) => { if (!memory.has(k)) memory.set(k, vectors.slice(r * this.dim, (r + 1) * this.dim)); });
      } catch (err) {
        this.stats.corruptShards++;
        this.options.onWarning?.(`embedding cache: ignoring ${file}: ${(err as Error).message}`);
      }
    }
    return memory;
  }

  private readShard(file: string): { keys: string[]; vectors: Float32Array } {
    const { tensors, metadata } = readSafetensors(file);
    if (metadata.format !== FORMAT) throw new Error(`not an embedding cache shard (format ${metadata.format})`);
    if (metadata.encoder !== this.id) throw new Error(`written by encoder ${metadata.encoder}, not ${this.id}`);
    const t = tensors.get('vectors');
    if (!t || t.dtype !== 'F32' || t.shape.length !== 2 || t.shape[1] !== this.dim) {
      throw new Error(`missing or mis-shaped "vectors" tensor`);
    }
    const vectors = t.data as Float32Array;
    const keys = JSON.parse(metadata.keys ?? 'null') as unknown;
    if (!Array.isArray(keys) || keys.length !== t.shape[0] || !keys.every((k) => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k))) {
      throw new Error('key list does not match the vectors');
    }
    if (metadata.sha256 !== sha256Hex(bytesOf(vectors))) throw new Error('checksum mismatch');
    return { keys: keys as string[], vectors };
  }

  private async writeShard(keys: string[], vectors: Float32Array): Promise<string> {
    const name = `${SHARD_PREFIX}${Date.now().toString().padStart(15, '0')}-${process.pid}-${randomBytes(4).toString('hex')}${SHARD_SUFFIX}`;
    const bytes = encodeSafetensors(
      { vectors: { shape: [keys.length, this.dim], data: vectors, dtype: 'F32' } },
      { format: FORMAT, encoder: this.id, keys: JSON.stringify(keys), sha256: sha256Hex(bytesOf(vectors)) },
    );
    await writeFileAtomic(path.join(this.dir, name), bytes);
    this.loadedShards.add(name);
    return name;
  }
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
