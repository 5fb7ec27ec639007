import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataFormatError } from './errors';

/** True when `p` is an existing directory. */
export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Resolves the folder that holds a dataset: `p` itself when it is a folder containing
 * `marker`, the folder of `p` when it is a file, or the single sub-folder containing `marker`
 * (archives such as ml-100k.zip unpack into `ml-100k/`). Throws when not found.
 */
export function resolveDatasetDir(p: string, marker: (name: string) => boolean, what: string): string {
  if (!fs.existsSync(p)) throw new DataFormatError(`path does not exist (expected ${what})`, { file: p });
  if (!isDirectory(p)) return path.dirname(p);
  const names = fs.readdirSync(p);
  if (names.some(marker)) return p;
  const subs = names.filter((n) => isDirectory(path.join(p, n)) && fs.readdirSync(path.join(p, n)).some(marker));
  if (subs.length === 1) return path.join(p, subs[0]);
  throw new DataFormatError(`no ${what} found in this folder`, { file: p });
}

/** Lists file names in `dir` matching `re` (sorted). */
export function listMatching(dir: string, re: RegExp): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => re.test(n) && !isDirectory(path.join(dir, n)))
    .sort();
}
