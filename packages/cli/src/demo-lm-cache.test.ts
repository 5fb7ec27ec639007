/**
 * The demonstration LM's pretraining cache: a second pretraining with the same inputs restores the
 * first byte for byte, a damaged entry is pretrained again, a time budget is never cached; and the
 * LM shipped for the built-in run is what the current code produces for `allmrec run`'s defaults
 * (same key, same corpus, same weights after the two-step fingerprint run). If the last test fails,
 * the pretraining code changed: regenerate the entry with `npx tsx tools/demo-lm/ship.ts`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend, sha256File } from '@allmrec/core';
import type { InteractionDataset } from '@allmrec/core';
import { datasetFromOptions } from './dataset-source';
import { corpusSha256, demoLMFingerprint, demoLMKey, findDemoLM, pretrainInputs } from './demo-lm-cache';
import { demoLMPlan, pretrainForStage2 } from './stage2-pipeline';
import { builtInDemoLMPlan } from '../../../tools/demo-lm/ship';

let tmp: string;
let home: string | undefined;
let dataset: InteractionDataset;
beforeAll(async () => {
  await selectBackend();
  ({ dataset } = await datasetFromOptions({ 'synthetic-users': '30', 'synthetic-items': '40', seed: '3' }));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-lm-cache-'));
  home = process.env.ALLMREC_HOME;
  process.env.ALLMREC_HOME = path.join(tmp, 'home'); // an empty user cache
});
afterAll(() => {
  process.env.ALLMREC_HOME = home;
  fs.rmSync(tmp, { recursive: true, force: true });
});

const tiny = (outDir: string, extra: Record<string, unknown> = {}) => ({
  dataset, outDir, seed: 3, history: 2, candidates: 3,
  steps: 3, hidden: 16, layers: 2, heads: 4, vocab: 300, batch: 2, documents: 40, matchHead: false, listAnswer: 'random' as const, ...extra,
});

test('the same inputs are restored from the cache byte for byte; a damaged entry is pretrained again', async () => {
  const a = await pretrainForStage2(tiny(path.join(tmp, 'a')));
  expect(a.cached).toBeUndefined();
  expect(a.key).toMatch(/^[0-9a-f]{32}$/);
  const b = await pretrainForStage2(tiny(path.join(tmp, 'b')));
  expect(b.cached).toBe('cache');
  expect(b.key).toBe(a.key);
  expect(b.result.steps).toBe(a.result.steps);
  expect(b.result.finalLoss).toBe(a.result.finalLoss);
  for (const f of ['model.safetensors', 'tokenizer.json', 'config.json']) {
    expect(await sha256File(path.join(tmp, 'b', f))).toBe(await sha256File(path.join(tmp, 'a', f)));
  }
  expect(fs.existsSync(path.join(tmp, 'b', 'pretrain.json'))).toBe(false); // the record stays in the cache

  // Other inputs, other key.
  const other = demoLMPlan(tiny(path.join(tmp, 'c'), { steps: 4 }));
  expect(other.key).not.toBe(a.key);
  // A time budget is not cached: where it stops depends on the machine.
  expect(demoLMPlan(tiny(path.join(tmp, 'c'), { maxSeconds: 60 })).key).toBeUndefined();

  // A damaged entry (weights that do not match its manifest) is not used.
  const entry = (await findDemoLM(a.key!))!;
  const w = path.join(entry.dir, 'model.safetensors');
  const bytes = fs.readFileSync(w);
  bytes[bytes.length - 1] ^= 0xff;
  fs.writeFileSync(w, bytes);
  expect(await findDemoLM(a.key!)).toBeUndefined();
  const c = await pretrainForStage2(tiny(path.join(tmp, 'c')));
  expect(c.cached).toBeUndefined();
  expect(await sha256File(path.join(tmp, 'c', 'model.safetensors'))).toBe(await sha256File(path.join(tmp, 'a', 'model.safetensors')));
}, 120000);

test('the LM shipped for the built-in run is what the current code pretrains for it', async () => {
  const plan = await builtInDemoLMPlan();
  expect(plan.key).toBe(demoLMKey(plan.options));
  const hit = await findDemoLM(plan.key!);
  // If this fails, the built-in run's inputs changed: run `npx tsx tools/demo-lm/ship.ts`.
  expect(hit?.where).toBe('shipped');
  expect(hit!.record.corpusSha256).toBe(corpusSha256(plan.options.corpus));
  expect(hit!.record.options).toEqual(JSON.parse(JSON.stringify(pretrainInputs(plan.options))));
  // The same pretraining cut to two steps gives the recorded weights: the code still computes what it computed then.
  expect(await demoLMFingerprint(plan.options)).toBe(hit!.record.fingerprint);
}, 120000);
