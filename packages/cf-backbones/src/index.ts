import { SASRec } from './sasrec';
import { BPR } from './bpr';
import { Pop } from './pop';
import { LightGCN } from './lightgcn';
import { NCF } from './ncf';
import { registerBackbone } from './registry';

export type { CFBackbone, FitOptions, FitResult, EpochStats, EarlyStopping, BackboneFactory, BackboneLoader } from './backbone';
export { registerBackbone, createBackbone, loadBackbone, listBackbones } from './registry';
export { SASRec, SASREC_DEFAULTS, type SASRecConfig } from './sasrec';
export { Pop, POP_DEFAULTS, type PopConfig } from './pop';
export { BPR, BPR_DEFAULTS, type BPRConfig } from './bpr';
export { LightGCN, LIGHTGCN_DEFAULTS, type LightGCNConfig } from './lightgcn';
export { NCF, NCF_DEFAULTS, type NCFConfig } from './ncf';
export { SequenceSampler, padHistory, drawNegative, type SequenceBatch } from './sampler';
export { PairSampler, type PairBatch } from './pair-sampler';
export {
  runBackboneConformance, defineBackboneConformanceTests, conformanceFixture, CHECK_NAMES,
  type ConformanceOptions, type ConformanceCheck,
} from './conformance';

registerBackbone('sasrec', {
  create: (numItems, config) => new SASRec(numItems, config),
  load: (dir) => SASRec.load(dir),
  description: 'Self-attentive sequential recommendation (Kang & McAuley 2018), the A-LLMRec default',
});
registerBackbone('pop', {
  create: (numItems, config) => new Pop(numItems, config),
  load: (dir) => Pop.load(dir),
  description: 'Training popularity (item interaction counts), the non-personalised baseline',
});
registerBackbone('bpr', {
  create: (numItems, config) => new BPR(numItems, config),
  load: (dir) => BPR.load(dir),
  description: 'Matrix factorisation trained with the BPR pairwise loss (Rendle et al. 2009), order-free',
});
registerBackbone('lightgcn', {
  create: (numItems, config) => new LightGCN(numItems, config),
  load: (dir) => LightGCN.load(dir),
  description: 'Embeddings propagated over the user-item graph, trained with BPR (He et al. 2020), order-free',
});
registerBackbone('ncf', {
  create: (numItems, config) => new NCF(numItems, config),
  load: (dir) => NCF.load(dir),
  description: 'NeuMF: GMF and an MLP over user and item embeddings, trained with BCE (He et al. 2017), order-free',
});
export { fitWithAdam, ParamSet, saveParams, loadParams, type TrainingSpec, type ExtraTensor } from './trainer';
export { dotScores, fullDotScores, transposedTable, checkItemIds, checkHistories, gatherRows } from './scoring';
