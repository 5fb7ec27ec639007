import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DataFormatError } from './errors';
import { loadDataset } from './load';
import { tempDir } from './testing/paths';

const dir = tempDir('errors');
function write(name: string, content: string | Buffer): string {
  const sub = fs.mkdtempSync(path.join(dir, 'case-'));
  fs.writeFileSync(path.join(sub, name), content);
  return sub;
}
const review = (o: Record<string, unknown>) => JSON.stringify({ reviewerID: 'U', asin: 'A', overall: 5, unixReviewTime: 1, ...o });

describe('DataFormatError on bad input', () => {
  test('message names file, line and field', () => {
    const e = new DataFormatError('not a number: "x"', { file: '/d/r.csv', line: 12, field: 'rating' });
    expect(e.message).toBe('/d/r.csv:12: field "rating": not a number: "x"');
    expect(e).toBeInstanceOf(Error);
  });

  test('bad JSON on a line', async () => {
    const d = write('Gift_Cards_5.json', review({}) + '\n{"reviewerID": "U2", "asin": \n');
    const p = loadDataset({ format: 'amazon2018', path: d });
    await expect(p).rejects.toBeInstanceOf(DataFormatError);
    await expect(p).rejects.toMatchObject({ file: path.join(d, 'Gift_Cards_5.json'), line: 2, message: expect.stringMatching(/:2: bad JSON/) });
  });

  test('missing field', async () => {
    const d = write('Gift_Cards_5.json', review({}) + '\n' + JSON.stringify({ asin: 'A', overall: 5, unixReviewTime: 1 }) + '\n');
    await expect(loadDataset({ format: 'amazon2018', path: d })).rejects.toMatchObject({ line: 2, field: 'reviewerID', message: expect.stringMatching(/missing field/) });
  });

  test('non-numeric rating and timestamp', async () => {
    const d1 = write('Gift_Cards_5.json', review({ overall: 'five' }) + '\n');
    await expect(loadDataset({ format: 'amazon2018', path: d1 })).rejects.toMatchObject({ line: 1, field: 'overall' });
    const d2 = write('u.data', '1\t2\t3\t881250949\n1\t2\t3\tyesterday\n');
    await expect(loadDataset({ format: 'movielens-100k', path: d2 })).rejects.toMatchObject({ line: 2, field: 'timestamp' });
  });

  test('invalid UTF-8 in a UTF-8 file (plain and gzip) names the line', async () => {
    const bad = Buffer.concat([Buffer.from(review({}) + '\n' + review({}) + '\n{"reviewerID": "Caf'), Buffer.from([0xe9]), Buffer.from('", "asin": "A", "overall": 5, "unixReviewTime": 1}\n')]);
    const d = write('Gift_Cards_5.json', bad);
    await expect(loadDataset({ format: 'amazon2018', path: d })).rejects.toMatchObject({ line: 3, message: expect.stringMatching(/invalid UTF-8/) });
    const g = write('Gift_Cards_5.json.gz', zlib.gzipSync(bad));
    await expect(loadDataset({ format: 'amazon2018', path: g })).rejects.toMatchObject({ line: 3, message: expect.stringMatching(/invalid UTF-8/) });
  });

  test('empty files', async () => {
    await expect(loadDataset({ format: 'amazon2018', path: write('Gift_Cards_5.json', '') })).rejects.toMatchObject({ message: expect.stringMatching(/empty file/) });
    await expect(loadDataset({ format: 'movielens-100k', path: write('u.data', '\n\n') })).rejects.toMatchObject({ message: expect.stringMatching(/empty file/) });
    await expect(loadDataset({ format: 'csv', path: path.join(write('x.csv', ''), 'x.csv') })).rejects.toMatchObject({ message: expect.stringMatching(/empty file/) });
  });

  test('truncated gzip', async () => {
    const gz = zlib.gzipSync(Buffer.from((review({}) + '\n').repeat(2000)));
    const d = write('Gift_Cards_5.json.gz', gz.subarray(0, gz.length - 40));
    await expect(loadDataset({ format: 'amazon2018', path: d })).rejects.toMatchObject({ name: 'DataFormatError', message: expect.stringMatching(/gzip/) });
  });

  test('missing path and unknown format', async () => {
    await expect(loadDataset({ format: 'movielens-100k', path: path.join(dir, 'nope') })).rejects.toMatchObject({ message: expect.stringMatching(/does not exist/) });
    await expect(loadDataset({ format: 'parquet', path: dir })).rejects.toThrow(/unknown dataset format "parquet" \(known: movielens-100k/);
  });
});
