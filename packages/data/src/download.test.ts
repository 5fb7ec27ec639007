import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ChecksumError, DatasetOfflineError, downloadDataset } from './download';
import { getDownloadableDataset, listDownloadableDatasets } from './download-registry';
import { loadDataset } from './load';
import { makeZip } from './testing/make-zip';
import { tempDir } from './testing/paths';

const ratings = Array.from({ length: 3000 }, (_, k) => `${1 + (k % 40)}::${1 + ((k * 7) % 60)}::${1 + (k % 5)}::${978300000 + k}`).join('\n') + '\n';
const movies = Array.from({ length: 60 }, (_, k) => `${k + 1}::Movie ${k + 1} (199${k % 10})::Drama|Comedy`).join('\n') + '\n';
const ML1M_ZIP = makeZip([{ name: 'ml-1m/', data: '' }, { name: 'ml-1m/ratings.dat', data: ratings }, { name: 'ml-1m/movies.dat', data: movies, stored: true }]);
const GIFT_REVIEWS = zlib.gzipSync(
  ['U1', 'U2'].flatMap((u) => ['A', 'B', 'C'].map((a, t) => JSON.stringify({ reviewerID: u, asin: a, overall: 5, unixReviewTime: t }))).join('\n'),
);
const GIFT_META = zlib.gzipSync(['A', 'B', 'C'].map((a) => JSON.stringify({ asin: a, title: `Card ${a} &amp; Co`, description: [] })).join('\n'));

interface Hit {
  url: string;
  range?: string;
}
let server: http.Server;
let base: string;
const hits: Hit[] = [];
let dropNext = new Set<string>();

