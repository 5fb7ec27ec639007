import { DataFormatError } from './errors';

/** Parses a required numeric field; throws a {@link DataFormatError} naming file, line and field. */
export function parseNumberField(value: unknown, file: string, line: number, field: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (typeof value === 'string') {
    const t = value.trim();
    if (t !== '' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  }
  if (value === undefined || value === null || value === '') {
    throw new DataFormatError('missing value', { file, line, field });
  }
  throw new DataFormatError(`not a number: ${JSON.stringify(value)}`, { file, line, field });
}

/** Returns a required non-empty string (numbers are converted); throws when missing. */
export function requireKey(value: unknown, file: string, line: number, field: string): string {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (value === undefined || value === null || value === '') {
    throw new DataFormatError('missing field', { file, line, field });
  }
  throw new DataFormatError(`expected a string, got ${JSON.stringify(value)}`, { file, line, field });
}

/** Parses one JSON line into an object; bad JSON or a non-object is a {@link DataFormatError}. */
export function parseJsonObject(text: string, file: string, line: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(`bad JSON (${(e as Error).message})`, { file, line });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new DataFormatError('expected a JSON object', { file, line });
  }
  return v as Record<string, unknown>;
}
