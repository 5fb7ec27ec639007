/**
 * Frozen-LM inference on onnxruntime-node: forward from input embeddings, candidate scoring by
 * log-likelihood and greedy generation with a repetition penalty (A-LLMRec's evaluation).
 *
 * The ONNX graph is exported from the checkpoint on first use and cached next to it
 * (`<checkpointDir>/onnx/model.onnx`, plus `model.onnx.data` for models past 1.5 GB, plus
 * `export.json` with the cache key): the key hashes the exporter version, the architecture,
 * the export options and the sha256 of every weights file, so a changed checkpoint or exporter is
 * re-exported. Files are written atomically (temp + rename); a cached model that fails
 * verification (size, sha256) or does not load is re-exported instead of failing.
 *
 * Arrays are plain typed arrays, row-major; batches are LEFT-padded (mask 1 real, 0 pad) and
 * positions are cumsum(mask) - 1 clamped at 0, as everywhere in this package.
 *
 * The graph is the KV-cache variant of the export (see export.ts): `forward` feeds an empty past.
 * Scoring runs the shared prompt once (batch 1) and then only the continuation tokens of each
 * batch, attending to the prompt's cache (broadcast over the batch inside the graph); generation
 * feeds one new token per step with the cache. `useCache: false` keeps the former full-recompute
 * paths (prompt + continuation per row; full forward per generated token) for comparison.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as ortTypes from 'onnxruntime-node';
import { readSafetensors, readSafetensorsHeader, sha256File, writeFileAtomic } from '@allmrec/core';
import type { LMTokenizer } from '../causal-lm';
import {
  ONNX_EXPORT_VERSION, ONNX_IO, buildDecoderModel, completeArch, decoderArchFromHfConfig,
  type OnnxDecoderArch, type OnnxDecoderArchInput, type OnnxWeightMap, type OnnxExportOptions,
} from './export';
import { encodeModel } from './onnx-proto';

/** Options of {@link OnnxCausalLM} loaders. */
export interface OnnxCausalLMOptions {
  /** onnxruntime intra-op threads (default 2). */
  intraOpNumThreads?: number;
  /** Where the exported model is cached (default `<checkpointDir>/onnx`). */
  cacheDir?: string;
  /** Options passed to the exporter (part of the cache key). */
  exportOptions?: OnnxExportOptions;
  /** Check the cached model's sha256 before loading it (default true; sizes are always checked). */
  verifyCache?: boolean;
  /** A tokenizer to expose as {@link OnnxCausalLM.tokenizer} (not used by the ONNX path itself). */
  tokenizer?: LMTokenizer;
}

/** Options of {@link OnnxCausalLM.forward}. */
export interface OnnxForwardOptions {
  /** Logits for the last K positions only (0 = all, the default). */
  numLogitsToKeep?: number;
  /** Return log-softmax over the vocabulary instead of raw logits (computed in the graph). */
  logProbs?: boolean;
}

/** Result of {@link OnnxCausalLM.forward}: logits (or log-probs with `logProbs`) [batch, kept, vocab]. */
export interface OnnxForwardResult {
  logits: Float32Array;
  dims: [number, number, number];
}

/** Options of {@link OnnxCausalLM.scoreContinuations}. */
export interface OnnxScoreOptions {
  /** Rows per onnxruntime run (default 20: the A-LLMRec candidate set in one batch). */
  batchSize?: number;
  /**
   * Embeddings of the continuation tokens, one Float32Array [len_i, E] per continuation (default:
   * rows of the token embedding table for the ids). Ids are still needed to read the log-probs.
   */
  continuationEmbeds?: Float32Array[];
  /** Run the prompt once and score continuations against its KV cache (default true). */
  useCache?: boolean;
}

/** Options of {@link OnnxCausalLM.generate}. */
export interface OnnxGenerateOptions {
  maxNewTokens: number;
  /** Hugging Face rule on generated tokens: logit / p if > 0 else logit * p (default 1.5). */
  repetitionPenalty?: number;
  /** Token(s) that end a sequence (default the config's eos). */
  eosTokenId?: number | number[];
  /** Feed one new token per step with the KV cache (default true); false reruns the full forward. */
  useCache?: boolean;
}

