import { leaveOneOut } from '@allmrec/data';
import { DATA_OPTIONS, intOption, parse, UsageError } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { makeOutput, table } from '../output';
import { environmentInfo, evaluateBackbone, trainBackbone } from '../pipeline';

export const BENCH_HELP = `allmrec bench backbone [--backbone sasrec] [--data PATH --format FORMAT] [--epochs E] [--seed S] [--json]
  Trains and evaluates a backbone with the reference configuration and reports speed and quality:
  backend, users, items, epochs, steps_per_epoch, ms_per_step (median full training step),
  train_s, test_hit1_20, valid_ndcg10_101, valid_hr10_101.`;

export async function benchCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'backbone') {
    process.stdout.write(BENCH_HELP + '\n');
    return sub === '--help' || sub === '-h' ? 0 : 2;
  }
  const { values } = parse(rest, {
    ...DATA_OPTIONS, backbone: { type: 'string', default: 'sasrec' }, epochs: { type: 'string' }, seed: { type: 'string', default: '1' },
  });
  if (values.help) { process.stdout.write(BENCH_HELP + '\n'); return 0; }
  const out = makeOutput(values);
  const env = await environmentInfo(values.backend as string | undefined);
  const seed = intOption(values, 'seed', 1)!;
  const epochs = intOption(values, 'epochs');
  if (epochs !== undefined && epochs < 1) throw new UsageError('--epochs must be at least 1');
  const t0 = performance.now();
  const { dataset, source } = await datasetFromOptions(values);
  const loadS = (performance.now() - t0) / 1000;
  const split = leaveOneOut(dataset);
  const name = values.backbone as string;
  out.log(`bench ${name} on ${dataset.name}: ${dataset.numUsers} users, ${dataset.numItems} items, backend ${env.backend}`);
  const { model, fit } = await trainBackbone({ name, dataset, split, seed, epochs, progress: out.progress });
  const e0 = performance.now();
  const ev = await evaluateBackbone(model, split, seed);
  const evalS = (performance.now() - e0) / 1000;
  model.dispose();
  let interactions = 0;
  for (const s of dataset.sequences) interactions += s.length;
  const result = {
    backbone: name,
    dataset: dataset.name,
    source,
    seed,
    backend: env.backend,
    users: dataset.numUsers,
    items: dataset.numItems,
    interactions,
    epochs: fit.epochs,
    steps_per_epoch: fit.stepsPerEpoch,
    ms_per_step: round(fit.msPerStep, 2),
    train_s: round(fit.trainSeconds, 2),
    load_s: round(loadS, 2),
    eval_s: round(evalS, 2),
    final_loss: round(fit.finalLoss, 4),
    test_hit1_20: round(ev.test.hit1, 4),
    test_ndcg10_20: round(ev.test.ndcg10, 4),
    test_users: ev.test.users,
    valid_ndcg10_101: round(ev.valid.ndcg10, 4),
    valid_hr10_101: round(ev.valid.hit10, 4),
    valid_users: ev.valid.users,
    node: env.node,
    cpu: env.cpu,
    cores: env.cores,
  };
  out.result(result, () => process.stdout.write(table(Object.entries(result).map(([k, v]) => [k, v as never])) + '\n'));
  return 0;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
