// Per-kernel time of one SASRec training step (aggregated by kernel name).
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '../../packages/core/src/index';
import { SASREC_DEFAULTS, parameterShapes, initialParameters, lossAndGradients, prepareStep, Adam } from '../../packages/cf-backbones/src/sasrec';
import { SequenceSampler } from '../../packages/cf-backbones/src/sampler';

async function main() {
  await selectBackend(process.env.BACKEND);
  const c = { ...SASREC_DEFAULTS };
  const numItems = 1682, users = 943;
  const rng = new Rng(1);
  const train: Int32Array[] = [new Int32Array(0)];
  for (let u = 1; u <= users; u++) { const n = 20 + rng.int(200); const a = new Int32Array(n); for (let i = 0; i < n; i++) a[i] = 1 + rng.int(numItems); train.push(a); }
  const sampler = new SequenceSampler(train, numItems, c.maxLen);
  const init = initialParameters(numItems, c, rng);
  const shapes = parameterShapes(numItems, c);
  const params = new Map<string, tf.Variable>();
  for (const [k, v] of init) params.set(k, tf.variable(tf.tensor(v, shapes[k])));
  const adam = new Adam(c.lr, c.beta1, c.beta2, c.adamEps);
  const step = () => {
    const batch = sampler.sample(rng, c.batchSize);
    const loss = tf.tidy(() => {
      const { inp, masks } = prepareStep(batch, c, rng);
      const { loss, grads } = lossAndGradients(Object.fromEntries(params), c, inp, masks, numItems);
      adam.apply(params, grads);
      return loss;
    });
    loss.dataSync(); loss.dispose();
  };
  for (let i = 0; i < 3; i++) step();
  const agg = new Map<string, { n: number; ms: number }>();
  const reps = 5;
  for (let r = 0; r < reps; r++) {
    const prof = await tf.profile(step);
    for (const k of prof.kernels) {
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
      const e = agg.get(key) ?? { n: 0, ms: 0 };
      e.n++; e.ms += (await k.kernelTimeMs) as number;
      agg.set(key, e);
    }
  }
  const rows = [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms);
  let total = 0; for (const [, e] of rows) total += e.ms;
  console.log('kernel total per step', (total / reps).toFixed(1), 'ms; ops per step', rows.reduce((a, [, e]) => a + e.n, 0) / reps);
  for (const [k, e] of rows.slice(0, +(process.env.TOP ?? 25))) console.log((e.ms / reps).toFixed(2).padStart(8), 'ms', String(e.n / reps).padStart(4), 'x', k.slice(0, 110));
  const t0 = performance.now(); for (let i = 0; i < 10; i++) step(); console.log('wall per step', ((performance.now() - t0) / 10).toFixed(1));
}
main();
