import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/** One entry of a zip archive's central directory. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
  isDirectory: boolean;
}

let CRC_TABLE: Uint32Array | null = null;

/** CRC-32 (IEEE) of a buffer, as stored in zip headers. */
export function crc32(buf: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Lists the entries of a zip archive held in memory (no zip64, no encryption). */
export function readZipEntries(zip: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end-of-central-directory record)');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  if (p === 0xffffffff || count === 0xffff) throw new Error('zip64 archives are not supported');
  const entries: ZipEntry[] = [];
  for (let k = 0; k < count; k++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`corrupt zip: bad central directory entry ${k}`);
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressedSize = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const localHeaderOffset = zip.readUInt32LE(p + 42);
    const name = zip.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    if (flags & 1) throw new Error(`zip entry ${name} is encrypted`);
    entries.push({ name, method, compressedSize, size, crc32: crc, localHeaderOffset, isDirectory: name.endsWith('/') });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Decompresses one entry (stored or deflated) and checks its size and CRC-32. */
export function readZipEntry(zip: Buffer, entry: ZipEntry): Buffer {
  const h = entry.localHeaderOffset;
  if (zip.readUInt32LE(h) !== 0x04034b50) throw new Error(`corrupt zip: bad local header for ${entry.name}`);
  const start = h + 30 + zip.readUInt16LE(h + 26) + zip.readUInt16LE(h + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  let out: Buffer;
  if (entry.method === 0) out = Buffer.from(data);
  else if (entry.method === 8) out = zlib.inflateRawSync(data);
  else throw new Error(`zip entry ${entry.name}: compression method ${entry.method} not supported`);
  if (out.length !== entry.size) throw new Error(`zip entry ${entry.name}: size ${out.length} != ${entry.size}`);
  if (crc32(out) !== entry.crc32) throw new Error(`zip entry ${entry.name}: CRC-32 mismatch`);
  return out;
}

/**
 * Extracts a zip file into `destDir` (entries with absolute paths or `..` are refused).
 * Returns the extracted file paths.
 */
export function extractZip(zipFile: string, destDir: string): string[] {
  const zip = fs.readFileSync(zipFile);
  const root = path.resolve(destDir);
  const written: string[] = [];
  for (const e of readZipEntries(zip)) {
    const target = path.resolve(root, e.name);
    if (path.isAbsolute(e.name) || e.name.split(/[\\/]/).includes('..') || !target.startsWith(root + path.sep)) {
      throw new Error(`zip entry ${JSON.stringify(e.name)} escapes the destination folder`);
    }
    if (e.isDirectory) {
      fs.mkdirSync(target, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, readZipEntry(zip, e));
    written.push(target);
  }
  return written;
}