/** What a load did. */
export interface OnnxLoadInfo {
  /** The model file in use (undefined for in-memory models). */
  modelPath?: string;
  /** True when this load exported the graph (cache miss, stale key or corrupted cache). */
  exported: boolean;
  /** Why the cache was not used, when it was not. */
  cacheMiss?: string;
  /** The cache key. */
  key?: string;
}

/** Content of `export.json` next to the cached model. */
interface ExportRecord {
  format: 'allmrec-onnx-export';
  key: string;
  exportVersion: number;
  modelBytes: number;
  modelSha256: string;
  dataFile?: string;
  dataBytes?: number;
}

const RECORD_FILE = 'export.json';
const MODEL_FILE = 'model.onnx';
const DATA_FILE = 'model.onnx.data';

/** Tensor names in a safetensors file, from its header. */
function safetensorsNames(file: string): string[] {
  return readSafetensorsHeader(file).tensors.map((t) => t.name);
}

/** The safetensors files of a checkpoint directory and which file holds each tensor. */
function checkpointFiles(dir: string): { files: string[]; nameToFile: Map<string, string> } {
  const index = path.join(dir, 'model.safetensors.index.json');
  const nameToFile = new Map<string, string>();
  let files: string[];
  if (fs.existsSync(index)) {
    const map = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    for (const [k, f] of Object.entries(map)) nameToFile.set(k, path.join(dir, f));
    files = [...new Set(nameToFile.values())].sort();
  } else {
    const single = path.join(dir, 'model.safetensors');
    files = fs.existsSync(single)
      ? [single]
      : fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort().map((f) => path.join(dir, f));
    for (const f of files) for (const k of safetensorsNames(f)) nameToFile.set(k, f);
  }
  if (files.length === 0) throw new Error(`${dir}: no *.safetensors weights found`);
  return { files, nameToFile };
}

/** GPT-2 attention-mask buffers stored in old checkpoints: never needed. */
const SKIP = /\.attn\.(masked_)?bias$/;

function readWeights(nameToFile: Map<string, string>, names?: string[]): OnnxWeightMap {
  const byFile = new Map<string, string[]>();
  for (const [n, f] of nameToFile) {
    if (names ? !names.includes(n) : SKIP.test(n)) continue;
    if (!byFile.has(f)) byFile.set(f, []);
    byFile.get(f)!.push(n);
  }
  const out: OnnxWeightMap = new Map();
  for (const [f, ns] of byFile) {
    for (const [n, t] of readSafetensors(f, { names: ns }).tensors) {
      if (t.data instanceof Float32Array) out.set(n, { shape: t.shape, data: t.data });
    }
  }
  return out;
}

/** HF names of the token-embedding table for a family, in lookup order. */
function embeddingNames(arch: OnnxDecoderArch): string[] {
  if (arch.family === 'gpt2') return ['wte.weight', 'transformer.wte.weight'];
  if (arch.family === 'opt') return ['model.decoder.embed_tokens.weight', 'decoder.embed_tokens.weight', 'embed_tokens.weight'];
  return ['model.embed_tokens.weight', 'embed_tokens.weight'];
}

function findEmbedding(arch: OnnxDecoderArch, has: (n: string) => boolean): string {
  const n = embeddingNames(arch).find(has);
  if (!n) throw new Error(`no token embedding table (looked for ${embeddingNames(arch).join(', ')})`);
  return n;
}

function sha256Json(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex');
}

/** Cache key of an export: exporter version, architecture, options and weight checksums. */
function cacheKey(arch: OnnxDecoderArch, exportOptions: OnnxExportOptions, weightChecksums: string[]): string {
  return sha256Json({ v: ONNX_EXPORT_VERSION, arch, exportOptions, weightChecksums });
}

