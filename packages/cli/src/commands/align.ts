import { leaveOneOut } from '@allmrec/data';
import { DATA_OPTIONS, choiceOption, intOption, numberOption, parse, UsageError, positiveNumber, DATA_OPTIONS_HELP } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { makeOutput, table } from '../output';
import { environmentInfo } from '../pipeline';
import { evaluateAlignment, loadAlignRun, makeEncoder, saveAlignRun, trainAlignment, type AlignRun } from '../stage1-pipeline';

export const ALIGN_HELP = `allmrec align <train|eval>

  align train [--data PATH --format FORMAT] [--encoder use-lite] [--cold-items 0.1] [--seed S]
              [--backbone sasrec] [--backbone-epochs N] [--epochs 10] [--examples-per-user 1] [--lr 1e-4]
              [--init pytorch|fitted] [--init-text-ridge 0.1] --out DIR
      Stage 0 (unless DIR/backbone exists) and Stage 1: the item and text autoencoders aligned on
      the frozen backbone and the frozen text encoder. --cold-items holds that fraction of items
      out of all training. --examples-per-user K trains on the last K (prefix, next item) pairs of
      each user (1 = the reference; 0 = all, for small datasets). --lr is Stage 1's Adam learning rate.
      --init fitted (default) starts dec_I as the least-squares inverse of enc_I on the training
      items, scaled to minimise L_rec + 0.5 L_item_recon along it (the warm scores start ranked as
      the backbone's), and enc_T as a ridge regression (--init-text-ridge) of enc_I's
      pre-activations on the text embeddings; --init pytorch is nn.Linear's default (the paper's). Saves backbone, Stage 1, text embeddings and the cold items under DIR.
  align eval --model DIR [--data PATH --format FORMAT]
      Hit@1 over 20 candidates for test users whose target is cold (text path) and warm (joint
      embeddings), next to the backbone's own.

${DATA_OPTIONS_HELP}`;

export const ALIGN_OPTIONS = {
  ...DATA_OPTIONS,
  encoder: { type: 'string' as const, default: 'use-lite' },
  'model-dir': { type: 'string' as const },
  'cold-items': { type: 'string' as const, default: '0.1' },
  seed: { type: 'string' as const, default: '1' },
  backbone: { type: 'string' as const, default: 'sasrec' },
  'backbone-epochs': { type: 'string' as const },
  'backbone-dir': { type: 'string' as const },
  epochs: { type: 'string' as const },
  'examples-per-user': { type: 'string' as const },
  lr: { type: 'string' as const },
  init: { type: 'string' as const },
  'init-text-ridge': { type: 'string' as const },
  out: { type: 'string' as const },
  model: { type: 'string' as const },
  'no-cache': { type: 'boolean' as const, default: false },
};

export function alignResultRows(r: ReturnType<typeof summarize>): (string | number)[][] {
  return [
    ['cold items: Hit@1 via text, dec_I(enc_T(Q_i))', r.cold_hit1_20 ?? 'n/a'],
    ['cold items: Hit@1, backbone (untrained embeddings)', r.cold_hit1_20_backbone ?? 'n/a'],
    ['warm items: Hit@1 via joint embeddings', r.warm_hit1_20 ?? 'n/a'],
    ['warm items: Hit@1, backbone', r.warm_hit1_20_backbone ?? 'n/a'],
    ['test users with a cold / warm target', `${r.cold_users} / ${r.warm_users}`],
  ];
}

/** Stage 1 options shared by \`align train\` and \`bench align\`. */
export function stage1Options(values: Record<string, unknown>) {
  return {
    stage1Epochs: intOption(values, 'epochs'), examplesPerUser: intOption(values, 'examples-per-user'), stage1Lr: positiveNumber(values, 'lr'),
    stage1Init: values.init === undefined ? undefined : choiceOption(values, 'init', ['pytorch', 'fitted'] as const),
    stage1InitTextRidge: positiveNumber(values, 'init-text-ridge'),
  };
}

/** How Stage 1 started, as \`align train\` and \`bench align\` report it. */
export function stage1InitFields(run: AlignRun) {
  const { init, initTextRidge } = run.stage1.config;
  const scale = run.fit.initDecoderScale;
  return {
    stage1_init: init,
    ...(init === 'fitted' ? { stage1_init_text_ridge: initTextRidge, stage1_init_decoder_scale: scale === undefined ? null : Math.round(scale * 1e4) / 1e4 } : {}),
  };
}

export function summarize(run: AlignRun, seed: number) {
  const ev = evaluateAlignment(run, seed);
  const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);
  return {
    cold_hit1_20: r4(ev.coldHit1), cold_hit1_20_backbone: r4(ev.coldHit1Backbone),
    warm_hit1_20: r4(ev.warmHit1), warm_hit1_20_backbone: r4(ev.warmHit1Backbone),
    cold_users: ev.coldUsers, warm_users: ev.warmUsers,
  };
}

export async function alignCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(ALIGN_HELP + '\n');
    return sub ? 0 : 2;
  }
  const { values } = parse(rest, ALIGN_OPTIONS);
  if (values.help) { process.stdout.write(ALIGN_HELP + '\n'); return 0; }
  const out = makeOutput(values);
  const env = await environmentInfo(values.backend as string | undefined);
  const seed = intOption(values, 'seed', 1)!;
  const { dataset } = await datasetFromOptions(values);
  const baseSplit = leaveOneOut(dataset);
  if (sub === 'train') {
    if (!values.out) throw new UsageError('align train needs --out DIR');
    const coldFraction = numberOption(values, 'cold-items', 0.1)!;
    if (!(coldFraction >= 0 && coldFraction < 1)) throw new UsageError('--cold-items must be in [0, 1)');
    const encoder = await makeEncoder(values.encoder as string, { modelDir: values['model-dir'] as string | undefined, cache: !values['no-cache'] });
    const run = await trainAlignment({
      dataset, baseSplit, seed, encoder, coldFraction, backboneName: values.backbone as string,
      backboneEpochs: intOption(values, 'backbone-epochs'), backboneDir: `${values.out}/backbone`,
      ...stage1Options(values), progress: out.progress,
    });
    await saveAlignRun(values.out as string, run, { seed, coldFraction, dataset: dataset.name, fit: run.fit });
    const r = summarize(run, seed);
    const last = run.fit.epochs[run.fit.epochs.length - 1];
    out.result({ ...env, out: values.out, encoder: run.encoder, ...stage1InitFields(run), losses: last, ...r }, () => {
      process.stdout.write(table(alignResultRows(r), ['Stage 1 on ' + dataset.name, 'value']) + '\n');
    });
    return 0;
  }
  if (sub === 'eval') {
    if (!values.model) throw new UsageError('align eval needs --model DIR (written by align train)');
    const run = await loadAlignRun(values.model as string, baseSplit, values.backbone as string);
    const r = summarize(run, seed);
    out.result({ ...env, ...r }, () => process.stdout.write(table(alignResultRows(r), ['Stage 1 on ' + dataset.name, 'value']) + '\n'));
    return 0;
  }
  throw new UsageError(`unknown align command "${sub}"\n\n${ALIGN_HELP}`);
}
