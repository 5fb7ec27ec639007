import { DATA_OPTIONS, intOption, parse, UsageError, DATA_OPTIONS_HELP } from '../args';
import { makeOutput, table } from '../output';
import { environmentInfo } from '../pipeline';
import { RUNTIME_OPTION, evaluateBackboneOnSet, inferenceRuntime, loadStage2Run, stage2EvalSet } from '../stage2-pipeline';

export const EVAL_HELP = `allmrec eval --model DIR [--data PATH --format FORMAT] [--max-users N] [--seed S] [--no-generate] [--json]
  Evaluates a directory written by "allmrec train" with the paper's protocol: test users (up to
  --max-users, default 10,000, sampled with --seed, default the training seed), history = training
  items + validation item, target = test item, candidates = the target + 19 never-interacted items
  (or the model's --candidates - 1), shuffled. One evaluation set is built and scored twice:
    Stage 2 generation  hit1_generate (greedy, repetition penalty 1.5, the authors' title match),
                        valid_output_rate (answers naming one of the candidates)
    Stage 2 likelihood  hit1_rank, hit5_rank, ndcg5_rank, ndcg10_rank (candidates ranked by the
                        log-probability of their quoted title)
    the CF backbone     sasrec_hit1 (and sasrec_hit5 / sasrec_ndcg10) on exactly the same users and candidates
  The dataset is the one recorded at training unless --data/--format (etc.) name another copy.
  --no-generate skips generation (ranking only; faster).
  --runtime onnx (default) runs the frozen LM on onnxruntime-node, exporting it once to
  $ALLMREC_HOME/onnx; --runtime tfjs keeps it on tfjs (also the fallback when onnxruntime cannot load).

${DATA_OPTIONS_HELP}`;

export const EVAL_OPTIONS = {
  ...DATA_OPTIONS,
  model: { type: 'string' as const },
  seed: { type: 'string' as const },
  'max-users': { type: 'string' as const },
  'no-generate': { type: 'boolean' as const, default: false },
  offline: { type: 'boolean' as const, default: false },
  ...RUNTIME_OPTION,
};

const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, EVAL_OPTIONS);
  if (values.help) { process.stdout.write(EVAL_HELP + '\n'); return 0; }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.model) throw new UsageError('eval needs --model DIR (written by allmrec train)');
  const maxUsers = intOption(values, 'max-users');
  if (maxUsers !== undefined && maxUsers < 1) throw new UsageError('--max-users must be at least 1');
  const out = makeOutput(values);
  const env = await environmentInfo(values.backend as string | undefined);
  const { seed: _s, 'max-users': _m, model: _d, runtime: _r, ...dataValues } = values;
  const run = await loadStage2Run(values.model as string, dataValues, { offline: values.offline ? true : undefined });
  const rt = await inferenceRuntime(run.lmInfo.dir, values.runtime as string);
  if (rt.fallback) out.log(rt.fallback);
  try {
    const seed = intOption(values, 'seed', run.meta.train.seed ?? 1)!;
    const t0 = performance.now();
    const set = stage2EvalSet(run.split, run.s2.config.numCandidates, seed, maxUsers);
    const cf = evaluateBackboneOnSet(run.align.backbone, set);
    const s2 = await run.s2.evaluateSet(set, { generate: !values['no-generate'], onProgress: out.progress, inference: rt.lm });
    const seconds = (performance.now() - t0) / 1000;
    const result = {
      ...env,
      dataset: run.dataset.name, protocol: set.protocol, seed, users: set.users.length, candidates: run.s2.config.numCandidates,
      history: run.s2.config.historyLength,
      llm: { name: run.lmInfo.name, params: run.lmInfo.params, source: run.lmInfo.source, hidden: run.lmInfo.hidden, layers: run.lmInfo.layers, max_positions: run.lmInfo.maxPositions },
      hit1_generate: r4(s2.hit1_generate), valid_output_rate: r4(s2.valid_output_rate),
      hit1_rank: r4(s2.hit1_rank), hit5_rank: r4(s2.hit5_rank), ndcg5_rank: r4(s2.ndcg5_rank), ndcg10_rank: r4(s2.ndcg10_rank),
      sasrec_hit1: r4(cf.hit1), sasrec_hit5: r4(cf.hit5), sasrec_ndcg10: r4(cf.ndcg10),
      backbone: run.meta.train.backbone ?? 'sasrec',
      runtime: rt.name, seconds: Math.round(seconds * 100) / 100,
      users_per_s: Math.round((set.users.length / seconds) * 100) / 100,
    };
    out.result(result, () => process.stdout.write(table([
      ['Stage 2, generation: Hit@1', result.hit1_generate ?? 'n/a'],
      ['Stage 2, generation: answers naming a candidate', result.valid_output_rate ?? 'n/a'],
      ['Stage 2, likelihood ranking: Hit@1', result.hit1_rank ?? 'n/a'],
      ['Stage 2, likelihood ranking: Hit@5 / NDCG@10', `${result.hit5_rank} / ${result.ndcg10_rank}`],
      [`${result.backbone} alone: Hit@1`, result.sasrec_hit1 ?? 'n/a'],
      ['test users', result.users],
      ['LM', `${result.llm.name}, ${result.llm.params.toLocaleString('en-US')} parameters`],
      ['seconds (LM on ' + result.runtime + ')', result.seconds],
    ], [`A-LLMRec on ${run.dataset.name}, ${result.candidates} candidates`, 'value']) + '\n'));
  } finally {
    await rt.dispose();
    run.dispose();
  }
  return 0;
}
