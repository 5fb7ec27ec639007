import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir, downloadFile, isOffline, OfflineError } from './download';
import type { ProgressEvent } from './types';

const BODY = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
const BODY_SHA = createHash('sha256').update(BODY).digest('hex');

interface Seen { url: string; range?: string; auth?: string }

/** A local server whose behaviour per request is chosen by the test. */
async function startServer(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url!, range: req.headers.range, auth: req.headers.authorization });
    handler(req, res, seen.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Serves BODY honouring `Range: bytes=N-`. */
function serveRange(req: http.IncomingMessage, res: http.ServerResponse) {
  const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
  if (m) {
    const start = Number(m[1]);
    if (start >= BODY.length) {
      res.writeHead(416, { 'content-range': `bytes */${BODY.length}` }).end();
      return;
    }
    res.writeHead(206, { 'content-length': BODY.length - start, 'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}` });
    res.end(BODY.subarray(start));
  } else {
    res.writeHead(200, { 'content-length': BODY.length });
    res.end(BODY);
  }
}

describe('downloadFile', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const env = { ...process.env };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-dl-'));
    delete process.env.ALLMREC_OFFLINE;
    delete process.env.HF_HUB_OFFLINE;
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    process.env = { ...env };
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('downloads a whole file, verifies its checksum and reports progress in bytes', async () => {
    server = await startServer((req, res) => serveRange(req, res));
    const dest = path.join(dir, 'sub', 'data.bin');
    const events: ProgressEvent[] = [];
    const r = await downloadFile({ url: `${server.base}/data.bin`, dest, sha256: BODY_SHA, onProgress: (e) => events.push(e) });
    expect(r).toEqual({ path: dest, bytes: BODY.length, sha256: BODY_SHA, resumed: false, cached: false });
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    expect(events[events.length - 1]).toEqual({ task: 'download:data.bin', current: BODY.length, total: BODY.length, unit: 'bytes', done: true });
    // A second call finds the file and fetches nothing.
    const again = await downloadFile({ url: `${server.base}/data.bin`, dest, sha256: BODY_SHA, offline: true });
    expect(again.cached).toBe(true);
    expect(server.seen).toHaveLength(1);
  });

  it('resumes with a Range request after the server drops the connection mid-body', async () => {
    server = await startServer((req, res, n) => {
      if (n === 1) {
        res.writeHead(200, { 'content-length': BODY.length });
        res.write(BODY.subarray(0, 70_000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      serveRange(req, res);
    });
    const dest = path.join(dir, 'data.bin');
    const r = await downloadFile({ url: `${server.base}/f`, dest, sha256: BODY_SHA, retryDelayMs: 1 });
    expect(r.resumed).toBe(true);
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[0].range).toBeUndefined();
    const start = Number(/bytes=(\d+)-/.exec(server.seen[1].range!)![1]);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(70_000);
  });

  it('resumes an existing .part left by an earlier run, and accepts a complete one (416)', async () => {
    server = await startServer((req, res) => serveRange(req, res));
    const dest = path.join(dir, 'data.bin');
    fs.writeFileSync(`${dest}.part`, BODY.subarray(0, 123_456));
    const r = await downloadFile({ url: `${server.base}/f`, dest });
    expect(r.resumed).toBe(true);
    expect(server.seen[0].range).toBe('bytes=123456-');
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);

    const dest2 = path.join(dir, 'complete.bin');
    fs.writeFileSync(`${dest2}.part`, BODY);
    const r2 = await downloadFile({ url: `${server.base}/f`, dest: dest2, sha256: BODY_SHA });
    expect(r2.bytes).toBe(BODY.length);
    expect(fs.readFileSync(dest2).equals(BODY)).toBe(true);
  });

  it('restarts from zero when the server ignores Range and answers 200', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': BODY.length });
      res.end(BODY);
    });
    const dest = path.join(dir, 'data.bin');
    fs.writeFileSync(`${dest}.part`, Buffer.from('garbage that is not a prefix'));
    const r = await downloadFile({ url: `${server.base}/f`, dest, sha256: BODY_SHA });
    expect(server.seen[0].range).toBe('bytes=28-');
    expect(r.resumed).toBe(false);
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
  });

  it('follows redirects (absolute and relative), keeping headers on the same host', async () => {
    server = await startServer((req, res) => {
      if (req.url === '/a') res.writeHead(302, { location: `${server!.base}/b` }).end();
      else if (req.url === '/b') res.writeHead(301, { location: '/files/c' }).end();
      else serveRange(req, res);
    });
    const dest = path.join(dir, 'data.bin');
    await downloadFile({ url: `${server.base}/a`, dest, headers: { authorization: 'Bearer t' } });
    expect(server.seen.map((s) => s.url)).toEqual(['/a', '/b', '/files/c']);
    expect(server.seen[2].auth).toBe('Bearer t');
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
  });

  it('deletes the download and throws on a checksum mismatch', async () => {
    server = await startServer((req, res) => serveRange(req, res));
    const dest = path.join(dir, 'data.bin');
    await expect(downloadFile({ url: `${server.base}/f`, dest, sha256: '0'.repeat(64) })).rejects.toThrow(
      `sha256 mismatch (expected ${'0'.repeat(64)}, got ${BODY_SHA}); the download was deleted`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('fails on HTTP errors without retrying client errors', async () => {
    server = await startServer((_req, res) => res.writeHead(404).end());
    const dest = path.join(dir, 'x');
    await expect(downloadFile({ url: `${server.base}/missing`, dest, retryDelayMs: 1 })).rejects.toThrow(/HTTP 404/);
    expect(server.seen).toHaveLength(1);
  });

  it('retries 5xx responses', async () => {
    server = await startServer((req, res, n) => (n < 3 ? res.writeHead(503).end() : serveRange(req, res)));
    const r = await downloadFile({ url: `${server.base}/f`, dest: path.join(dir, 'x'), retryDelayMs: 1 });
    expect(r.bytes).toBe(BODY.length);
    expect(server.seen).toHaveLength(3);
  });

  it('refuses to download when offline, with a message saying what to do', async () => {
    const dest = path.join(dir, 'x.json');
    const attempt = downloadFile({ url: 'https://example.org/x.json', dest, offline: true });
    await expect(attempt).rejects.toBeInstanceOf(OfflineError);
    await expect(downloadFile({ url: 'https://example.org/x.json', dest, offline: true })).rejects.toThrow(
      `cannot download https://example.org/x.json: downloads are switched off. This machine is offline (ALLMREC_OFFLINE=1). ` +
        `Download it on a machine with internet into ${dest}, or point allmrec at local files.`,
    );
    process.env.HF_HUB_OFFLINE = '1';
    expect(isOffline()).toBe(true);
    await expect(downloadFile({ url: 'https://example.org/x.json', dest })).rejects.toBeInstanceOf(OfflineError);
    delete process.env.HF_HUB_OFFLINE;
    expect(isOffline()).toBe(false);
    process.env.ALLMREC_OFFLINE = '1';
    expect(isOffline()).toBe(true);
    process.env.ALLMREC_OFFLINE = '0';
    expect(isOffline()).toBe(false);
  });

  it('reports an unreachable host (connection refused) as an OfflineError naming the host', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const dest = path.join(dir, 'x');
    const err = await downloadFile({ url: `http://127.0.0.1:${port}/f`, dest, retries: 1, retryDelayMs: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(OfflineError);
    expect(err.message).toContain(`cannot download http://127.0.0.1:${port}/f: ECONNREFUSED`);
    expect(err.message).toContain(`Could not reach 127.0.0.1:${port}. Download it on a machine with internet into ${dest}`);
  });

  it('rejects non-http URLs', async () => {
    await expect(downloadFile({ url: 'ftp://x/y', dest: path.join(dir, 'y') })).rejects.toThrow(/only http and https/);
  });

  it('places the cache under ALLMREC_HOME, default ~/.cache/allmrec', () => {
    process.env.ALLMREC_HOME = '/tmp/ah';
    expect(cacheDir('datasets', 'ml-1m')).toBe('/tmp/ah/datasets/ml-1m');
    delete process.env.ALLMREC_HOME;
    expect(cacheDir()).toBe(path.join(os.homedir(), '.cache', 'allmrec'));
  });
});
