/**
 * The pretraining loop of the demonstration LM ({@link pretrainLM}): its options and result, the
 * tokenizer it trains, the held-out split, the schedule (warm-up then cosine decay), the hold of
 * the wired heads, the resumable checkpoint, and the Hugging Face checkpoint it writes. See
 * `index.ts` for what the LM is and what its Stage 2 numbers show.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  Rng, isArtifact, readArtifact, selectBackend, writeArtifact, type ProgressListener, type TensorInput,
} from '@allmrec/core';
import { writeHFCheckpoint } from '../checkpoint';
import { GPT2_EOS, HFTokenizer, gpt2TokenizerConfig, gpt2TokenizerJson } from '../tokenizer';
import { AdamW } from './adamw';
import { trainByteLevelBPE } from './bpe-trainer';
import { textPieces, tokenizeDocument } from './corpus';
import { TrainableGPT2, gpt2ParameterShapes, type GPT2Spec } from './gpt2-trainable';
import { holdWired } from './look-back';
import { SECTION_MARKER, matchHeld, sectionMarkerToken, wiredSlotVectors } from './match-head';
import { batchOf, curriculumPool, packRows, type Rows } from './rows';
import { slotVectors, type SlotVectorOptions } from './slot-vectors';

/** Default initial spread of added (title) token rows around their shared mean. */
const ADDED_TOKEN_SPREAD = 0.1;

/** Options of {@link pretrainLM}. */
export interface PretrainOptions {
  /** Documents (see {@link buildPretrainCorpus}; {@link PIECE_BREAK} / {@link SLOT_MARK} honoured). */
  corpus: string[];
  /** Where the Hugging Face checkpoint is written (atomically). */
  outDir: string;
  seed: number;
  /** 'train' (default): a byte-level BPE trained on the corpus; 'gpt2': GPT-2's 50,257 tokens (slower). */
  tokenizer?: 'train' | 'gpt2';
  /** Vocabulary size of the trained tokenizer (default 2048, incl. 256 bytes + <|endoftext|>). */
  vocabSize?: number;
  /**
   * Whole-string tokens added to the trained tokenizer (e.g. the item titles: see
   * `BPETrainOptions.addedTokens`); they come on top of `vocabSize`.
   */
  addedTokens?: string[];
  hidden?: number;
  layers?: number;
  heads?: number;
  maxPositions?: number;
  /** Tokens per training row (default 128). */
  seqLen?: number;
  /**
   * One document per row, starting at position 0 like a Stage 2 prompt (default false: rows are
   * packed). Batches are cut to their longest row, so short documents stay cheap.
   */
  oneDocPerRow?: boolean;
  /** Mimetic initialisation of attention (see `GPT2Spec.mimeticInit`; default false). */
  mimeticInit?: boolean;
  /**
   * Length curriculum: a share in [0, 1) of the steps over which batches grow from the shortest
   * tenth of the training rows to all of them (default 0: every row from the start). Copying
   * from a list is learned within a few hundred steps on short lists, and then carries over to
   * long ones, which on their own stay on the no-copy plateau.
   */
  curriculum?: number;
  /** Sinusoidal initial position table (see `GPT2Spec.sinusoidalPositions`; default false). */
  sinusoidalPositions?: boolean;
  /**
   * Layer-0 heads that start out looking `offset` positions back, and `first` that look at
   * position 0 (see `GPT2Spec.lookBack`; default none). `hold` (a share of the steps, default 0)
   * keeps them as wired for that long: layer 0's attention, the position table and the token
   * rows' position dimensions get no updates, so the later layers learn to use what those heads
   * bring before anything can repurpose them. `match` adds the wired matching head (see
   * `GPT2Spec.lookBack`), which `hold` keeps too, and `section` (with `match`) its section flag on
   * the tokenizer's {@link sectionMarkerToken}.
   */
  lookBack?: { offset: number; heads: number; first?: number; match?: boolean; section?: boolean; hold?: number };
  /** How vector slots (list documents with `listAnswer: 'vector'`) are drawn (see {@link slotVectors}). */
  slotVectors?: SlotVectorOptions;
  /** Initial spread of the added tokens' rows around their shared mean (see `GPT2Spec.sharedInitSpread`; default 0.1). */
  addedTokenSpread?: number;
  batchSize?: number;
  /** Optimizer steps (default 1000). */
  steps?: number;
  /** Stop early after this many seconds of training (the schedule still assumes `steps`). */
  maxSeconds?: number;
  /** Peak learning rate (default 1e-3), reached after `warmupSteps` (default 5 % of steps, ≤ 200). */
  lr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  /** Share of documents held out for perplexity (default 0.05). */
  heldOutFraction?: number;
  /** Write a resumable checkpoint here every `checkpointEvery` steps (default 200) and resume from it. */
  checkpointDir?: string;
  checkpointEvery?: number;
  onProgress?: ProgressListener;
}

