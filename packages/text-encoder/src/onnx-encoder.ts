/**
 * Sentence embeddings from an exported Sentence-Transformers / BERT-style ONNX model on
 * onnxruntime-node: WordPiece tokenization, the encoder graph, attention-masked mean pooling and
 * optional L2 normalisation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type * as ortTypes from 'onnxruntime-node';
import { WordPieceTokenizer } from './wordpiece';
import { reportProgress, type EncodeOptions, type TextEncoder } from './text-encoder';
import { l2NormalizeRows, orderByLength } from './vector';

/** Options of {@link OnnxSentenceEncoder.load}. */
export interface OnnxEncoderOptions {
  /**
   * Truncation length in tokens, special tokens included (default: `max_seq_length` of
   * sentence_bert_config.json, else tokenizer.json's truncation, else 512).
   */
  maxLength?: number;
  /** L2-normalise each embedding (default true, as most Sentence-Transformers pipelines do). */
  normalize?: boolean;
  /**
   * Pooling of token states: "mean" (attention-masked mean, default) or "cls" (first token).
   * Ignored when the graph already outputs `[batch, hidden]`.
   */
  pooling?: 'mean' | 'cls';
  /** Output to read (default: "last_hidden_state", then "token_embeddings", else the first output). */
  outputName?: string;
  /** Default texts per run (default 32). */
  batchSize?: number;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  intraOpNumThreads?: number;
  /** Model file inside the directory (default "model.onnx", then "onnx/model.onnx"). */
  modelFile?: string;
}

/** `max_seq_length` of a Sentence-Transformers `sentence_bert_config.json` in `dir`, if any. */
function sentenceTransformersMaxLength(dir: string): number | undefined {
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'sentence_bert_config.json'), 'utf8'));
    return typeof cfg.max_seq_length === 'number' && cfg.max_seq_length > 0 ? cfg.max_seq_length : undefined;
  } catch {
    return undefined;
  }
}

function sha256OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    fs.createReadStream(file).on('error', reject).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * An ONNX sentence encoder. The model directory holds `model.onnx` (inputs `input_ids`,
 * `attention_mask` and optionally `token_type_ids`, all int64 `[batch, tokens]`; output
 * `[batch, tokens, hidden]` or `[batch, hidden]`) and `tokenizer.json` (or `vocab.txt`).
 * Texts are sorted by token count and batched with texts of the same count, so no padding is
 * ever needed and a vector does not depend on batch composition.
 */
export class OnnxSentenceEncoder implements TextEncoder {
  private disposed = false;

  private constructor(
    readonly name: string,
    readonly id: string,
    readonly dim: number,
    /** The tokenizer in use. */
    readonly tokenizer: WordPieceTokenizer,
    private readonly ort: typeof ortTypes,
    private readonly session: ortTypes.InferenceSession,
    private readonly outputName: string,
    private readonly options: Required<Pick<OnnxEncoderOptions, 'normalize' | 'pooling' | 'batchSize'>>,
  ) {}

  /**
   * Loads `modelDir` (see the class doc). Runs one probe text to learn the hidden size.
   * @throws Error when the model or tokenizer is missing or the graph's inputs/outputs do not fit.
   */
  static async load(modelDir: string, options: OnnxEncoderOptions = {}): Promise<OnnxSentenceEncoder> {
    const ort = await import('onnxruntime-node');
    const candidates = options.modelFile ? [options.modelFile] : ['model.onnx', path.join('onnx', 'model.onnx')];
    const modelFile = candidates.map((f) => path.join(modelDir, f)).find((f) => fs.existsSync(f));
    if (!modelFile) throw new Error(`no ONNX model in ${modelDir} (looked for ${candidates.join(', ')})`);
    const tokJson = path.join(modelDir, 'tokenizer.json');
    const vocabTxt = path.join(modelDir, 'vocab.txt');
    let tokenizer: WordPieceTokenizer;
    let tokenizerSource: string;
    const maxLength = options.maxLength ?? sentenceTransformersMaxLength(modelDir);
    if (fs.existsSync(tokJson)) {
      tokenizer = WordPieceTokenizer.fromFile(tokJson, { maxLength });
      tokenizerSource = fs.readFileSync(tokJson, 'utf8');
    } else if (fs.existsSync(vocabTxt)) {
      tokenizerSource = fs.readFileSync(vocabTxt, 'utf8');
      let lowercase = true;
      try {
        const cfg = JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer_config.json'), 'utf8'));
        if (typeof cfg.do_lower_case === 'boolean') lowercase = cfg.do_lower_case;
      } catch { /* no tokenizer_config.json: BERT defaults */ }
      tokenizer = WordPieceTokenizer.fromVocabTxt(tokenizerSource, { maxLength, lowercase });
      tokenizerSource += `\nlowercase=${lowercase}`;
    } else {
      throw new Error(`no tokenizer.json or vocab.txt in ${modelDir}`);
    }
    const sessionOptions: ortTypes.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
    if (options.intraOpNumThreads) sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
    const session = await ort.InferenceSession.create(modelFile, sessionOptions);
    for (const need of ['input_ids', 'attention_mask']) {
      if (!session.inputNames.includes(need)) {
        throw new Error(`${modelFile}: graph has no input "${need}" (inputs: ${session.inputNames.join(', ')})`);
      }
    }
    const outputName = options.outputName
      ?? ['last_hidden_state', 'token_embeddings'].find((n) => session.outputNames.includes(n))
      ?? session.outputNames[0];
    if (!session.outputNames.includes(outputName)) {
      throw new Error(`${modelFile}: no output "${outputName}" (outputs: ${session.outputNames.join(', ')})`);
    }
    const resolved = {
      normalize: options.normalize ?? true, pooling: options.pooling ?? 'mean', batchSize: options.batchSize ?? 32,
    } as const;
    const config = JSON.stringify({
      v: 1, maxLength: tokenizer.config.maxLength, outputName, pooling: resolved.pooling, normalize: resolved.normalize,
    });
    const hash = createHash('sha256')
      .update(await sha256OfFile(modelFile)).update(tokenizerSource).update(config).digest('hex').slice(0, 12);
    const name = `onnx:${path.basename(path.resolve(modelDir))}`;
    const enc = new OnnxSentenceEncoder(name, `${name}@${hash}`, 0, tokenizer, ort, session, outputName, resolved);
    const probe = await enc.runBatch([tokenizer.encode('probe').ids], [tokenizer.encode('probe').typeIds]);
    (enc as { dim: number }).dim = probe.length;
    return enc;
  }

