import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ParamSet, fitWithAdam, type TrainingSpec } from './trainer';

/** A toy model: w in R^4, loss = mean((w - t)^2) with t drawn around 1 by the step's generator. */
function toySpec(epochs: number): TrainingSpec {
  return {
    model: 'toy', checkpointKind: 'allmrec.test.toy.checkpoint', runKey: { toy: 1 }, epochs, stepsPerEpoch: 3,
    adam: { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    init: (rng) => new Map([['w', Float32Array.from({ length: 4 }, () => rng.normal())]]),
    step: (p, rng) => {
      const t = tf.tensor1d(Array.from({ length: 4 }, () => 1 + 0.1 * rng.normal()));
      const diff = tf.sub(p.w, t);
      return { loss: tf.mean(tf.square(diff)) as tf.Scalar, grads: { w: tf.mul(diff, 0.5) } };
    },
  };
}

describe('fitWithAdam', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-trainer-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the same seed gives the same weights; another seed does not; the loss falls', async () => {
    const run = async (seed: number) => {
      const p = new ParamSet('toy', { w: [4] });
      const r = await fitWithAdam(toySpec(30), p, { seed });
      const w = p.values().get('w')!;
      p.dispose();
      return { r, w };
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(Array.from(a.w)).toEqual(Array.from(b.w));
    expect(Array.from(a.w)).not.toEqual(Array.from(c.w));
    expect(a.r.finalLoss).toBeLessThan(0.05);
    expect(a.r.epochs).toBe(30);
  });

  test('an interrupted run resumes from its checkpoint to the same weights', async () => {
    const full = new ParamSet('toy', { w: [4] });
    await fitWithAdam(toySpec(12), full, { seed: 4 });
    const ck = path.join(dir, 'ck');
    const first = new ParamSet('toy', { w: [4] });
    await fitWithAdam(toySpec(12), first, { seed: 4, checkpointDir: ck, checkpointEvery: 5, onEpochEnd: (e) => e === 5 });
    const second = new ParamSet('toy', { w: [4] });
    const r = await fitWithAdam(toySpec(12), second, { seed: 4, checkpointDir: ck, checkpointEvery: 5 });
    expect(r.resumedFrom).toBe(5);
    expect(Array.from(second.values().get('w')!)).toEqual(Array.from(full.values().get('w')!));
    await expect(fitWithAdam(toySpec(12), new ParamSet('toy', { w: [4] }), { seed: 5, checkpointDir: ck })).rejects.toThrow(/another run/);
    for (const p of [full, first, second]) p.dispose();
  });

  test('early stopping stops after `patience` evaluations without gain and keeps the best epoch', async () => {
    const p = new ParamSet('toy', { w: [4] });
    // Scores rise until epoch 4 then fall: stop at 4 + patience 2 = epoch 6, keep epoch 4's weights.
    const scores = [0.1, 0.2, 0.3, 0.4, 0.35, 0.3, 0.2, 0.1];
    let atBest: Float32Array | undefined;
    const r = await fitWithAdam(toySpec(8), p, {
      seed: 1,
      earlyStopping: { patience: 2, score: (e) => { if (e === 4) atBest = p.values().get('w'); return scores[e - 1]; } },
    });
    expect(r.epochs).toBe(6);
    expect(r.bestEpoch).toBe(4);
    expect(r.bestScore).toBeCloseTo(0.4);
    expect(Array.from(p.values().get('w')!)).toEqual(Array.from(atBest!));
    await expect(fitWithAdam(toySpec(2), p, { seed: 1, earlyStopping: { patience: 0, score: () => 0 } })).rejects.toThrow(/patience must be a positive integer/);
    p.dispose();
  });

  test('a non-finite loss stops training with the epoch named', async () => {
    const spec = { ...toySpec(3), step: () => ({ loss: tf.scalar(NaN), grads: {} }) };
    const p = new ParamSet('toy', { w: [4] });
    await expect(fitWithAdam(spec, p, { seed: 1 })).rejects.toThrow(/toy: loss became NaN at epoch 1/);
    p.dispose();
  });

  test('ParamSet refuses missing and mis-sized values, naming them', () => {
    const p = new ParamSet('toy', { w: [2, 2] });
    expect(() => p.set(new Map())).toThrow(/toy: missing parameter w/);
    expect(() => p.set(new Map([['w', new Float32Array(3)]]))).toThrow(/w has 3 values, expected \[2,2\]/);
    expect(() => p.variables).toThrow(/no weights yet/);
  });
});
