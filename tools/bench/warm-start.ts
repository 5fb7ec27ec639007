// The Stage 2 warm start on its own: how well its surrogate, τ·cos(F_U(x_u)[U], F_I(e_i)[S]),
// ranks the held-out test item among the evaluation's 20 candidates, before Stage 2 trains
// through the LM. Reads a directory of `allmrec train` with the backbone, Stage 1 and an LM with
// a slot interface (DIR/lm/config.json `allmrec_slot_interface`); Stage 2 need not have run.
//   npx tsx tools/bench/warm-start.ts DIR [variant ...]
// A variant is `key=value` pairs joined by `;` (default: the pipeline's warm start):
//   steps (3000), tau (10), lr (1e-3), distill (0: weight of the backbone's ranking), T (1: its
//   temperature), seed (the run's seed)
// Prints SASRec's Hit@1/5 on the same set, then per variant the surrogate's Hit@1/5 by cosine (what
// the warm start trains) and by dot product (what the LM's matching head computes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../packages/core/src/index';
import { leaveOneOut } from '../../packages/data/src/index';
import { createProjectors } from '../../packages/alignment/src/index';
import { prefixExamples, warmStartProjectors } from '../../packages/llm-bridge/src/stage2-warm-start';
import { datasetFromOptions } from '../../packages/cli/src/dataset-source';
import { loadAlignRun } from '../../packages/cli/src/stage1-pipeline';
import { evaluateBackboneOnSet, stage2EvalSet, stage2Sources } from '../../packages/cli/src/stage2-pipeline';

async function main() {
  await selectBackend();
  const [dir, ...given] = process.argv.slice(2);
  if (!dir) throw new Error('usage: npx tsx tools/bench/warm-start.ts DIR [variant ...]');
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
  const seed = Number(meta.train.seed);
  const { dataset } = await datasetFromOptions(meta.train.dataOptions);
  const align = await loadAlignRun(dir, leaveOneOut(dataset), meta.train.backbone ?? 'sasrec');
  const split = align.split;
  const lmConfig = JSON.parse(fs.readFileSync(path.join(dir, 'lm', 'config.json'), 'utf8'));
  const iface = lmConfig.allmrec_slot_interface;
  if (!iface) throw new Error(`${dir}/lm/config.json records no slot interface: the warm start does not run for this LM`);
  const H = lmConfig.n_embd;
  const src = stage2Sources(dataset, align.backbone, align.stage1, align.coldItems);
  // The warm start's examples, as Stage2Model.fit draws them.
  const users: number[] = [];
  for (let u = 1; u < split.train.length; u++) if ((split.train[u]?.length ?? 0) >= 2) users.push(u);
  const pre = prefixExamples(split, users);
  const d = src.userDim;
  const X = new Float32Array(pre.users.length * d);
  for (let s = 0; s < pre.users.length; s += 256) X.set(src.userReps(pre.histories.slice(s, s + 256)), s * d);
  const items = src.itemEmbeddings(Int32Array.from({ length: split.numItems + 1 }, (_, i) => i));
  const set = stage2EvalSet(split, meta.train.candidates ?? 20, seed);
  const sasrec = evaluateBackboneOnSet(align.backbone, set);
  console.log(`${dataset.name}, seed ${seed}: ${pre.users.length} warm-start examples, ${set.users.length} test users; SASRec Hit@1 ${sasrec.hit1.toFixed(4)} Hit@5 ${sasrec.hit5.toFixed(4)}`);
  const Xtest = src.userReps(set.histories);
  const w = iface.user[1] - iface.user[0];
  for (const variant of given.length ? given : ['']) {
    const o: Record<string, number> = { steps: 3000, tau: 10, lr: 1e-3, distill: 0, T: 1, seed };
    for (const kv of variant.split(';').filter(Boolean)) {
      const [k, v] = kv.split('=');
      if (!(k in o) || !Number.isFinite(Number(v))) throw new Error(`variant "${variant}": unknown key or bad value "${kv}" (keys: ${Object.keys(o).join(', ')})`);
      o[k] = Number(v);
    }
    const { fu, fi } = createProjectors(d, src.itemDim, H, o.seed);
    const r = warmStartProjectors(fu, fi, iface, H, {
      ...pre, split, X, userDim: d, items, itemDim: src.itemDim, historyLength: meta.train.history ?? 10, numCandidates: set.candidates[0].length,
      teacher: (h, c) => align.backbone.score(h, c),
    }, { steps: o.steps, seed: o.seed, temperature: o.tau, lr: o.lr, distill: o.distill, teacherTemperature: o.T });
    const n = set.users.length;
    const [U, I] = tf.tidy(() => [
      tf.slice(fu.apply(tf.tensor2d(Xtest, [n, d])), [0, iface.user[0]], [n, w]).arraySync() as number[][],
      tf.slice(fi.apply(tf.tensor2d(items, [split.numItems + 1, src.itemDim])), [0, iface.item[0]], [split.numItems + 1, w]).arraySync() as number[][],
    ]);
    fu.dispose();
    fi.dispose();
    const hits = { cos1: 0, cos5: 0, dot1: 0, dot5: 0 };
    for (let k = 0; k < n; k++) {
      const cands = Array.from(set.candidates[k]);
      const t = cands.indexOf(set.targets[k]);
      const u = U[k];
      const dot = cands.map((i) => I[i].reduce((a, x, j) => a + x * u[j], 0));
      const cos = cands.map((i, q) => dot[q] / Math.hypot(...I[i]));
      const above = (s: number[]) => s.filter((x) => x > s[t]).length;
      hits.cos1 += +(above(cos) < 1);
      hits.cos5 += +(above(cos) < 5);
      hits.dot1 += +(above(dot) < 1);
      hits.dot5 += +(above(dot) < 5);
    }
    const f = (x: number) => (x / n).toFixed(4);
    console.log(`${variant || 'default'}: cosine Hit@1 ${f(hits.cos1)} Hit@5 ${f(hits.cos5)}; dot Hit@1 ${f(hits.dot1)} Hit@5 ${f(hits.dot5)}; training Hit@1 ${r.hit1.toFixed(3)}, ${r.seconds.toFixed(0)} s`);
  }
  align.stage1.dispose();
  align.backbone.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
