import * as fs from 'node:fs';
import type { ProgressEvent } from '@allmrec/core';
import { UseLiteEncoder, USE_LITE_DIM } from './use-lite';
import { cosineSimilarity, row } from './vector';

const U_ITEM = '/work/shared/datasets/ml-100k/u.item';

// Related ml-100k title pairs (sequels / same franchise), all present in u.item.
const PAIRS: [string, string][] = [
  ['Die Hard (1988)', 'Die Hard 2 (1990)'],
  ['Batman (1989)', 'Batman Returns (1992)'],
  ['Free Willy (1993)', 'Free Willy 2: The Adventure Home (1995)'],
  ['Jaws (1975)', 'Jaws 2 (1978)'],
  ['Star Trek: First Contact (1996)', 'Star Trek: Generations (1994)'],
  ['Star Wars (1977)', 'Return of the Jedi (1983)'],
  ['Godfather, The (1972)', 'Godfather: Part II, The (1974)'],
  ['Home Alone (1990)', 'Home Alone 3 (1997)'],
];

describe('UseLiteEncoder', () => {
  let enc: UseLiteEncoder;
  beforeAll(async () => { enc = await UseLiteEncoder.load(); });
  afterAll(() => enc?.dispose());

  it('loads offline with name, id and 512-d output', async () => {
    expect(enc.name).toBe('use-lite');
    expect(enc.id).toMatch(/^use-lite@[0-9a-f]{12}$/);
    expect(enc.dim).toBe(USE_LITE_DIM);
    const v = await enc.encode(['Toy Story (1995)', '']);
    expect(v).toHaveLength(2 * 512);
    expect(v.every(Number.isFinite)).toBe(true);
    // USE outputs are approximately unit length.
    expect(Math.hypot(...row(v, 512, 0))).toBeCloseTo(1, 1);
  });

  it('the pair titles exist in ml-100k', () => {
    if (!fs.existsSync(U_ITEM)) return;
    const titles = new Set(fs.readFileSync(U_ITEM, 'latin1').split('\n').map((l) => l.split('|')[1]));
    for (const [a, b] of PAIRS) { expect(titles.has(a)).toBe(true); expect(titles.has(b)).toBe(true); }
  });

  it('related titles are closer than the same titles with shuffled partners', async () => {
    const lefts = PAIRS.map((p) => p[0]);
    const rights = PAIRS.map((p) => p[1]);
    const v = await enc.encode([...lefts, ...rights]);
    const n = PAIRS.length;
    const sim = (i: number, j: number) => cosineSimilarity(row(v, 512, i), row(v, 512, n + j));
    let related = 0, shuffled = 0;
    for (let i = 0; i < n; i++) {
      related += sim(i, i);
      shuffled += sim(i, (i + 3) % n); // a fixed derangement
      // Every title is closer to its own partner than to that derangement's partner.
      expect(sim(i, i)).toBeGreaterThan(sim(i, (i + 3) % n));
    }
    expect(related / n - shuffled / n).toBeGreaterThan(0.15);
  });

  it('is deterministic and independent of batch composition', async () => {
    const texts = ['Jaws (1975)', 'Heat (1995)', 'Twelve Monkeys (1995)', 'Jaws (1975)', 'Copycat (1995)', 'Babe (1995)'];
    const events: ProgressEvent[] = [];
    const all = await enc.encode(texts, { batchSize: 4, onProgress: (e) => events.push(e) });
    expect(events[events.length - 1]).toMatchObject({ task: 'use-lite:encode', current: 6, total: 6, done: true });
    expect(row(all, 512, 3)).toEqual(row(all, 512, 0));
    for (let i = 0; i < texts.length; i++) {
      const alone = await enc.encode([texts[i]]);
      expect(alone).toEqual(row(all, 512, i));
    }
    const again = await enc.encode([...texts].reverse(), { batchSize: 1 });
    for (let i = 0; i < texts.length; i++) expect(row(again, 512, texts.length - 1 - i)).toEqual(row(all, 512, i));
  });

  it('refuses to run after dispose', async () => {
    const other = await UseLiteEncoder.load();
    other.dispose();
    await expect(other.encode(['x'])).rejects.toThrow(/dispose/);
  });
});
