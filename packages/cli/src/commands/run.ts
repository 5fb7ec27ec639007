import { leaveOneOut } from '@allmrec/data';
import { buildEvalSet, getProtocol } from '@allmrec/eval';
import { DATA_OPTIONS, intOption, numberOption, parse, UsageError } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { makeOutput, table } from '../output';
import { environmentInfo } from '../pipeline';
import { makeEncoder, trainAlignment } from '../stage1-pipeline';
import { summarize } from './align';

export const RUN_HELP = `allmrec run [--data PATH --format FORMAT] [--backbone sasrec] [--epochs N] [--cold-items 0.1]
            [--encoder use-lite] [--seed S] [--json]
  The pipeline on a dataset (default: the built-in synthetic catalogue): prepare the data, hold a
  fraction of items out of all training (cold items), train the CF backbone (Stage 0), embed every
  item's text, align them (Stage 1), and evaluate Hit@1 over 20 candidates for test users whose
  next item is warm or cold, next to the backbone alone. Shows one recommendation of a cold item.
  Stage 2 (the LLM) joins this command when it lands.`;

/** Default epochs of `run` on the built-in synthetic data (enough to converge there in ~30 s). */
const SYNTHETIC_EPOCHS = 60;

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...DATA_OPTIONS, backbone: { type: 'string', default: 'sasrec' }, epochs: { type: 'string' }, seed: { type: 'string', default: '1' },
    'cold-items': { type: 'string', default: '0.1' }, encoder: { type: 'string', default: 'use-lite' },
  });
  if (values.help) { process.stdout.write(RUN_HELP + '\n'); return 0; }
  const out = makeOutput(values);
  const t0 = performance.now();
  const env = await environmentInfo(values.backend as string | undefined);
  const seed = intOption(values, 'seed', 1)!;
  const coldFraction = numberOption(values, 'cold-items', 0.1)!;
  if (!(coldFraction > 0 && coldFraction < 1)) throw new UsageError('--cold-items must be in (0, 1)');
  const { dataset, source } = await datasetFromOptions(values);
  const baseSplit = leaveOneOut(dataset);
  out.log(`allmrec run: ${dataset.name} (${source}), ${dataset.numUsers} users, ${dataset.numItems} items; backend ${env.backend}`);
  const epochs = intOption(values, 'epochs') ?? (values.data ? undefined : SYNTHETIC_EPOCHS);
  const encoder = await makeEncoder(values.encoder as string, {});
  const run = await trainAlignment({
    dataset, baseSplit, seed, encoder, coldFraction, backboneName: values.backbone as string, backboneEpochs: epochs, progress: out.progress,
  });

  const r = summarize(run, seed);

  // One example: the first test user whose held-out next item is cold, ranked through its text.
  const title = (i: number) => dataset.items[i]?.title || `item ${dataset.itemKeys[i]}`;
  const cold = buildEvalSet(run.split, getProtocol('test-20-cold'), { seed, maxUsers: 1 });
  let example: Record<string, unknown> | undefined;
  if (cold.users.length) {
    const u = cold.users[0];
    const cands = cold.candidates[0];
    const xu = run.backbone.userRepresentations([cold.histories[0]]);
    const text = run.stage1.scoreCandidates(xu, [cands], { via: 'text' })[0];
    const order = [...cands.keys()].sort((a, b) => text[b] - text[a]);
    example = {
      user: dataset.userKeys[u],
      history: [...cold.histories[0]].slice(-5).map(title),
      target: title(baseSplit.test[u]),
      ranked: order.slice(0, 5).map((j) => ({ title: title(cands[j]), target: cands[j] === baseSplit.test[u], cold: run.coldItems.has(cands[j]) })),
    };
  }
  const tEnd = performance.now();
  const secs = (a: number, b: number) => Number(((b - a) / 1000).toFixed(1));
  const result = {
    dataset: dataset.name, source, users: dataset.numUsers, items: dataset.numItems, cold_items: run.coldItems.size, backend: env.backend, seed,
    seconds: { backbone: Number(run.backboneSeconds.toFixed(1)), encode: Number(run.encoder.seconds.toFixed(1)), stage1: Number(run.fit.trainSeconds.toFixed(1)), total: secs(t0, tEnd) },
    encoder: run.encoder.id, sasrec_hit1: r.warm_hit1_20_backbone, ...r, example,
  };
  run.stage1.dispose();
  run.backbone.dispose();
  encoder.dispose();
  out.result(result, () => {
    const p = (s: string) => process.stdout.write(s + '\n');
    p('');
    p(table([
      ['warm next item: backbone alone', r.warm_hit1_20_backbone ?? 'n/a'],
      ['warm next item: Stage 1 joint embeddings', r.warm_hit1_20 ?? 'n/a'],
      ['cold next item: backbone alone (never trained on it)', r.cold_hit1_20_backbone ?? 'n/a'],
      ['cold next item: Stage 1 through its text', r.cold_hit1_20 ?? 'n/a'],
      ['test users, warm / cold next item', `${r.warm_users} / ${r.cold_users}`],
      ['seconds: backbone / text / Stage 1 / total', `${result.seconds.backbone} / ${result.seconds.encode} / ${result.seconds.stage1} / ${result.seconds.total}`],
    ], [`Hit@1 over 20 candidates, ${dataset.name}`, 'value']));
    if (example) {
      p('');
      p(`example, user ${example.user}: recently ${(example.history as string[]).map((t) => `"${t}"`).join(', ')}`);
      p(`held-out next item: "${example.target}" (a cold item: no model saw it in training); top 5 of 20 by its text:`);
      (example.ranked as { title: string; target: boolean; cold: boolean }[]).forEach((x, i) => p(`  ${i + 1}. ${x.title}${x.target ? '   <- the held-out item' : ''}`));
    }
  });
  return 0;
}
