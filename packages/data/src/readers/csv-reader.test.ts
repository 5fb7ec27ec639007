import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectDelimiter, splitDelimited } from '../csv';
import { MissingColumnError } from '../errors';
import { loadDataset } from '../load';
import { tempDir } from '../testing/paths';
import { readCsv } from './csv-reader';

describe('RFC-4180 splitting', () => {
  test('quotes, doubled quotes, empty fields, unterminated quotes', () => {
    expect(splitDelimited('a,"b, c","say ""hi""",,', ',')).toEqual(['a', 'b, c', 'say "hi"', '', '']);
    expect(splitDelimited('"open, field', ',')).toBeNull();
    expect(splitDelimited('x\ty', '\t')).toEqual(['x', 'y']);
  });
  test('delimiter detection ignores quoted text', () => {
    expect(detectDelimiter('user\titem\t"a,b,c,d"')).toBe('\t');
    expect(detectDelimiter('user;item;rating')).toBe(';');
    expect(detectDelimiter('user,item')).toBe(',');
  });
});

describe('generic CSV reader', () => {
  test('named columns, TSV autodetect, ISO dates, multi-line quoted item descriptions', async () => {
    const dir = tempDir('csv');
    fs.writeFileSync(path.join(dir, 'log.tsv'), 'who\twhat\twhen\tstars\nbob\tx1\t2020-01-02T00:00:00Z\t4\nbob\tx2\t2020-01-01T00:00:00Z\t5\namy\tx1\t2021-05-05\t3\n');
    fs.writeFileSync(path.join(dir, 'items.csv'), 'id,name,description\nx1,"Widget, large","First line\nsecond line"\nx2,,Only a description\n');
    const opts = { userColumn: 'who', itemColumn: 'what', timeColumn: 'when', ratingColumn: 'stars', itemsFile: 'items.csv', itemIdColumn: 'id', titleColumn: 'name' };
    const raw = await readCsv(path.join(dir, 'log.tsv'), opts);
    expect(raw.interactions[0]).toEqual({ user: 'bob', item: 'x1', rating: 4, time: Date.parse('2020-01-02T00:00:00Z') / 1000, order: 0 });
    expect(raw.items.get('x1')).toEqual({ title: 'Widget, large', description: 'First line\nsecond line' });
    const { dataset, report } = await loadDataset({ format: 'csv', path: path.join(dir, 'log.tsv'), ...opts, minUser: 0, minItem: 0 });
    expect(dataset.order).toBe('time');
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(['x2', 'x1']);
    expect(dataset.items[1]).toEqual({ title: 'Only a description', description: '' });
    expect(dataset.items[2]).toEqual({ title: 'Widget, large', description: 'First line' });
    expect(report.items.titleFromDescription).toBe(1);
  });

  test('default column names and missing columns', async () => {
    const dir = tempDir('csv2');
    fs.writeFileSync(path.join(dir, 'a.csv'), 'user_id,item_id\n1,2\n');
    const raw = await readCsv(path.join(dir, 'a.csv'));
    expect(raw.hasTime).toBe(false);
    expect(raw.interactions).toEqual([{ user: '1', item: '2', order: 0, time: undefined, rating: undefined }]);
    fs.writeFileSync(path.join(dir, 'b.csv'), 'person,thing\n1,2\n');
    await expect(readCsv(path.join(dir, 'b.csv'))).rejects.toMatchObject({ name: 'DataFormatError', field: 'user_id', line: 1 });
    fs.writeFileSync(path.join(dir, 'c.csv'), 'user,item\n1,"2\n');
    await expect(readCsv(path.join(dir, 'c.csv'))).rejects.toMatchObject({ message: expect.stringMatching(/unterminated/), line: 2 });
  });

  test('Last.fm-style headers: named columns read, default names fail listing the header', async () => {
    const dir = tempDir('csv3');
    const file = path.join(dir, 'user_artists.dat');
    fs.writeFileSync(file, 'userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n3\t51\t228\n');
    const raw = await readCsv(file, { userColumn: 'userID', itemColumn: 'artistID', ratingColumn: 'weight' });
    expect(raw.interactions[1]).toEqual({ user: '2', item: '52', rating: 11690, time: undefined, order: 1 });
    expect(raw.hasTime).toBe(false);
    const prepared = await loadDataset({ format: 'csv', path: file, userColumn: 'userID', itemColumn: 'artistID', minUser: 0, minItem: 0 });
    expect([prepared.dataset.order, prepared.report.order]).toEqual(['file', 'file']);
    expect(prepared.report.notes).toContain('no timestamps: sequences follow file order (order "file")');
    const noItem = readCsv(file);
    await expect(noItem).rejects.toBeInstanceOf(MissingColumnError);
    await expect(noItem).rejects.toMatchObject({ role: 'item', given: undefined, header: ['userID', 'artistID', 'weight'], line: 1 });
    await expect(noItem).rejects.toThrow(/no item column \(looked for item_id, .*; header: userID, artistID, weight\)/);
    await expect(readCsv(file, { userColumn: 'userID', itemColumn: 'artist' })).rejects.toThrow(
      /:1: field "artist": no column "artist" for the item \(header: userID, artistID, weight\)/,
    );
  });
});
