import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeZip } from './testing/make-zip';
import { tempDir } from './testing/paths';
import { crc32, extractZip, readZipEntries, readZipEntry } from './zip';

describe('zip reader', () => {
  test('crc32 known value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  test('stored and deflated entries round-trip; directories created', () => {
    const big = 'line of text\n'.repeat(5000);
    const zip = makeZip([{ name: 'ml-100k/' , data: '' }, { name: 'ml-100k/u.data', data: big }, { name: 'ml-100k/u.info', data: 'tiny', stored: true }]);
    const entries = readZipEntries(zip);
    expect(entries.map((e) => [e.name, e.method])).toEqual([['ml-100k/', 0], ['ml-100k/u.data', 8], ['ml-100k/u.info', 0]]);
    expect(entries[1].compressedSize).toBeLessThan(big.length / 10);
    expect(readZipEntry(zip, entries[1]).toString()).toBe(big);
    const dir = tempDir('zip');
    const file = path.join(dir, 'a.zip');
    fs.writeFileSync(file, zip);
    const out = extractZip(file, path.join(dir, 'out'));
    expect(out.map((p) => path.relative(dir, p))).toEqual([path.join('out', 'ml-100k', 'u.data'), path.join('out', 'ml-100k', 'u.info')]);
    expect(fs.readFileSync(path.join(dir, 'out', 'ml-100k', 'u.info'), 'utf8')).toBe('tiny');
  });

  test('corruption and path traversal are refused', () => {
    const zip = makeZip([{ name: 'a.txt', data: 'hello hello hello', stored: true }]);
    const bad = Buffer.from(zip);
    bad[30 + 5 + 1] ^= 0xff; // flip a data byte
    expect(() => readZipEntry(bad, readZipEntries(bad)[0])).toThrow(/CRC-32/);
    expect(() => readZipEntries(Buffer.from('not a zip at all, definitely not'))).toThrow(/not a zip/);
    const dir = tempDir('zip-evil');
    fs.writeFileSync(path.join(dir, 'evil.zip'), makeZip([{ name: '../evil.txt', data: 'x' }]));
    expect(() => extractZip(path.join(dir, 'evil.zip'), path.join(dir, 'out'))).toThrow(/escapes/);
    expect(fs.existsSync(path.join(dir, 'evil.txt'))).toBe(false);
  });
});
