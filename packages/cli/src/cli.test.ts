import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './testing/run-cli';

const ML100K = path.resolve(__dirname, '../../../../shared/datasets/ml-100k');
const TINY = ['--synthetic-users', '80', '--synthetic-items', '300'];

const run = runCli;

describe('allmrec CLI', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-cli-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('bench backbone --json prints one JSON object with the reference fields', async () => {
    const r = await run(['bench', 'backbone', '--backbone', 'sasrec', ...TINY, '--epochs', '2', '--seed', '3', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    for (const k of ['backend', 'users', 'items', 'epochs', 'steps_per_epoch', 'ms_per_step', 'train_s', 'test_hit1_20', 'valid_ndcg10_101', 'valid_hr10_101']) {
      expect(j).toHaveProperty(k);
    }
    expect(j.backend).toBe('wasm');
    expect(j.epochs).toBe(2);
    expect(j.test_hit1_20).toBeGreaterThanOrEqual(0);
    expect(j.test_hit1_20).toBeLessThanOrEqual(1);
    expect(j.ms_per_step).toBeGreaterThan(0);
  });

  test('data stats reads the real ml-100k files', async () => {
    if (!fs.existsSync(ML100K)) return console.warn(`skipped: ${ML100K} not found`);
    const r = await run(['data', 'stats', '--data', ML100K, '--format', 'movielens-100k', '--min-user', '0', '--min-item', '0', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.users).toBe(943);
    expect(j.items).toBe(1682);
    expect(j.interactions).toBe(100000);
  });

  test('prepare, train, save, load and evaluate through the CLI', async () => {
    const data = path.join(tmp, 'data');
    const model = path.join(tmp, 'model');
    expect((await run(['data', 'prepare', ...TINY, '--out', data, '--quiet'])).code).toBe(0);
    const t = await run(['backbone', 'train', '--data', data, '--epochs', '2', '--out', model, '--json']);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.stdout).epochs).toBe(2);
    const e = await run(['backbone', 'eval', '--data', data, '--model', model, '--json']);
    expect(e.code).toBe(0);
    const j = JSON.parse(e.stdout);
    expect(j.test.users).toBeGreaterThan(0);
    // Same model, data and seed: the same numbers.
    const again = JSON.parse((await run(['backbone', 'eval', '--data', data, '--model', model, '--json'])).stdout);
    expect(again.test_hit1_20).toBe(j.test_hit1_20);
  });

  test('run: the whole pipeline on tiny synthetic data, then again reusing every stage', async () => {
    const out = path.join(tmp, 'run');
    const tiny = [
      'run', ...TINY, '--out', out, '--encoder', 'tfidf', '--no-cache', '--backbone-epochs', '2', '--stage1-epochs', '1',
      '--stage2-epochs', '1', '--max-users', '8', '--lm-steps', '3', '--lm-hidden', '64', '--lm-layers', '2', '--lm-heads', '4', '--stage2-warm-start', '20',
      '--lm-vocab', '300', '--lm-documents', '60', '--lm-batch', '2', '--eval-users', '10',
    ];
    const r = await run([...tiny, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of ['backbone', 'stage1', 'lm', 'stage2', 'eval', 'total']) expect(j.seconds[k]).toBeGreaterThan(0);
    expect(j.llm.params).toBeGreaterThan(0);
    expect(j.llm.name).toBe(path.join(out, 'lm'));
    expect(j.eval_users).toBe(10);
    for (const k of ['hit1_generate', 'valid_output_rate', 'hit1_rank', 'ndcg10_rank', 'sasrec_hit1']) {
      expect(j[k]).toBeGreaterThanOrEqual(0);
      expect(j[k]).toBeLessThanOrEqual(1);
    }
    expect(j.example.ranked).toHaveLength(5);
    expect(j.example.ranked.filter((x: { target: boolean }) => x.target).length).toBeLessThanOrEqual(1);
    // The table form, reusing every trained stage: the same numbers.
    const again = await run(tiny);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/likelihood ranking: Hit@1\s+\|?\s*[0-9.]+/);
    expect(again.stdout).toContain(`reused: lm, backbone, stage1, stage2`);
    expect(again.stdout).toMatch(new RegExp(`sasrec alone: Hit@1 \\(same users, same candidates\\)\\s+\\|?\\s*${j.sasrec_hit1}`));
    expect(again.stdout).toContain('held-out next item');
  });

  test('usage errors exit with 2 and name the problem', async () => {
    expect((await run(['nonsense'])).code).toBe(2);
    const r = await run(['bench', 'backbone', '--epochs', 'ten']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--epochs must be an integer/);
    const m = await run(['data', 'stats', '--data', path.join(tmp, 'missing')]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/no such file/);
    const f = await run(['data', 'stats', '--data', tmp]);
    expect(f.stderr).toMatch(/--format is required/);
  });
});
