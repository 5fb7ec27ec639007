import * as path from 'node:path';
import { intOption, parse, UsageError, DATA_OPTIONS_HELP } from '../args';
import { makeOutput, table } from '../output';
import { RUNTIME_OPTION, evaluateBackboneOnSet, inferenceRuntime, lmCheckpointDir, lmLayers, stage2EvalSet } from '../stage2-pipeline';
import { TRAIN_OPTIONS, trainStages } from './train';

export const RUN_HELP = `allmrec run [--data PATH --format FORMAT] [--out DIR] [--llm DIR|hub-name] [--seed S]
            [--eval-users N] [--runtime onnx|tfjs] [--no-generate] [--json] [any "allmrec train" option]
  The whole A-LLMRec pipeline on a dataset (default: the built-in synthetic catalogue):
    Stage 0  the CF backbone (SASRec)                 Stage 1  text embeddings + alignment
    LM       the frozen LM: --llm names a checkpoint; without it, the demonstration LM is
             pretrained here (see Research options)
    Stage 2  F_U and F_I into the frozen LM           eval     the paper's test protocol
  then prints a result table and one example recommendation. Training goes to --out (default
  runs/<dataset>-seed<S>) exactly as "allmrec train" does, so a second run reuses every finished
  stage (and an interrupted one resumes). Evaluation is "allmrec eval": the same users and 20
  candidates for Stage 2 (generation Hit@1, answers naming a candidate, likelihood ranking) and
  for the backbone alone (sasrec_hit1); --eval-users test users (default 10,000, the paper's).
  The frozen LM runs its inference on onnxruntime-node (--runtime onnx, the default) or tfjs.
  On the built-in data the defaults are sized to finish in minutes on 2 cores (see the README);
  with --data they are the paper's.

${DATA_OPTIONS_HELP}

  Research options (the demonstration LM pretrained here; see BENCHMARKS.md):
    The default LM (no --llm) is a demonstration LM with a retrieval circuit written by hand, so
    the Stage 2 numbers of a run show that the plumbing works, not that a pretrained LLM reads
    collaborative knowledge. The --lm-* options and --stage2-warm-start, --stage2-distill and
    --stage2-average of "allmrec train --help" tune it; on the built-in data their defaults are
    --lm-layers 3 --lm-steps 300, --stage2-warm-start 500 --stage2-epochs 1 and --backbone-epochs 30.
    A pretraining is cached by its inputs ($ALLMREC_HOME/demo-lm), and the built-in run's LM ships
    with allmrec, so the first run restores it instead of pretraining for minutes.`;

/**
 * Defaults of `run` on the built-in synthetic data, sized for a first run of a few minutes on 2
 * cores (README): fewer backbone epochs (SASRec converges there by 30), the demonstration LM at a
 * fixed number of steps (a step count, not a time budget, so the same seed gives the same numbers
 * on any machine; restored from the copy shipped with allmrec rather than pretrained: see
 * demo-lm-cache.ts), a shorter Stage 2 warm start and one Stage 2 epoch. Any of them can be overridden.
 */
export const SYNTHETIC_RUN_DEFAULTS: Record<string, string> = {
  'backbone-epochs': '30',
  'lm-hidden': '128',
  'lm-layers': '3',
  'lm-steps': '300',
  'stage2-epochs': '1',
  'stage2-warm-start': '500',
};

