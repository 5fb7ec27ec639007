/**
 * RFC-4180 delimited text: quoted fields may contain the delimiter, doubled quotes (`""`) and
 * line breaks. Lines are fed one at a time; a record spanning several lines is assembled.
 */
export class CsvRecordReader {
  private pending: string | null = null;
  private pendingLine = 0;

  constructor(readonly delimiter: string) {}

  /**
   * Feeds one physical line. Returns the completed record's fields and its first line number,
   * or null when the line ends inside a quoted field (the record continues on the next line).
   */
  push(line: string, lineNo: number): { fields: string[]; line: number } | null {
    const text = this.pending === null ? line : this.pending + '\n' + line;
    const start = this.pending === null ? lineNo : this.pendingLine;
    const fields = splitDelimited(text, this.delimiter);
    if (fields === null) {
      this.pending = text;
      this.pendingLine = start;
      return null;
    }
    this.pending = null;
    return { fields, line: start };
  }

  /** Line number where an unterminated quoted field started, or undefined when none is open. */
  get openRecordLine(): number | undefined {
    return this.pending === null ? undefined : this.pendingLine;
  }
}

/**
 * Splits one record on `delimiter` honouring RFC-4180 quotes. Returns null when the text ends
 * inside a quoted field.
 */
export function splitDelimited(text: string, delimiter: string): string[] | null {
  if (text.indexOf('"') < 0) return text.split(delimiter);
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return null;
        v += text.slice(i, q);
        if (text[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      // Anything between the closing quote and the delimiter is kept (lenient).
      const d = text.indexOf(delimiter, i);
      const end = d < 0 ? n : d;
      v += text.slice(i, end);
      out.push(v);
      if (d < 0) return out;
      i = d + delimiter.length;
    } else {
      const d = text.indexOf(delimiter, i);
      if (d < 0) {
        out.push(text.slice(i));
        return out;
      }
      out.push(text.slice(i, d));
      i = d + delimiter.length;
    }
    if (i >= n) {
      out.push('');
      return out;
    }
  }
}

/** Picks the delimiter (tab, comma, semicolon or pipe) occurring most often outside quotes in a header line. */
export function detectDelimiter(headerLine: string): string {
  const unquoted = headerLine.replace(/"(?:[^"]|"")*"/g, '');
  let best = ',';
  let bestCount = 0;
  for (const d of ['\t', ',', ';', '|']) {
    const c = unquoted.split(d).length - 1;
    if (c > bestCount) {
      best = d;
      bestCount = c;
    }
  }
  return best;
}
