import { parseArgs } from 'node:util';

/** Option spec for node's parseArgs. */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean; multiple?: boolean }>;

/** Options every command accepts. */
export const COMMON_OPTIONS: OptionSpec = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  backend: { type: 'string' },
  quiet: { type: 'boolean', short: 'q', default: false },
};

/** Options that name a dataset. */
export const DATA_OPTIONS: OptionSpec = {
  data: { type: 'string' },
  format: { type: 'string' },
  category: { type: 'string' },
  'min-user': { type: 'string' },
  'min-item': { type: 'string' },
  'min-rating': { type: 'string' },
  'synthetic-users': { type: 'string' },
  'synthetic-items': { type: 'string' },
};

export class UsageError extends Error {}

/** Parses `argv` for a command; unknown options are a {@link UsageError}. */
export function parse(argv: string[], options: OptionSpec): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options } as never, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** An integer option, with a clear error naming the flag. */
export function intOption(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got "${v}"`);
  return n;
}

/** A number option. */
export function numberOption(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}

/** A number option that must be greater than 0 (learning rates, scales). */
export function positiveNumber(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = numberOption(values, name, fallback);
  if (v !== undefined && !(v > 0)) throw new UsageError(`--${name} must be greater than 0, got "${values[name]}"`);
  return v;
}

/** A share option in [0, 1]. */
export function shareOption(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = numberOption(values, name, fallback);
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new UsageError(`--${name} must be between 0 and 1`);
  return v;
}

/** A share option in [0, 1) (e.g. the part of training a schedule spans). */
export function fractionOption(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = numberOption(values, name, fallback);
  if (v !== undefined && !(v >= 0 && v < 1)) throw new UsageError(`--${name} must be at least 0 and below 1`);
  return v;
}

/** A string option that must be one of `choices`. */
export function choiceOption<T extends string>(values: Record<string, unknown>, name: string, choices: readonly T[]): T {
  const v = values[name] as T;
  if (!choices.includes(v)) throw new UsageError(`--${name} must be ${choices.map((c) => `"${c}"`).join(' or ')}`);
  return v;
}

/**
 * Look-back heads (see GPT2Spec.lookBack): `--<offsetName> K` turns them on, `--<headsName> N`
 * sets how many of the `heads` layer-0 heads look back (default half, at least 1) and
 * `--<firstName> M` how many more attend to position 0 (default 0); N + M <= heads - 1.
 */
export function lookBackOption(
  values: Record<string, unknown>, offsetName: string, headsName: string, firstName: string, heads: number,
): { offset: number; heads: number; first: number } | undefined {
  const offset = intOption(values, offsetName);
  const n = intOption(values, headsName);
  const first = intOption(values, firstName) ?? 0;
  if (offset === undefined) {
    if (n !== undefined || values[firstName] !== undefined) throw new UsageError(`--${headsName} and --${firstName} need --${offsetName}`);
    return undefined;
  }
  if (offset < 1) throw new UsageError(`--${offsetName} must be a positive integer`);
  const count = n ?? Math.max(1, Math.floor(heads / 2));
  if (count < 1 || first < 0 || count + first >= heads) {
    throw new UsageError(`--${headsName} (at least 1) plus --${firstName} must stay below the ${heads} heads (one keeps the position dimensions)`);
  }
  return { offset, heads: count, first };
}

/** A range "LO-HI" of positive numbers (LO <= HI), or a single number. */
export function scaleRangeOption(values: Record<string, unknown>, name: string): [number, number] | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const m = /^(\d*\.?\d+(?:e-?\d+)?)(?:-(\d*\.?\d+(?:e-?\d+)?))?$/.exec(String(v));
  const r: [number, number] | undefined = m ? [Number(m[1]), Number(m[2] ?? m[1])] : undefined;
  if (!r || !(r[0] > 0) || r[1] < r[0]) throw new UsageError(`--${name} must be X or LO-HI with 0 < LO <= HI, got "${String(v)}"`);
  return r;
}
