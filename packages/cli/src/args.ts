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
  columns: { type: 'string' },
  order: { type: 'string' },
  'min-user': { type: 'string' },
  'min-item': { type: 'string' },
  'min-rating': { type: 'string' },
  'synthetic-users': { type: 'string' },
  'synthetic-items': { type: 'string' },
};

/** Help text of {@link DATA_OPTIONS}, shown by every command that reads a dataset. */
export const DATA_OPTIONS_HELP = `  Data options (your dataset; without --data the built-in synthetic data):
    --data PATH --format FORMAT   a folder or file and its format (movielens-100k, movielens-1m,
                                  movielens-latest, amazon2018, amazon2014, amazon2023, recbole, csv,
                                  synthetic), or a directory written by "allmrec data prepare"
    --columns user=COL,item=COL[,rating=COL][,time=COL]
                                  --format csv: the header names of the columns, e.g. Last.fm's
                                  --columns user=userID,item=artistID,rating=weight (default: common
                                  names such as user_id/item_id/rating/timestamp)
    --order file                  the data has no timestamps but its rows are in chronological order:
                                  lets a sequential backbone (sasrec) train on it (refused otherwise;
                                  order-free backbones need no flag)
    --category NAME               Amazon category or RecBole prefix when the folder holds several
    --min-user N --min-item N     the one-pass filter (default 5/5; 0/0 for MovieLens and RecBole)
    --min-rating R                drop interactions rated below R
    --synthetic-users N --synthetic-items N   size of the built-in synthetic data`;

export class UsageError extends Error {}

/** The keys of `--columns` and the csv reader options they set. */
export const COLUMN_KEYS = { user: 'userColumn', item: 'itemColumn', rating: 'ratingColumn', time: 'timeColumn' } as const;

/** Column names given with `--columns`, as the csv reader's options. */
export type ColumnOptions = Partial<Record<(typeof COLUMN_KEYS)[keyof typeof COLUMN_KEYS], string>>;

/**
 * Parses `--columns user=COL,item=COL[,rating=COL][,time=COL]` (the header names of a csv/tsv
 * file's columns) into the csv reader's userColumn/itemColumn/ratingColumn/timeColumn options.
 * An entry without "=", an unknown or repeated key, an empty name or one column named for two
 * keys is a {@link UsageError} naming --columns. Undefined when the option is absent.
 */
export function columnsOption(values: Record<string, unknown>): { options: ColumnOptions; pairs: [keyof typeof COLUMN_KEYS, string][] } | undefined {
  const v = values.columns;
  if (v === undefined) return undefined;
  const text = String(v);
  const keys = Object.keys(COLUMN_KEYS).join(', ');
  const options: ColumnOptions = {};
  const pairs: [keyof typeof COLUMN_KEYS, string][] = [];
  const used = new Map<string, string>();
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq < 0) throw new UsageError(`--columns: "${entry}" has no "=" (expected KEY=COLUMN with KEY one of ${keys}, e.g. --columns user=userID,item=artistID,rating=weight)`);
    const key = entry.slice(0, eq).trim();
    const name = entry.slice(eq + 1).trim();
    if (!(key in COLUMN_KEYS)) throw new UsageError(`--columns: unknown key "${key}" (keys: ${keys})`);
    const k = key as keyof typeof COLUMN_KEYS;
    if (options[COLUMN_KEYS[k]] !== undefined) throw new UsageError(`--columns: key "${key}" is given twice`);
    if (!name) throw new UsageError(`--columns: "${entry}" names no column`);
    const other = used.get(name);
    if (other) throw new UsageError(`--columns: column "${name}" is named for both ${other} and ${key}`);
    used.set(name, key);
    options[COLUMN_KEYS[k]] = name;
    pairs.push([k, name]);
  }
  return { options, pairs };
}

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
