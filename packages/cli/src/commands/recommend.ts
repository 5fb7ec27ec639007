import { DATA_OPTIONS, intOption, parse, UsageError, DATA_OPTIONS_HELP } from '../args';
import { makeOutput } from '../output';
import { RUNTIME_OPTION, drawItems, inferenceRuntime, loadStage2Run, userEvalEntry } from '../stage2-pipeline';

export const RECOMMEND_HELP = `allmrec recommend --model DIR (--user KEY | --history ID,ID,...) [--data PATH --format FORMAT] [--seed S] [--json]
  One recommendation from a directory written by "allmrec train": the LM's generated answer, the
  candidate it names, and the candidates ranked by the log-probability of their quoted title.
    --user KEY        a user of the dataset (its original key, or its internal number): history =
                      training items + validation item, candidates = the test item + 19 items the
                      user never interacted with, drawn with --seed exactly as "allmrec eval" does
    --history IDS     item ids (1..items, oldest first, as in the dataset's item order): candidates
                      = a --seed draw of 20 items not in the history (no target)
  The candidate count is the model's (--candidates at training, 20 by default).
  --runtime onnx (default) or tfjs: where the frozen LM runs (as in "allmrec eval").

${DATA_OPTIONS_HELP}`;

export const RECOMMEND_OPTIONS = {
  ...DATA_OPTIONS,
  model: { type: 'string' as const },
  user: { type: 'string' as const },
  history: { type: 'string' as const },
  seed: { type: 'string' as const },
  offline: { type: 'boolean' as const, default: false },
  ...RUNTIME_OPTION,
};

export async function recommendCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, RECOMMEND_OPTIONS);
  if (values.help) { process.stdout.write(RECOMMEND_HELP + '\n'); return 0; }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.model) throw new UsageError('recommend needs --model DIR (written by allmrec train)');
  if ((values.user === undefined) === (values.history === undefined)) throw new UsageError('recommend needs exactly one of --user KEY and --history ID,ID,...');
  let historyIds: number[] | undefined;
  if (values.history !== undefined) {
    historyIds = String(values.history).split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--history: "${s}" is not an item id (a positive integer)`);
      return n;
    });
    if (historyIds.length === 0) throw new UsageError('--history needs at least one item id');
  }
  const out = makeOutput(values);
  const { seed: _s, model: _m, user: _u, history: _h, runtime: _r, ...dataValues } = values;
  const run = await loadStage2Run(values.model as string, dataValues, { offline: values.offline ? true : undefined });
  const rt = await inferenceRuntime(run.lmInfo.dir, values.runtime as string);
  if (rt.fallback) out.log(rt.fallback);
  try {
    const { dataset, split, s2 } = run;
    const seed = intOption(values, 'seed', run.meta.train.seed ?? 1)!;
    const C = s2.config.numCandidates;
    const title = (i: number) => s2.sources.titles[i];
    const describe = (i: number) => ({ item: i, key: dataset.itemKeys[i], title: title(i) });
    let history: Int32Array;
    let candidates: Int32Array;
    let target: number | undefined;
    let userKey: string | undefined;
    if (historyIds) {
      const bad = historyIds.find((i) => i > dataset.numItems);
      if (bad !== undefined) throw new UsageError(`--history: item ${bad} is out of range (the dataset has items 1..${dataset.numItems})`);
      history = Int32Array.from(historyIds);
      candidates = drawItems(dataset.numItems, new Set(historyIds), C, seed);
    } else {
      const key = String(values.user);
      let u = dataset.userKeys.indexOf(key);
      if (u < 1 && /^\d+$/.test(key) && Number(key) >= 1 && Number(key) <= dataset.numUsers) u = Number(key);
      if (u < 1) throw new UsageError(`--user ${key}: no such user in ${dataset.name} (keys look like "${dataset.userKeys[1]}")`);
      const e = userEvalEntry(split, u, C, seed);
      if (!e) throw new UsageError(`--user ${key} has fewer than 3 interactions, so no test item; use --history`);
      ({ history, candidates, target } = e);
      userKey = dataset.userKeys[u];
    }
    const r = await s2.recommend(history, candidates, rt.lm);
    const shown = Array.from(history.subarray(Math.max(0, history.length - s2.config.historyLength)));
    const result = {
      dataset: dataset.name, seed, user: userKey ?? null,
      history: shown.map(describe),
      target: target !== undefined ? describe(target) : null,
      text: r.text,
      chosen: r.chosen >= 0 ? describe(r.chosen) : null,
      ranked: r.ranked.map((x, k) => ({ rank: k + 1, ...describe(x.item), logProb: Math.round(x.logProb * 1e4) / 1e4, ...(target !== undefined ? { target: x.item === target } : {}) })),
    };
    out.result(result, () => {
      const p = (s: string) => process.stdout.write(s + '\n');
      p(`${userKey ? `user ${userKey}, ` : ''}last ${shown.length} items: ${shown.map((i) => `"${title(i)}"`).join(', ')}`);
      p(`generated: ${JSON.stringify(r.text)}`);
      p(`chosen: ${r.chosen >= 0 ? `"${title(r.chosen)}"` : '(no candidate named)'}`);
      if (target !== undefined) p(`held-out next item: "${title(target)}"`);
      p(`${C} candidates by likelihood:`);
      result.ranked.forEach((x) => p(`  ${String(x.rank).padStart(2)}. ${x.title}  (${x.logProb.toFixed(2)})${'target' in x && x.target ? '   <- the held-out item' : ''}`));
    });
  } finally {
    await rt.dispose();
    run.dispose();
  }
  return 0;
}
