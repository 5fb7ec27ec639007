import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CachedTextEncoder } from './cache';
import type { EncodeOptions, TextEncoder } from './text-encoder';
import { row } from './vector';

/** A deterministic fake encoder that records what it was asked to encode. */
class CountingEncoder implements TextEncoder {
  readonly name = 'fake';
  readonly dim = 4;
  calls: string[][] = [];
  constructor(readonly id = 'fake@1') {}
  async encode(texts: string[], _options?: EncodeOptions): Promise<Float32Array> {
    this.calls.push([...texts]);
    const out = new Float32Array(texts.length * this.dim);
    texts.forEach((t, i) => { for (let j = 0; j < this.dim; j++) out[i * this.dim + j] = t.length * 10 + j + (this.id === 'fake@1' ? 0 : 0.5); });
    return out;
  }
  dispose(): void {}
}

describe('CachedTextEncoder', () => {
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-embcache-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const texts = ['Jaws (1975)', 'Heat (1995)', 'Babe (1995)', 'Jaws (1975)'];

  it('second run calls the inner encoder 0 times and returns the same vectors', async () => {
    const inner = new CountingEncoder();
    const first = new CachedTextEncoder(inner, { dir: root });
    expect(first.id).toBe(inner.id);
    const v1 = await first.encode(texts);
    expect(inner.calls).toEqual([['Jaws (1975)', 'Heat (1995)', 'Babe (1995)']]); // duplicates encoded once
    expect(row(v1, 4, 3)).toEqual(row(v1, 4, 0));
    expect(await inner.encode(texts)).toEqual(v1);
    inner.calls = [];
    // A fresh instance (a re-run) reads the shards from disk.
    const second = new CachedTextEncoder(inner, { dir: root });
    expect(await second.encode(texts)).toEqual(v1);
    expect(inner.calls).toHaveLength(0);
    expect(second.stats).toEqual({ hits: 4, misses: 0, corruptShards: 0 });
  });

  it('encodes only changed texts', async () => {
    const inner = new CountingEncoder();
    const cache = new CachedTextEncoder(inner, { dir: root });
    await cache.encode(texts);
    inner.calls = [];
    const v = await new CachedTextEncoder(inner, { dir: root }).encode(['Jaws (1975)', 'Jaws 2 (1978)']);
    expect(inner.calls).toEqual([['Jaws 2 (1978)']]);
    expect(v).toEqual(await inner.encode(['Jaws (1975)', 'Jaws 2 (1978)']));
    expect(fs.readdirSync(cache.dir).filter((f) => f.endsWith('.safetensors'))).toHaveLength(2);
  });

  it('keeps encoders with different ids separate', async () => {
    const a = new CountingEncoder('fake@1');
    const b = new CountingEncoder('fake@2');
    const ca = new CachedTextEncoder(a, { dir: root });
    const cb = new CachedTextEncoder(b, { dir: root });
    expect(ca.dir).not.toBe(cb.dir);
    await ca.encode(texts);
    const vb = await cb.encode(texts);
    expect(b.calls).toHaveLength(1);
    expect(vb).toEqual(await b.encode(texts));
  });

  it('ignores corrupt or truncated shards and re-encodes, never crashing', async () => {
    const inner = new CountingEncoder();
    const cache = new CachedTextEncoder(inner, { dir: root });
    await cache.encode(texts.slice(0, 2));
    await cache.encode(texts.slice(2, 3));
    const [s1, s2] = fs.readdirSync(cache.dir).sort().map((f) => path.join(cache.dir, f));
    const bytes = fs.readFileSync(s1);
    bytes[bytes.length - 1] ^= 0xff; // flip a bit in the vector data: checksum mismatch
    fs.writeFileSync(s1, bytes);
    fs.writeFileSync(s2, fs.readFileSync(s2).subarray(0, 20)); // truncated
    fs.writeFileSync(path.join(cache.dir, 'shard-garbage.safetensors'), 'not a safetensors file');
    inner.calls = [];
    const warnings: string[] = [];
    const again = new CachedTextEncoder(inner, { dir: root, onWarning: (m) => warnings.push(m) });
    const v = await again.encode(texts);
    expect(inner.calls).toEqual([['Jaws (1975)', 'Heat (1995)', 'Babe (1995)']]);
    expect(v).toEqual(await inner.encode(texts));
    expect(again.stats.corruptShards).toBe(3);
    expect(warnings.join('\n')).toMatch(/checksum mismatch/);
    // compact() merges valid entries into one shard and drops the corrupt ones.
    await again.compact();
    expect(fs.readdirSync(cache.dir)).toHaveLength(1);
    inner.calls = [];
    const fresh = new CachedTextEncoder(inner, { dir: root });
    expect(await fresh.encode(texts)).toEqual(v);
    expect(inner.calls).toHaveLength(0);
    expect(fresh.size()).toBe(3);
  });

  it('still returns vectors when the cache directory cannot be written', async () => {
    const file = path.join(root, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const warnings: string[] = [];
    const cache = new CachedTextEncoder(new CountingEncoder(), { dir: file, onWarning: (m) => warnings.push(m) });
    expect(await cache.encode(['a'])).toHaveLength(4);
    expect(warnings[0]).toMatch(/cannot write/);
  });
});