/** What {@link pretrainLM} returns. */
export interface PretrainResult {
  dir: string;
  params: number;
  vocabSize: number;
  trainTokens: number;
  heldOutTokens: number;
  heldOutPerplexity: number;
  /** Steps taken (may be fewer than asked with `maxSeconds`). */
  steps: number;
  seconds: number;
  /** Mean training loss over the last (up to) 20 steps. */
  finalLoss: number;
  /** Mean seconds per step. */
  stepSeconds: number;
  /** Step training resumed from (0 when fresh). */
  resumedFrom: number;
  /** How vector slots were drawn (with `lookBack`, clear of the position dimensions): pass to `listCopyAccuracy`. */
  slotVectors: SlotVectorOptions;
}

/** Mean cross-entropy (nats per target token) of a model on packed rows. */
function meanLoss(model: TrainableGPT2, rows: Rows, T: number, batchSize: number, rng: Rng, vectors?: SlotVectorOptions): number {
  let sum = 0;
  let n = 0;
  for (let s = 0; s < rows.inputs.length; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, rows.inputs.length - s) }, (_, i) => s + i);
    const b = batchOf(rows, idx, T);
    const w = b.weights.reduce((a, x) => a + x, 0);
    if (w === 0) continue;
    const slots = slotVectors(b.roles, idx.length, b.T, model.spec.hidden, rng, vectors);
    const l = tf.tidy(() => model.loss(b.inputs, b.targets, b.weights, idx.length, b.T, slots));
    sum += l.dataSync()[0] * w;
    n += w;
    l.dispose();
  }
  return n ? sum / n : NaN;
}

const CHECKPOINT_KIND = 'allmrec.lm-pretrain.checkpoint';

/**
 * Trains a small GPT-2 on `corpus` and writes it as a Hugging Face checkpoint to `outDir`
 * (config.json, model.safetensors, tokenizer.json, tokenizer_config.json). Deterministic in
 * `seed` on a given backend.
 */
