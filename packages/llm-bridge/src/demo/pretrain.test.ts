/**
 * The pretraining loop: the loss drops on a tiny corpus, runs are deterministic and resumable,
 * one document per row trains, the result loads as a CausalLM, and the list check runs on it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCausalLMSync } from '../checkpoint';
import { buildPretrainCorpus } from './corpus';
import { listCopyAccuracy } from './list-copy';
import { pretrainLM } from './pretrain';
import { ITEMS, makeTmpDir, removeTmpDir } from './test-helpers';

let tmp: string;
beforeAll(async () => { tmp = await makeTmpDir(); });
afterAll(() => removeTmpDir(tmp));

test('pretrainLM on vector documents: deterministic, and the list check ranks candidates by likelihood', async () => {
  const corpus = buildPretrainCorpus(ITEMS, { seed: 2, documents: 40, listHistory: [1, 2], listCandidates: [2, 4], listAnswer: 'vector', itemTexts: false });
  const base = { corpus, seed: 5, vocabSize: 320, hidden: 32, layers: 2, heads: 2, maxPositions: 256, seqLen: 200, batchSize: 4, steps: 6, lr: 3e-3, oneDocPerRow: true };
  const r = await pretrainLM({ ...base, outDir: path.join(tmp, 'va') });
  await pretrainLM({ ...base, outDir: path.join(tmp, 'vb') });
  const read = (d: string) => fs.readFileSync(path.join(tmp, d, 'model.safetensors'));
  expect(read('va').equals(read('vb'))).toBe(true);
  expect(Number.isFinite(r.heldOutPerplexity)).toBe(true);
  const lm = loadCausalLMSync(path.join(tmp, 'va'));
  const acc = await listCopyAccuracy(lm, ITEMS.map((i) => i.title), { seed: 9, documents: 6, listHistory: [1, 2], listCandidates: [2, 4], maxNewTokens: 8, answerBy: 'vector' });
  expect(acc.documents).toBe(6);
  expect(acc.chance).toBeGreaterThanOrEqual(0.25);
  expect(acc.chance).toBeLessThanOrEqual(0.5);
  expect(acc.rankRate).toBeGreaterThanOrEqual(0);
  expect(acc.rankRate).toBeLessThanOrEqual(1);
  lm.dispose();
});

test('pretrainLM: loss drops, held-out perplexity, deterministic, resumable, loads as a CausalLM', async () => {
  const corpus = buildPretrainCorpus(ITEMS, { seed: 2, documents: 60, listHistory: [1, 2], listCandidates: [2, 4] });
  const base = { corpus, seed: 5, vocabSize: 320, hidden: 32, layers: 2, heads: 2, maxPositions: 160, seqLen: 64, batchSize: 4, steps: 24, lr: 3e-3 };
  const losses: number[] = [];
  const r1 = await pretrainLM({ ...base, outDir: path.join(tmp, 'a'), onProgress: (e) => { if (!e.done) losses.push(Number(e.values!.loss)); } });
  expect(r1.steps).toBe(24);
  const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
  const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
  expect(last).toBeLessThan(first * 0.8);
  expect(Number.isFinite(r1.heldOutPerplexity)).toBe(true);
  expect(r1.heldOutPerplexity).toBeLessThan(r1.vocabSize);
  expect(r1.heldOutTokens).toBeGreaterThan(0);
  // Same seed → same weights; interrupted + resumed → same weights.
  await pretrainLM({ ...base, outDir: path.join(tmp, 'b') });
  const ck = path.join(tmp, 'ck');
  // Interrupt after 10 steps: a run with checkpointEvery 10 and a progress listener that throws at step 12.
  await expect(pretrainLM({ ...base, outDir: path.join(tmp, 'c1'), checkpointDir: ck, checkpointEvery: 10, onProgress: (e) => { if (e.current === 12) throw new Error('stop'); } })).rejects.toThrow('stop');
  const r3 = await pretrainLM({ ...base, outDir: path.join(tmp, 'c'), checkpointDir: ck, checkpointEvery: 10 });
  expect(r3.resumedFrom).toBe(10);
  const read = (d: string) => fs.readFileSync(path.join(tmp, d, 'model.safetensors'));
  expect(read('b').equals(read('a'))).toBe(true);
  expect(read('c').equals(read('a'))).toBe(true);
  // One document per row (each at position 0): the same targets but each document's first token
  // (nothing precedes it in its row), trained without error.
  const rows = await pretrainLM({ ...base, steps: 4, oneDocPerRow: true, outDir: path.join(tmp, 'rows') });
  expect(rows.trainTokens).toBeLessThan(r1.trainTokens);
  expect(rows.trainTokens).toBeGreaterThan(0.7 * r1.trainTokens);
  expect(Number.isFinite(rows.finalLoss)).toBe(true);
  const lm = loadCausalLMSync(path.join(tmp, 'a'));
  expect(lm.config.vocabSize).toBe(r1.vocabSize);
  const acc = await listCopyAccuracy(lm, ITEMS.map((i) => i.title), { seed: 9, documents: 3, listHistory: [1, 2], listCandidates: [2, 4], maxNewTokens: 8 });
  expect(acc.documents).toBe(3);
  expect(acc.outputs.length).toBe(3);
  lm.dispose();
});
