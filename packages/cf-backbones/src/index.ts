import { SASRec, SASREC_DEFAULTS } from './sasrec';
import { GRU4Rec, GRU4REC_DEFAULTS } from './gru4rec';
import { NextItNet, NEXTITNET_DEFAULTS } from './nextitnet';
import { registerBackbone } from './registry';

export type { CFBackbone, FitOptions, FitResult, EpochStats, EarlyStopping, BackboneFactory, BackboneLoader } from './backbone';
export { registerBackbone, createBackbone, loadBackbone, listBackbones } from './registry';
export { SASRec, SASREC_DEFAULTS, type SASRecConfig } from './sasrec';
export { GRU4Rec, GRU4REC_DEFAULTS, type GRU4RecConfig } from './gru4rec';
export { NextItNet, NEXTITNET_DEFAULTS, type NextItNetConfig } from './nextitnet';
export type { SequentialTrainingConfig } from './sequential';
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
registerBackbone('gru4rec', {
  create: (numItems, config) => new GRU4Rec(numItems, config),
  load: (dir) => GRU4Rec.load(dir),
  description: 'GRU over the item sequence (Hidasi et al. 2016), as RecBole builds it',
  defaults: { ...GRU4REC_DEFAULTS },
});
registerBackbone('nextitnet', {
  create: (numItems, config) => new NextItNet(numItems, config),
  load: (dir) => NextItNet.load(dir),
  description: 'Dilated causal convolutions in residual blocks (Yuan et al. 2019), as RecBole builds it',
  defaults: { ...NEXTITNET_DEFAULTS },
});
export { fitWithAdam, ParamSet, saveParams, loadParams, type TrainingSpec } from './trainer';
export { dotScores, fullDotScores, transposedTable, checkItemIds, checkHistories, gatherRows } from './scoring';
