export type { TextEncoder, EncodeOptions } from './text-encoder';
export { registerTextEncoder, createTextEncoder, listTextEncoders, type TextEncoderFactory } from './registry';
export { UseLiteEncoder, USE_LITE_DIM, defaultUseLiteDir, type UseLiteOptions } from './use-lite';
export { SentencePieceTokenizer, SPIECE_UNDERLINE, type SentencePieceVocab, type SentencePieceOptions } from './sentencepiece';
export { fileIOHandler } from './tfjs-file-io';
export { OnnxSentenceEncoder, type OnnxEncoderOptions } from './onnx-encoder';
export {
  WordPieceTokenizer, type WordPieceEncoding, type WordPieceBatch, type WordPieceConfig,
  type WordPieceNormalizer, type WordPieceLoadOptions,
} from './wordpiece';
export {
  HashedTfidfEncoder, hashFeature, featureHash, tfidfFeatures, tfidfTokens, type HashedTfidfOptions,
} from './tfidf';
export { CachedTextEncoder, type CachedTextEncoderOptions, type CacheStats } from './cache';
export { itemText, itemTexts, EMPTY_DESCRIPTION } from './item-text';
export { cosineSimilarity, l2NormalizeRows, row } from './vector';
