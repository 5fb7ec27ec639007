import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCausalLM } from '@allmrec/llm-bridge';
import { runCli } from './testing/run-cli';

const run = runCli;

test('lm pretrain writes a Hugging Face checkpoint that loads as a frozen CausalLM', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-lm-')), 'lm');
  const r = await run(['lm', 'pretrain', '--synthetic-users', '40', '--synthetic-items', '60', '--documents', '60',
    '--steps', '3', '--hidden', '16', '--layers', '1', '--heads', '2', '--vocab', '300', '--seq-len', '64', '--max-positions', '1024', '--batch', '2', '--out', dir, '--json']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.steps).toBe(3);
  expect(j.params).toBeGreaterThan(0);
  expect(Number.isFinite(j.heldOutPerplexity)).toBe(true);
  expect(j.list_copy.validRate).toBeGreaterThanOrEqual(0);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(fs.existsSync(path.join(dir, f))).toBe(true);
  const lm = await loadCausalLM(dir);
  expect(lm.config.family).toBe('gpt2');
  expect(lm.hiddenSize).toBe(16);
  lm.dispose();
  expect((await run(['lm', 'pretrain', '--synthetic-users', '40'])).code).toBe(2);
  // A curriculum spanning all steps (1) is a usage error that names the flag, before any work.
  const bad = await run(['lm', 'pretrain', '--synthetic-users', '40', '--out', path.join(dir, 'x'), '--curriculum', '1']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--curriculum must be at least 0 and below 1');
});
