/**
 * The onnxruntime runtime's own behaviour: the export cache (reuse, stale keys, corrupted files),
 * external data, and its errors. Its numerics are checked against transformers in
 * parity/hf-parity.test.ts and its conventions by the conformance suite.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, selectBackend, writeSafetensors } from '@allmrec/core';
import { loadCausalLM } from '../checkpoint';
import type { OnnxCausalLM } from './onnx-lm';

const FIXTURES = path.join(__dirname, '..', '__fixtures__', 'hf');
let tmp: string;
beforeAll(async () => {
  await selectBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lm-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fixture copied into the temporary directory (its weights are edited in one test). */
function copyFixture(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** Max |logit - transformers'| of the fixture's first sequence. */
async function worstDiff(lm: OnnxCausalLM, name: string): Promise<number> {
  const exp = JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'expected.json'), 'utf8')) as { ids: number[][]; logits: number[][][] };
  const ids = exp.ids[0];
  const e = lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32'));
  const m = tf.ones([1, ids.length]) as tf.Tensor2D;
  const { logits } = await lm.forward(e, m);
  const got = logits.dataSync();
  const want = exp.logits[0].flat();
  tf.dispose([e, m, logits]);
  let d = 0;
  for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
  return d;
}

const load = (dir: string, extra: Record<string, unknown> = {}) =>
  loadCausalLM(dir, { runtime: 'onnx', onnx: { intraOpNumThreads: 1, ...extra } }) as Promise<OnnxCausalLM>;

test('the export is cached under ALLMREC_HOME (never in the checkpoint), reused, and redone when stale or corrupted', async () => {
  const dir = copyFixture('llama');
  const home = process.env.ALLMREC_HOME;
  process.env.ALLMREC_HOME = path.join(tmp, 'home');
  const first = await load(dir).finally(() => { process.env.ALLMREC_HOME = home; });
  expect(first.loadInfo.exported).toBe(true);
  const file = first.loadInfo.modelPath!;
  expect(path.dirname(path.dirname(file))).toBe(path.join(tmp, 'home', 'onnx'));
  expect(fs.readdirSync(dir).sort()).toEqual(fs.readdirSync(path.join(FIXTURES, 'llama')).sort());
  expect(await worstDiff(first, 'llama')).toBeLessThan(1e-4);
  await first.dispose();
  const mtime = fs.statSync(file).mtimeMs;

  const cacheDir = path.dirname(file);
  const again = (extra: Record<string, unknown> = {}) => load(dir, { cacheDir, ...extra });
  const second = await again();
  expect(second.loadInfo.exported).toBe(false);
  expect(fs.statSync(file).mtimeMs).toBe(mtime);
  expect(await worstDiff(second, 'llama')).toBeLessThan(1e-4);
  await second.dispose();

  fs.writeFileSync(file, 'not a model'); // another size
  const third = await again();
  expect(third.loadInfo.cacheMiss).toMatch(/size/);
  await third.dispose();

  const bytes = fs.readFileSync(file); // same size, flipped bytes
  for (let i = 0; i < 64; i++) bytes[i] ^= 0xff;
  fs.writeFileSync(file, bytes);
  const fourth = await again();
  expect(fourth.loadInfo.cacheMiss).toMatch(/checksum/);
  expect(await worstDiff(fourth, 'llama')).toBeLessThan(1e-4);
  await fourth.dispose();

  const b2 = fs.readFileSync(file); // without verification, an unparsable model is re-exported, not a crash
  b2.fill(0xff, 0, 4096);
  fs.writeFileSync(file, b2);
  const fifth = await again({ verifyCache: false });
  expect(fifth.loadInfo.cacheMiss).toMatch(/does not load/);
  await fifth.dispose();

  // Changed weights: the key (weights files' checksums) is stale.
  const st = path.join(dir, 'model.safetensors');
  const tensors = readSafetensors(st).tensors;
  const w = tensors.get('model.norm.weight')!;
  (w.data as Float32Array)[0] += 1;
  await writeSafetensors(st, new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }])));
  const sixth = await again();
  expect(sixth.loadInfo.cacheMiss).toMatch(/stale/);
  expect(await worstDiff(sixth, 'llama')).toBeGreaterThan(1e-3);
  await sixth.dispose();
  expect(fs.readdirSync(cacheDir).sort()).toEqual(['export.json', 'model.onnx']);
});

test('external data (model.onnx.data) loads relative to the model and gives the same logits', async () => {
  const dir = copyFixture('gpt2');
  const cacheDir = path.join(tmp, 'gpt2-export');
  const lm = await load(dir, { cacheDir, exportOptions: { externalData: true } });
  const data = path.join(cacheDir, 'model.onnx.data');
  expect(fs.existsSync(data)).toBe(true);
  expect(fs.statSync(path.join(cacheDir, 'model.onnx')).size).toBeLessThan(fs.statSync(data).size);
  expect(await worstDiff(lm, 'gpt2')).toBeLessThan(1e-4);
  await lm.dispose();
  const reload = await load(dir, { cacheDir, exportOptions: { externalData: true } });
  expect(reload.loadInfo.exported).toBe(false);
  await reload.dispose();
});

test('positions past a learned table, bad shapes, foreign caches, out-of-range ids and use after dispose are errors', async () => {
  const lm = await load(copyFixture('gpt2-sharded'));
  const limit = lm.config.maxPositions;
  const long = tf.zeros([1, limit + 1, lm.config.hiddenSize]) as tf.Tensor3D;
  await expect(lm.forward(long, tf.ones([1, limit + 1]) as tf.Tensor2D)).rejects.toThrow(/exceeds the model's 32 learned positions/);
  const x = tf.zeros([1, 3, lm.config.hiddenSize]) as tf.Tensor3D;
  await expect(lm.forward(x, tf.ones([1, 4]) as tf.Tensor2D)).rejects.toThrow(/attentionMask is \[1,4\] but must be \[1, 3\]/);
  await expect(lm.forward(tf.zeros([1, 3, 5]) as tf.Tensor3D, tf.ones([1, 3]) as tf.Tensor2D)).rejects.toThrow(/width 5/);
  const foreign = { length: 2, batch: 1, dispose() {} };
  await expect(lm.forward(x, tf.ones([1, 5]) as tf.Tensor2D, { pastKeyValues: foreign })).rejects.toThrow(/must come from this runtime/);
  expect(() => lm.embedTokens(tf.tensor2d([[lm.config.vocabSize]], [1, 1], 'int32'))).toThrow(/out of range/);
  await lm.dispose();
  await expect(lm.forward(x, tf.ones([1, 3]) as tf.Tensor2D)).rejects.toThrow(/dispose/);
});
