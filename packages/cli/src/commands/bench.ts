import { leaveOneOut } from '@allmrec/data';
import { DATA_OPTIONS, intOption, numberOption, parse, UsageError, positiveNumber, DATA_OPTIONS_HELP } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { makeOutput, table } from '../output';
import { environmentInfo, evaluateBackbone, trainBackbone } from '../pipeline';
import { makeEncoder, retrainStage1, spread, trainAlignment } from '../stage1-pipeline';
import { ALIGN_OPTIONS, stage1InitFields, stage1Options, summarize } from './align';
import { BENCH_BACKBONES_HELP, benchBackbones } from './bench-backbones';

export const BENCH_HELP = `allmrec bench <backbones|backbone|align>

${BENCH_BACKBONES_HELP}

allmrec bench backbone [--backbone sasrec] [--data PATH --format FORMAT] [--epochs E] [--seed S] [--json]
  Trains and evaluates a backbone with the reference configuration and reports speed and quality:
  backend, users, items, epochs, steps_per_epoch, ms_per_step (median full training step),
  train_s, test_hit1_20, valid_ndcg10_101, valid_hr10_101.

allmrec bench align [--data PATH --format FORMAT] [--cold-items 0.1] [--encoder use-lite] [--seed S]
                    [--backbone-epochs N] [--backbone-dir DIR] [--epochs 10] [--examples-per-user 1] [--lr 1e-4]
                    [--init pytorch|fitted] [--init-text-ridge 0.1] [--json]
  Stage 0 + Stage 1 with a cold-item hold-out, the no-reconstruction ablation, and cold/warm
  Hit@1 over 20 candidates: encoder, texts_per_s, stage1_init, stage1_s_per_epoch, each loss term,
  latent_std, latent_std_no_recon, cold_hit1_20, cold_hit1_20_backbone, warm_hit1_20.
  --backbone-dir reuses (or saves) the Stage 0 model trained on the warm split of this data,
  seed and --cold-items.

${DATA_OPTIONS_HELP}`;

export async function benchCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'align') return benchAlign(rest);
  if (sub === 'backbones') return benchBackbones(rest);
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

async function benchAlign(argv: string[]): Promise<number> {
  const { values } = parse(argv, ALIGN_OPTIONS);
  if (values.help) { process.stdout.write(BENCH_HELP + '\n'); return 0; }
  const out = makeOutput(values);
  const env = await environmentInfo(values.backend as string | undefined);
  const seed = intOption(values, 'seed', 1)!;
  const coldFraction = numberOption(values, 'cold-items', 0.1)!;
  if (!(coldFraction >= 0 && coldFraction < 1)) throw new UsageError('--cold-items must be in [0, 1)');
  const { dataset, source } = await datasetFromOptions(values);
  const baseSplit = leaveOneOut(dataset);
  // A benchmark measures encoding, so it bypasses the embedding cache.
  const encoder = await makeEncoder(values.encoder as string, { modelDir: values['model-dir'] as string | undefined, cache: false });
  out.log(`bench align on ${dataset.name}: ${dataset.numUsers} users, ${dataset.numItems} items, encoder ${encoder.name}, backend ${env.backend}`);
  const run = await trainAlignment({
    dataset, baseSplit, seed, encoder, coldFraction, backboneName: values.backbone as string,
    backboneEpochs: intOption(values, 'backbone-epochs'), backboneDir: values['backbone-dir'] as string | undefined,
    ...stage1Options(values), progress: out.progress,
  });
  const warmIds = Int32Array.from({ length: dataset.numItems }, (_, i) => i + 1).filter((i) => !run.coldItems.has(i));
  const latent = run.stage1.itemLatent(warmIds);
  const textLatent = run.stage1.textLatent(warmIds);
  const k = run.stage1.config.latentDim;
  const noRecon = await retrainStage1(run, seed, { reconstruction: false, epochs: intOption(values, 'epochs') });
  const r = summarize(run, seed);
  const last = run.fit.epochs[run.fit.epochs.length - 1];
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const result = {
    dataset: dataset.name, source, seed, backend: env.backend, users: dataset.numUsers, items: dataset.numItems,
    cold_items: run.coldItems.size, cold_fraction: coldFraction,
    encoder: run.encoder.id, encoder_dim: run.encoder.dim, texts_per_s: Math.round(run.encoder.textsPerSecond),
    backbone_s: r4(run.backboneSeconds),
    ...stage1InitFields(run),
    stage1_epochs: run.fit.epochs.length,
    stage1_examples: run.fit.trainUsers,
    stage1_steps_per_epoch: run.fit.stepsPerEpoch,
    stage1_s_per_epoch: r4(run.fit.trainSeconds / Math.max(1, run.fit.epochs.length)),
    loss_rec: r4(last.rec), loss_match: r4(last.match), loss_item_recon: r4(last.itemRecon), loss_text_recon: r4(last.textRecon), loss_total: r4(last.total),
    latent_std: r4(spread(latent, k)), latent_std_no_recon: r4(spread(noRecon.itemLatent(warmIds), k)),
    text_latent_std: r4(spread(textLatent, k)), text_latent_std_no_recon: r4(spread(noRecon.textLatent(warmIds), k)),
    ...r,
    node: env.node, cpu: env.cpu,
  };
  noRecon.dispose();
  run.stage1.dispose();
  run.backbone.dispose();
  encoder.dispose();
  out.result(result, () => process.stdout.write(table(Object.entries(result).map(([key, v]) => [key, v as never])) + '\n'));
  return 0;
}
