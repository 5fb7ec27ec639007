// Pretrains the demonstration LM of the built-in run (`allmrec run` without --data: the synthetic
// catalogue, seed 1, the built-in defaults) and writes it, with its record, to
// packages/cli/assets/demo-lm/<key>, where `allmrec run` restores it instead of pretraining.
// Pretraining is deterministic, so this reproduces the shipped files byte for byte (the manifest's
// timestamp aside); packages/cli/src/demo-lm-cache.test.ts checks the shipped entry against the code.
//   npx tsx tools/demo-lm/ship.ts            # (re)build the entry for the current code
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend, sha256File } from '../../packages/core/src/index';
import { pretrainLM } from '../../packages/llm-bridge/src/demo/index';
import { parse } from '../../packages/cli/src/args';
import { SYNTHETIC_RUN_DEFAULTS } from '../../packages/cli/src/commands/run';
import { TRAIN_OPTIONS, demoLMRequest } from '../../packages/cli/src/commands/train';
import { corpusSha256, demoLMFingerprint, pretrainInputs, shippedDemoLMDir, DEMO_LM_CACHE_FORMAT, type DemoLMRecord } from '../../packages/cli/src/demo-lm-cache';
import { datasetFromOptions } from '../../packages/cli/src/dataset-source';
import { demoLMPlan } from '../../packages/cli/src/stage2-pipeline';

/** The built-in run's demonstration LM request, as `allmrec run` makes it. */
export async function builtInDemoLMPlan() {
  const { values } = parse([], TRAIN_OPTIONS);
  for (const [k, v] of Object.entries(SYNTHETIC_RUN_DEFAULTS)) if (values[k] === undefined) values[k] = v;
  const { dataset } = await datasetFromOptions(values);
  return demoLMPlan({ ...demoLMRequest(values, dataset, { seed: 1, history: 10, candidates: 20 }), outDir: '' });
}

async function main() {
  await selectBackend();
  const plan = await builtInDemoLMPlan();
  const key = plan.key!;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-lm-ship-'));
  try {
    const t0 = performance.now();
    const result = await pretrainLM({ ...plan.options, outDir: path.join(tmp, 'lm'), onProgress: (e) => { if (!e.done && e.current % 50 === 0) console.log(`step ${e.current}/${e.total}`); } });
    console.log(`pretrained in ${Math.round((performance.now() - t0) / 1000)} s; model.safetensors ${await sha256File(path.join(tmp, 'lm', 'model.safetensors'))}`);
    const { dir: _dir, ...rest } = result;
    const record: DemoLMRecord = {
      format: DEMO_LM_CACHE_FORMAT, key, corpusSha256: corpusSha256(plan.options.corpus), options: pretrainInputs(plan.options), result: rest,
      fingerprint: await demoLMFingerprint(plan.options),
      extra: { for: 'allmrec run (built-in synthetic data, seed 1, built-in defaults)', command: 'npx tsx tools/demo-lm/ship.ts' },
    };
    const dest = path.join(shippedDemoLMDir(), key);
    fs.rmSync(shippedDemoLMDir(), { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.cpSync(path.join(tmp, 'lm'), dest, { recursive: true });
    fs.writeFileSync(path.join(dest, 'pretrain.json'), JSON.stringify(record, null, 2) + '\n');
    console.log(`wrote ${dest} (key ${key}, fingerprint ${record.fingerprint})`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) main().catch((err) => { console.error(err); process.exit(1); });
