/**
 * The onnxruntime-node runtime of every supported decoder family: a {@link CausalLM} whose
 * `forward` runs an ONNX graph exported from the same {@link DecoderArch} + {@link DecoderData}
 * the tfjs runtime reads. It is inference only (`differentiable: false`); generation, scoring and
 * the repetition penalty are the package's shared functions on top of `forward`.
 *
 * The graph is exported on first use and cached in `${ALLMREC_HOME}/onnx/<key>/` (`model.onnx`,
 * plus `model.onnx.data` for models past 1.5 GB, plus `export.json`), never inside the checkpoint
 * directory: the key hashes the exporter version, the architecture and the sha256 of every weights
 * file, so a changed checkpoint or exporter gets a new export and copies of one checkpoint share
 * one. Files are written atomically; a cached model that fails verification (size, sha256) or does
 * not load is re-exported instead of failing.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as ortTypes from 'onnxruntime-node';
import { cacheDir, sha256File, writeFileAtomic } from '@allmrec/core';
import type { CausalLM, ForwardOptions, ForwardResult, KVCache, LMTokenizer } from '../causal-lm';
import type { DecoderArch, DecoderData } from '../decoder/arch';
import { decoderCall, logitRows } from '../decoder/call';
import { ropeCosSin } from '../decoder/rope';
import { attentionBiasData } from '../layers';
import { ONNX_EXPORT_VERSION, ONNX_IO, buildDecoderModel, windowsOf, type OnnxExportOptions } from './export';
import { encodeModel } from './onnx-proto';

/** Options of {@link OnnxCausalLM} loaders. */
export interface OnnxCausalLMOptions {
  /** onnxruntime intra-op threads (default 2). */
  intraOpNumThreads?: number;
  /** Where the exported model is cached (default `${ALLMREC_HOME}/onnx/<cache key>`, see the module comment). */
  cacheDir?: string;
  /** Options passed to the exporter (part of the cache key). */
  exportOptions?: OnnxExportOptions;
  /** Check the cached model's sha256 before loading it (default true; sizes are always checked). */
  verifyCache?: boolean;
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

function sha256Json(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex');
}

/** The safetensors files of a checkpoint directory (single file or the shards of its index). */
function weightFiles(dir: string): string[] {
  const index = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(index)) {
    const map = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    return [...new Set(Object.values(map))].sort().map((f) => path.join(dir, f));
  }
  return [path.join(dir, 'model.safetensors')];
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
async function writeExport(dir: string, key: string, arch: DecoderArch, data: DecoderData, exportOptions: OnnxExportOptions): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(path.join(dir, RECORD_FILE), { force: true }); // invalidate first: a crash mid-write leaves a miss
  const enc = encodeModel(buildDecoderModel(arch, data, exportOptions), { ...exportOptions, externalDataLocation: DATA_FILE });
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

/** The cache of an {@link OnnxCausalLM}: onnxruntime's present tensors per layer. */
class OnnxKVCache implements KVCache {
  constructor(readonly present: ortTypes.Tensor[], readonly length: number, readonly batch: number) {}
  dispose(): void {
    for (const t of this.present) (t as { dispose?: () => void }).dispose?.();
  }
}

/** A decoder running on onnxruntime-node, driven by input embeddings. Inference only. */
export class OnnxCausalLM implements CausalLM {
  readonly differentiable = false;
  private released = false;

  private constructor(
    readonly config: DecoderArch,
    readonly tokenizer: LMTokenizer,
    private readonly ort: typeof ortTypes,
    private readonly session: ortTypes.InferenceSession,
    /** Token embedding table [vocab, hiddenSize]. */
    private readonly embeddingTable: Float32Array,
    /** How the model was obtained. */
    readonly loadInfo: OnnxLoadInfo,
  ) {}

