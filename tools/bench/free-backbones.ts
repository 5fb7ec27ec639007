// Speed of the order-free backbones on ml-100k (leave-one-out): seconds per training epoch at
// RecBole's defaults, full-ranking time for every user with and without user ids, and how closely
// the history-only rule (BPR/NCF fold-in, LightGCN new node) reproduces the trained users.
//   npx tsx tools/bench/free-backbones.ts [bpr|lightgcn|ncf ...]   default: all three
//   EPOCHS=5 DATA=../shared/datasets/ml-100k BACKEND=wasm ...
import { selectBackend, type LeaveOneOutSplit } from '../../packages/core/src/index';
import { loadDataset, leaveOneOut } from '../../packages/data/src/index';
import { createBackbone } from '../../packages/cf-backbones/src/index';

/** Mean over users of the top-20 overlap and the Pearson correlation of two score matrices (training items excluded from the top 20). */
function agreement(A: Float32Array, B: Float32Array, split: LeaveOneOutSplit): { top20: number; corr: number } {
  const n = split.numItems + 1;
  let top20 = 0;
  let corr = 0;
  for (let u = 1; u <= split.numUsers; u++) {
    const b = u - 1;
    const seen = new Set(split.train[u]);
    const top = (S: Float32Array) => {
      const ids: number[] = [];
      for (let i = 1; i < n; i++) if (!seen.has(i)) ids.push(i);
      return ids.sort((x, y) => S[b * n + y] - S[b * n + x]).slice(0, 20);
    };
    const ta = new Set(top(A));
    top20 += top(B).filter((x) => ta.has(x)).length / 20;
    let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (let i = 1; i < n; i++) {
      const x = A[b * n + i];
      const y = B[b * n + i];
      sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y;
    }
    const m = n - 1;
    corr += (sab / m - (sa / m) * (sb / m)) / Math.sqrt((saa / m - (sa / m) ** 2) * (sbb / m - (sb / m) ** 2));
  }
  return { top20: top20 / split.numUsers, corr: corr / split.numUsers };
}

async function main() {
  const info = await selectBackend(process.env.BACKEND);
  const { dataset } = await loadDataset({ format: 'movielens-100k', path: process.env.DATA ?? '../shared/datasets/ml-100k' });
  const split = leaveOneOut(dataset);
  const epochs = Number(process.env.EPOCHS ?? 5);
  const names = process.argv.slice(2).length ? process.argv.slice(2) : ['bpr', 'lightgcn', 'ncf'];
  console.log(`ml-100k: ${split.numUsers} users, ${split.numItems} items; backend ${info.name}; ${epochs} epochs each`);
  const users = Int32Array.from({ length: split.numUsers }, (_, i) => i + 1);
  const histories = Array.from(users, (u) => split.train[u]);
  for (const name of names) {
    const m = createBackbone(name, split.numItems);
    const perEpoch: number[] = [];
    const r = await m.fit(split, { seed: 1, epochs, onEpochEnd: (_, s) => { perEpoch.push(s.ms / 1000); } });
    let t = performance.now();
    const A = m.scoreAll!(histories, users);
    const withIds = performance.now() - t;
    t = performance.now();
    const B = m.scoreAll!(histories);
    const without = performance.now() - t;
    const a = agreement(A, B, split);
    console.log(JSON.stringify({
      backbone: name, epochs: r.epochs, steps_per_epoch: r.stepsPerEpoch, ms_per_step: Number(r.msPerStep.toFixed(1)),
      s_per_epoch: perEpoch.map((s) => Number(s.toFixed(2))), mean_s_per_epoch: Number((r.trainSeconds / r.epochs).toFixed(2)),
      final_loss: Number(r.finalLoss.toFixed(4)), score_all_ms_with_ids: Math.round(withIds), score_all_ms_without_ids: Math.round(without),
      history_only_top20_overlap: Number(a.top20.toFixed(3)), history_only_score_corr: Number(a.corr.toFixed(3)),
    }));
    m.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