  /** Encodes `texts` into `[n, dim]` (see {@link TextEncoder.encode}). */
  async encode(texts: string[], options: EncodeOptions = {}): Promise<Float32Array> {
    if (this.disposed) throw new Error(`${this.name}: used after dispose()`);
    const enc = texts.map((t) => this.tokenizer.encode(t));
    const order = orderByLength(enc.map((e) => e.ids.length));
    const batchSize = Math.max(1, options.batchSize ?? this.options.batchSize);
    const out = new Float32Array(texts.length * this.dim);
    reportProgress(options.onProgress, this.name, 0, texts.length);
    let done = 0;
    for (let s = 0; s < order.length;) {
      let e = s;
      const len = enc[order[s]].ids.length;
      while (e < order.length && e - s < batchSize && enc[order[e]].ids.length === len) e++;
      const batch = order.slice(s, e);
      const vecs = await this.runBatch(batch.map((i) => enc[i].ids), batch.map((i) => enc[i].typeIds));
      batch.forEach((i, b) => out.set(vecs.subarray(b * this.dim, (b + 1) * this.dim), i * this.dim));
      done += batch.length;
      reportProgress(options.onProgress, this.name, done, texts.length);
      s = e;
    }
    return out;
  }

  /** Runs the graph on token rows (padded to the longest) and pools: `[rows, dim]`. */
  private async runBatch(ids: number[][], typeIds: number[][]): Promise<Float32Array> {
    const { ort, session } = this;
    const padded = this.tokenizer.pad(ids.map((r, k) => ({ ids: r, typeIds: typeIds[k], tokens: [] })));
    const { batch, length } = padded;
    const feeds: Record<string, ortTypes.Tensor> = {
      input_ids: new ort.Tensor('int64', padded.inputIds, [batch, length]),
      attention_mask: new ort.Tensor('int64', padded.attentionMask, [batch, length]),
    };
    if (session.inputNames.includes('token_type_ids')) {
      feeds.token_type_ids = new ort.Tensor('int64', padded.tokenTypeIds, [batch, length]);
    }
    const results = await session.run(feeds, [this.outputName]);
    const y = results[this.outputName];
    try {
      const data = y.data as Float32Array;
      if (y.type !== 'float32') throw new Error(`${this.name}: output ${this.outputName} is ${y.type}, expected float32`);
      const dims = y.dims;
      let out: Float32Array;
      if (dims.length === 2 && dims[0] === batch) {
        out = Float32Array.from(data);
      } else if (dims.length === 3 && dims[0] === batch && dims[1] === length) {
        const h = dims[2];
        out = new Float32Array(batch * h);
        const acc = new Float64Array(h);
        for (let b = 0; b < batch; b++) {
          acc.fill(0);
          let n = 0;
          for (let t = 0; t < length; t++) {
            if (padded.attentionMask[b * length + t] === 0n) continue;
            if (this.options.pooling === 'cls' && n > 0) break;
            const off = (b * length + t) * h;
            for (let j = 0; j < h; j++) acc[j] += data[off + j];
            n++;
          }
          for (let j = 0; j < h; j++) out[b * h + j] = n > 0 ? acc[j] / n : 0;
        }
      } else {
        throw new Error(`${this.name}: output ${this.outputName} has shape [${dims.join(', ')}], expected [${batch}, ${length}, H] or [${batch}, H]`);
      }
      if (this.options.normalize) l2NormalizeRows(out, out.length / batch);
      return out;
    } finally {
      for (const t of Object.values(feeds)) t.dispose?.();
      for (const t of Object.values(results)) t.dispose?.();
    }
  }

  /** Releases the onnxruntime session. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.session.release();
  }
}
