// Can Stage 2 steer a frozen LM at all? Trains F_U and F_I on a handful of users for many epochs
// and asks whether the LM then answers those users' own training targets (the prompts it was
// trained on, with freshly drawn candidates). If it cannot fit even these, two projected vectors
// do not steer this LM; if it can, the full-size miss is the recipe's (learning rate, steps).
// Reads an `allmrec train` directory for the backbone and Stage 1 (the LM is given separately).
//   npx tsx tools/bench/stage2-overfit.ts RUN_DIR LM_DIR [key=value ...]
// keys: users (8), epochs (200), lr (1e-4), batch (4), history (3), candidates (5), every (25: epochs
//   between evaluations), seed (the run's), free (0; 1: x_u and e_i are one-hot codes of the user
//   and the item, so F_U and F_I become free vectors per user and per item: an upper bound on what
//   any vectors in the slots can make this LM say)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, selectBackend } from '../../packages/core/src/index';
import { leaveOneOut } from '../../packages/data/src/index';
import { buildEvalSet, getProtocol, type Protocol } from '../../packages/eval/src/index';
import { Stage2Model, loadCausalLM } from '../../packages/llm-bridge/src/index';
import { datasetFromOptions } from '../../packages/cli/src/dataset-source';
import { loadAlignRun } from '../../packages/cli/src/stage1-pipeline';
import { stage2Sources } from '../../packages/cli/src/stage2-pipeline';

async function main() {
  await selectBackend();
  const [dir, lmDir, ...rest] = process.argv.slice(2);
  if (!dir || !lmDir) throw new Error('usage: npx tsx tools/bench/stage2-overfit.ts RUN_DIR LM_DIR [key=value ...]');
  const opt = Object.fromEntries(rest.map((kv) => kv.split('='))) as Record<string, string>;
  const num = (k: string, d: number) => (opt[k] !== undefined ? Number(opt[k]) : d);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
  const seed = num('seed', Number(meta.train.seed));
  const { dataset } = await datasetFromOptions(meta.train.dataOptions);
  const align = await loadAlignRun(dir, leaveOneOut(dataset), meta.train.backbone ?? 'sasrec');
  const split = align.split;
  const lm = await loadCausalLM(lmDir);
  const cf = stage2Sources(dataset, align.backbone, align.stage1, align.coldItems);

  // The users: a seeded draw among those with >= 2 training items; the others get no training rows.
  const eligible: number[] = [];
  for (let u = 1; u < split.train.length; u++) if (split.train[u].length >= 2) eligible.push(u);
  const users = new Rng(seed).fork('overfit-users').shuffle(eligible).slice(0, num('users', 8)).sort((a, b) => a - b);
  const chosen = new Set(users);
  const sub = { ...split, train: split.train.map((s, u) => (chosen.has(u) ? s : new Int32Array(0))) };
  // Their own training prompts: history = training items before the last, target = the last.
  const protocol: Protocol = {
    ...getProtocol('test-20'), name: 'train-targets', numNegatives: num('candidates', 5) - 1,
    target: (s, u) => (chosen.has(u) ? s.train[u][s.train[u].length - 1] : 0),
    history: (s, u) => s.train[u].subarray(0, s.train[u].length - 1),
  };
  const set = buildEvalSet(split, protocol, { seed: seed + 1 });

  // free=1: one-hot user and item codes instead of x_u and e_i (a lookup through F_U's and F_I's first layer).
  const userOf = new Map(users.map((u, i) => [split.train[u].subarray(0, split.train[u].length - 1).join(','), i]));
  const N = split.numItems + 1;
  const sources = num('free', 0) === 1 ? {
    ...cf, userDim: users.length, itemDim: N,
    userReps: (hs: Int32Array[]) => {
      const x = new Float32Array(hs.length * users.length);
      hs.forEach((h, b) => {
        const i = userOf.get(h.join(','));
        if (i === undefined) throw new Error('free: a history of a user outside the chosen ones');
        x[b * users.length + i] = 1;
      });
      return x;
    },
    itemEmbeddings: (ids: Int32Array) => {
      const e = new Float32Array(ids.length * N);
      ids.forEach((id, r) => { e[r * N + id] = 1; });
      return e;
    },
    cfScores: undefined,
  } : cf;
  const epochs = num('epochs', 200);
  const every = num('every', 25);
  const s2 = new Stage2Model(lm, sources, {
    historyLength: num('history', 3), numCandidates: num('candidates', 5), batchSize: num('batch', 4), lr: num('lr', 1e-4),
    epochs, weightAverage: 0, warmStartSteps: 0,
  }, seed);
  console.log(`LM ${lm.config.modelType} (${lmDir}); ${users.length} users [${users.join(', ')}]; lr ${s2.config.lr}, batch ${s2.config.batchSize}, ${epochs} epochs${sources === cf ? '' : '; free vectors per user and item'}`);
  const t0 = performance.now();
  // Each call resumes from the checkpoint of the previous one (same Adam state and user order).
  const ck = fs.mkdtempSync(path.join(os.tmpdir(), 'stage2-overfit-'));
  for (let e = every; e <= epochs; e += every) {
    const r = await s2.fit({ split: sub, epochs: e, seed, checkpointDir: ck });
    const last = r.epochs[r.epochs.length - 1];
    const ev = await s2.evaluateSet(set, { keepOutputs: true });
    const exact = ev.outputs!.filter((o, i) => o.trim().toLowerCase() === `"${sources.titles[set.targets[i]]}"`.toLowerCase()).length;
    console.log(`epoch ${e}: train loss ${last.loss.toFixed(4)}; on their own prompts: hit1_rank ${ev.hit1_rank.toFixed(3)}, hit1_generate ${ev.hit1_generate.toFixed(3)}, valid ${ev.valid_output_rate.toFixed(3)}, exact answers ${exact}/${set.users.length}; ${Math.round((performance.now() - t0) / 1000)} s`);
    console.log(`  e.g. target "${sources.titles[set.targets[0]]}" -> ${JSON.stringify(ev.outputs![0])}`);
  }
  fs.rmSync(ck, { recursive: true, force: true });
  s2.dispose();
  lm.dispose();
}

main().catch((err) => { console.error(err); process.exit(1); });
