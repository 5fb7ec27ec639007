import { SASRec, SASREC_DEFAULTS } from './sasrec';
import { GRU4Rec, GRU4REC_DEFAULTS } from './gru4rec';
import { NextItNet, NEXTITNET_DEFAULTS } from './nextitnet';
import { BPR, BPR_DEFAULTS } from './bpr';
import { Pop, POP_DEFAULTS } from './pop';
import { LightGCN, LIGHTGCN_DEFAULTS } from './lightgcn';
import { NCF, NCF_DEFAULTS } from './ncf';
import { registerBackbone } from './registry';

export type { CFBackbone, FitOptions, FitResult, EpochStats, EarlyStopping, BackboneFactory, BackboneLoader } from './backbone';
export { registerBackbone, createBackbone, loadBackbone, listBackbones } from './registry';
export { SASRec, SASREC_DEFAULTS, type SASRecConfig } from './sasrec';
export { GRU4Rec, GRU4REC_DEFAULTS, type GRU4RecConfig } from './gru4rec';
export { NextItNet, NEXTITNET_DEFAULTS, type NextItNetConfig } from './nextitnet';
export type { SequentialTrainingConfig } from './sequential';
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
export { fitWithAdam, ParamSet, saveParams, loadParams, type TrainingSpec, type ExtraTensor } from './trainer';
export { dotScores, fullDotScores, transposedTable, checkItemIds, checkHistories, gatherRows } from './scoring';

/** Built-in backbones, registered by name; each entry's `defaults` is its documented config. */
const BUILT_IN = [
  ['sasrec', SASRec, SASREC_DEFAULTS, 'Self-attentive sequential recommendation (Kang & McAuley 2018), the A-LLMRec default'],
  ['gru4rec', GRU4Rec, GRU4REC_DEFAULTS, 'GRU over the item sequence (Hidasi et al. 2016), as RecBole builds it'],
  ['nextitnet', NextItNet, NEXTITNET_DEFAULTS, 'Dilated causal convolutions in residual blocks (Yuan et al. 2019), as RecBole builds it'],
  ['pop', Pop, POP_DEFAULTS, 'Training popularity (item interaction counts), the non-personalised baseline'],
  ['bpr', BPR, BPR_DEFAULTS, 'Matrix factorisation trained with the BPR pairwise loss (Rendle et al. 2009), order-free'],
  ['lightgcn', LightGCN, LIGHTGCN_DEFAULTS, 'Embeddings propagated over the user-item graph, trained with BPR (He et al. 2020), order-free'],
  ['ncf', NCF, NCF_DEFAULTS, 'NeuMF: GMF and an MLP over user and item embeddings, trained with BCE (He et al. 2017), order-free'],
] as const;

for (const [name, Model, defaults, description] of BUILT_IN) {
  registerBackbone(name, {
    create: (numItems, config) => new (Model as new (n: number, c?: Record<string, unknown>) => import('./backbone').CFBackbone)(numItems, config),
    load: (dir) => (Model as unknown as { load(dir: string): Promise<import('./backbone').CFBackbone> }).load(dir),
    description,
    defaults: { ...(defaults as object) } as Record<string, unknown>,
  });
}
