// Profiles one SASRec training step (batch 128, len 50, d 50, 2 blocks) on synthetic ids.
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '../../packages/core/src/index';
import { SASREC_DEFAULTS, parameterShapes, initialParameters, lossAndGradients, prepareStep, Adam } from '../../packages/cf-backbones/src/sasrec';
import { SequenceSampler } from '../../packages/cf-backbones/src/sampler';

async function main() {
  const info = await selectBackend(process.env.BACKEND);
  const c = { ...SASREC_DEFAULTS };
  const numItems = 1682, users = 943;
  const rng = new Rng(1);
  const train: Int32Array[] = [new Int32Array(0)];
  for (let u = 1; u <= users; u++) { const n = 20 + rng.int(200); const a = new Int32Array(n); for (let i = 0; i < n; i++) a[i] = 1 + rng.int(numItems); train.push(a); }
  const sampler = new SequenceSampler(train, numItems, c.maxLen);
  const init = initialParameters(numItems, c, rng);
  const params = new Map<string, tf.Variable>();
  const shapes = parameterShapes(numItems, c);
  for (const [k, v] of init) params.set(k, tf.variable(tf.tensor(v, shapes[k])));
  const adam = new Adam(c.lr, c.beta1, c.beta2, c.adamEps);
  const times: number[] = [];
  const steps = +(process.env.STEPS ?? 30);
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    const batch = sampler.sample(rng, c.batchSize);
    const loss = tf.tidy(() => {
      const { inp, masks } = prepareStep(batch, c, rng);
      const p: Record<string, tf.Tensor> = Object.fromEntries(params);
      const { loss, grads } = lossAndGradients(p, c, inp, masks, numItems);
      adam.apply(params, grads);
      return loss;
    });
    const l = (await loss.data())[0]; loss.dispose();
    times.push(performance.now() - t0);
    if (s % 10 === 0) console.log('step', s, 'loss', l.toFixed(4), (performance.now() - t0).toFixed(1), 'ms', 'tensors', tf.memory().numTensors);
  }
  times.sort((a, b) => a - b);
  console.log(info.name, 'median ms/step', times[Math.floor(times.length / 2)].toFixed(1));
}
main();