/** Why the cache in `dir` cannot be used for `key` (undefined when it can). */
async function cacheProblem(dir: string, key: string, verify: boolean): Promise<string | undefined> {
  let rec: ExportRecord;
  try {
    rec = JSON.parse(fs.readFileSync(path.join(dir, RECORD_FILE), 'utf8')) as ExportRecord;
  } catch {
    return 'no export record';
  }
  if (rec.format !== 'allmrec-onnx-export' || rec.key !== key) return 'stale cache key';
  const model = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(model) || fs.statSync(model).size !== rec.modelBytes) return 'model file missing or of the wrong size';
  if (rec.dataFile) {
    const data = path.join(dir, rec.dataFile);
    if (!fs.existsSync(data) || fs.statSync(data).size !== rec.dataBytes) return 'external data missing or of the wrong size';
  }
  if (verify && (await sha256File(model)) !== rec.modelSha256) return 'model checksum mismatch';
  return undefined;
}

/** Writes data (if any), then the model, then the record; each atomically. */
async function writeExport(dir: string, key: string, arch: OnnxDecoderArch, weights: OnnxWeightMap, exportOptions: OnnxExportOptions): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(path.join(dir, RECORD_FILE), { force: true }); // invalidate first: a crash mid-write leaves a miss
  const enc = encodeModel(buildDecoderModel(arch, weights, { ...exportOptions, withPast: true }), { ...exportOptions, externalDataLocation: DATA_FILE });
  const rec: ExportRecord = {
    format: 'allmrec-onnx-export', key, exportVersion: ONNX_EXPORT_VERSION,
    modelBytes: enc.model.byteLength, modelSha256: createHash('sha256').update(enc.model).digest('hex'),
  };
  if (enc.externalData) {
    const tmp = path.join(dir, `${DATA_FILE}.tmp-${process.pid}-${Date.now()}`);
    const fd = fs.openSync(tmp, 'w');
    try {
      for (const c of enc.externalData.chunks) {
        let done = 0;
        while (done < c.byteLength) done += fs.writeSync(fd, c, done, c.byteLength - done);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(dir, DATA_FILE));
    rec.dataFile = DATA_FILE;
    rec.dataBytes = enc.externalData.length;
  } else {
    fs.rmSync(path.join(dir, DATA_FILE), { force: true });
  }
  await writeFileAtomic(path.join(dir, MODEL_FILE), enc.model);
  await writeFileAtomic(path.join(dir, RECORD_FILE), JSON.stringify(rec, null, 2));
}

function argmax(a: Float32Array, off: number, n: number): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < n; i++) if (a[off + i] > bv) { bv = a[off + i]; best = i; }
  return best;
}

/** A decoder running on onnxruntime-node, driven by input embeddings. */
export class OnnxCausalLM {
  private released = false;

  private constructor(
    /** Architecture of the loaded model. */
    readonly config: OnnxDecoderArch,
    private readonly ort: typeof ortTypes,
    private readonly session: ortTypes.InferenceSession,
    /** Token embedding table [vocab, embedSize] (OPT: before project_in). */
    readonly embeddingTable: Float32Array,
    /** Longest sequence the position scheme of the graph supports. */
    readonly maxSequenceLength: number,
    /** How the model was obtained. */
    readonly loadInfo: OnnxLoadInfo,
    readonly tokenizer: LMTokenizer | undefined,
  ) {}

  /** Width of the input embeddings. */
  get embedSize(): number { return this.config.embedSize; }

