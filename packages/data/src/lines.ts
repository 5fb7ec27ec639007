import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { DataFormatError } from './errors';

/** Text encoding of an input file. `utf8` is checked strictly (invalid bytes are an error). */
export type TextEncoding = 'utf8' | 'latin1';

/** Options of {@link forEachLine}. */
export interface ForEachLineOptions {
  /** Encoding of the (decompressed) text; default `utf8`. */
  encoding?: TextEncoding;
}

/** True when the file starts with the gzip magic bytes (1f 8b). */
export function isGzipFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const n = fs.readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Streams the lines of a text file (gzip-compressed or not, detected from the magic bytes) to
 * `onLine` without loading the file as one string. Line endings `\n` and `\r\n` are removed and a
 * UTF-8 byte order mark is dropped. UTF-8 is decoded strictly: an invalid byte sequence raises a
 * {@link DataFormatError} naming the line. Returns the number of lines seen.
 */
export async function forEachLine(
  file: string,
  onLine: (line: string, lineNo: number) => void,
  options: ForEachLineOptions = {},
): Promise<number> {
  const encoding = options.encoding ?? 'utf8';
  if (!fs.existsSync(file)) throw new DataFormatError('file not found', { file });
  const gz = isGzipFile(file);
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  let source: Readable = raw;
  if (gz) {
    const gunzip = zlib.createGunzip();
    raw.on('error', (e) => gunzip.destroy(e));
    source = raw.pipe(gunzip);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lineNo = 0;
  let first = true;

  const block = (buf: Buffer) => {
    let text: string;
    if (encoding === 'latin1') {
      text = buf.toString('latin1');
    } else {
      try {
        text = decoder.decode(buf);
      } catch {
        // Find the offending line for the message.
        let start = 0;
        let n = lineNo;
        for (;;) {
          const nl = buf.indexOf(10, start);
          const end = nl < 0 ? buf.length : nl;
          n++;
          try {
            decoder.decode(buf.subarray(start, end));
          } catch {
            throw new DataFormatError('invalid UTF-8 byte sequence (is the file in another encoding, e.g. latin-1?)', {
              file,
              line: n,
            });
          }
          if (nl < 0) break;
          start = nl + 1;
        }
        throw new DataFormatError('invalid UTF-8 byte sequence', { file });
      }
    }
    if (first) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const lines = text.split('\n');
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      onLine(line, ++lineNo);
    }
  };

  let carry: Buffer | null = null;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      const lastNl = buf.lastIndexOf(10);
      if (lastNl < 0) {
        carry = buf;
        continue;
      }
      carry = lastNl + 1 < buf.length ? Buffer.from(buf.subarray(lastNl + 1)) : null;
      block(buf.subarray(0, lastNl));
    }
  } catch (e) {
    if (e instanceof DataFormatError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (gz && (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR' || /unexpected end|incorrect header/i.test(err.message))) {
      throw new DataFormatError(`corrupt or truncated gzip data (${err.message})`, { file });
    }
    throw e;
  } finally {
    raw.destroy();
  }
  if (carry && carry.length > 0) block(carry);
  return lineNo;
}

/** Reads a whole (small) text file, gzip or not, with the same decoding rules as {@link forEachLine}. */
export async function readLines(file: string, options: ForEachLineOptions = {}): Promise<string[]> {
  const out: string[] = [];
  await forEachLine(file, (l) => out.push(l), options);
  return out;
}
