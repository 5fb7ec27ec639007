import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { defineBackboneConformanceTests, conformanceFixture } from './conformance';
import { SASRec } from './sasrec';
import { createBackbone, listBackbones } from './registry';
import './index';

const SMALL = { dim: 16, maxLen: 20, batchSize: 32, dropout: 0.2, epochs: 40 };

beforeAll(async () => {
  await selectBackend('wasm');
});

defineBackboneConformanceTests('sasrec', (n) => new SASRec(n, SMALL), { load: (dir) => SASRec.load(dir), minHit1: 0.5 });

describe('SASRec', () => {
  test('is registered by name', () => {
    expect(listBackbones().map((b) => b.name)).toContain('sasrec');
    const m = createBackbone('sasrec', 10, { dim: 8 });
    expect(m.dim).toBe(8);
    m.dispose();
  });

  test('training lowers the loss and does not leak tensors', async () => {
    const split = conformanceFixture(9);
    const model = new SASRec(split.numItems, { ...SMALL, epochs: 30 });
    const losses: number[] = [];
    const counts: number[] = [];
    await model.fit(split, {
      seed: 3,
      onEpochEnd: (_, s) => { losses.push(s.loss); counts.push(tf.memory().numTensors); },
    });
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.75);
    // Same live tensors after every epoch: nothing accumulates across steps.
    expect(new Set(counts.slice(1)).size).toBe(1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) model.score([split.train[1]], [Int32Array.from([1, 2, 3])]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('resumes from a checkpoint to the same model as an uninterrupted run', async () => {
    const split = conformanceFixture(4);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-sasrec-ckpt-'));
    try {
      const full = new SASRec(split.numItems, { ...SMALL, epochs: 6 });
      await full.fit(split, { seed: 8 });
      // "Interrupted" run: stop after epoch 4 with a checkpoint every 2 epochs...
      const first = new SASRec(split.numItems, { ...SMALL, epochs: 6 });
      await first.fit(split, { seed: 8, checkpointDir: dir, checkpointEvery: 2, onEpochEnd: (e) => e === 4 });
      first.dispose();
      // ...then a new process picks it up.
      const resumed = new SASRec(split.numItems, { ...SMALL, epochs: 6 });
      const r = await resumed.fit(split, { seed: 8, checkpointDir: dir, checkpointEvery: 2 });
      expect(r.resumedFrom).toBe(4);
      const ids = [1, 5, 9, 13];
      const a = full.itemEmbeddings(ids);
      const b = resumed.itemEmbeddings(ids);
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i], 5);
      // A checkpoint from another seed is refused rather than silently mixed in.
      const other = new SASRec(split.numItems, { ...SMALL, epochs: 6 });
      await expect(other.fit(split, { seed: 9, checkpointDir: dir })).rejects.toThrow(/another run/);
      for (const m of [full, resumed, other]) m.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('rejects bad configuration and input', () => {
    expect(() => new SASRec(0)).toThrow(/numItems/);
    expect(() => new SASRec(10, { dim: 10, heads: 3 })).toThrow(/divisible/);
    const m = new SASRec(10, { dim: 8 });
    expect(() => m.userRepresentations([[1]])).toThrow(/no weights/);
  });
});