  /**
   * Loads a Hugging Face checkpoint directory (`config.json` + `model.safetensors` or a sharded
   * index) on onnxruntime, exporting and caching the graph on first use (see the module doc).
   */
  static async fromCheckpoint(checkpointDir: string, options: OnnxCausalLMOptions = {}): Promise<OnnxCausalLM> {
    const hf = JSON.parse(fs.readFileSync(path.join(checkpointDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const arch = decoderArchFromHfConfig(hf);
    const { files, nameToFile } = checkpointFiles(checkpointDir);
    const checksums = await Promise.all(files.map(async (f) => `${path.basename(f)}:${await sha256File(f)}`));
    const exportOptions = options.exportOptions ?? {};
    const key = cacheKey(arch, exportOptions, checksums);
    const dir = options.cacheDir ?? path.join(checkpointDir, 'onnx');
    let weights: OnnxWeightMap | undefined;
    const allWeights = () => (weights ??= readWeights(nameToFile));
    const embName = findEmbedding(arch, (n) => nameToFile.has(n));
    const table = () => (weights ?? readWeights(nameToFile, [embName])).get(embName)!.data;
    return OnnxCausalLM.loadCached(arch, dir, key, allWeights, table, options);
  }

  /**
   * Exports `weights` (HF names and layouts) and loads the graph. With `modelDir` the export is
   * cached there (keyed by a hash of the weights' content); without it the model stays in memory.
   */
  static async fromWeights(
    config: OnnxDecoderArchInput | Record<string, unknown>,
    weights: OnnxWeightMap,
    options: OnnxCausalLMOptions & { modelDir?: string } = {},
  ): Promise<OnnxCausalLM> {
    const arch = 'family' in config && 'hiddenSize' in config
      ? completeArch(config as OnnxDecoderArchInput)
      : decoderArchFromHfConfig(config as Record<string, unknown>);
    const embName = findEmbedding(arch, (n) => weights.has(n));
    const table = weights.get(embName)!.data;
    const exportOptions = options.exportOptions ?? {};
    if (options.modelDir) {
      const h = createHash('sha256');
      for (const n of [...weights.keys()].sort()) {
        const t = weights.get(n)!;
        h.update(`${n}:${t.shape.join('x')}:`).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      }
      const key = cacheKey(arch, exportOptions, [h.digest('hex')]);
      return OnnxCausalLM.loadCached(arch, options.modelDir, key, () => weights, () => table, options);
    }
    const ort = await import('onnxruntime-node');
    const enc = encodeModel(buildDecoderModel(arch, weights, { ...exportOptions, withPast: true }), { ...exportOptions, externalData: false });
    const session = await ort.InferenceSession.create(enc.model, OnnxCausalLM.sessionOptions(options));
    return OnnxCausalLM.make(arch, ort, session, table, { exported: true }, options);
  }

  private static sessionOptions(options: OnnxCausalLMOptions): ortTypes.InferenceSession.SessionOptions {
    return { intraOpNumThreads: options.intraOpNumThreads ?? 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  }

  private static async make(
    arch: OnnxDecoderArch, ort: typeof ortTypes, session: ortTypes.InferenceSession, table: Float32Array,
    info: OnnxLoadInfo, options: OnnxCausalLMOptions,
  ): Promise<OnnxCausalLM> {
    const need: string[] = [ONNX_IO.inputsEmbeds, ONNX_IO.attentionMask, ONNX_IO.positionIds, ONNX_IO.numLogitsToKeep];
    for (let l = 0; l < arch.layers; l++) need.push(ONNX_IO.pastKey(l), ONNX_IO.pastValue(l));
    for (const n of need) if (!session.inputNames.includes(n)) throw new Error(`ONNX model has no input "${n}"`);
    if (table.length !== arch.vocabSize * arch.embedSize) {
      throw new Error(`embedding table holds ${table.length} values, expected ${arch.vocabSize} x ${arch.embedSize}`);
    }
    let maxLen: number;
    if (arch.family === 'llama') maxLen = options.exportOptions?.ropeTablePositions ?? Math.min(arch.maxPositions, 8192);
    else maxLen = arch.maxPositions;
    return new OnnxCausalLM(arch, ort, session, table, maxLen, info, options.tokenizer);
  }

  private static async loadCached(
    arch: OnnxDecoderArch, dir: string, key: string, weights: () => OnnxWeightMap, table: () => Float32Array,
    options: OnnxCausalLMOptions,
  ): Promise<OnnxCausalLM> {
    const ort = await import('onnxruntime-node');
    const modelPath = path.join(dir, MODEL_FILE);
    const exportOptions = options.exportOptions ?? {};
    let miss = await cacheProblem(dir, key, options.verifyCache ?? true);
    if (!miss) {
      try {
        const session = await ort.InferenceSession.create(modelPath, OnnxCausalLM.sessionOptions(options));
        return await OnnxCausalLM.make(arch, ort, session, table(), { modelPath, exported: false, key }, options);
      } catch (err) {
        miss = `cached model does not load: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    await writeExport(dir, key, arch, weights(), exportOptions);
    const session = await ort.InferenceSession.create(modelPath, OnnxCausalLM.sessionOptions(options));
    return OnnxCausalLM.make(arch, ort, session, table(), { modelPath, exported: true, cacheMiss: miss, key }, options);
  }

  private check(): void {
    if (this.released) throw new Error('OnnxCausalLM: used after dispose()');
  }

  /** Token embeddings of `ids` -> [ids.length, embedSize]. */
  embedTokens(ids: ArrayLike<number>): Float32Array {
    const E = this.config.embedSize;
    const out = new Float32Array(ids.length * E);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < this.config.vocabSize)) throw new Error(`token id ${id} out of range [0, ${this.config.vocabSize})`);
      out.set(this.embeddingTable.subarray(id * E, (id + 1) * E), i * E);
    }
    return out;
  }

  /** One onnxruntime run of the KV graph (empty batch-1 past when `past` is omitted). */
  private async run(
    emb: Float32Array, batch: number, seq: number, mask: BigInt64Array, pos: BigInt64Array, keep: number,
    outName: string, past?: ortTypes.Tensor[], fetchPresent = false,
  ): Promise<{ out: ortTypes.Tensor; present?: ortTypes.Tensor[] }> {
    const { Tensor } = this.ort;
    const { layers, kvHeads, headDim, embedSize: E } = this.config;
    const feeds: Record<string, ortTypes.Tensor> = {
      [ONNX_IO.inputsEmbeds]: new Tensor('float32', emb, [batch, seq, E]),
      [ONNX_IO.attentionMask]: new Tensor('int64', mask, [batch, mask.length / batch]),
      [ONNX_IO.positionIds]: new Tensor('int64', pos, [batch, seq]),
      [ONNX_IO.numLogitsToKeep]: new Tensor('int64', BigInt64Array.of(BigInt(keep)), []),
    };
    const empty = past ? undefined : new Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
    for (let l = 0; l < layers; l++) {
      feeds[ONNX_IO.pastKey(l)] = past ? past[2 * l] : empty!;
      feeds[ONNX_IO.pastValue(l)] = past ? past[2 * l + 1] : empty!;
    }
    const fetch = [outName];
    if (fetchPresent) for (let l = 0; l < layers; l++) fetch.push(ONNX_IO.presentKey(l), ONNX_IO.presentValue(l));
    const res = await this.session.run(feeds, fetch);
    const present = fetchPresent ? fetch.slice(1).map((n) => res[n]) : undefined;
    return { out: res[outName], present };
  }

  /**
   * Logits of left-padded input embeddings `inputsEmbeds` [batch, seq, E] with `attentionMask`
   * [batch, seq] (1 real, 0 pad; default all real). Positions are derived from the mask.
   */
  async forward(
    inputsEmbeds: Float32Array, batch: number, seq: number, attentionMask?: ArrayLike<number>, options: OnnxForwardOptions = {},
  ): Promise<OnnxForwardResult> {
    const r = await this.forwardWithCache(inputsEmbeds, batch, seq, attentionMask, options, false);
    return { logits: r.logits, dims: r.dims };
  }

  /** {@link forward}, optionally also returning the present KV tensors and the int64 mask. */
  private async forwardWithCache(
    inputsEmbeds: Float32Array, batch: number, seq: number, attentionMask: ArrayLike<number> | undefined, options: OnnxForwardOptions,
    fetchPresent: boolean,
  ): Promise<OnnxForwardResult & { present?: ortTypes.Tensor[]; mask: BigInt64Array }> {
    this.check();
    const E = this.config.embedSize;
    const V = this.config.vocabSize;
    if (inputsEmbeds.length !== batch * seq * E) {
      throw new Error(`inputsEmbeds holds ${inputsEmbeds.length} values, expected ${batch} x ${seq} x ${E}`);
    }
    if (attentionMask && attentionMask.length !== batch * seq) throw new Error(`attentionMask must hold ${batch} x ${seq} values`);
    const mask = new BigInt64Array(batch * seq);
    const pos = new BigInt64Array(batch * seq);
    for (let b = 0; b < batch; b++) {
      let c = 0;
      for (let t = 0; t < seq; t++) {
        const m = attentionMask ? (attentionMask[b * seq + t] ? 1 : 0) : 1;
        c += m;
        mask[b * seq + t] = BigInt(m);
        pos[b * seq + t] = BigInt(Math.max(c - 1, 0));
      }
      if (c > this.maxSequenceLength) throw new Error(`sequence of ${c} tokens exceeds the model's ${this.maxSequenceLength} positions`);
    }
    const keep = options.numLogitsToKeep ?? 0;
    const outName = options.logProbs ? ONNX_IO.logProbs : ONNX_IO.logits;
    const { out, present } = await this.run(inputsEmbeds, batch, seq, mask, pos, keep, outName, undefined, fetchPresent);
    const kept = out.dims[1];
    const data = out.data as Float32Array;
    return { logits: data, dims: [batch, kept, V], present, mask };
  }

  /**
   * Sum of log-probabilities of each continuation's tokens after one shared prompt `promptEmbeds`
   * [promptLength, E] (every position real). An empty continuation scores 0.
   *
   * Cached (default): the prompt runs once (batch 1); its last log-probs score every
   * continuation's first token, and each batch of continuations runs only tokens 0..len-2
   * (right-padded, mask over prompt + tokens) against the prompt's cache, broadcast over the batch.
   * `useCache: false`: each batch row is prompt + continuation, left-padded so all rows end
   * together; only the continuation's tokens are scored.
   */
  async scoreContinuations(
    promptEmbeds: Float32Array, promptLength: number, continuations: readonly (readonly number[])[], options: OnnxScoreOptions = {},
  ): Promise<Float32Array> {
    this.check();
    const E = this.config.embedSize;
    if (promptEmbeds.length !== promptLength * E) throw new Error(`promptEmbeds must hold ${promptLength} x ${E} values`);
    if (options.continuationEmbeds && options.continuationEmbeds.length !== continuations.length) {
      throw new Error('continuationEmbeds must have one entry per continuation');
    }
    if (options.useCache === false || promptLength === 0) return this.scoreUncached(promptEmbeds, promptLength, continuations, options);
    const V = this.config.vocabSize;
    const P = promptLength;
    const scores = new Float32Array(continuations.length);
    const all = [...continuations.keys()].filter((i) => continuations[i].length > 0);
    if (all.length === 0) return scores;
    const longest = Math.max(...all.map((i) => continuations[i].length));
    if (P + longest - 1 > this.maxSequenceLength) {
      throw new Error(`sequence of ${P + longest - 1} tokens exceeds the model's ${this.maxSequenceLength} positions`);
    }
    const contEmbeds = (ci: number): Float32Array => {
      const c = continuations[ci];
      const ce = options.continuationEmbeds?.[ci] ?? this.embedTokens(c);
      if (ce.length !== c.length * E) throw new Error(`continuationEmbeds[${ci}] must hold ${c.length} x ${E} values`);
      return ce;
    };
    // Prompt once: log-probs of the first continuation token, plus the cache.
    const first = await this.forwardWithCache(promptEmbeds, 1, P, undefined, { numLogitsToKeep: 1, logProbs: true }, true);
    const past = first.present!;
    for (const ci of all) scores[ci] = first.logits[continuations[ci][0]];
    const bs = Math.max(1, options.batchSize ?? 20);
    const multi = all.filter((i) => continuations[i].length > 1);
    for (let start = 0; start < multi.length; start += bs) {
      const idx = multi.slice(start, start + bs);
      const B = idx.length;
      const T = Math.max(...idx.map((i) => continuations[i].length)) - 1; // inputs: tokens 0..len-2
      const S = P + T;
      const emb = new Float32Array(B * T * E);
      const mask = new BigInt64Array(B * S);
      const pos = new BigInt64Array(B * T);
      idx.forEach((ci, b) => {
        const n = continuations[ci].length - 1;
        emb.set(contEmbeds(ci).subarray(0, n * E), b * T * E);
        mask.fill(1n, b * S, b * S + P + n);
        for (let t = 0; t < T; t++) pos[b * T + t] = BigInt(P + t);
      });
      const { out } = await this.run(emb, B, T, mask, pos, 0, ONNX_IO.logProbs, past);
      const logp = out.data as Float32Array;
      idx.forEach((ci, b) => {
        const c = continuations[ci];
        let sum = scores[ci];
        // Input position j predicts token j + 1.
        for (let j = 0; j + 1 < c.length; j++) sum += logp[(b * T + j) * V + c[j + 1]];
        scores[ci] = sum;
      });
    }
    return scores;
  }

  /** The former scoring path: prompt + continuation per row, one full forward per batch. */
  private async scoreUncached(
    promptEmbeds: Float32Array, promptLength: number, continuations: readonly (readonly number[])[], options: OnnxScoreOptions,
  ): Promise<Float32Array> {
    const E = this.config.embedSize;
    const V = this.config.vocabSize;
    const scores = new Float32Array(continuations.length);
    const bs = Math.max(1, options.batchSize ?? 20);
    for (let start = 0; start < continuations.length; start += bs) {
      const idx = [...Array(Math.min(bs, continuations.length - start)).keys()].map((i) => start + i).filter((i) => continuations[i].length > 0);
      if (idx.length === 0) continue;
      const maxL = Math.max(...idx.map((i) => continuations[i].length));
      const T = promptLength + maxL;
      const B = idx.length;
      const emb = new Float32Array(B * T * E);
      const mask = new Uint8Array(B * T);
      idx.forEach((ci, b) => {
        const c = continuations[ci];
        const pad = maxL - c.length;
        emb.set(promptEmbeds, (b * T + pad) * E);
        const ce = options.continuationEmbeds?.[ci] ?? this.embedTokens(c);
        if (ce.length !== c.length * E) throw new Error(`continuationEmbeds[${ci}] must hold ${c.length} x ${E} values`);
        emb.set(ce, (b * T + pad + promptLength) * E);
        mask.fill(1, b * T + pad, (b + 1) * T);
      });
      // Logits at positions T-1-maxL .. T-1 predict the continuation tokens (and one more).
      const K = maxL + 1;
      const { logits: logp } = await this.forward(emb, B, T, mask, { numLogitsToKeep: K, logProbs: true });
      idx.forEach((ci, b) => {
        const c = continuations[ci];
        const pad = maxL - c.length;
        let sum = 0;
        // Kept index pad + j is the position predicting token j.
        for (let j = 0; j < c.length; j++) sum += logp[(b * K + pad + j) * V + c[j]];
        scores[ci] = sum;
      });
    }
    return scores;
  }

  /**
   * Greedy decoding from left-padded input embeddings [batch, seq, E] (mask as in
   * {@link forward}). Returns the generated ids per row, without the end-of-sequence token that
   * stopped it; finished rows leave the batch. Cached (default): the prompt runs once, then one
   * new token per row and step against the KV cache. `useCache: false`: each step reruns the full
   * forward (last-position logits only).
   */
  async generate(
    inputsEmbeds: Float32Array, batch: number, seq: number, attentionMask: ArrayLike<number> | undefined, options: OnnxGenerateOptions,
  ): Promise<number[][]> {
    this.check();
    const E = this.config.embedSize;
    const V = this.config.vocabSize;
    const penalty = options.repetitionPenalty ?? 1.5;
    const eosRaw = options.eosTokenId ?? this.config.eosTokenId;
    const eos = new Set(eosRaw === undefined ? [] : Array.isArray(eosRaw) ? eosRaw : [eosRaw]);
    const useCache = options.useCache !== false;
    // Real positions of each row (in order).
    const rows: Float32Array[] = [];
    for (let b = 0; b < batch; b++) {
      const parts: number[] = [];
      for (let t = 0; t < seq; t++) if (!attentionMask || attentionMask[b * seq + t]) parts.push(t);
      const r = new Float32Array((useCache ? parts.length : parts.length + options.maxNewTokens) * E);
      parts.forEach((t, i) => r.set(inputsEmbeds.subarray((b * seq + t) * E, (b * seq + t + 1) * E), i * E));
      rows.push(r);
    }
    const lengths = rows.map((_, b) => (attentionMask ? Array.from({ length: seq }, (_, t) => attentionMask[b * seq + t]).filter(Boolean).length : seq));
    const out: number[][] = Array.from({ length: batch }, () => []);
    let active = [...Array(batch).keys()].filter((b) => lengths[b] > 0);
    // KV state (cached path): present tensors for the rows of `cacheRows`, masks per row.
    let past: ortTypes.Tensor[] | undefined;
    let cacheRows: number[] = [];
    let rowMask: BigInt64Array[] = [];
    const lastToken: number[] = new Array<number>(batch).fill(-1);
    // The active rows' embeddings, left-padded to their longest, with the attention mask.
    const leftPad = (act: number[]) => {
      const T = Math.max(...act.map((b) => lengths[b]));
      const emb = new Float32Array(act.length * T * E);
      const mask = new Uint8Array(act.length * T);
      act.forEach((b, i) => {
        const pad = T - lengths[b];
        emb.set(rows[b].subarray(0, lengths[b] * E), (i * T + pad) * E);
        mask.fill(1, i * T + pad, (i + 1) * T);
      });
      return { emb, mask, T };
    };
    for (let step = 0; step < options.maxNewTokens && active.length > 0; step++) {
      active = active.filter((b) => lengths[b] < this.maxSequenceLength);
      if (active.length === 0) break;
      const B = active.length;
      let logits: Float32Array;
      if (!useCache) {
        const { emb, mask, T } = leftPad(active);
        logits = (await this.forward(emb, B, T, mask, { numLogitsToKeep: 1 })).logits;
      } else if (!past) {
        const { emb, mask, T } = leftPad(active);
        const r = await this.forwardWithCache(emb, B, T, mask, { numLogitsToKeep: 1 }, true);
        logits = r.logits;
        past = r.present!;
        cacheRows = [...active];
        rowMask = active.map((_, i) => r.mask.slice(i * T, (i + 1) * T));
      } else {
        if (cacheRows.length !== active.length || cacheRows.some((b, i) => b !== active[i])) {
          const keepIdx = active.map((b) => cacheRows.indexOf(b));
          past = past.map((t) => this.selectRows(t, keepIdx));
          rowMask = keepIdx.map((i) => rowMask[i]);
          cacheRows = [...active];
        }
        const S = rowMask[0].length + 1;
        const mask = new BigInt64Array(B * S);
        const pos = new BigInt64Array(B);
        const emb = new Float32Array(B * E);
        active.forEach((b, i) => {
          const m = new BigInt64Array(S);
          m.set(rowMask[i]);
          m[S - 1] = 1n;
          rowMask[i] = m;
          mask.set(m, i * S);
          pos[i] = BigInt(lengths[b] - 1);
          emb.set(this.embeddingTable.subarray(lastToken[b] * E, (lastToken[b] + 1) * E), i * E);
        });
        const r = await this.run(emb, B, 1, mask, pos, 1, ONNX_IO.logits, past, true);
        logits = r.out.data as Float32Array;
        past = r.present!;
      }
      const still: number[] = [];
      active.forEach((b, i) => {
        const off = i * V;
        if (penalty !== 1) {
          for (const id of new Set(out[b])) {
            const l = logits[off + id];
            logits[off + id] = l > 0 ? l / penalty : l * penalty;
          }
        }
        const next = argmax(logits, off, V);
        if (eos.has(next)) return;
        out[b].push(next);
        if (!useCache) rows[b].set(this.embeddingTable.subarray(next * E, (next + 1) * E), lengths[b] * E);
        lastToken[b] = next;
        lengths[b]++;
        still.push(b);
      });
      active = still;
    }
    return out;
  }

  /** Rows `idx` (batch axis 0) of a [B, ...] float tensor. */
  private selectRows(t: ortTypes.Tensor, idx: number[]): ortTypes.Tensor {
    const data = t.data as Float32Array;
    const per = data.length / t.dims[0];
    const outData = new Float32Array(idx.length * per);
    idx.forEach((r, i) => outData.set(data.subarray(r * per, (r + 1) * per), i * per));
    return new this.ort.Tensor('float32', outData, [idx.length, ...t.dims.slice(1)]);
  }

  /** Releases the onnxruntime session. */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}