const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...TRAIN_OPTIONS, ...RUNTIME_OPTION,
    'eval-users': { type: 'string' }, 'no-generate': { type: 'boolean', default: false },
  });
  if (values.help) { process.stdout.write(RUN_HELP + '\n'); return 0; }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const builtIn = values.data === undefined && values.format === undefined;
  if (builtIn) for (const [k, v] of Object.entries(SYNTHETIC_RUN_DEFAULTS)) if (values[k] === undefined) values[k] = v;
  const seed = intOption(values, 'seed', 1)!;
  const evalUsers = intOption(values, 'eval-users');
  if (evalUsers !== undefined && evalUsers < 1) throw new UsageError('--eval-users must be at least 1');
  const out = makeOutput(values);
  if (!values.out) {
    const name = builtIn ? 'synthetic' : path.basename(path.resolve(String(values.data ?? 'data')));
    values.out = path.join('runs', `${name}-seed${seed}`);
  }
  const t0 = performance.now();
  const r = await trainStages(values, out);
  try {
    const { dataset, s2, lm } = r;
    const lmDir = await lmCheckpointDir(r.dir, r.meta, { offline: values.offline ? true : undefined });
    const rt = await inferenceRuntime(lmDir, values.runtime as string);
    if (rt.fallback) out.log(rt.fallback);
    try {
      const e0 = performance.now();
      const set = stage2EvalSet(r.split, s2.config.numCandidates, r.seed, evalUsers);
      out.log(`evaluating ${set.users.length} test users x ${s2.config.numCandidates} candidates (LM on ${rt.name})`);
      const cf = evaluateBackboneOnSet(r.align.backbone, set);
      const m = await s2.evaluateSet(set, { generate: !values['no-generate'], onProgress: out.progress, inference: rt.lm });
      const evalSeconds = (performance.now() - e0) / 1000;

      // One example: the first evaluated user.
      const title = (i: number) => s2.sources.titles[i];
      const rec = await s2.recommend(set.histories[0], set.candidates[0], rt.lm);
      const target = set.targets[0];
      const shown = Array.from(set.histories[0].subarray(Math.max(0, set.histories[0].length - 5)));
      const example = {
        user: dataset.userKeys[set.users[0]], recent: shown.map(title), generated: rec.text,
        chosen: rec.chosen >= 0 ? title(rec.chosen) : null, target: title(target),
        ranked: rec.ranked.slice(0, 5).map((x) => ({ title: title(x.item), logProb: Math.round(x.logProb * 100) / 100, target: x.item === target })),
      };
      const sec = (x: number) => Math.round(x * 10) / 10;
      const llm = r.summary.llm as { name: string; params: number; source: string; maxPositions: number };
      const result = {
        ...r.env, dataset: dataset.name, source: r.source, users: dataset.numUsers, items: dataset.numItems, seed: r.seed, out: path.resolve(r.dir),
        llm: { name: llm.name, params: llm.params, source: llm.source, hidden: lm.config.hiddenSize, layers: lmLayers(lm), max_positions: llm.maxPositions },
        history: s2.config.historyLength, candidates: s2.config.numCandidates, eval_users: set.users.length, runtime: rt.name,
        hit1_generate: r4(m.hit1_generate), valid_output_rate: r4(m.valid_output_rate),
        hit1_rank: r4(m.hit1_rank), hit5_rank: r4(m.hit5_rank), ndcg5_rank: r4(m.ndcg5_rank), ndcg10_rank: r4(m.ndcg10_rank),
        sasrec_hit1: r4(cf.hit1), sasrec_hit5: r4(cf.hit5), sasrec_ndcg10: r4(cf.ndcg10),
        seconds: { ...Object.fromEntries(Object.entries(r.seconds).filter(([k]) => k !== 'total').map(([k, v]) => [k, sec(v)])), eval: sec(evalSeconds), total: sec((performance.now() - t0) / 1000) },
        reused: r.reused, example,
      };
      out.result(result, () => {
        const p = (s: string) => process.stdout.write(s + '\n');
        const s = result.seconds as Record<string, number>;
        p('');
        p(table([
          ['A-LLMRec, generated answer: Hit@1', result.hit1_generate ?? 'n/a'],
          ['A-LLMRec, answers naming a candidate', result.valid_output_rate ?? 'n/a'],
          ['A-LLMRec, likelihood ranking: Hit@1', result.hit1_rank ?? 'n/a'],
          ['A-LLMRec, likelihood ranking: NDCG@10', result.ndcg10_rank ?? 'n/a'],
          [`${r.meta.train?.backbone ?? 'sasrec'} alone: Hit@1 (same users, same candidates)`, result.sasrec_hit1 ?? 'n/a'],
          ['test users x candidates', `${result.eval_users} x ${result.candidates}`],
          [llm.source === 'pretrained'
            ? 'LM: the demonstration LM (retrieval circuit written by hand): parameters / hidden / layers'
            : `LM: ${llm.name} (${lm.config.modelType}): parameters / hidden / layers`,
          `${llm.params.toLocaleString('en-US')} / ${lm.config.hiddenSize} / ${lmLayers(lm) ?? 'n/a'}`],
          ['seconds: backbone / Stage 1 / LM / Stage 2 / eval / total', `${s.backbone} / ${s.stage1} / ${s.lm} / ${s.stage2} / ${s.eval} / ${s.total}${r.reused.length ? ` (reused: ${r.reused.join(', ')})` : ''}`],
        ], [`${dataset.name}: Hit@1 over ${result.candidates} candidates`, 'value']));
        if (llm.source === 'pretrained') {
          p('');
          p('The demonstration LM compares the slot vectors with heads wired by hand and copies the best title:');
          p('this shows the plumbing works, not that a pretrained LLM reads collaborative knowledge (--llm DIR for one).');
        }
        p('');
        p(`example, user ${example.user}: recently ${example.recent.map((t) => `"${t}"`).join(', ')}`);
        p(`the LM answered: ${JSON.stringify(example.generated)}${example.chosen ? ` -> "${example.chosen}"` : ' (names no candidate)'}`);
        p(`held-out next item: "${example.target}"; top 5 of ${result.candidates} by likelihood:`);
        example.ranked.forEach((x, i) => p(`  ${i + 1}. ${x.title}${x.target ? '   <- the held-out item' : ''}`));
        p('');
        p(`models in ${result.out} ("allmrec recommend --model ${r.dir} --user KEY" for more)`);
      });
    } finally {
      await rt.dispose();
    }
  } finally {
    r.dispose();
  }
  return 0;
}
