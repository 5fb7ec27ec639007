import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '@allmrec/core';
import { loadCausalLM } from './checkpoint';
import { resolveCheckpoint } from './hub';
import { writeTinyCheckpoint } from './testing/tiny';

let tmp: string;
let server: http.Server;
let endpoint: string;
const requests: string[] = [];
/** Repositories served: "org/name" -> local directory. */
const repos = new Map<string, string>();

beforeAll(async () => {
  await selectBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-hub-'));
  repos.set('tiny-org/tiny-gpt2', writeTinyCheckpoint(path.join(tmp, 'served', 'gpt2'), { family: 'gpt2', seed: 1, hidden: 8, heads: 2 }));
  repos.set('tiny-org/tiny-llama-sharded', writeTinyCheckpoint(path.join(tmp, 'served', 'llama'), { family: 'llama', seed: 2, hidden: 8, heads: 2, kvHeads: 1 }, { shards: 2 }));
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
    const dir = m && m[2] === 'main' ? repos.get(m[1]) : undefined;
    const file = dir && path.join(dir, decodeURIComponent(m![3]));
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404).end('Entry not found');
      return;
    }
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a local directory is used as is', async () => {
  const dir = repos.get('tiny-org/tiny-gpt2')!;
  expect(await resolveCheckpoint(dir, { offline: true })).toBe(dir);
  await expect(resolveCheckpoint('./no/such/dir')).rejects.toThrow(/does not exist/);
});

test('downloads into the hub cache layout, then works offline from the cache', async () => {
  const cacheDir = path.join(tmp, 'cache1');
  requests.length = 0;
  const dir = await resolveCheckpoint('tiny-org/tiny-gpt2', { endpoint, cacheDir, offline: false });
  expect(dir).toBe(path.join(cacheDir, 'models--tiny-org--tiny-gpt2', 'snapshots', 'main'));
  expect(fs.readFileSync(path.join(cacheDir, 'models--tiny-org--tiny-gpt2', 'refs', 'main'), 'utf8')).toBe('main');
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
    expect(fs.readFileSync(path.join(dir, f))).toEqual(fs.readFileSync(path.join(repos.get('tiny-org/tiny-gpt2')!, f)));
  }
  expect(requests.every((u) => u.startsWith('/tiny-org/tiny-gpt2/resolve/main/'))).toBe(true);

  requests.length = 0;
  const old = process.env.HF_HUB_OFFLINE;
  process.env.HF_HUB_OFFLINE = '1';
  try {
    const lm = await loadCausalLM('tiny-org/tiny-gpt2', { endpoint, cacheDir });
    expect(lm.config.modelType).toBe('gpt2');
    lm.dispose();
  } finally {
    if (old === undefined) delete process.env.HF_HUB_OFFLINE;
    else process.env.HF_HUB_OFFLINE = old;
  }
  expect(requests).toEqual([]);
});

test('sharded checkpoints download the index and every shard', async () => {
  const cacheDir = path.join(tmp, 'cache2');
  const dir = await resolveCheckpoint('tiny-org/tiny-llama-sharded', { endpoint, cacheDir, offline: false });
  expect(fs.existsSync(path.join(dir, 'model.safetensors.index.json'))).toBe(true);
  expect(fs.existsSync(path.join(dir, 'model-00001-of-00002.safetensors'))).toBe(true);
  expect(fs.existsSync(path.join(dir, 'model-00002-of-00002.safetensors'))).toBe(true);
  const lm = await loadCausalLM(dir);
  expect(lm.config).toMatchObject({ family: 'llama', kvHeads: 1 });
  lm.dispose();
});

test('offline with an incomplete cache names the missing file and what to do', async () => {
  const cacheDir = path.join(tmp, 'cache3');
  await expect(resolveCheckpoint('tiny-org/tiny-gpt2', { endpoint, cacheDir, offline: true }))
    .rejects.toThrow(/config\.json, tokenizer\.json, model\.safetensors are not in the cache .*HF_HUB_OFFLINE/);
  // Partially cached: only the weights are missing.
  await resolveCheckpoint('tiny-org/tiny-gpt2', { endpoint, cacheDir, offline: false });
  fs.rmSync(path.join(cacheDir, 'models--tiny-org--tiny-gpt2', 'snapshots', 'main', 'model.safetensors'));
  await expect(resolveCheckpoint('tiny-org/tiny-gpt2', { endpoint, cacheDir, offline: true }))
    .rejects.toThrow(/offline: model\.safetensors is not in the cache/);
  // Online again: only the missing file is fetched.
  requests.length = 0;
  await resolveCheckpoint('tiny-org/tiny-gpt2', { endpoint, cacheDir, offline: false });
  expect(requests).toEqual(['/tiny-org/tiny-gpt2/resolve/main/model.safetensors']);
});

test('an unknown repository fails with the HTTP error', async () => {
  await expect(resolveCheckpoint('tiny-org/missing', { endpoint, cacheDir: path.join(tmp, 'cache4'), offline: false }))
    .rejects.toThrow(/HTTP 404/);
});
