export {
  disposePastKeyValues,
  type CausalLM, type CausalLMConfig, type SlotInterface, type LMFamily, type LMTokenizer, type PastKeyValues,
  type ForwardOptions, type ForwardResult, type LossOptions, type GenerateOptions,
} from './causal-lm';
export { TransformerLM, type DecoderWeights, type BlockWeights } from './transformer';
export type { Linear, Norm, Activation } from './layers';
export {
  loadCausalLM, loadCausalLMSync, saveCausalLM, writeHFCheckpoint, readCheckpointConfig, readCheckpointTensors,
  type HFCheckpoint,
} from './checkpoint';
export { resolveCheckpoint, hubCacheDir, type ResolveOptions } from './hub';
export {
  HFTokenizer, loadTokenizer, gpt2Tokenizer, gpt2TokenizerJson, gpt2TokenizerConfig, GPT2_EOS, type TokenizerDefaults,
} from './tokenizer';
export {
  tinyCheckpoint, writeTinyCheckpoint, tinyTokenizerJson, tinyTokenizerConfig, TINY_SPECIAL, TINY_VOCAB_MIN,
  type TinyCheckpointSpec,
} from './tiny';
export {
  OnnxCausalLM, type OnnxCausalLMOptions, type OnnxForwardOptions, type OnnxForwardResult,
  type OnnxScoreOptions, type OnnxGenerateOptions, type OnnxLoadInfo,
} from './onnx/onnx-lm';
export {
  exportDecoderToOnnx, exportDecoderToOnnxEncoded, buildDecoderModel, decoderArchFromHfConfig, ropeTables,
  ONNX_IO, ONNX_EXPORT_VERSION, type OnnxDecoderArch, type OnnxDecoderArchInput, type OnnxDecoderExtras,
  type OnnxWeightMap, type OnnxWeightTensor, type OnnxExportOptions, type OnnxActivation, type OnnxRopeScaling,
} from './onnx/export';
export { encodeModel, type EncodeOptions, type EncodedModel } from './onnx/onnx-proto';
export {
  TEMPLATES, templateFor, renderPrompt, renderTarget, matchesTitle, extractAnswer, namedCandidate, SLOT_MARKERS,
  type PromptTemplate, type PromptSlot, type SlotKind, type RenderedPrompt, type PromptTokenizer, type PromptItem,
} from './prompt';
export {
  Stage2Model, STAGE2_DEFAULTS, STAGE2_KIND,
  type Stage2Sources, type Stage2Config, type Stage2Example, type Stage2Inputs, type Stage2FitOptions, type Stage2FitResult,
  type Stage2EpochStats, type Stage2EvalOptions, type Stage2EvalResult, type Stage2Recommendation, type Stage2InferenceLM,
} from './stage2';
export { type WarmStartResult } from './stage2-warm-start';