beforeAll(async () => {
  const files: Record<string, Buffer> = {
    '/ml-1m.zip': ML1M_ZIP,
    '/ml-100k.zip': makeZip([{ name: 'ml-100k/u.data', data: '1\t1\t5\t1\n' }]),
    '/amazon_v2/categoryFilesSmall/Gift_Cards_5.json.gz': GIFT_REVIEWS,
    '/amazon_v2/metaFiles2/meta_Gift_Cards.json.gz': GIFT_META,
  };
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    hits.push({ url, range: req.headers.range });
    const body = files[url];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const chunk = body.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': chunk.length,
      ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (dropNext.has(url)) {
      dropNext.delete(url);
      res.write(chunk.subarray(0, Math.floor(chunk.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(chunk);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  hits.length = 0;
  dropNext = new Set();
});

describe('dataset registry', () => {
  test('known names and URL patterns', () => {
    expect(getDownloadableDataset('ml-100k').files[0]).toMatchObject({ host: 'grouplens', path: 'ml-100k.zip', unzip: true });
    expect(getDownloadableDataset('amazon2018-video_games').files.map((f) => f.path)).toEqual([
      'amazon_v2/categoryFilesSmall/Video_Games_5.json.gz',
      'amazon_v2/metaFiles2/meta_Video_Games.json.gz',
    ]);
    expect(getDownloadableDataset('amazon2023-Books').files.map((f) => f.path)).toEqual([
      'amazon_2023/raw/review_categories/Books.jsonl.gz',
      'amazon_2023/raw/meta_categories/meta_Books.jsonl.gz',
    ]);
    expect(() => getDownloadableDataset('amazon2018-Nope')).toThrow(/unknown Amazon 2018 category/);
    expect(() => getDownloadableDataset('imagenet')).toThrow(/unknown dataset "imagenet"/);
    expect(listDownloadableDatasets().length).toBeGreaterThan(60);
  });
});

describe('downloadDataset against a local server', () => {
  test('downloads, resumes a dropped connection with Range, unzips, records sha256, then loads', async () => {
    const cache = tempDir('dl');
    dropNext.add('/ml-1m.zip');
    const events: number[] = [];
    const got = await downloadDataset('ml-1m', { cacheDir: cache, baseUrl: base, retryDelayMs: 5, onProgress: (e) => events.push(e.current) });
    expect(got.cached).toBe(false);
    expect(got.dir).toBe(path.join(cache, 'datasets', 'ml-1m'));
    expect(hits.filter((h) => h.url === '/ml-1m.zip').map((h) => h.range)).toEqual([undefined, `bytes=${Math.floor(ML1M_ZIP.length / 2)}-`]);
    expect(fs.readFileSync(path.join(got.dir, 'ml-1m.zip')).equals(ML1M_ZIP)).toBe(true);
    expect(fs.readFileSync(path.join(got.dir, 'ml-1m.zip.sha256'), 'utf8')).toMatch(new RegExp(`^${got.files[0].sha256}  ml-1m.zip`));
    expect(events.at(-1)).toBe(ML1M_ZIP.length);
    const { dataset } = await loadDataset({ format: got.format, path: got.path, minUser: 0, minItem: 0 });
    expect(dataset.numUsers).toBe(40);
    expect(dataset.numItems).toBe(60);
    expect(dataset.domain).toBe('movies');

    // Second call: served from the cache, even offline.
    hits.length = 0;
    const again = await downloadDataset('ml-1m', { cacheDir: cache, baseUrl: base, offline: true });
    expect(again.cached).toBe(true);
    expect(hits).toHaveLength(0);

    // Tampered cached archive is caught by the recorded checksum.
    fs.rmSync(path.join(got.dir, '.allmrec-complete.json'));
    fs.appendFileSync(path.join(got.dir, 'ml-1m.zip'), 'x');
    await expect(downloadDataset('ml-1m', { cacheDir: cache, baseUrl: base, offline: true })).rejects.toBeInstanceOf(ChecksumError);
  });

  test('an existing .part from an earlier run is resumed', async () => {
    const cache = tempDir('dl-part');
    const dir = path.join(cache, 'datasets', 'ml-1m');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'ml-1m.zip.part'), ML1M_ZIP.subarray(0, 100));
    const got = await downloadDataset('ml-1m', { cacheDir: cache, baseUrl: base, retryDelayMs: 5 });
    expect(hits.map((h) => h.range)).toEqual(['bytes=100-']);
    expect(fs.readFileSync(path.join(got.dir, 'ml-1m.zip')).equals(ML1M_ZIP)).toBe(true);
  });

  test('checksum mismatch against a known sum deletes the file', async () => {
    const cache = tempDir('dl-sum');
    const p = downloadDataset('ml-100k', { cacheDir: cache, baseUrl: base, retryDelayMs: 5 });
    await expect(p).rejects.toBeInstanceOf(ChecksumError);
    await expect(p).rejects.toThrow(/md5 mismatch .*expected 0e33842e24a9c977be4e0107933c0723/);
    expect(fs.existsSync(path.join(cache, 'datasets', 'ml-100k', 'ml-100k.zip'))).toBe(false);
  });

  test('offline switch and unreachable host give the copy-by-hand message', async () => {
    const cache = tempDir('dl-off');
    const dir = path.join(cache, 'datasets', 'ml-1m');
    const old = process.env.ALLMREC_OFFLINE;
    process.env.ALLMREC_OFFLINE = '1';
    try {
      const p = downloadDataset('ml-1m', { cacheDir: cache });
      await expect(p).rejects.toBeInstanceOf(DatasetOfflineError);
      await expect(p).rejects.toThrow(`cannot reach files.grouplens.org: offline mode (ALLMREC_OFFLINE=1); download on a machine with internet and copy to ${dir}, or pass --data <path>`);
    } finally {
      if (old === undefined) delete process.env.ALLMREC_OFFLINE;
      else process.env.ALLMREC_OFFLINE = old;
    }
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const p2 = downloadDataset('ml-1m', { cacheDir: cache, baseUrl: `http://127.0.0.1:${port}`, retries: 1, retryDelayMs: 5, offline: false });
    await expect(p2).rejects.toThrow(new RegExp(`^cannot reach 127.0.0.1:${port}: .*copy to ${dir.replace(/[/\\]/g, '.')}, or pass --data <path>$`));
  });

  test('ALLMREC_DATA_MIRROR redirects Amazon downloads; result loads with its category', async () => {
    const cache = tempDir('dl-amz');
    process.env.ALLMREC_DATA_MIRROR = base + '/';
    try {
      const got = await downloadDataset('amazon2018-Gift_Cards', { cacheDir: cache, retryDelayMs: 5 });
      expect(hits.map((h) => h.url)).toEqual(['/amazon_v2/categoryFilesSmall/Gift_Cards_5.json.gz', '/amazon_v2/metaFiles2/meta_Gift_Cards.json.gz']);
      const { dataset } = await loadDataset({ format: got.format, path: got.path, category: got.category, minUser: 0, minItem: 0 });
      expect(dataset.numItems).toBe(3);
      expect(dataset.items[1].title).toBe('Card A & Co');
    } finally {
      delete process.env.ALLMREC_DATA_MIRROR;
    }
  });
});
