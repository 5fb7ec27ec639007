/** Configuration checks shared by the built-in backbones. */

/**
 * A backbone's configuration: `defaults` overridden by `given`. Keys the model does not have and
 * values of another type than the default's are refused, so a misspelt hyper-parameter fails
 * instead of being silently ignored.
 * @throws Error naming the model and the field.
 */
export function resolveConfig<T extends object>(model: string, defaults: T, given: object = {}): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (!(k in defaults)) throw new Error(`${model}: unknown config field "${k}" (known: ${Object.keys(defaults).join(', ')})`);
    const d = (defaults as Record<string, unknown>)[k];
    const ok = Array.isArray(d) ? Array.isArray(v) : typeof v === typeof d;
    if (!ok) throw new Error(`${model}: config.${k} must be ${Array.isArray(d) ? 'an array' : `a ${typeof d}`}, got ${JSON.stringify(v)}`);
    out[k] = Array.isArray(v) ? [...v] : v;
  }
  return out as T;
}

/** Throws unless every `keys` field of `config` is an integer >= `min` (default 1). */
export function checkIntegers(model: string, config: object, keys: string[], min = 1): void {
  for (const k of keys) {
    const v = (config as Record<string, unknown>)[k];
    if (!(Number.isInteger(v) && (v as number) >= min)) throw new Error(`${model}: config.${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
}

/** Throws unless every `keys` field of `config` is a finite number in [lo, hi] (hi exclusive when `openHi`). */
export function checkRange(model: string, config: object, keys: string[], lo: number, hi: number, openHi = false): void {
  for (const k of keys) {
    const v = (config as Record<string, unknown>)[k] as number;
    const ok = Number.isFinite(v) && v >= lo && (openHi ? v < hi : v <= hi);
    if (!ok) throw new Error(`${model}: config.${k} must be in [${lo}, ${hi}${openHi ? ')' : ']'}, got ${JSON.stringify(v)}`);
  }
}
