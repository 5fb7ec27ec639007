/** Raised by {@link parsePythonLiteral} with the character offset of the problem. */
export class PythonLiteralError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'PythonLiteralError';
  }
}

/**
 * Parses one Python literal (as written by `repr()` / `str()` of a dict) WITHOUT evaluating
 * anything: strings with single, double or triple quotes, escapes and u/b/r prefixes, adjacent
 * string concatenation, ints, floats (also `inf`/`nan` forms), True/False/None, lists, tuples
 * (returned as arrays), sets (arrays) and dicts (plain objects, keys converted to strings).
 * Used for the Amazon Reviews 2014 metadata, where each line is a Python dict literal.
 */
export function parsePythonLiteral(text: string): unknown {
  const p = new Parser(text);
  p.ws();
  const v = p.value();
  p.ws();
  if (p.i < text.length) throw new PythonLiteralError(`unexpected ${JSON.stringify(text[p.i])}`, p.i);
  return v;
}

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  ws() {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
  }

  value(): unknown {
    const s = this.s;
    if (this.i >= s.length) throw new PythonLiteralError('unexpected end of input', this.i);
    const c = s[this.i];
    if (c === '{') return this.dict();
    if (c === '[') return this.seq('[', ']');
    if (c === '(') return this.seq('(', ')');
    if (c === "'" || c === '"') return this.strings();
    if (/[uUbBrR]/.test(c)) {
      const m = /^(?:[uU]|[bB][rR]?|[rR][bB]?)(?=['"])/.exec(s.slice(this.i, this.i + 3));
      if (m) return this.strings();
    }
    if (c === '-' || c === '+' || c === '.' || (c >= '0' && c <= '9')) return this.number();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(this.i, this.i + 16));
    if (word) {
      const w = word[0];
      if (w === 'True') return this.advance(4, true);
      if (w === 'False') return this.advance(5, false);
      if (w === 'None') return this.advance(4, null);
      if (w === 'inf') return this.advance(3, Infinity);
      if (w === 'nan') return this.advance(3, NaN);
      if (w === 'set' && s.startsWith('set()', this.i)) return this.advance(5, []);
      throw new PythonLiteralError(`unsupported name ${JSON.stringify(w)}`, this.i);
    }
    throw new PythonLiteralError(`unexpected ${JSON.stringify(c)}`, this.i);
  }

  private advance<T>(n: number, v: T): T {
    this.i += n;
    return v;
  }

  private expect(ch: string) {
    if (this.s[this.i] !== ch) throw new PythonLiteralError(`expected ${JSON.stringify(ch)}`, this.i);
    this.i++;
  }

  private dict(): unknown {
    this.expect('{');
    const out: Record<string, unknown> = {};
    const set: unknown[] = [];
    let isSet = false;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') break;
      const k = this.value();
      this.ws();
      if (this.s[this.i] === ':' && !isSet) {
        this.i++;
        this.ws();
        out[String(k)] = this.value();
      } else if (Object.keys(out).length === 0) {
        isSet = true;
        set.push(k);
      } else {
        throw new PythonLiteralError('expected ":"', this.i);
      }
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      break;
    }
    this.ws();
    this.expect('}');
    return isSet ? set : out;
  }

  private seq(open: string, close: string): unknown[] {
    this.expect(open);
    const out: unknown[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) break;
      out.push(this.value());
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      break;
    }
    this.ws();
    this.expect(close);
    return out;
  }

  /** One or more adjacent string literals, concatenated. */
  private strings(): string {
    let out = this.string();
    for (;;) {
      const save = this.i;
      this.ws();
      const c = this.s[this.i];
      if (c === "'" || c === '"' || (c && /[uUbBrR]/.test(c) && /^[uUbBrR]{1,2}['"]/.test(this.s.slice(this.i, this.i + 3)))) {
        out += this.string();
      } else {
        this.i = save;
        return out;
      }
    }
  }

  private string(): string {
    const s = this.s;
    let raw = false;
    while (/[uUbBrR]/.test(s[this.i])) {
      if (s[this.i] === 'r' || s[this.i] === 'R') raw = true;
      this.i++;
    }
    const q = s[this.i];
    if (q !== "'" && q !== '"') throw new PythonLiteralError('expected a quote', this.i);
    const triple = s[this.i + 1] === q && s[this.i + 2] === q;
    const start = this.i;
    this.i += triple ? 3 : 1;
    let out = '';
    for (;;) {
      if (this.i >= s.length) throw new PythonLiteralError('unterminated string', start);
      const c = s[this.i];
      if (c === q) {
        if (!triple) {
          this.i++;
          return out;
        }
        if (s[this.i + 1] === q && s[this.i + 2] === q) {
          this.i += 3;
          return out;
        }
        out += c;
        this.i++;
        continue;
      }
      if (c === '\n' && !triple) throw new PythonLiteralError('newline in string', this.i);
      if (c !== '\\') {
        out += c;
        this.i++;
        continue;
      }
      const e = s[this.i + 1];
      if (raw) {
        out += c + (e ?? '');
        this.i += 2;
        continue;
      }
      this.i += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case "'": out += "'"; break;
        case '"': out += '"'; break;
        case 'a': out += '\x07'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\n': break;
        case 'x': out += this.hex(2); break;
        case 'u': out += this.hex(4); break;
        case 'U': out += this.hex(8); break;
        default:
          if (e !== undefined && e >= '0' && e <= '7') {
            let j = this.i - 1;
            let digits = '';
            while (digits.length < 3 && s[j] >= '0' && s[j] <= '7') digits += s[j++];
            this.i = j;
            out += String.fromCodePoint(parseInt(digits, 8));
          } else {
            out += '\\' + (e ?? '');
          }
      }
    }
  }

  private hex(n: number): string {
    const h = this.s.slice(this.i, this.i + n);
    if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new PythonLiteralError('bad escape', this.i);
    this.i += n;
    const cp = parseInt(h, 16);
    if (cp > 0x10ffff) throw new PythonLiteralError('bad code point', this.i);
    return String.fromCodePoint(cp);
  }

  private number(): number {
    const m = /^[+-]?(?:inf|nan|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*\.)[jJ]?/.exec(this.s.slice(this.i, this.i + 64));
    if (!m || m[0] === '' || m[0] === '-' || m[0] === '+') throw new PythonLiteralError('bad number', this.i);
    this.i += m[0].length;
    let t = m[0].replace(/_/g, '');
    if (/[jJ]$/.test(t)) throw new PythonLiteralError('complex numbers are not supported', this.i);
    if (/inf$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
    if (/nan$/.test(t)) return NaN;
    if (/^[+-]?0[xob]/i.test(t)) t = String(Number(t));
    const v = Number(t);
    if (!Number.isFinite(v)) throw new PythonLiteralError('bad number', this.i);
    return v;
  }
}
