import { CsvRecordReader, detectDelimiter } from './csv';
import { DataFormatError } from './errors';
import { forEachLine, type TextEncoding } from './lines';

/** Options of {@link forEachRecord}. */
export interface DelimitedFileOptions {
  /** Field delimiter; detected from the header when omitted. */
  delimiter?: string;
  encoding?: TextEncoding;
}

/**
 * Streams the records of a delimited file with a header line (RFC-4180 quoting). `onRecord`
 * receives the header, the record's fields and its line number. Throws a {@link DataFormatError}
 * for an empty file, an unterminated quote or a record with fewer fields than the header.
 * Returns the header.
 */
export async function forEachRecord(
  file: string,
  onRecord: (fields: string[], header: string[], line: number) => void,
  options: DelimitedFileOptions = {},
): Promise<string[]> {
  let header: string[] | null = null;
  let reader: CsvRecordReader | null = null;
  await forEachLine(
    file,
    (line, no) => {
      if (header === null) {
        if (!line.trim()) return;
        const d = options.delimiter ?? detectDelimiter(line);
        reader = new CsvRecordReader(d);
        const r = reader.push(line, no);
        if (!r) throw new DataFormatError('unterminated quote in header', { file, line: no });
        header = r.fields.map((h) => h.trim());
        return;
      }
      if (!line.trim() && reader!.openRecordLine === undefined) return;
      const r = reader!.push(line, no);
      if (!r) return;
      if (r.fields.length < header.length) {
        throw new DataFormatError(`expected ${header.length} fields, got ${r.fields.length}`, { file, line: r.line });
      }
      onRecord(r.fields, header, r.line);
    },
    { encoding: options.encoding ?? 'utf8' },
  );
  if (header === null) throw new DataFormatError('empty file', { file });
  const open = (reader as CsvRecordReader | null)?.openRecordLine;
  if (open !== undefined) throw new DataFormatError('unterminated quoted field', { file, line: open });
  return header;
}

/** Index of the first of `candidates` present in `header` (exact, then case-insensitive), or -1. */
export function findColumn(header: string[], candidates: string[]): number {
  for (const c of candidates) {
    const i = header.indexOf(c);
    if (i >= 0) return i;
  }
  const lower = header.map((h) => h.toLowerCase());
  for (const c of candidates) {
    const i = lower.indexOf(c.toLowerCase());
    if (i >= 0) return i;
  }
  return -1;
}
