import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { forEachLine, readLines } from './lines';
import { listFormats, registerFormat } from './registry';
import { loadDataset } from './load';
import { tempDir } from './testing/paths';

describe('forEachLine', () => {
  const dir = tempDir('lines');
  test('gzip detected by magic bytes, CRLF and BOM removed, long lines across chunks', async () => {
    const long = 'é'.repeat(1_500_000); // > 1 MiB chunk, multi-byte chars split at chunk boundaries
    const text = '\ufeffa\r\nb\n' + long + '\nlast';
    fs.writeFileSync(path.join(dir, 'plain.txt'), text);
    fs.writeFileSync(path.join(dir, 'packed.bin'), zlib.gzipSync(text));
    for (const f of ['plain.txt', 'packed.bin']) {
      const lines = await readLines(path.join(dir, f));
      expect(lines.length).toBe(4);
      expect(lines.slice(0, 2)).toEqual(['a', 'b']);
      expect(lines[2] === long).toBe(true);
      expect(lines[3]).toBe('last');
    }
  });
  test('latin-1 decoding and line numbers', async () => {
    fs.writeFileSync(path.join(dir, 'l1.txt'), Buffer.from([0x4d, 0x69, 0x73, 0xe9, 0x0a, 0x78]));
    const seen: [string, number][] = [];
    await forEachLine(path.join(dir, 'l1.txt'), (l, n) => seen.push([l, n]), { encoding: 'latin1' });
    expect(seen).toEqual([['Misé', 1], ['x', 2]]);
  });
});

describe('format registry', () => {
  test('lists the built-in formats and accepts new ones', async () => {
    expect(listFormats().map((f) => f.name)).toEqual(
      expect.arrayContaining(['movielens-100k', 'movielens-1m', 'movielens-latest', 'amazon2018', 'amazon2014', 'amazon2023', 'recbole', 'csv', 'synthetic']),
    );
    registerFormat({
      name: 'test-inline',
      description: 'test',
      pathless: true,
      defaults: { minUser: 0, minItem: 0 },
      read: async () => ({
        name: 'inline',
        interactions: [{ user: 'u', item: 'i', time: 1, order: 0 }],
        items: new Map([['i', { title: 'T' }]]),
        files: [],
        hasTime: true,
      }),
    });
    const { dataset, report } = await loadDataset({ format: 'test-inline', domain: 'movies' });
    expect(dataset.numItems).toBe(1);
    expect(dataset.domain).toBe('movies');
    expect(report.format).toBe('test-inline');
  });
});
