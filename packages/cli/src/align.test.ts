import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors } from '@allmrec/core';
import { runCli } from './testing/run-cli';

const TINY = ['--synthetic-users', '120', '--synthetic-items', '300'];

const run = runCli;

describe('allmrec encode / align / bench align', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-align-'));
  const cache = ['--no-cache'];
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('encode writes one row per text, deterministically', async () => {
    const file = path.join(tmp, 'e.safetensors');
    const r = await run(['encode', '--encoder', 'tfidf', '--text', 'Toy Story (1995)', '--text', 'Heat (1995)', '--out', file, ...cache, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).rows).toBe(2);
    const t = readSafetensors(file).tensors.get('embeddings')!;
    expect(t.shape).toEqual([2, JSON.parse(r.stdout).dim]);
    const again = await run(['encode', '--encoder', 'tfidf', '--text', 'Toy Story (1995)', '--text', 'Heat (1995)', ...cache, '--json']);
    expect(JSON.parse(again.stdout).embeddings[0]).toEqual(Array.from(t.data as Float32Array).slice(0, t.shape[1]));
  });

  test('align train then align eval on the saved run give the same numbers', async () => {
    const dir = path.join(tmp, 'run');
    const t = await run(['align', 'train', ...TINY, '--encoder', 'tfidf', '--cold-items', '0.1', '--backbone-epochs', '3', '--epochs', '2', '--out', dir, ...cache, '--json']);
    expect(t.code).toBe(0);
    const a = JSON.parse(t.stdout);
    expect(a.cold_users).toBeGreaterThan(0);
    for (const k of ['cold_hit1_20', 'cold_hit1_20_backbone', 'warm_hit1_20', 'warm_hit1_20_backbone']) {
      expect(a[k]).toBeGreaterThanOrEqual(0);
      expect(a[k]).toBeLessThanOrEqual(1);
    }
    const e = await run(['align', 'eval', ...TINY, '--model', dir, '--json']);
    expect(e.code).toBe(0);
    const b = JSON.parse(e.stdout);
    for (const k of ['cold_hit1_20', 'cold_hit1_20_backbone', 'warm_hit1_20', 'warm_hit1_20_backbone', 'cold_users']) expect(b[k]).toBe(a[k]);
  });

  test('bench align --json reports the Stage 1 fields', async () => {
    const r = await run(['bench', 'align', ...TINY, '--encoder', 'tfidf', '--backbone-epochs', '2', '--epochs', '1', '--seed', '2', ...cache, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout.trim());
    for (const k of ['encoder', 'texts_per_s', 'stage1_s_per_epoch', 'loss_rec', 'loss_match', 'loss_item_recon', 'loss_text_recon',
      'latent_std', 'latent_std_no_recon', 'cold_hit1_20', 'cold_hit1_20_backbone', 'warm_hit1_20', 'warm_hit1_20_backbone']) {
      expect(j).toHaveProperty(k);
    }
    expect(j.latent_std).toBeGreaterThan(0);
    expect(j.stage1_init).toBe('fitted'); // the default
  });

  test('--init reaches Stage 1 and is recorded (bench align output, the saved Stage 1 config)', async () => {
    const r = await run(['bench', 'align', ...TINY, '--encoder', 'tfidf', '--backbone-epochs', '2', '--epochs', '1', '--seed', '2',
      '--init', 'fitted', '--init-text-ridge', '0.5', ...cache, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout.trim());
    expect(j.stage1_init).toBe('fitted');
    expect(j.stage1_init_text_ridge).toBe(0.5);
    expect(j.stage1_init_decoder_scale).toBeGreaterThan(0);
    const dir = path.join(tmp, 'fitted');
    const t = await run(['align', 'train', ...TINY, '--encoder', 'tfidf', '--backbone-epochs', '2', '--epochs', '1', '--init', 'pytorch', '--out', dir, ...cache, '--json']);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.stdout).stage1_init).toBe('pytorch');
    expect(JSON.parse(t.stdout)).not.toHaveProperty('stage1_init_decoder_scale'); // only a fitted start has one
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'stage1', 'config.json'), 'utf8')).config.init).toBe('pytorch');
    expect((await run(['bench', 'align', ...TINY, '--init', 'xavier'])).code).toBe(2);
  });

  test('bad arguments are usage errors', async () => {
    expect((await run(['align', 'train', ...TINY, '--cold-items', '1.5', '--out', tmp])).code).toBe(2);
    expect((await run(['encode', '--encoder', 'nope', '--text', 'x'])).code).toBe(2);
    expect((await run(['align', 'eval', ...TINY])).stderr).toMatch(/--model/);
  });
});
