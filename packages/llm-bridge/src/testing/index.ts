/**
 * `@allmrec/llm-bridge/testing`: what a third party needs to hold its own {@link CausalLM} to the
 * package's contract (the conformance suite), and small random checkpoints for tests.
 */
export {
  runCausalLMConformance, defineCausalLMConformanceTests, CAUSAL_LM_CHECKS,
  type CausalLMConformanceOptions, type ConformanceCheck, type TokenPathReference,
} from './conformance';
export {
  tinyCheckpoint, writeTinyCheckpoint, tinyTokenizerJson, tinyTokenizerConfig, TINY_SPECIAL, TINY_VOCAB_MIN,
  type TinyCheckpointSpec,
} from './tiny';
export type { CausalLM } from '../causal-lm';
