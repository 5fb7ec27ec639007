// Times training epochs of the autodiff sequential backbones (GRU4Rec, NextItNet) on ml-100k at
// their default configuration, with each loss.
//   npx tsx tools/bench/seq-epoch.ts [gru4rec|nextitnet] [bce|ce]   seconds per epoch over EPOCHS (default 5)
//   DATA=/path/to/ml-100k ...                                       dataset folder (movielens-100k format)
//   BACKEND=cpu ...                                                 another tfjs backend
//   WINDOWS=all ...                                                 train on every window (config.windows)
//   PROFILE=1 ...                                                   per-kernel totals of one epoch (tf.profile), TOP rows
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../packages/core/src/index';
import { leaveOneOut, loadDataset } from '../../packages/data/src/index';
import { GRU4Rec } from '../../packages/cf-backbones/src/gru4rec';
import { NextItNet } from '../../packages/cf-backbones/src/nextitnet';

async function main() {
  const model = process.argv[2] ?? 'gru4rec';
  const loss = (process.argv[3] ?? 'bce') as 'bce' | 'ce';
  const info = await selectBackend(process.env.BACKEND);
  const { dataset } = await loadDataset({ format: 'movielens-100k', path: process.env.DATA ?? '/work/shared/datasets/ml-100k' });
  const split = leaveOneOut(dataset);
  const epochs = +(process.env.EPOCHS ?? 5);
  const windows = (process.env.WINDOWS ?? 'last') as 'last' | 'all';
  const m = model === 'nextitnet' ? new NextItNet(split.numItems, { loss, epochs, windows }) : new GRU4Rec(split.numItems, { loss, epochs, windows });
  if (process.env.PROFILE) {
    const prof = await tf.profile(async () => { await m.fit(split, { seed: 1, epochs: 1 }); });
    const agg = new Map<string, { n: number; ms: number }>();
    for (const k of prof.kernels) {
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
      const e = agg.get(key) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += (await k.kernelTimeMs) as number;
      agg.set(key, e);
    }
    const rows = [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms);
    console.log(`${info.name} ${model} ${loss}: kernel time ${rows.reduce((a, [, e]) => a + e.ms, 0).toFixed(0)} ms in one epoch, ${prof.kernels.length} kernel calls`);
    for (const [k, e] of rows.slice(0, +(process.env.TOP ?? 25))) console.log(`${e.ms.toFixed(1).padStart(8)} ms ${String(e.n).padStart(5)} x ${k.slice(0, 110)}`);
    m.dispose();
    return;
  }
  const secs: number[] = [];
  const r = await m.fit(split, {
    seed: 1,
    onEpochEnd: (e, s) => {
      secs.push(s.ms / 1000);
      console.log(`epoch ${e}: loss ${s.loss.toFixed(4)}, ${(s.ms / 1000).toFixed(2)} s, ${s.steps} steps, median ${s.msPerStep.toFixed(0)} ms/step, live tensors ${tf.memory().numTensors}`);
    },
  });
  const sorted = [...secs].sort((a, b) => a - b);
  console.log(`${info.name} ${model} ${loss} windows=${windows}: ${split.numUsers} users, ${split.numItems} items; median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} s/epoch over ${r.epochs} epochs (${r.stepsPerEpoch} steps each)`);
  m.dispose();
}
main();
