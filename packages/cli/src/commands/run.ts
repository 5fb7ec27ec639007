import { leaveOneOut } from '@allmrec/data';
import { buildEvalSet, getProtocol } from '@allmrec/eval';
import { DATA_OPTIONS, intOption, parse } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { makeOutput, table } from '../output';
import { environmentInfo, evaluateBackbone, trainBackbone } from '../pipeline';

export const RUN_HELP = `allmrec run [--data PATH --format FORMAT] [--backbone sasrec] [--epochs N] [--seed S] [--json]
  The whole pipeline on a dataset (default: the built-in synthetic catalogue): prepare the data,
  train the CF backbone (Stage 0), evaluate it with the paper's protocol, and show one
  recommendation. Later stages (alignment, LLM) join this command as they land.`;

/** Default epochs of `run` on the built-in synthetic data (enough to converge there in ~1 minute). */
const SYNTHETIC_EPOCHS = 60;

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...DATA_OPTIONS, backbone: { type: 'string', default: 'sasrec' }, epochs: { type: 'string' }, seed: { type: 'string', default: '1' },
  });
  if (values.help) { process.stdout.write(RUN_HELP + '\n'); return 0; }
  const out = makeOutput(values);
  const t0 = performance.now();
  const env = await environmentInfo(values.backend as string | undefined);
  const seed = intOption(values, 'seed', 1)!;
  const { dataset, source } = await datasetFromOptions(values);
  const split = leaveOneOut(dataset);
  const tData = performance.now();
  out.log(`allmrec run: ${dataset.name} (${source}), ${dataset.numUsers} users, ${dataset.numItems} items; backend ${env.backend}`);
  const epochs = intOption(values, 'epochs') ?? (values.data ? undefined : SYNTHETIC_EPOCHS);
  const name = values.backbone as string;
  const { model, fit } = await trainBackbone({ name, dataset, split, seed, epochs, progress: out.progress });
  const tTrain = performance.now();
  const ev = await evaluateBackbone(model, split, seed);
  const tEval = performance.now();

  // One example: the first test user's 20 candidates, ranked by the backbone.
  const set = buildEvalSet(split, getProtocol('test-20'), { seed, maxUsers: 1 });
  const u = set.users[0];
  const cands = set.candidates[0];
  const scores = model.score([set.histories[0]], [cands])[0];
  const order = [...cands.keys()].sort((a, b) => scores[b] - scores[a]);
  const title = (i: number) => dataset.items[i]?.title || `item ${dataset.itemKeys[i]}`;
  const example = {
    user: dataset.userKeys[u],
    history: [...set.histories[0]].slice(-5).map(title),
    ranked: order.slice(0, 5).map((j) => ({ title: title(cands[j]), score: Number(scores[j].toFixed(3)), target: cands[j] === split.test[u] })),
    target: title(split.test[u]),
  };
  model.dispose();
  const result = {
    dataset: dataset.name, source, users: dataset.numUsers, items: dataset.numItems, backend: env.backend, seed,
    seconds: { data: secs(t0, tData), backbone: secs(tData, tTrain), eval: secs(tTrain, tEval), total: secs(t0, tEval) },
    backbone: { name, epochs: fit.epochs, ms_per_step: Number(fit.msPerStep.toFixed(1)) },
    sasrec_hit1: ev.test.hit1, test: ev.test, valid: ev.valid, example,
  };
  out.result(result, () => {
    const p = (s: string) => process.stdout.write(s + '\n');
    p('');
    p(table([
      ['test Hit@1 (1 target + 19 negatives)', ev.test.hit1],
      ['test NDCG@10 (20 candidates)', ev.test.ndcg10],
      ['valid HR@10 (1 + 100 negatives)', ev.valid.hit10],
      ['valid NDCG@10 (101 candidates)', ev.valid.ndcg10],
      ['evaluated users', ev.test.users],
      ['seconds: data / backbone / eval', `${result.seconds.data} / ${result.seconds.backbone} / ${result.seconds.eval}`],
    ], [`${name} on ${dataset.name}`, 'value']));
    p('');
    p(`example, user ${example.user}: recently ${example.history.map((t) => `"${t}"`).join(', ')}`);
    p(`held-out next item: "${example.target}"; top 5 of the 20 candidates:`);
    example.ranked.forEach((r, i) => p(`  ${i + 1}. ${r.title}${r.target ? '   <- the held-out item' : ''}`));
  });
  return 0;
}

function secs(a: number, b: number): number {
  return Number(((b - a) / 1000).toFixed(1));
}