  /**
   * A checkpoint directory already read into its architecture and weights (see
   * `readDecoderCheckpoint`), exported on first use and cached under `options.cacheDir`
   * (default `${ALLMREC_HOME}/onnx/<cache key>`), keyed by the weights files' checksums.
   */
  static async fromCheckpoint(
    checkpointDir: string, arch: DecoderArch, data: DecoderData, tokenizer: LMTokenizer, options: OnnxCausalLMOptions = {},
  ): Promise<OnnxCausalLM> {
    const checksums = await Promise.all(weightFiles(checkpointDir).map(async (f) => `${path.basename(f)}:${await sha256File(f)}`));
    const exportOptions = options.exportOptions ?? {};
    const key = sha256Json({ v: ONNX_EXPORT_VERSION, arch, exportOptions, checksums });
    const dir = options.cacheDir ?? cacheDir('onnx', key.slice(0, 24));
    const ort = await import('onnxruntime-node');
    const modelPath = path.join(dir, MODEL_FILE);
    let miss = await cacheProblem(dir, key, options.verifyCache ?? true);
    if (!miss) {
      try {
        const session = await ort.InferenceSession.create(modelPath, OnnxCausalLM.sessionOptions(options));
        return OnnxCausalLM.make(arch, data, tokenizer, ort, session, { modelPath, exported: false, key });
      } catch (err) {
        miss = `cached model does not load: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    await writeExport(dir, key, arch, data, exportOptions);
    const session = await ort.InferenceSession.create(modelPath, OnnxCausalLM.sessionOptions(options));
    return OnnxCausalLM.make(arch, data, tokenizer, ort, session, { modelPath, exported: true, cacheMiss: miss, key });
  }

  /** Exports an architecture and its weights in memory (nothing is written) and loads the graph. */
  static async fromDecoder(arch: DecoderArch, data: DecoderData, tokenizer: LMTokenizer, options: OnnxCausalLMOptions = {}): Promise<OnnxCausalLM> {
    const ort = await import('onnxruntime-node');
    const enc = encodeModel(buildDecoderModel(arch, data, options.exportOptions), { ...options.exportOptions, externalData: false });
    const session = await ort.InferenceSession.create(enc.model, OnnxCausalLM.sessionOptions(options));
    return OnnxCausalLM.make(arch, data, tokenizer, ort, session, { exported: true });
  }

  private static sessionOptions(options: OnnxCausalLMOptions): ortTypes.InferenceSession.SessionOptions {
    return { intraOpNumThreads: options.intraOpNumThreads ?? 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  }

  private static make(
    arch: DecoderArch, data: DecoderData, tokenizer: LMTokenizer, ort: typeof ortTypes, session: ortTypes.InferenceSession, info: OnnxLoadInfo,
  ): OnnxCausalLM {
    const need: string[] = [ONNX_IO.inputsEmbeds, ONNX_IO.logitRows];
    for (let l = 0; l < arch.layers; l++) need.push(ONNX_IO.pastKey(l), ONNX_IO.pastValue(l));
    for (const n of need) if (!session.inputNames.includes(n)) throw new Error(`ONNX model has no input "${n}"`);
    return new OnnxCausalLM(arch, tokenizer, ort, session, data.embed.data, info);
  }

  private check(): void {
    if (this.released) throw new Error('OnnxCausalLM: used after dispose()');
  }

  embedTokens(ids: tf.Tensor2D): tf.Tensor3D {
    this.check();
    const [B, T] = ids.shape;
    const E = this.config.hiddenSize;
    const V = this.config.vocabSize;
    const scale = this.config.embedScale;
    const idData = ids.dataSync();
    const out = new Float32Array(B * T * E);
    for (let i = 0; i < idData.length; i++) {
      const id = idData[i];
      if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`token id ${id} out of range [0, ${V})`);
      const row = this.embeddingTable.subarray(id * E, (id + 1) * E);
      if (scale === 1) out.set(row, i * E);
      else for (let j = 0; j < E; j++) out[i * E + j] = Math.fround(row[j] * scale);
    }
    return tf.tensor3d(out, [B, T, E]);
  }

  async forward(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, options: ForwardOptions = {}): Promise<ForwardResult> {
    this.check();
    const a = this.config;
    const past = options.pastKeyValues as OnnxKVCache | undefined;
    const { B, T, total, mask, positions } = decoderCall(a, inputEmbeds, attentionMask, past, OnnxKVCache, 'OnnxCausalLM');
    const E = a.hiddenSize;
    const { Tensor } = this.ort;
    const feeds: Record<string, ortTypes.Tensor> = {
      [ONNX_IO.inputsEmbeds]: new Tensor('float32', inputEmbeds.dataSync() as Float32Array, [B, T, E]),
    };
    for (const w of windowsOf(a)) {
      feeds[w === 0 ? ONNX_IO.attentionBias : ONNX_IO.windowBias(w)] = new Tensor('float32', attentionBiasData(mask, B, total, T, w), [B, 1, T, total]);
    }
    if (a.learnedPositions) {
      feeds[ONNX_IO.positionIds] = new Tensor('int64', BigInt64Array.from(positions, (p) => BigInt(p)), [B, T]);
    }
    if (a.rope) {
      const { cos, sin } = ropeCosSin(a.rope, positions);
      feeds[ONNX_IO.ropeCos] = new Tensor('float32', cos, [B, T, a.rope.dim]);
      feeds[ONNX_IO.ropeSin] = new Tensor('float32', sin, [B, T, a.rope.dim]);
    }
    // The rows whose logits the graph computes, and the shape they are returned in.
    const picked = logitRows(options, B, T, a.vocabSize);
    const rows = picked.rows ?? Int32Array.from({ length: B * T }, (_, i) => i);
    const shape = picked.shape;
    feeds[ONNX_IO.logitRows] = new Tensor('int64', BigInt64Array.from(rows, (r) => BigInt(r)), [rows.length]);
    const empty = past ? undefined : new Tensor('float32', new Float32Array(0), [1, a.kvHeads, 0, a.headDim]);
    for (let l = 0; l < a.layers; l++) {
      feeds[ONNX_IO.pastKey(l)] = past ? past.present[2 * l] : empty!;
      feeds[ONNX_IO.pastValue(l)] = past ? past.present[2 * l + 1] : empty!;
    }
    const out = options.logProbs ? ONNX_IO.logProbs : ONNX_IO.logits;
    const fetch: string[] = [out];
    if (options.useCache) for (let l = 0; l < a.layers; l++) fetch.push(ONNX_IO.presentKey(l), ONNX_IO.presentValue(l));
    const res = await this.session.run(feeds, fetch);
    const logits = tf.tensor3d(res[out].data as Float32Array, shape);
    if (!options.useCache) return { logits };
    return { logits, pastKeyValues: new OnnxKVCache(fetch.slice(1).map((n) => res[n]), total, B) };
  }

  /** Releases the onnxruntime session. */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}
