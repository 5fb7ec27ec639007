import { HashedTfidfEncoder, hashFeature, tfidfFeatures, tfidfTokens } from './tfidf';
import { row } from './vector';

describe('HashedTfidfEncoder', () => {
  const corpus = ['Red apple', 'green apple', 'red car'];

  it('extracts lower-cased unigrams and bigrams', () => {
    expect(tfidfTokens('Star Wars (1977)!')).toEqual(['star', 'wars', '1977']);
    expect(tfidfFeatures('Red apple')).toEqual(['red', 'apple', 'red apple']);
    expect(tfidfFeatures('Red apple', false)).toEqual(['red', 'apple']);
  });

  it('matches hand-computed TF-IDF values on a 3-document corpus', async () => {
    const enc = new HashedTfidfEncoder({ dim: 4096 }).fit(corpus);
    expect(enc.name).toBe('tfidf-4096');
    // Smooth idf: ln((1 + N) / (1 + df)) + 1, N = 3.
    const idf2 = Math.log(4 / 3) + 1; // "red", "apple" (df 2)
    const idf1 = Math.log(4 / 2) + 1; // "green", "car", every bigram (df 1)
    const features = ['red', 'apple', 'green', 'car', 'red apple', 'green apple', 'red car'];
    const buckets = new Set(features.map((f) => hashFeature(f, 4096).bucket));
    expect(buckets.size).toBe(features.length); // no collisions, so values are exactly per feature
    const v = await enc.encode(corpus);
    const expectDoc = (i: number, weights: Record<string, number>) => {
      const norm = Math.hypot(...Object.values(weights));
      const r = row(v, 4096, i);
      let nonzero = 0;
      for (const x of r) if (x !== 0) nonzero++;
      expect(nonzero).toBe(Object.keys(weights).length);
      for (const [f, w] of Object.entries(weights)) {
        const { bucket, sign } = hashFeature(f, 4096);
        expect(r[bucket]).toBeCloseTo((sign * w) / norm, 6);
      }
    };
    expectDoc(0, { red: idf2, apple: idf2, 'red apple': idf1 });
    expectDoc(1, { green: idf1, apple: idf2, 'green apple': idf1 });
    expectDoc(2, { red: idf2, car: idf1, 'red car': idf1 });
    // Unit rows; term frequency counts repeats.
    expect(Math.hypot(...row(v, 4096, 0))).toBeCloseTo(1, 6);
    const rep = await enc.encode(['car car']);
    const car = hashFeature('car', 4096), carcar = hashFeature('car car', 4096);
    const n = Math.hypot(2 * idf1, Math.log(4) + 1);
    expect(rep[car.bucket]).toBeCloseTo((car.sign * 2 * idf1) / n, 6);
    expect(rep[carcar.bucket]).toBeCloseTo((carcar.sign * (Math.log(4) + 1)) / n, 6);
  });

  it('is batch-independent, restorable from its idf, and keys its id on the idf', async () => {
    const enc = new HashedTfidfEncoder({ dim: 256 });
    expect(enc.id).toBe('tfidf-256@v1-unfitted');
    enc.fit(corpus);
    expect(enc.id).toMatch(/^tfidf-256@v1-[0-9a-f]{12}$/);
    const all = await enc.encode(corpus);
    expect(await enc.encode([corpus[1]])).toEqual(row(all, 256, 1));
    const restored = new HashedTfidfEncoder({ dim: 256, idf: enc.idf });
    expect(restored.id).toBe(enc.id);
    expect(await restored.encode(corpus)).toEqual(all);
    expect(new HashedTfidfEncoder({ dim: 256 }).fit(['other corpus']).id).not.toBe(enc.id);
  });

  it('gives a zero row for text without words and validates options', async () => {
    const enc = new HashedTfidfEncoder({ dim: 8 });
    expect(Array.from(await enc.encode(['', '!!']))).toEqual(new Array(16).fill(0));
    expect(() => new HashedTfidfEncoder({ dim: 0 })).toThrow(/dim/);
    expect(() => new HashedTfidfEncoder({ dim: 4, idf: [1, 2] })).toThrow(/idf/);
  });
});
