export type {
  ItemText,
  InteractionDataset,
  SequenceOrder,
  LeaveOneOutSplit,
  ProgressEvent,
  ProgressListener,
} from './types';
export { Rng } from './rng';
export { selectBackend, currentBackend, type BackendInfo, type BackendName } from './backend';
export { registerExtraKernels } from './kernels';
export { fusedCausalAttention, fusedCausalAttentionGrad, hasFusedAttention } from './wasm-kernels';
export { linear, linearBackward, customOp } from './linear';
export { layerNorm, layerNormBackward, type LayerNormCache } from './layer-norm';
export { dropoutMask, dropoutMaskArray } from './dropout';
export { writeFileAtomic, writeFileAtomicSync, sha256File, sha256Hex } from './fs-atomic';
export {
  readSafetensors, readSafetensorsHeader, writeSafetensors, encodeSafetensors, halfToFloat, floatToHalf,
  type SafetensorsDtype, type SafetensorsWriteDtype, type SafetensorsTensor, type SafetensorsFile,
  type TensorInput, type TensorData, type ReadSafetensorsOptions,
} from './safetensors';
export {
  writeArtifact, readArtifact, isArtifact, ARTIFACT_FORMAT, ARTIFACT_VERSION,
  type Artifact, type ArtifactContent, type ArtifactManifest, type ReadArtifactOptions, type WriteArtifactOptions,
} from './artifact';
export {
  cacheDir, isOffline, OfflineError, downloadFile, type DownloadOptions, type DownloadResult,
} from './download';
export { createProgressRenderer, formatDuration, type ProgressRendererOptions } from './progress';
export { Adam, type AdamState } from './adam';
export { writeTrainingCheckpoint, readTrainingCheckpoint, type TrainingCheckpoint } from './checkpoint';
