import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { cacheDir, downloadFile, isOffline, OfflineError as CoreOfflineError, sha256File, type ProgressListener } from '@allmrec/core';
import { DATA_HOSTS, getDownloadableDataset, type DownloadableDataset } from './download-registry';
import type { DatasetFormatName } from './load';
import { extractZip } from './zip';

/** Options of {@link downloadDataset}. */
export interface DownloadDatasetOptions {
  /** Cache root (default env ALLMREC_HOME or ~/.cache/allmrec); files go to `<root>/datasets/<name>`. */
  cacheDir?: string;
  /** Refuse network access (default env ALLMREC_OFFLINE). Cached datasets still resolve. */
  offline?: boolean;
  onProgress?: ProgressListener;
  /** Replaces every host's base URL (default env ALLMREC_DATA_MIRROR); file paths are appended. */
  baseUrl?: string;
  /** Download again even when complete. */
  force?: boolean;
  /** Download attempts after the first (resume on dropped connections; default 3). */
  retries?: number;
  /** Delay between attempts (ms). */
  retryDelayMs?: number;
}

/** Where a downloaded dataset is and how to load it. */
export interface DownloadedDataset {
  name: string;
  format: DatasetFormatName;
  /** Cache folder of this dataset. */
  dir: string;
  /** Path to pass to `loadDataset({ format, path, category })`. */
  path: string;
  category?: string;
  /** Downloaded files with their sha256. */
  files: { file: string; url: string; sha256: string }[];
  /** True when everything was already in the cache. */
  cached: boolean;
}

/** Cache root: `ALLMREC_HOME` or `~/.cache/allmrec`. */
export function defaultCacheRoot(): string {
  return cacheDir();
}

function urlOf(spec: DownloadableDataset['files'][number], baseUrl: string | undefined): string {
  const base = (baseUrl ?? DATA_HOSTS[spec.host]).replace(/\/+$/, '');
  return `${base}/${spec.path}`;
}

const MARKER = '.allmrec-complete.json';

/**
 * A dataset that cannot be downloaded here: offline switch on (ALLMREC_OFFLINE=1) or the host
 * is unreachable. The message says where to copy the files by hand.
 */
export class DatasetOfflineError extends Error {
  readonly url: string;
  readonly host: string;
  /** Folder where the files are expected. */
  readonly dir: string;
  constructor(url: string, dir: string, reason: string) {
    let host = url;
    try {
      host = new URL(url).host;
    } catch {
      /* keep the raw url */
    }
    super(`cannot reach ${host}: ${reason}; download on a machine with internet and copy to ${dir}, or pass --data <path>`);
    this.name = 'DatasetOfflineError';
    this.url = url;
    this.host = host;
    this.dir = dir;
  }
}

/** A downloaded or cached file whose checksum does not match (the file is deleted). */
export class ChecksumError extends Error {
  constructor(readonly file: string, readonly algorithm: string, readonly expected: string, readonly actual: string) {
    super(`${algorithm} mismatch for ${file}: expected ${expected}, got ${actual}; the file was deleted`);
    this.name = 'ChecksumError';
  }
}

async function md5File(file: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Downloads a known dataset (see `listDownloadableDatasets`) into
 * `<cache>/datasets/<name>`: resumable (Range on `.part` files), checked against known sha256/md5
 * sums or, when none is known, against the sha256 recorded in `<file>.sha256` at the first
 * download; zip archives are unpacked. A complete download is reused (also offline).
 * @throws OfflineError ("cannot reach <host>: ...; download on a machine with internet and copy
 *   to <dir>, or pass --data <path>") when offline or the host is unreachable.
 */
export async function downloadDataset(name: string, options: DownloadDatasetOptions = {}): Promise<DownloadedDataset> {
  const spec = getDownloadableDataset(name);
  const dir = path.join(options.cacheDir ?? defaultCacheRoot(), 'datasets', spec.name);
  const baseUrl = options.baseUrl ?? (process.env.ALLMREC_DATA_MIRROR || undefined);
  const result = (files: DownloadedDataset['files'], cached: boolean): DownloadedDataset => ({
    name: spec.name,
    format: spec.format,
    dir,
    path: path.join(dir, spec.dataPath),
    category: spec.category,
    files,
    cached,
  });
  const marker = path.join(dir, MARKER);
  if (!options.force && fs.existsSync(marker)) {
    const m = JSON.parse(fs.readFileSync(marker, 'utf8')) as { files: DownloadedDataset['files'] };
    if (m.files.every((f) => fs.existsSync(path.join(dir, f.file)))) return result(m.files, true);
  }
  const offline = options.offline ?? isOffline();
  fs.mkdirSync(dir, { recursive: true });
  const files: DownloadedDataset['files'] = [];
  for (const f of spec.files) {
    const url = urlOf(f, baseUrl);
    const fileName = path.basename(f.path);
    const dest = path.join(dir, fileName);
    const sidecar = `${dest}.sha256`;
    const recorded = fs.existsSync(sidecar) ? fs.readFileSync(sidecar, 'utf8').trim().split(/\s+/)[0] : undefined;
    const expected = f.sha256 ?? recorded;
    let sha256: string;
    if (!options.force && fs.existsSync(dest)) {
      sha256 = await sha256File(dest);
      if (expected && sha256 !== expected) {
        fs.rmSync(dest);
        if (offline) throw new ChecksumError(dest, 'sha256', expected, sha256);
        sha256 = (await fetch(url, dest, expected, f.md5, offline, dir, options)).sha256;
      }
    } else {
      if (options.force) fs.rmSync(dest, { force: true });
      sha256 = (await fetch(url, dest, expected, f.md5, offline, dir, options)).sha256;
    }
    if (!recorded) fs.writeFileSync(sidecar, `${sha256}  ${fileName}\n`);
    if (f.unzip) extractZip(dest, dir);
    files.push({ file: fileName, url, sha256 });
  }
  fs.writeFileSync(marker, JSON.stringify({ name: spec.name, files, terms: spec.terms }, null, 2));
  return result(files, false);
}

async function fetch(
  url: string,
  dest: string,
  sha256: string | undefined,
  md5: string | undefined,
  offline: boolean,
  dir: string,
  o: DownloadDatasetOptions,
): Promise<{ sha256: string }> {
  if (offline) throw new DatasetOfflineError(url, dir, 'offline mode (ALLMREC_OFFLINE=1)');
  let result;
  try {
    result = await downloadFile({ url, dest, offline: false, onProgress: o.onProgress, retries: o.retries, retryDelayMs: o.retryDelayMs, force: true });
  } catch (e) {
    if (e instanceof CoreOfflineError) throw new DatasetOfflineError(url, dir, (e as Error).message);
    throw e;
  }
  if (sha256 && result.sha256 !== sha256.toLowerCase()) {
    fs.rmSync(dest, { force: true });
    throw new ChecksumError(dest, 'sha256', sha256, result.sha256);
  }
  if (md5) {
    const got = await md5File(dest);
    if (got !== md5.toLowerCase()) {
      fs.rmSync(dest, { force: true });
      throw new ChecksumError(dest, 'md5', md5, got);
    }
  }
  return { sha256: result.sha256 };
}
