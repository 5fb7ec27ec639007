/**
 * A registry of text encoders by name, so the CLI and configs can pick one with a string.
 * Built-ins: "use-lite", "tfidf", "onnx".
 */
import type { TextEncoder } from './text-encoder';
import { UseLiteEncoder } from './use-lite';
import { HashedTfidfEncoder } from './tfidf';
import { OnnxSentenceEncoder } from './onnx-encoder';

/** Builds an encoder from free-form options (each encoder documents its own). */
export type TextEncoderFactory = (options: Record<string, unknown>) => TextEncoder | Promise<TextEncoder>;

const REGISTRY = new Map<string, TextEncoderFactory>([
  ['use-lite', (o) => UseLiteEncoder.load(o)],
  ['tfidf', (o) => new HashedTfidfEncoder(o)],
  ['onnx', (o) => {
    if (typeof o.modelDir !== 'string') throw new Error('text encoder "onnx" needs options.modelDir (a folder with model.onnx + tokenizer.json)');
    return OnnxSentenceEncoder.load(o.modelDir, o);
  }],
]);

/**
 * Registers (or replaces) a text encoder factory under `name`, so {@link createTextEncoder} and
 * the CLI can build it by name.
 * @throws Error when `name` is empty or contains whitespace.
 */
export function registerTextEncoder(name: string, factory: TextEncoderFactory): void {
  if (!name || /\s/.test(name)) throw new Error(`invalid text encoder name "${name}"`);
  REGISTRY.set(name, factory);
}

/**
 * Creates the encoder registered as `name`. Built-ins and their options:
 * "use-lite" ({@link UseLiteOptions}), "tfidf" ({@link HashedTfidfOptions}),
 * "onnx" (`{ modelDir, ...OnnxEncoderOptions }`).
 * @throws Error listing the known names when `name` is not registered.
 */
export async function createTextEncoder(name: string, options: Record<string, unknown> = {}): Promise<TextEncoder> {
  const factory = REGISTRY.get(name);
  if (!factory) {
    throw new Error(`unknown text encoder "${name}"; registered: ${listTextEncoders().join(', ')}`);
  }
  return factory(options);
}

/** Names of all registered text encoders, sorted. */
export function listTextEncoders(): string[] {
  return [...REGISTRY.keys()].sort();
}
