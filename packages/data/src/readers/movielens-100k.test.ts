import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../load';
import { SHARED_DATASETS, haveSharedDatasets, tempDir } from '../testing/paths';
import { readMovieLens100k } from './movielens-100k';

const DIR = path.join(SHARED_DATASETS, 'ml-100k');
const maybe = haveSharedDatasets() ? describe : describe.skip;

maybe('MovieLens 100K (real files)', () => {
  test('raw interactions keep the file content and order', async () => {
    const raw = await readMovieLens100k(DIR);
    expect(raw.interactions).toHaveLength(100000);
    // u.data first line: "196\t242\t3\t881250949"
    expect(raw.interactions[0]).toEqual({ user: '196', item: '242', rating: 3, time: 881250949, order: 0 });
    expect(raw.domain).toBe('movies');
  });

  test('u.item is decoded as latin-1 and genres come from u.genre', async () => {
    const raw = await readMovieLens100k(path.join(DIR, 'u.data'));
    expect(raw.items.size).toBe(1682);
    expect(raw.items.get('1')).toEqual({ title: 'Toy Story (1995)', description: "Genres: Animation, Children's, Comedy" });
    expect(raw.items.get('543')!.title).toBe('Misérables, Les (1995)');
    expect(raw.items.get('1005')!.title).toBe('Double vie de Véronique, La (Double Life of Veronique, The) (1991)');
    expect(raw.items.get('267')!.title).toBeUndefined(); // "unknown"
  });

  test('no filter: 943 users, 1,682 items, 100,000 interactions, sorted by time', async () => {
    const { dataset, report } = await loadDataset({ format: 'movielens-100k', path: DIR, minUser: 0, minItem: 0 });
    expect(dataset.order).toBe('time');
    expect([dataset.numUsers, dataset.numItems]).toEqual([943, 1682]);
    expect(dataset.sequences.reduce((s, q) => s + q.length, 0)).toBe(100000);
    expect(report.duplicatesDropped).toBe(0);
    expect(dataset.domain).toBe('movies');
    // 18 titles are on two movies each ("Chasers (1994)"): all 36 get their id appended.
    expect(report.items.titles).toMatchObject({ markup: 0, shared: 0, madeDistinct: 36 });
    // User "196" appears first in u.data, so it is user 1; its sequence follows time order.
    expect(dataset.userKeys[1]).toBe('196');
    const lines = fs.readFileSync(path.join(DIR, 'u.data'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
    const mine = lines
      .map((f, i) => ({ item: f[1], t: Number(f[3]), i }))
      .filter((_, i) => lines[i][0] === '196')
      .sort((a, b) => a.t - b.t || a.i - b.i)
      .map((x) => x.item);
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(mine);
    const toy = dataset.itemKeys.indexOf('1');
    expect(dataset.items[toy]).toEqual({ title: 'Toy Story (1995)', description: "Genres: Animation, Children's, Comedy" });
  });

  test('the one-pass 5/5 filter matches an independent recount', async () => {
    const lines = fs.readFileSync(path.join(DIR, 'u.data'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
    const uc: Record<string, number> = {};
    const ic: Record<string, number> = {};
    for (const [u, i] of lines) {
      uc[u] = (uc[u] || 0) + 1;
      ic[i] = (ic[i] || 0) + 1;
    }
    const kept = lines.filter(([u, i]) => uc[u] >= 5 && ic[i] >= 5);
    const users = new Set(kept.map((f) => f[0])).size;
    const items = new Set(kept.map((f) => f[1])).size;
    const { dataset, report } = await loadDataset({ format: 'movielens-100k', path: DIR, minUser: 5, minItem: 5 });
    expect(dataset.numUsers).toBe(users);
    expect(dataset.numItems).toBe(items);
    expect(dataset.sequences.reduce((s, q) => s + q.length, 0)).toBe(kept.length);
    expect(report.steps.at(-1)).toMatchObject({ users, items, interactions: kept.length });
    expect(report.filteredOut).toBe(100000 - kept.length);
  });

  test('a folder holding ml-100k/ (as unpacked from the zip) is accepted', async () => {
    const dir = tempDir('ml100k-nested');
    fs.mkdirSync(path.join(dir, 'ml-100k'));
    fs.writeFileSync(path.join(dir, 'ml-100k', 'u.data'), '1\t10\t4\t100\n');
    const raw = await readMovieLens100k(dir);
    expect(raw.interactions).toHaveLength(1);
    expect(raw.notes?.join()).toMatch(/u.item not found/);
  });
});
