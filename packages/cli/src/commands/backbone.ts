import * as path from 'node:path';
import { loadBackbone, listBackbones } from '@allmrec/cf-backbones';
import { leaveOneOut } from '@allmrec/data';
import { DATA_OPTIONS, intOption, parse, UsageError, DATA_OPTIONS_HELP } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { makeOutput, table } from '../output';
import { environmentInfo, evaluateBackbone, trainBackbone } from '../pipeline';

export const BACKBONE_HELP = `allmrec backbone <train|eval>

  backbone train [--backbone sasrec] [--data PATH --format FORMAT] [--epochs N] [--seed S]
                 --out DIR [--checkpoint-dir DIR]
      Trains a CF backbone (Stage 0) and saves it, frozen, to DIR. With --checkpoint-dir an
      interrupted run resumes where it stopped.
  backbone eval --model DIR [--backbone sasrec] [--data PATH --format FORMAT] [--seed S]
      Test Hit@1 over 20 candidates and validation HR@10 / NDCG@10 over 101.

${DATA_OPTIONS_HELP}

Backbones: ${'${list}'}`;

function help(): string {
  return BACKBONE_HELP.replace('${list}', listBackbones().map((b) => b.name).join(', '));
}

const TRAIN_OPTIONS = {
  ...DATA_OPTIONS,
  backbone: { type: 'string' as const, default: 'sasrec' },
  epochs: { type: 'string' as const },
  seed: { type: 'string' as const, default: '1' },
  out: { type: 'string' as const },
  model: { type: 'string' as const },
  'checkpoint-dir': { type: 'string' as const },
};

export async function backboneCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(help() + '\n');
    return sub ? 0 : 2;
  }
  const { values } = parse(rest, TRAIN_OPTIONS);
  if (values.help) { process.stdout.write(help() + '\n'); return 0; }
  const out = makeOutput(values);
  const env = await environmentInfo(values.backend as string | undefined);
  out.log(`backend: ${env.backend}`);
  const seed = intOption(values, 'seed', 1)!;
  const { dataset } = await datasetFromOptions(values);
  const split = leaveOneOut(dataset);
  const name = values.backbone as string;
  if (sub === 'train') {
    if (!values.out) throw new UsageError('backbone train needs --out DIR');
    const { model, fit } = await trainBackbone({
      name, dataset, split, seed, epochs: intOption(values, 'epochs'),
      checkpointDir: values['checkpoint-dir'] as string | undefined, progress: out.progress,
    });
    await model.save(values.out as string);
    out.result({ backbone: name, out: path.resolve(values.out as string), ...env, ...fit }, () => {
      process.stdout.write(`saved ${name} to ${path.resolve(values.out as string)}\n`);
      process.stdout.write(table([['epochs', fit.epochs], ['ms per step', fit.msPerStep], ['train s', fit.trainSeconds], ['final loss', fit.finalLoss]]) + '\n');
    });
    model.dispose();
    return 0;
  }
  if (sub === 'eval') {
    if (!values.model) throw new UsageError('backbone eval needs --model DIR');
    const model = await loadBackbone(name, values.model as string);
    if (model.numItems !== dataset.numItems) {
      throw new UsageError(`the model knows ${model.numItems} items but the dataset has ${dataset.numItems}: evaluate on the data it was trained on`);
    }
    const r = await evaluateBackbone(model, split, seed, out.progress);
    out.result({ backbone: name, ...env, test_hit1_20: r.test.hit1, valid_ndcg10_101: r.valid.ndcg10, valid_hr10_101: r.valid.hit10, test: r.test, valid: r.valid }, () => {
      process.stdout.write(table([
        ['test Hit@1 (20 candidates)', r.test.hit1], ['test NDCG@10 (20)', r.test.ndcg10],
        ['valid HR@10 (101 candidates)', r.valid.hit10], ['valid NDCG@10 (101)', r.valid.ndcg10], ['users', r.test.users],
      ]) + '\n');
    });
    model.dispose();
    return 0;
  }
  throw new UsageError(`unknown backbone command "${sub}"\n\n${help()}`);
}
