/**
 * A-LLMRec as a stage of the cross-backbone benchmark: Stage 1 and Stage 2 on each backbone the
 * benchmark trained, evaluated exactly as `allmrec run` evaluates (the paper's test protocol:
 * the same users and 20 candidates for Stage 2 and for the backbone alone).
 */
import type { InteractionDataset } from '@allmrec/core';
import type { BenchStage } from '@allmrec/bench';
import { SYNTHETIC_RUN_DEFAULTS } from './commands/run';
import { trainStages } from './commands/train';
import type { Output } from './output';
import { evaluateBackboneOnSet, hasBackbone, inferenceRuntime, lmCheckpointDir, paths, stage2EvalSet } from './stage2-pipeline';

/**
 * The `allmrec` stage: writes the benchmark's trained backbone where `allmrec train` looks for
 * Stage 0 (so it is reused, not retrained), trains Stage 1, the LM (the demonstration LM unless
 * `--llm`) and Stage 2 into the cell's directory, and returns Stage 2's Hit@1 (generation and
 * likelihood ranking), the share of answers naming a candidate and the backbone's own Hit@1 on
 * the same users and candidates. The demonstration LM uses the built-in run's sizes
 * (SYNTHETIC_RUN_DEFAULTS) unless the options say otherwise; it is pretrained once per dataset
 * (cached by its inputs) and shared by every backbone.
 */
export function allmrecStage(values: Record<string, unknown>, dataset: InteractionDataset, out: Output): BenchStage {
  return {
    name: 'allmrec',
    async run({ backbone, backboneName, seed, cellDir }) {
      if (!hasBackbone(cellDir)) await backbone.save(paths(cellDir).backbone);
      const v: Record<string, unknown> = { ...values, out: cellDir, backbone: backboneName, seed: String(seed) };
      for (const [k, d] of Object.entries(SYNTHETIC_RUN_DEFAULTS)) if (v[k] === undefined && k !== 'backbone-epochs') v[k] = d;
      const r = await trainStages(v, out);
      try {
        if (r.dataset.numItems !== dataset.numItems) throw new Error(`allmrec stage: ${cellDir} trained on another dataset`);
        const lmDir = await lmCheckpointDir(r.dir, r.meta, {});
        const rt = await inferenceRuntime(lmDir, 'onnx');
        try {
          const set = stage2EvalSet(r.split, r.s2.config.numCandidates, r.seed);
          const cf = evaluateBackboneOnSet(r.align.backbone, set);
          const m = await r.s2.evaluateSet(set, { generate: true, onProgress: out.progress, inference: rt.lm });
          return {
            hit1_generate: m.hit1_generate, hit1_rank: m.hit1_rank, valid_output_rate: m.valid_output_rate,
            backbone_hit1: cf.hit1, eval_users: set.users.length, lm: String((r.summary.llm as { name?: string } | undefined)?.name ?? 'unknown'),
          };
        } finally {
          await rt.dispose();
        }
      } finally {
        r.dispose();
      }
    },
  };
}