export async function pretrainLM(options: PretrainOptions): Promise<PretrainResult> {
  await selectBackend();
  const t0 = performance.now();
  const seed = options.seed;
  const T = options.seqLen ?? 128;
  const maxPositions = options.maxPositions ?? 256;
  if (T > maxPositions) throw new RangeError(`seqLen ${T} exceeds maxPositions ${maxPositions}`);
  const steps = options.steps ?? 1000;
  const batchSize = options.batchSize ?? 16;
  const lr = options.lr ?? 1e-3;
  const warmup = options.warmupSteps ?? Math.max(1, Math.min(200, Math.round(0.05 * steps)));
  const every = options.checkpointEvery ?? 200;

  // Tokenizer.
  let tokJson: Record<string, any>;
  let tokConfig: Record<string, any>;
  let eos: number;
  let added = 0;
  if ((options.tokenizer ?? 'train') === 'gpt2') {
    tokJson = gpt2TokenizerJson();
    tokConfig = gpt2TokenizerConfig();
    eos = GPT2_EOS;
  } else {
    const bpe = trainByteLevelBPE((function* () { for (const d of options.corpus) yield* textPieces(d); })(), {
      vocabSize: options.vocabSize ?? 2048, addedTokens: options.addedTokens, ...(options.lookBack?.section ? { wholeWords: [SECTION_MARKER] } : {}),
    });
    tokJson = bpe.tokenizerJson;
    tokConfig = bpe.tokenizerConfig;
    eos = bpe.eosTokenId;
    added = bpe.addedTokens;
  }
  const tok = new HFTokenizer(tokJson, tokConfig, { eosTokenId: eos, bosTokenId: eos });
  const V = tok.vocabSize;

  // Documents → held-out split → packed rows.
  const order = new Rng(seed).fork('documents').shuffle(Int32Array.from({ length: options.corpus.length }, (_, i) => i));
  const nHeld = Math.floor((options.heldOutFraction ?? 0.05) * options.corpus.length);
  const slotRng = new Rng(seed).fork('slots');
  const tokenized = Array.from(order, (i) => tokenizeDocument(tok, options.corpus[i], eos, slotRng, eos));
  const held = packRows(tokenized.slice(0, nHeld), T, eos, options.oneDocPerRow);
  const train = packRows(tokenized.slice(nHeld), T, eos, options.oneDocPerRow);
  if (train.inputs.length === 0) throw new Error('pretrainLM: the corpus gives no training rows');

  const spec: GPT2Spec = {
    vocabSize: V, hidden: options.hidden ?? 128, layers: options.layers ?? 4, heads: options.heads ?? 4, maxPositions, eosTokenId: eos,
    ...(added > 0 ? { sharedInitRows: [V - added, V] as [number, number], sharedInitSpread: options.addedTokenSpread ?? ADDED_TOKEN_SPREAD } : {}),
    ...(options.mimeticInit ? { mimeticInit: true } : {}),
    ...(options.sinusoidalPositions ? { sinusoidalPositions: true } : {}),
    ...(options.lookBack ? {
      lookBack: {
        offset: options.lookBack.offset, heads: options.lookBack.heads, first: options.lookBack.first ?? 0,
        ...(options.lookBack.match ? { match: true } : {}),
        ...(options.lookBack.section ? { section: sectionMarkerToken(tok) } : {}),
      },
    } : {}),
  };
  const vectorOptions: SlotVectorOptions = { ...wiredSlotVectors(spec), ...options.slotVectors };
  const model = new TrainableGPT2(spec, seed);
  const shapes = gpt2ParameterShapes(spec);
  const adam = new AdamW(0.9, 0.95, 1e-8, options.weightDecay ?? 0.01);
  const names = [...model.params.keys()];
  const vars = names.map((n) => model.params.get(n)!);
  let start = 0;
  const runKey = JSON.stringify({
    spec, T, batchSize, steps, lr, warmup, seed, docs: options.corpus.length, oneDocPerRow: !!options.oneDocPerRow,
    ...(options.curriculum ? { curriculum: options.curriculum } : {}),
    ...(options.slotVectors ? { slotVectors: options.slotVectors } : {}),
    ...(options.lookBack?.hold ? { hold: options.lookBack.hold } : {}),
  });
  if (options.checkpointDir && isArtifact(options.checkpointDir)) {
    const art = await readArtifact(options.checkpointDir, { expectKind: CHECKPOINT_KIND });
    if (art.config.runKey !== runKey) throw new Error(`pretrainLM: the checkpoint in ${options.checkpointDir} belongs to another run; remove it or use another directory`);
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [name, t] of art.tensors) {
      const [group, key] = [name.slice(0, name.indexOf('/')), name.slice(name.indexOf('/') + 1)];
      const data = t.data as Float32Array;
      if (group === 'param') tf.tidy(() => model.params.get(key)!.assign(tf.tensor(data, shapes[key])));
      else if (group === 'm') m.set(key, data);
      else if (group === 'v') v.set(key, data);
    }
    adam.restore(art.config.adamT, m, v, shapes);
    start = art.config.step;
  }
  const writeCheckpoint = async (step: number) => {
    const tensors: Record<string, TensorInput> = {};
    for (const [k, t] of model.params) tensors[`param/${k}`] = { shape: t.shape, data: t.dataSync().slice() as Float32Array };
    const st = adam.state();
    for (const [k, a] of st.m) tensors[`m/${k}`] = { shape: shapes[k], data: a };
    for (const [k, a] of st.v) tensors[`v/${k}`] = { shape: shapes[k], data: a };
    await writeArtifact(options.checkpointDir!, { kind: CHECKPOINT_KIND, config: { runKey, step, adamT: st.t }, tensors });
  };

  const curriculum = options.curriculum ?? 0;
  if (!(curriculum >= 0 && curriculum < 1)) throw new RangeError(`pretrainLM: curriculum must be in [0, 1), got ${curriculum}`);
  // Under a curriculum: rows by length (stable), so the pool of the shortest rows is a prefix.
  const byLength = curriculum > 0
    ? Int32Array.from(train.lengths.map((_, i) => i)).sort((a, b) => train.lengths[a] - train.lengths[b] || a - b)
    : undefined;

  const holdSteps = Math.round((options.lookBack?.hold ?? 0) * steps);
  const wiredHeld = spec.lookBack?.match && holdSteps > 0 ? matchHeld(model) : [];
  const recent: number[] = [];
  const trainStart = performance.now();
  let step = start;
  try {
    while (step < steps) {
      if (options.maxSeconds !== undefined && (performance.now() - trainStart) / 1000 >= options.maxSeconds) break;
      const rng = new Rng(seed).fork(`batch:${step}`);
      const pool = byLength ? curriculumPool(step, steps, curriculum, byLength.length, batchSize) : train.inputs.length;
      const idx = Array.from({ length: batchSize }, () => (byLength ? byLength[rng.int(pool)] : rng.int(pool)));
      const b = batchOf(train, idx, T);
      const slots = slotVectors(b.roles, batchSize, b.T, spec.hidden, new Rng(seed).fork(`vectors:${step}`), vectorOptions);
      const rate = step < warmup ? lr * (step + 1) / warmup
        : lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, (step - warmup) / Math.max(1, steps - warmup)))));
      let lossValue = 0;
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => model.loss(b.inputs, b.targets, b.weights, batchSize, b.T, slots), vars);
        lossValue = value.dataSync()[0];
        const g = new Map(names.map((n) => [n, grads[model.params.get(n)!.name]]));
        if (step < holdSteps) {
          holdWired(g, spec);
          for (const h of wiredHeld) g.set(h.name, tf.mul(g.get(h.name)!, h.keep));
        }
        adam.step(model.params, g, rate, 1.0);
        // Weight decay moves held entries too: put the wired values back.
        if (step < holdSteps) for (const h of wiredHeld) model.params.get(h.name)!.assign(tf.add(tf.mul(model.params.get(h.name)!, h.keep), h.value));
      });
      if (!Number.isFinite(lossValue)) throw new Error(`pretrainLM: loss became ${lossValue} at step ${step + 1}`);
      recent.push(lossValue);
      if (recent.length > 20) recent.shift();
      step++;
      options.onProgress?.({ task: 'lm:pretrain', current: step, total: steps, unit: 'step', values: { loss: Math.round(lossValue * 1e4) / 1e4, lr: rate } });
      if (options.checkpointDir && every > 0 && step % every === 0 && step < steps) await writeCheckpoint(step);
    }
    const trainSeconds = (performance.now() - trainStart) / 1000;
    const heldLoss = held.inputs.length ? meanLoss(model, held, T, batchSize, new Rng(seed).fork('held-out-vectors'), vectorOptions) : NaN;
    await writeHFCheckpoint(options.outDir, {
      config: model.configJson(), tensors: model.toHF(), tokenizerJson: tokJson, tokenizerConfig: tokConfig,
    });
    if (options.checkpointDir) await writeCheckpoint(step);
    options.onProgress?.({ task: 'lm:pretrain', current: step, total: steps, unit: 'step', done: true, values: { heldOutPpl: Math.exp(heldLoss) } });
    return {
      dir: options.outDir, params: model.size, vocabSize: V, trainTokens: train.tokens, heldOutTokens: held.tokens,
      heldOutPerplexity: Math.exp(heldLoss), steps: step, seconds: (performance.now() - t0) / 1000,
      finalLoss: recent.length ? recent.reduce((a, x) => a + x, 0) / recent.length : NaN,
      stepSeconds: step > start ? trainSeconds / (step - start) : 0, resumedFrom: start, slotVectors: vectorOptions,
    };
  } finally {
    for (const h of wiredHeld) tf.dispose([h.keep, h.value]);
    adam.dispose();
    model.dispose();
  }
}
