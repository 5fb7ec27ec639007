/**
 * The one module every download (datasets, Hugging Face checkpoints) goes through: a cache
 * directory, an offline switch, resumable HTTP(S) downloads with checksum verification, and a
 * clear message when the machine cannot reach the network.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256File } from './fs-atomic';
import type { ProgressListener } from './types';

/**
 * The allmrec cache directory (env `ALLMREC_HOME`, default `~/.cache/allmrec`), joined with `sub`.
 * Does not create it.
 */
export function cacheDir(...sub: string[]): string {
  const home = process.env.ALLMREC_HOME || path.join(os.homedir(), '.cache', 'allmrec');
  return path.join(home, ...sub);
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);

/** True when downloads are switched off: env `ALLMREC_OFFLINE=1` or `HF_HUB_OFFLINE=1`. */
export function isOffline(): boolean {
  const v = (name: string) => TRUE.has((process.env[name] ?? '').trim().toLowerCase());
  return v('ALLMREC_OFFLINE') || v('HF_HUB_OFFLINE');
}

/** A download that cannot happen: the offline switch is on or the host cannot be reached. */
export class OfflineError extends Error {
  /** The URL that was requested. */
  readonly url: string;
  /** Where the file was to be written. */
  readonly dest: string;
  constructor(url: string, dest: string, reason: string, offlineSwitch: boolean) {
    const host = safeHost(url);
    const why = offlineSwitch
      ? 'This machine is offline (ALLMREC_OFFLINE=1)'
      : `Could not reach ${host}`;
    super(
      `cannot download ${url}: ${reason}. ${why}. Download it on a machine with internet into ${dest}, ` +
        'or point allmrec at local files.',
    );
    this.name = 'OfflineError';
    this.url = url;
    this.dest = dest;
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Options of {@link downloadFile}. */
export interface DownloadOptions {
  url: string;
  /** Final path; the download streams to `<dest>.part` and is renamed here when complete. */
  dest: string;
  /** Expected hex sha256; a mismatch deletes the download and throws. */
  sha256?: string;
  /** Overrides {@link isOffline}. */
  offline?: boolean;
  onProgress?: ProgressListener;
  /** Extra request headers (e.g. authorization); dropped when a redirect changes host. */
  headers?: Record<string, string>;
  /** Attempts after the first on a network error or 5xx (default 3); each resumes the `.part`. */
  retries?: number;
  /** Base delay between attempts in ms, multiplied by the attempt number (default 1000). */
  retryDelayMs?: number;
  /** Socket inactivity timeout in ms (default 30000). */
  timeoutMs?: number;
  /** Download even when `dest` already exists. */
  force?: boolean;
}

/** Result of {@link downloadFile}. */
export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** True when bytes of an earlier partial download were reused. */
  resumed: boolean;
  /** True when `dest` already existed (and matched `sha256` when given); nothing was fetched. */
  cached: boolean;
}

/** An error worth another attempt (network trouble, 5xx, truncated body). */
class RetryableError extends Error {
  constructor(message: string, readonly unreachable = false) {
    super(message);
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN']);
const MAX_REDIRECTS = 10;

interface Attempt {
  /** Bytes received in this attempt. */
  received: number;
  /** Size of the .part before the attempt (0 when the server restarted us). */
  offset: number;
}

/**
 * Downloads `url` to `dest`: streams into `<dest>.part`, resumes an existing `.part` with an HTTP
 * Range request (restarting when the server ignores it), follows redirects, retries network
 * errors, verifies `sha256` when given and renames into place. Emits progress events
 * (task `download:<file name>`, unit `bytes`). Returns at once when `dest` already exists.
 * @throws OfflineError when offline or the host cannot be reached; Error on HTTP errors and
 *   checksum mismatches (nothing is kept).
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const { url, dest } = options;
  const part = `${dest}.part`;
  if (!options.force && fs.existsSync(dest)) {
    const stat = await fsp.stat(dest);
    const sum = await sha256File(dest);
    if (!options.sha256 || sum === options.sha256.toLowerCase()) {
      return { path: dest, bytes: stat.size, sha256: sum, resumed: false, cached: true };
    }
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`cannot download ${url}: not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`cannot download ${url}: only http and https URLs are supported`);
  }
  if (options.offline ?? isOffline()) {
    throw new OfflineError(url, dest, 'downloads are switched off', true);
  }
  await fsp.mkdir(path.dirname(dest), { recursive: true });

  const retries = options.retries ?? 3;
  const delay = options.retryDelayMs ?? 1000;
  const task = `download:${path.basename(dest)}`;
  let resumed = false;
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, delay * attempt));
    try {
      const a = await fetchToPart(url, part, options, task);
      if (a.offset > 0) resumed = true;
      lastError = undefined;
      break;
    } catch (err) {
      lastError = err;
      if (!(err instanceof RetryableError)) throw err;
    }
  }
  if (lastError) {
    const err = lastError as RetryableError;
    if (err.unreachable) throw new OfflineError(url, dest, err.message, false);
    throw new Error(`cannot download ${url}: ${err.message} (after ${retries + 1} attempts; the partial file ${part} is kept for resuming)`);
  }

  const bytes = (await fsp.stat(part)).size;
  const sum = await sha256File(part);
  if (options.sha256 && sum !== options.sha256.toLowerCase()) {
    await fsp.rm(part, { force: true });
    throw new Error(`cannot download ${url}: sha256 mismatch (expected ${options.sha256}, got ${sum}); the download was deleted`);
  }
  await fsp.rename(part, dest);
  options.onProgress?.({ task, current: bytes, total: bytes, unit: 'bytes', done: true });
  return { path: dest, bytes, sha256: sum, resumed, cached: false };
}

/** One attempt: (re)starts or resumes `part` from `url`, following redirects. */
async function fetchToPart(url: string, part: string, options: DownloadOptions, task: string): Promise<Attempt> {
  let offset = fs.existsSync(part) ? (await fsp.stat(part)).size : 0;
  let current = new URL(url);
  let headers: Record<string, string> = { ...(options.headers ?? {}) };
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const reqHeaders: Record<string, string> = { 'user-agent': 'allmrec', ...headers };
    if (offset > 0) reqHeaders.range = `bytes=${offset}-`;
    const res = await request(current, reqHeaders, options.timeoutMs ?? 30000);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      const next = new URL(res.headers.location, current);
      if (next.host !== current.host) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^(authorization|cookie)$/i.test(k)));
      }
      current = next;
      continue;
    }
    if (status === 416 && offset > 0) {
      // Range not satisfiable: the .part is complete if its size equals the resource's.
      res.resume();
      const total = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1];
      if (total !== undefined && Number(total) === offset) return { received: 0, offset };
      await fsp.rm(part, { force: true });
      offset = 0;
      hop--; // retry the same URL from scratch
      continue;
    }
    if (status >= 500) {
      res.resume();
      throw new RetryableError(`HTTP ${status} from ${current.host}`);
    }
    if (status !== 200 && status !== 206) {
      res.resume();
      throw new Error(`cannot download ${options.url}: HTTP ${status} ${res.statusMessage ?? ''}`.trim());
    }
    let append = false;
    if (status === 206) {
      const start = /bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1];
      if (start !== undefined && Number(start) === offset) append = true;
      else if (offset === 0) {
        res.resume();
        throw new Error(`cannot download ${options.url}: unexpected partial response (content-range ${String(res.headers['content-range'])})`);
      } else {
        res.resume();
        await fsp.rm(part, { force: true });
        offset = 0;
        hop--;
        continue;
      }
    }
    if (!append) offset = 0; // 200: the server ignored the Range header, start over
    const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
    const total = length !== undefined ? offset + length : undefined;
    const { received, complete } = await pipeBody(res, part, append, offset, total, options.onProgress, task);
    if (!complete || (length !== undefined && received < length)) {
      throw new RetryableError(`connection closed after ${offset + received}${total !== undefined ? ` of ${total}` : ''} bytes`);
    }
    return { received, offset };
  }
  throw new Error(`cannot download ${options.url}: more than ${MAX_REDIRECTS} redirects`);
}

