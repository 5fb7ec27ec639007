// Stage 2 epoch by epoch: the last step's weights against exponential averages of the steps'
// weights (decays given) and against the plain mean of the epoch ends, each scored on the
// validation items (history = training items) and on the test items (the paper's test-20 set) of
// the same users. One Stage 2 training (warm start + epochs, about 13 min on ml-100k) serves every
// row: the averages are kept here, from the weights before and after every step, exactly as
// `Stage2Config.weightAverage` keeps its one. Reads a finished `allmrec train` directory (its
// Stage 2 is not touched; this trains a new one with the run's seed and the default config).
//   npx tsx tools/bench/stage2-average.ts DIR [decay ...]        (default decays: 0.99 0.995 0.998)
// Prints SASRec on both sets, then per epoch and variant: ranking Hit@1, generation Hit@1, the
// share of answers naming a candidate and ranking Hit@5, on validation | test.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '../../packages/core/src/index';
import { Stage2Model } from '../../packages/llm-bridge/src/index';
import { buildEvalSet, getProtocol, type EvalSet } from '../../packages/eval/src/index';
import { evaluateBackboneOnSet, inferenceRuntime, loadStage2Run, stage2EvalSet, stage2Sources } from '../../packages/cli/src/stage2-pipeline';

type Weights = Map<string, { shape: readonly number[]; data: Float32Array }>;

async function main() {
  await selectBackend();
  const [dir, ...given] = process.argv.slice(2);
  if (!dir) throw new Error('usage: npx tsx tools/bench/stage2-average.ts DIR [decay ...]');
  const decays = given.length ? given.map(Number) : [0.99, 0.995, 0.998];
  const r = await loadStage2Run(dir, {});
  r.s2.dispose();
  const seed = Number(r.meta.train.seed);
  const sources = stage2Sources(r.dataset, r.align.backbone, r.align.stage1, r.align.coldItems);
  const test = stage2EvalSet(r.split, 20, seed);
  const valid = buildEvalSet(r.split, { ...getProtocol('test-20'), name: 'valid-20', target: (s, u) => s.valid[u], history: (s, u) => s.train[u] }, { seed });
  const rt = await inferenceRuntime(r.lmInfo.dir, 'onnx');
  const sv = evaluateBackboneOnSet(r.align.backbone, valid);
  const st = evaluateBackboneOnSet(r.align.backbone, test);
  console.log(`runtime ${rt.name}; ${valid.users.length} validation and ${test.users.length} test users`);
  console.log(`${'SASRec'.padEnd(24)} valid r1 ${sv.hit1.toFixed(4)} h5 ${sv.hit5.toFixed(3)} | test r1 ${st.hit1.toFixed(4)} h5 ${st.hit5.toFixed(3)}`);

  const s2 = new Stage2Model(r.lm, sources, { historyLength: r.meta.train.history ?? 10, numCandidates: r.meta.train.candidates ?? 20, weightAverage: 0 }, seed);
  const get = (): Weights => new Map(Object.entries({ ...s2.fu.values(), ...s2.fi.values() }).map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }]));
  const set = (w: Weights) => { s2.fu.load(w); s2.fi.load(w); };
  const mix = (into: Weights, w: Weights, d: number) => {
    for (const [k, v] of w) { const a = into.get(k)!.data; for (let j = 0; j < a.length; j++) a[j] = d * a[j] + (1 - d) * v.data[j]; }
  };
  const mean = (ws: Weights[]): Weights => new Map([...ws[0]].map(([k, v]) => {
    const o = new Float32Array(v.data.length);
    for (const w of ws) { const x = w.get(k)!.data; for (let j = 0; j < o.length; j++) o[j] += x[j] / ws.length; }
    return [k, { shape: v.shape, data: o }];
  }));
  const score = async (tag: string) => {
    const f = (e: Awaited<ReturnType<Stage2Model['evaluateSet']>>) => `r1 ${e.hit1_rank.toFixed(4)} g1 ${e.hit1_generate.toFixed(4)} ok ${e.valid_output_rate.toFixed(3)} h5 ${e.hit5_rank.toFixed(3)}`;
    const ev = (set: EvalSet) => s2.evaluateSet(set, { inference: rt.lm });
    console.log(`${tag.padEnd(24)} valid ${f(await ev(valid))} | test ${f(await ev(test))}`);
  };

  const averages: Weights[] = [];
  const ends: Weights[] = [];
  const ck = fs.mkdtempSync(path.join(os.tmpdir(), 'stage2-average-'));
  try {
    for (let epoch = 1; epoch <= s2.config.epochs; epoch++) {
      await s2.fit({
        split: r.split, seed, epochs: epoch, checkpointDir: ck,
        // Before each step: step 0 of epoch 1 starts the averages (the warm start's weights); every
        // later step folds in the previous step's result (the epoch's last one after fit returns).
        onBatch: (_examples, e, s) => {
          if (e === 1 && s === 0) decays.forEach(() => averages.push(get()));
          else if (s > 0) { const w = get(); averages.forEach((a, i) => mix(a, w, decays[i])); }
        },
      });
      const last = get();
      averages.forEach((a, i) => mix(a, last, decays[i]));
      ends.push(last);
      await score(`epoch ${epoch} last step`);
      for (let i = 0; i < decays.length; i++) { set(averages[i]); await score(`epoch ${epoch} average ${decays[i]}`); }
      if (epoch > 1) { set(mean(ends)); await score(`epoch ${epoch} mean of ends`); }
      set(last);
    }
  } finally {
    fs.rmSync(ck, { recursive: true, force: true });
    s2.dispose();
    await rt.dispose();
  }
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
