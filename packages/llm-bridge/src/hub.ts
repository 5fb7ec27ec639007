/**
 * Checkpoints by Hugging Face hub name, downloaded through core's one download module into the
 * hub cache layout that `huggingface_hub` uses, so a cache filled by Python is reused and the
 * other way round:
 *
 *   ${HF_HOME ?? ~/.cache/huggingface}/hub/models--{org}--{name}/refs/{revision}      (snapshot id)
 *   ${HF_HOME ?? ~/.cache/huggingface}/hub/models--{org}--{name}/snapshots/{id}/{file}
 *
 * Offline (`HF_HUB_OFFLINE=1`, `ALLMREC_OFFLINE=1` or `offline: true`), a complete cached
 * snapshot is used and anything missing is a clear error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OfflineError, downloadFile, isOffline, writeFileAtomic, type ProgressListener } from '@allmrec/core';

/** Options of {@link resolveCheckpoint}. */
export interface ResolveOptions {
  /** Never download (default: core's `isOffline()`, i.e. HF_HUB_OFFLINE / ALLMREC_OFFLINE). */
  offline?: boolean;
  /** Hub cache directory (default `${HF_HUB_CACHE ?? (HF_HOME ?? ~/.cache/huggingface)/hub}`). */
  cacheDir?: string;
  /** Hub URL (default env HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /** Access token for gated/private models (default env HF_TOKEN). */
  token?: string;
  onProgress?: ProgressListener;
}

/** The hub cache directory used when none is given. */
export function hubCacheDir(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  const home = process.env.HF_HOME || path.join(os.homedir(), '.cache', 'huggingface');
  return path.join(home, 'hub');
}

/** The file a checkpoint needs (tokenizer_config.json is optional). */
const REQUIRED = ['config.json', 'tokenizer.json'];
const OPTIONAL = ['tokenizer_config.json', 'generation_config.json'];

/** True when `nameOrPath` should be treated as a path even if it does not exist. */
function looksLikePath(s: string): boolean {
  return s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || /^[A-Za-z]:[\\/]/.test(s) || s.split('/').length > 2;
}

/**
 * A local checkpoint directory for `nameOrPath`: an existing directory is returned as is;
 * otherwise `nameOrPath` is a hub model id ("org/name" or "name") whose config.json,
 * tokenizer.json, tokenizer_config.json (if present) and model.safetensors (or
 * model.safetensors.index.json and its shards) are downloaded from
 * `${endpoint}/${name}/resolve/${revision}/${file}` into the hub cache (resumable).
 * @returns the snapshot directory.
 * @throws OfflineError-based message naming the missing file when offline and the cache is incomplete.
 */
export async function resolveCheckpoint(nameOrPath: string, options: ResolveOptions = {}): Promise<string> {
  const local = nameOrPath.startsWith('~') ? path.join(os.homedir(), nameOrPath.slice(1)) : nameOrPath;
  if (fs.existsSync(local) && fs.statSync(local).isDirectory()) return local;
  if (looksLikePath(nameOrPath)) throw new Error(`checkpoint directory ${nameOrPath} does not exist`);
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(nameOrPath)) throw new Error(`"${nameOrPath}" is neither a directory nor a hub model id like "org/name"`);

  const revision = options.revision ?? 'main';
  const offline = options.offline ?? isOffline();
  const repoDir = path.join(options.cacheDir ?? hubCacheDir(), `models--${nameOrPath.replace(/\//g, '--')}`);
  const refFile = path.join(repoDir, 'refs', revision);
  const snapshotId = fs.existsSync(refFile) ? fs.readFileSync(refFile, 'utf8').trim() || revision : revision;
  const snapshot = path.join(repoDir, 'snapshots', snapshotId);

  if (offline) {
    const missing = missingFiles(snapshot);
    if (missing.length > 0) {
      throw new Error(
        `cannot load "${nameOrPath}" offline: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in the cache ${snapshot}. ` +
          'Unset HF_HUB_OFFLINE / ALLMREC_OFFLINE to download it, download the checkpoint on a machine with internet ' +
          `(e.g. huggingface-cli download ${nameOrPath}) and copy the cache, or pass a local checkpoint directory.`,
      );
    }
    return snapshot;
  }

  const base = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const token = options.token ?? process.env.HF_TOKEN;
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  const fetchFile = async (file: string, optional = false): Promise<boolean> => {
    const url = `${base}/${nameOrPath}/resolve/${encodeURIComponent(revision)}/${file}`;
    const dest = path.join(snapshot, file);
    if (fs.existsSync(dest)) return true; // complete files are renamed into place; .part files resume
    // An optional file the repository lacks is remembered, as huggingface_hub does (.no_exist/).
    const absent = path.join(repoDir, '.no_exist', snapshotId, file);
    if (optional && fs.existsSync(absent)) return false;
    try {
      await downloadFile({ url, dest, headers, onProgress: options.onProgress, offline: false });
      return true;
    } catch (err) {
      if (optional && !(err instanceof OfflineError) && /HTTP 404/.test((err as Error).message)) {
        await writeFileAtomic(absent, '');
        return false;
      }
      throw err;
    }
  };
  for (const f of REQUIRED) await fetchFile(f);
  for (const f of OPTIONAL) await fetchFile(f, true);
  if (!fs.existsSync(path.join(snapshot, 'model.safetensors.index.json')) && !(await fetchFile('model.safetensors', true))) {
    if (!(await fetchFile('model.safetensors.index.json', true))) {
      throw new Error(`${base}/${nameOrPath} has neither model.safetensors nor model.safetensors.index.json at revision ${revision}`);
    }
  }
  for (const shard of shardsOf(snapshot)) await fetchFile(shard);
  if (!fs.existsSync(refFile)) await writeFileAtomic(refFile, snapshotId);
  return snapshot;
}

function shardsOf(snapshot: string): string[] {
  const index = path.join(snapshot, 'model.safetensors.index.json');
  if (!fs.existsSync(index)) return [];
  const map = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
  return [...new Set(Object.values(map))].sort();
}

/** Files a cached snapshot lacks to be loadable. */
function missingFiles(snapshot: string): string[] {
  const has = (f: string) => fs.existsSync(path.join(snapshot, f));
  const missing = REQUIRED.filter((f) => !has(f));
  if (has('model.safetensors')) return missing;
  if (!has('model.safetensors.index.json')) return [...missing, 'model.safetensors'];
  return [...missing, ...shardsOf(snapshot).filter((s) => !has(s))];
}
