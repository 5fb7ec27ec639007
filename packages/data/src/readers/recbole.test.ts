import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../load';
import { SHARED_DATASETS, haveSharedDatasets, tempDir } from '../testing/paths';
import { readRecBole } from './recbole';

const DIR = path.join(SHARED_DATASETS, 'amazon2018_video_games');
const maybe = haveSharedDatasets() ? describe : describe.skip;

maybe('RecBole atomic files (real amazon2018_video_games)', () => {
  test('full sequences = history + target of the test file: 50,546 / 16,859 / 440,264', async () => {
    const { dataset, report } = await loadDataset({ format: 'recbole', path: DIR, minUser: 0, minItem: 0 });
    expect(dataset.numUsers).toBe(50546);
    expect(dataset.numItems).toBe(16859);
    expect(dataset.sequences.reduce((s, q) => s + q.length, 0)).toBe(440264);
    expect(dataset.domain).toBe('games');
    expect(report.timeOrdered).toBe(false);
    expect([dataset.order, report.order]).toEqual(['sequence', 'sequence']); // item_id_list: a true order without timestamps
    // First data line: "0\t0 1 2 ... 13\t14"
    const first = fs.readFileSync(path.join(DIR, 'Games-6k.test.inter'), 'utf8').split('\n')[1].split('\t');
    const expected = [...first[1].split(' '), first[2]];
    expect(dataset.userKeys[1]).toBe(first[0]);
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(expected);
    expect(dataset.items[dataset.itemKeys.indexOf('0')].title).toBe('Fire Emblem: The Sacred Stones');
    expect(report.items.withoutText).toBe(0);
    expect(report.items.titles).toMatchObject({ markup: 0, shared: 0, madeDistinct: 856 }); // e.g. 7 items titled "Spider-Man"
    expect(new Set(dataset.items.slice(1).map((t) => t.title.toLowerCase())).size).toBe(16859);
  });

  test('the one-pass 5/5 filter equals an independent recount', async () => {
    const lines = fs.readFileSync(path.join(DIR, 'Games-6k.test.inter'), 'utf8').trim().split('\n').slice(1);
    const pairs: [string, string][] = [];
    for (const l of lines) {
      const [u, list, target] = l.split('\t');
      for (const i of [...list.split(' '), target]) pairs.push([u, i]);
    }
    const uc = new Map<string, number>();
    const ic = new Map<string, number>();
    for (const [u, i] of pairs) {
      uc.set(u, (uc.get(u) ?? 0) + 1);
      ic.set(i, (ic.get(i) ?? 0) + 1);
    }
    const kept = pairs.filter(([u, i]) => uc.get(u)! >= 5 && ic.get(i)! >= 5);
    const { dataset } = await loadDataset({ format: 'recbole', path: DIR, minUser: 5, minItem: 5 });
    expect(dataset.numUsers).toBe(new Set(kept.map((p) => p[0])).size);
    expect(dataset.numItems).toBe(new Set(kept.map((p) => p[1])).size);
    expect(dataset.sequences.reduce((s, q) => s + q.length, 0)).toBe(kept.length);
  });
});

describe('RecBole plain .inter', () => {
  test('user_id item_id rating timestamp rows, sorted by timestamp', async () => {
    const dir = tempDir('recbole');
    fs.writeFileSync(
      path.join(dir, 'toy.inter'),
      'user_id:token\titem_id:token\trating:float\ttimestamp:float\nu1\ta\t5\t30\nu1\tb\t4\t10\nu2\ta\t3\t5\nu1\tc\t1\t10\n',
    );
    fs.writeFileSync(path.join(dir, 'toy.item'), 'item_id:token\ttitle:token_seq\na\tAlpha &amp; Co\nb\tBeta\n');
    const raw = await readRecBole(dir);
    expect(raw.hasTime).toBe(true);
    expect(raw.items.get('a')!.title).toBe('Alpha & Co');
    const { dataset, report } = await loadDataset({ format: 'recbole', path: path.join(dir, 'toy.inter'), minUser: 0, minItem: 0 });
    expect(dataset.order).toBe('time');
    // u1: b(10), c(10, later in file), a(30)
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(['b', 'c', 'a']);
    expect(report.timeTies).toBe(1);
    expect(report.items.withoutText).toBe(1); // c has no row in toy.item
  });

  test('sequential item_id_list files: order "sequence", the list then the target', async () => {
    const dir = tempDir('recbole-seq');
    fs.writeFileSync(path.join(dir, 'toy.test.inter'), 'user_id:token\titem_id_list:token_seq\titem_id:token\nu1\tc a\tb\nu2\ta\tc\n');
    const raw = await readRecBole(dir);
    expect([raw.hasTime, raw.explicitSequences]).toEqual([false, true]);
    const { dataset, report } = await loadDataset({ format: 'recbole', path: dir });
    expect([dataset.order, report.order, report.timeOrdered]).toEqual(['sequence', 'sequence', false]);
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(['c', 'a', 'b']);
    // A plain .inter without a timestamp column has only its file order.
    fs.writeFileSync(path.join(dir, 'plain.inter'), 'user_id:token\titem_id:token\nu1\ta\nu1\tb\n');
    expect((await loadDataset({ format: 'recbole', path: path.join(dir, 'plain.inter') })).dataset.order).toBe('file');
  });

  test('bad header is a DataFormatError', async () => {
    const dir = tempDir('recbole-bad');
    fs.writeFileSync(path.join(dir, 'x.inter'), 'user_id\titem_id\n1\t2\n');
    await expect(readRecBole(dir)).rejects.toMatchObject({ name: 'DataFormatError', line: 1 });
  });
});
