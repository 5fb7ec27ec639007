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
  expect(lm.config.modelType).toBe('gpt2');
  expect(lm.config.hiddenSize).toBe(16);
  lm.dispose();
  expect((await run(['lm', 'pretrain', '--synthetic-users', '40'])).code).toBe(2);
  // A curriculum spanning all steps (1) is a usage error that names the flag, before any work.
  const bad = await run(['lm', 'pretrain', '--synthetic-users', '40', '--out', path.join(dir, 'x'), '--curriculum', '1']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--curriculum must be at least 0 and below 1');
  // So is a learning rate that is not positive.
  const lr0 = await run(['lm', 'pretrain', '--synthetic-users', '40', '--out', path.join(dir, 'x'), '--lr', '0']);
  expect(lr0.code).toBe(2);
  expect(lr0.stderr).toContain('--lr must be greater than 0');
});

/**
 * `lm pretrain` for 3 steps on tiny bare vector lists (0-1 history titles, `candidates`) with one
 * look-back head and one first-position head; `extra` adds the sizes and the rest of the wiring.
 */
function tinyVectorLists(dir: string, candidates: string, extra: string[]) {
  return run(['lm', 'pretrain', '--synthetic-users', '40', '--synthetic-items', '60', '--documents', '40', '--lists-only',
    '--list-answer', 'vector', '--bare-lists', '1', '--list-history', '0-1', '--list-candidates', candidates, '--title-tokens', '--doc-rows',
    '--look-back', '2', '--look-back-heads', '1', '--first-position-heads', '1',
    '--steps', '3', '--vocab', '300', '--seq-len', '64', '--max-positions', '128', '--batch', '2', '--out', dir, '--json', ...extra]);
}

test('lm pretrain --list-answer vector with wired look-back heads runs end to end and checks the likelihood ranking', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-lm-')), 'lm');
  const r = await tinyVectorLists(dir, '2-3', ['--look-back-hold', '0.5', '--hidden', '48', '--layers', '1', '--heads', '3']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.steps).toBe(3);
  // Bare documents of 2-3 candidates: chance is between 1/3 and 1/2.
  expect(j.list_copy.chance).toBeGreaterThan(0.3);
  expect(j.list_copy.chance).toBeLessThan(0.5);
  expect(j.list_copy.rankRate).toBeGreaterThanOrEqual(0);
  // Look-back sizes are checked before any work, naming the flags.
  const bad = await run(['lm', 'pretrain', '--synthetic-users', '40', '--out', path.join(dir, 'x'), '--heads', '4', '--look-back', '2', '--look-back-heads', '3', '--first-position-heads', '1']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--look-back-heads (at least 1) plus --first-position-heads must stay below the 4 heads');
  const orphan = await run(['lm', 'pretrain', '--synthetic-users', '40', '--out', path.join(dir, 'y'), '--look-back-heads', '1']);
  expect(orphan.code).toBe(2);
  expect(orphan.stderr).toContain('need --look-back');
});

test('lm pretrain --match-head: the held matching head makes the list check rank the most similar candidate first', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-lm-')), 'lm');
  const r = await tinyVectorLists(dir, '3-5', ['--match-head', '--look-back-hold', '1', '--hidden', '64', '--layers', '2', '--heads', '4']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  // Slot vectors were drawn in the matching head's subspaces (one dimension of each kept for the
  // section flag), with history decoys the flag must ignore and user vectors scaled down to 0.1
  // (flat comparisons); the check used the same subspaces at full norm.
  expect(j.slotVectors).toEqual({ userDims: [32, 47], itemDims: [16, 31], normSpread: 0, historyDecoys: true, userScale: [0.1, 1] });
  expect(j.list_copy.chance).toBeLessThan(0.34);
  expect(j.list_copy.rankRate).toBeGreaterThan(j.list_copy.chance + 0.4);
  const alone = await run(['lm', 'pretrain', '--synthetic-users', '40', '--out', path.join(dir, 'x'), '--match-head']);
  expect(alone.code).toBe(2);
  expect(alone.stderr).toContain('--match-head needs --look-back and --first-position-heads');
  const tokens = await run(['lm', 'pretrain', '--synthetic-users', '40', '--out', path.join(dir, 'y'), '--heads', '8', '--look-back', '2', '--look-back-heads', '1', '--first-position-heads', '1', '--match-head']);
  expect(tokens.code).toBe(2);
  expect(tokens.stderr).toContain('--match-head needs --list-answer vector');
  for (const bad of ['0-1', '1-0.5', 'x']) {
    const scale = await run(['lm', 'pretrain', '--synthetic-users', '40', '--out', path.join(dir, 'z'), '--list-answer', 'vector', '--user-scale', bad]);
    expect(scale.code).toBe(2);
    expect(scale.stderr).toContain('--user-scale must be X or LO-HI');
  }
});

test('lm generate: greedy text of a real checkpoint, as transformers gives it, on both runtimes', async () => {
  const dir = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'models', 'tinystories-656k');
  const source = fs.readFileSync(path.join(dir, 'SOURCE.md'), 'utf8');
  const want = JSON.parse(/repetition penalty 1\.0: ids (\[[^\]]*\])/.exec(source)![1]);
  const prompt = 'Once upon a time, there was a little girl named Lily. She loved';
  for (const runtime of ['tfjs', 'onnx']) {
    const r = await run(['lm', 'generate', '--llm', dir, '--prompt', prompt, '--max-new-tokens', '30', '--runtime', runtime, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(['model_type', 'prompt_ids', 'new_ids', 'text']);
    expect(j.model_type).toBe('llama');
    expect(j.prompt_ids[0]).toBe(1); // the tokenizer's BOS
    expect(j.new_ids).toEqual(want);
    expect(j.text.startsWith(', and she loved to eat yummy food.')).toBe(true);
  }
  const plain = await run(['lm', 'generate', '--llm', dir, '--prompt', 'Once upon a time', '--max-new-tokens', '5']);
  expect(plain.stdout.startsWith('Once upon a time, a little girl named')).toBe(true);
  for (const [args, message] of [
    [['--prompt', 'x'], /--llm DIR\|hub-name is required/],
    [['--llm', dir], /--prompt TEXT is required/],
    [['--llm', dir, '--prompt', 'x', '--max-new-tokens', '0'], /--max-new-tokens must be at least 1/],
    [['--llm', dir, '--prompt', 'x', '--runtime', 'gpu'], /--runtime must be "tfjs" or "onnx"/],
    [['--llm', dir, '--prompt', 'x', '--repetition-penalty', '0'], /--repetition-penalty must be greater than 0/],
  ] as [string[], RegExp][]) {
    const bad = await run(['lm', 'generate', ...args]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(message);
  }
});
