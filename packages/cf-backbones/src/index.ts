import { SASRec, SASREC_DEFAULTS } from './sasrec';
import { registerBackbone } from './registry';

export type { CFBackbone, FitOptions, FitResult, EpochStats, EarlyStopping, BackboneFactory, BackboneLoader } from './backbone';
export { registerBackbone, createBackbone, loadBackbone, listBackbones } from './registry';
export { SASRec, SASREC_DEFAULTS, type SASRecConfig } from './sasrec';
export { SequenceSampler, padHistory, type SequenceBatch } from './sampler';
export {
  runBackboneConformance, defineBackboneConformanceTests, conformanceFixture, CHECK_NAMES,
  type ConformanceOptions, type ConformanceCheck,
} from './conformance';

registerBackbone('sasrec', {
  create: (numItems, config) => new SASRec(numItems, config),
  load: (dir) => SASRec.load(dir),
  description: 'Self-attentive sequential recommendation (Kang & McAuley 2018), the A-LLMRec default',
  defaults: { ...SASREC_DEFAULTS },
});
export { fitWithAdam, ParamSet, saveParams, loadParams, type TrainingSpec } from './trainer';
export { dotScores, fullDotScores, transposedTable, checkItemIds, checkHistories, gatherRows } from './scoring';
