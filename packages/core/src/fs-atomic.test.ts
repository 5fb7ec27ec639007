import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256File, sha256Hex, tempPathFor, writeFileAtomic, writeFileAtomicSync } from './fs-atomic';

describe('fs-atomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-fsatomic-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a new file, creating parent directories, and leaves no temp file', async () => {
    const file = path.join(dir, 'a', 'b', 'x.txt');
    await writeFileAtomic(file, 'hello');
    expect(fs.readFileSync(file, 'utf8')).toBe('hello');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['x.txt']);
  });

  it('replaces an existing file (async and sync)', async () => {
    const file = path.join(dir, 'x.bin');
    fs.writeFileSync(file, 'old');
    await writeFileAtomic(file, Buffer.from([1, 2, 3]));
    expect([...fs.readFileSync(file)]).toEqual([1, 2, 3]);
    writeFileAtomicSync(file, 'new');
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(fs.readdirSync(dir)).toEqual(['x.bin']);
  });

  it('keeps the old content and removes the temp file when the rename fails', async () => {
    // The target is a non-empty directory: rename over it fails.
    const target = path.join(dir, 'target');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'keep'), 'k');
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(/cannot write .*target/);
    expect(() => writeFileAtomicSync(target, 'x')).toThrow(/cannot write .*target/);
    expect(fs.readdirSync(dir)).toEqual(['target']);
    expect(fs.readFileSync(path.join(target, 'keep'), 'utf8')).toBe('k');
  });

  it('names temp files beside the target', () => {
    const t = tempPathFor('/some/dir/file.json');
    expect(t).toMatch(new RegExp(`^/some/dir/file\\.json\\.tmp-${process.pid}-[0-9a-f]{8}$`));
    expect(tempPathFor('/x')).not.toBe(tempPathFor('/x'));
  });

  it('hashes files with the known sha256 of "abc"', async () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    const file = path.join(dir, 'abc');
    fs.writeFileSync(file, 'abc');
    expect(await sha256File(file)).toBe(abc);
    expect(sha256Hex('abc')).toBe(abc);
    await expect(sha256File(path.join(dir, 'missing'))).rejects.toThrow(/cannot hash .*missing/);
  });
});
