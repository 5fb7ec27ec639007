// Times one SASRec training step at the reference configuration (batch 128, length 50, d 50,
// 2 blocks, 1 head) on random sequences shaped like ml-100k (943 users, 1,682 items).
//   npx tsx tools/bench/sasrec-step.ts            median wall ms/step over STEPS (default 30)
//   PROFILE=1 npx tsx tools/bench/sasrec-step.ts  per-kernel totals (tf.profile), TOP rows
//   BACKEND=cpu ...                               another tfjs backend
import * as tf from '@tensorflow/tfjs-core';
import { Adam, Rng, selectBackend } from '../../packages/core/src/index';
import { SASREC_DEFAULTS, initialParameters, lossAndGradients, parameterShapes, prepareStep } from '../../packages/cf-backbones/src/sasrec';
import { SequenceSampler } from '../../packages/cf-backbones/src/sampler';

async function main() {
  const info = await selectBackend(process.env.BACKEND);
  const c = { ...SASREC_DEFAULTS };
  const numItems = 1682;
  const rng = new Rng(1);
  const train: Int32Array[] = [new Int32Array(0)];
  for (let u = 1; u <= 943; u++) train.push(Int32Array.from({ length: 20 + rng.int(200) }, () => 1 + rng.int(numItems)));
  const sampler = new SequenceSampler(train, numItems, c.maxLen);
  const shapes = parameterShapes(numItems, c);
  const params = new Map<string, tf.Variable>();
  for (const [k, v] of initialParameters(numItems, c, rng)) params.set(k, tf.variable(tf.tensor(v, shapes[k])));
  const adam = new Adam(c.lr, c.beta1, c.beta2, c.adamEps);
  const step = () => {
    const batch = sampler.sample(rng, c.batchSize);
    const loss = tf.tidy(() => {
      const { inp, masks } = prepareStep(batch, c, rng);
      const r = lossAndGradients(Object.fromEntries(params), c, inp, masks, numItems);
      adam.apply(params, r.grads);
      return r.loss;
    });
    const l = loss.dataSync()[0];
    loss.dispose();
    return l;
  };
  for (let i = 0; i < 3; i++) step();
  if (process.env.PROFILE) {
    const agg = new Map<string, { n: number; ms: number }>();
    const reps = 5;
    for (let r = 0; r < reps; r++) {
      const prof = await tf.profile(step);
      for (const k of prof.kernels) {
        const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
        const e = agg.get(key) ?? { n: 0, ms: 0 };
        e.n++;
        e.ms += (await k.kernelTimeMs) as number;
        agg.set(key, e);
      }
    }
    const rows = [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((a, [, e]) => a + e.ms, 0) / reps;
    console.log(`${info.name}: kernel time ${total.toFixed(1)} ms/step, ${rows.reduce((a, [, e]) => a + e.n, 0) / reps} kernel calls`);
    for (const [k, e] of rows.slice(0, +(process.env.TOP ?? 25))) {
      console.log(`${(e.ms / reps).toFixed(2).padStart(8)} ms ${String(e.n / reps).padStart(5)} x ${k.slice(0, 110)}`);
    }
  }
  const times: number[] = [];
  for (let s = 0; s < +(process.env.STEPS ?? 30); s++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`${info.name}: median ${times[Math.floor(times.length / 2)].toFixed(1)} ms/step over ${times.length} steps; live tensors ${tf.memory().numTensors}`);
}
main();
