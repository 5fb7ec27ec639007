/**
 * Reading a Hugging Face config.json strictly: every error names the file and the field, a field
 * of the wrong type is an error (never a silent default), and a field that transformers reads for
 * the family, that changes the math and that this package does not implement is refused unless it
 * holds its no-op value. Fields transformers itself does not read are ignored, as transformers
 * ignores them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Parses a JSON file that must hold an object; a malformed file is an error naming it. */
export function readJsonObject(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${file}: must hold a JSON object`);
  return raw as Record<string, unknown>;
}

/** Reads and parses `<dir>/config.json`; a missing or malformed file is an error naming it. */
export function readConfigJson(dir: string): { raw: Record<string, unknown>; file: string } {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new Error(`${dir}: config.json is missing; not a Hugging Face checkpoint directory`);
  return { raw: readJsonObject(file), file };
}

/** A parsed config.json with typed, checked accessors. */
export class HFConfig {
  constructor(readonly raw: Record<string, unknown>, readonly file: string) {}

  get modelType(): string {
    return typeof this.raw.model_type === 'string' ? this.raw.model_type : '';
  }

  /** Throws `<file>: <message>`. */
  fail(message: string): never {
    throw new Error(`${this.file}: ${message}`);
  }

  /** True when the field is present and not null. */
  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  /** The first present (non-null) field among `names`. */
  private pick(names: string | string[]): { name: string; value: unknown } | undefined {
    for (const n of Array.isArray(names) ? names : [names]) if (this.has(n)) return { name: n, value: this.raw[n] };
    return undefined;
  }

  /** The first present of `names` checked by `ok` (named `what` in the error), else `fallback`; missing without fallback is an error. */
  private typed<T>(names: string | string[], fallback: T | undefined, ok: (v: unknown) => v is T, what: string): T {
    const f = this.pick(names);
    if (!f) {
      if (fallback !== undefined) return fallback;
      this.fail(`${[names].flat().map((n) => `"${n}"`).join(' / ')} is required`);
    }
    if (!ok(f.value)) this.fail(`"${f.name}" must be ${what}, got ${JSON.stringify(f.value)}`);
    return f.value;
  }

  /** A finite number (the first present of `names`), else `fallback`; missing without fallback is an error. */
  num(names: string | string[], fallback?: number): number {
    return this.typed(names, fallback, (v): v is number => typeof v === 'number' && Number.isFinite(v), 'a number');
  }

  /** A positive integer (see {@link num}). */
  int(names: string | string[], fallback?: number): number {
    const v = this.num(names, fallback);
    const name = this.pick(names)?.name ?? [names].flat()[0];
    if (!Number.isInteger(v) || v < 0) this.fail(`"${name}" must be a non-negative integer, got ${v}`);
    return v;
  }

  /** A boolean, else `fallback`. */
  bool(name: string, fallback: boolean): boolean {
    if (!this.has(name)) return fallback;
    const v = this.raw[name];
    if (typeof v !== 'boolean') this.fail(`"${name}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A string (the first present of `names`), else `fallback`. */
  str(names: string | string[], fallback?: string): string {
    return this.typed(names, fallback, (v): v is string => typeof v === 'string', 'a string');
  }

  /** A token id: a number, or a list whose first entry is used (several EOS ids). */
  tokenId(name: string): number | undefined {
    return this.tokenIds(name)?.[0];
  }

  /** Token ids of a field that may be one id or a list. */
  tokenIds(name: string): number[] | undefined {
    if (!this.has(name)) return undefined;
    const v = this.raw[name];
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0 || !list.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
      this.fail(`"${name}" must be a token id or a list of token ids, got ${JSON.stringify(v)}`);
    }
    return list as number[];
  }

  /**
   * Refuses a field that changes the math and is not implemented, unless it is absent or `isNoOp`
   * says its value keeps the implemented behaviour.
   */
  refuse(name: string, isNoOp: (v: unknown) => boolean, why: string): void {
    if (this.raw[name] === undefined) return;
    if (!isNoOp(this.raw[name])) {
      this.fail(`"${name}": ${JSON.stringify(this.raw[name])} is not supported for model_type "${this.modelType}" (${why})`);
    }
  }

  /** Checks every family shares: quantized or pruned checkpoints are refused. */
  checkCommon(): void {
    this.refuse('quantization_config', (v) => v === null, 'quantized weights are not read; use a float16/bfloat16/float32 checkpoint');
    this.refuse('pruned_heads', (v) => v === null || (typeof v === 'object' && Object.keys(v as object).length === 0), 'pruned attention heads');
    this.refuse('add_cross_attention', (v) => v === false || v === null, 'cross-attention needs an encoder; only decoder-only LMs are read');
  }
}

/** True for `null`/absent or `false`. */
export const isOff = (v: unknown): boolean => v === null || v === false;
