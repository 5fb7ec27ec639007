export type {
  CausalLM, CausalLMConfig, SlotInterface, LMTokenizer, KVCache, ForwardOptions, ForwardResult,
} from './causal-lm';
export { generate, generateText, applyRepetitionPenalty, type GenerateOptions, type GeneratedText } from './generate';
export { scoreContinuations, type ScoreOptions } from './score';
export { causalLMLoss, IGNORE_INDEX, type LossOptions } from './loss';
export {
  loadCausalLM, loadCausalLMSync, readDecoderCheckpoint, writeHFCheckpoint,
  type LoadCausalLMOptions, type LMRuntime, type DecoderCheckpoint, type HFCheckpoint,
} from './checkpoint';
export { SUPPORTED_MODEL_TYPES, decoderArch } from './decoder/registry';
export type { DecoderArch, DecoderData, RopeSpec, BlockLayout, Activation } from './decoder/arch';
export { TransformerLM } from './transformer';
export { OnnxCausalLM, type OnnxCausalLMOptions, type OnnxLoadInfo } from './onnx/onnx-lm';
export { exportDecoderToOnnx, ONNX_IO, ONNX_EXPORT_VERSION, type OnnxExportOptions } from './onnx/export';
export { resolveCheckpoint, hubCacheDir, type ResolveOptions } from './hub';
export {
  HFTokenizer, loadTokenizer, gpt2Tokenizer, gpt2TokenizerJson, gpt2TokenizerConfig, GPT2_EOS, type TokenizerDefaults,
} from './tokenizer';
export {
  TEMPLATES, templateFor, renderPrompt, renderTarget, matchesTitle, extractAnswer, namedCandidate, SLOT_MARKERS,
  type PromptTemplate, type PromptSlot, type SlotKind, type RenderedPrompt, type PromptTokenizer, type PromptItem,
} from './prompt';
export {
  Stage2Model, STAGE2_DEFAULTS, STAGE2_KIND,
  type Stage2Sources, type Stage2Config, type Stage2Example, type Stage2Inputs, type Stage2FitOptions, type Stage2FitResult,
  type Stage2EpochStats, type Stage2EvalOptions, type Stage2EvalResult, type Stage2Recommendation,
} from './stage2';
export { type WarmStartResult } from './stage2-warm-start';
