export {
  hitAtK,
  ndcgAtK,
  reciprocalRank,
  mrr,
  rankOfTarget,
  metricsFromRanks,
  type RankMetrics,
} from './metrics';
export { sampleCandidates, type ItemSet, type SampleCandidatesOptions } from './sampling';
export {
  TEST_20,
  VALID_101,
  interactedItems,
  registerProtocol,
  getProtocol,
  listProtocols,
  type Protocol,
} from './protocols';
export {
  buildEvalSet,
  scoreEvalSet,
  evaluateScores,
  evaluate,
  type Scorer,
  type EvalSet,
  type EvalSetOptions,
  type ScoreOptions,
  type EvaluateOptions,
  type EvalResult,
} from './evaluate';
export {
  coldItemSplit,
  coldUserProtocol,
  TEST_20_COLD,
  TEST_20_WARM,
  TEST_20_COLD_USERS,
  COLD_USER_MAX_TRAIN_ITEMS,
  type ColdItemView,
  type ColdItemSplitOptions,
} from './cold';
export {
  evaluateFullRanking,
  fullRankOfTarget,
  fullRankingMetrics,
  type FullScorer,
  type FullRankingMetrics,
  type FullRankingOptions,
  type FullRankingResult,
} from './full-ranking';