function request(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.get(url, { headers }, resolve);
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      reject(new RetryableError(`${code ? code + ' ' : ''}${err.message}`.trim(), UNREACHABLE.has(code)));
    });
  });
}

/** Streams the response body into `part`; resolves with the bytes received even if the connection drops. */
function pipeBody(
  res: http.IncomingMessage,
  part: string,
  append: boolean,
  offset: number,
  total: number | undefined,
  onProgress: ProgressListener | undefined,
  task: string,
): Promise<{ received: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(part, { flags: append ? 'a' : 'w' });
    let received = 0;
    let lastEmit = 0;
    let failed = false;
    const finish = () => {
      out.end(() => resolve({ received, complete: res.complete }));
    };
    out.on('error', (err) => {
      failed = true;
      res.destroy();
      reject(new Error(`cannot write ${part}: ${err.message}`));
    });
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!out.write(chunk)) {
        res.pause();
        out.once('drain', () => res.resume());
      }
      const t = Date.now();
      if (onProgress && t - lastEmit >= 100) {
        lastEmit = t;
        onProgress({ task, current: offset + received, total, unit: 'bytes' });
      }
    });
    // A dropped connection ends the body early: keep what arrived, the caller resumes.
    res.on('aborted', () => undefined);
    res.on('error', () => undefined);
    res.on('close', () => {
      if (!failed) finish();
    });
  });
}
