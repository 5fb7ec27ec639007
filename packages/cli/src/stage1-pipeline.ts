import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors, writeFileAtomic, encodeSafetensors, type InteractionDataset, type LeaveOneOutSplit, type ProgressListener } from '@allmrec/core';
import { createBackbone, loadBackbone, type CFBackbone } from '@allmrec/cf-backbones';
import { Stage1Alignment, type Stage1Config, type Stage1FitResult } from '@allmrec/alignment';
import { buildEvalSet, coldItemSplit, evaluateScores, getProtocol, type EvalSet } from '@allmrec/eval';
import { CachedTextEncoder, createTextEncoder, itemTexts, type TextEncoder } from '@allmrec/text-encoder';
import { assertOrderFits } from './order-check';

/** Encodes every item's text (title + first description line); row 0 (padding) stays zero. */
export async function encodeCatalog(
  dataset: InteractionDataset, encoder: TextEncoder, progress?: ProgressListener,
): Promise<{ embeddings: Float32Array; seconds: number; textsPerSecond: number }> {
  const texts = itemTexts(dataset.items.slice(1));
  const t0 = performance.now();
  const enc = await encoder.encode(texts, { onProgress: progress });
  const seconds = (performance.now() - t0) / 1000;
  const embeddings = new Float32Array((dataset.numItems + 1) * encoder.dim);
  embeddings.set(enc, encoder.dim);
  return { embeddings, seconds, textsPerSecond: texts.length / Math.max(seconds, 1e-9) };
}

/** Creates a text encoder by name, wrapped in the on-disk cache unless `cache` is false. */
export async function makeEncoder(name: string, options: { modelDir?: string; cache?: boolean; cacheDir?: string }): Promise<TextEncoder> {
  const inner = await createTextEncoder(name, options.modelDir ? { modelDir: options.modelDir } : {});
  return options.cache === false ? inner : new CachedTextEncoder(inner, options.cacheDir ? { dir: options.cacheDir } : {});
}

export interface AlignRun {
  backbone: CFBackbone;
  stage1: Stage1Alignment;
  fit: Stage1FitResult;
  split: LeaveOneOutSplit;
  coldItems: Set<number>;
  textEmbeddings: Float32Array;
  encoder: { name: string; id: string; dim: number; textsPerSecond: number; seconds: number };
  backboneSeconds: number;
}

/**
 * Stage 0 + Stage 1 with an optional cold-item hold-out: the backbone and Stage 1 never see the
 * cold items; the text encoder embeds every item.
 */
export async function trainAlignment(opts: {
  dataset: InteractionDataset; baseSplit: LeaveOneOutSplit; seed: number; encoder: TextEncoder; coldFraction: number;
  backboneName: string; backboneEpochs?: number; backboneDir?: string; stage1Epochs?: number; reconstruction?: boolean;
  examplesPerUser?: number;
  /** Stage 1 Adam learning rate (default: the paper's 1e-4). */
  stage1Lr?: number;
  /** Stage 1 initialisation (default: Stage1Alignment's). */
  stage1Init?: Stage1Config['init'];
  /** Ridge of the 'fitted' text-to-latent regression (default: Stage1Alignment's). */
  stage1InitTextRidge?: number;
  progress?: ProgressListener;
}): Promise<AlignRun> {
  let split: LeaveOneOutSplit = opts.baseSplit;
  let coldItems = new Set<number>();
  if (opts.coldFraction > 0) {
    const cs = coldItemSplit(opts.baseSplit, { fraction: opts.coldFraction, seed: opts.seed });
    split = cs.split;
    coldItems = cs.coldItems;
  }
  const t0 = performance.now();
  let backbone: CFBackbone;
  if (opts.backboneDir && fs.existsSync(path.join(opts.backboneDir, 'manifest.json'))) {
    backbone = await loadBackbone(opts.backboneName, opts.backboneDir);
  } else {
    backbone = createBackbone(opts.backboneName, opts.dataset.numItems);
    try { assertOrderFits(opts.dataset, backbone); } catch (err) { backbone.dispose(); throw err; }
    await backbone.fit(split, { seed: opts.seed, epochs: opts.backboneEpochs, onProgress: opts.progress });
    if (opts.backboneDir) await backbone.save(opts.backboneDir);
  }
  const backboneSeconds = (performance.now() - t0) / 1000;
  const enc = await encodeCatalog(opts.dataset, opts.encoder, opts.progress);
  const stage1 = new Stage1Alignment({
    itemDim: backbone.dim, textDim: opts.encoder.dim, reconstruction: opts.reconstruction ?? true, examplesPerUser: opts.examplesPerUser ?? 1,
    ...(opts.stage1Lr !== undefined ? { lr: opts.stage1Lr } : {}),
    ...(opts.stage1Init !== undefined ? { init: opts.stage1Init } : {}),
    ...(opts.stage1InitTextRidge !== undefined ? { initTextRidge: opts.stage1InitTextRidge } : {}),
  });
  const fit = await stage1.fit({
    backbone, split, textEmbeddings: enc.embeddings, seed: opts.seed, epochs: opts.stage1Epochs,
    excludeItems: coldItems, onProgress: opts.progress,
  });
  return {
    backbone, stage1, fit, split, coldItems, textEmbeddings: enc.embeddings, backboneSeconds,
    encoder: { name: opts.encoder.name, id: opts.encoder.id, dim: opts.encoder.dim, textsPerSecond: enc.textsPerSecond, seconds: enc.seconds },
  };
}

function hit1(set: EvalSet, scores: Float32Array[]): number {
  return evaluateScores(set, scores).metrics.hit1;
}

export interface AlignEval {
  coldUsers: number;
  warmUsers: number;
  /** x_u against dec_I(enc_T(Q_i)) for every candidate. */
  coldHit1: number;
  /** The backbone's own scores; its embeddings of cold items never trained. */
  coldHit1Backbone: number;
  /** x_u against dec_I(enc_I(E_i)) (joint embeddings) for every candidate. */
  warmHit1: number;
  warmHit1Backbone: number;
}

/** Hit@1 over 20 candidates for test users whose target is cold, and for those whose target is warm. */
export function evaluateAlignment(run: AlignRun, seed: number): AlignEval {
  const x = (set: EvalSet) => run.backbone.userRepresentations(set.histories, set.users);
  const out: Partial<AlignEval> = {};
  if (run.coldItems.size > 0) {
    const cold = buildEvalSet(run.split, getProtocol('test-20-cold'), { seed });
    out.coldUsers = cold.users.length;
    out.coldHit1 = cold.users.length ? hit1(cold, run.stage1.scoreCandidates(x(cold), cold.candidates, { via: 'text' })) : NaN;
    out.coldHit1Backbone = cold.users.length ? hit1(cold, run.backbone.score(cold.histories, cold.candidates, cold.users)) : NaN;
  } else {
    Object.assign(out, { coldUsers: 0, coldHit1: NaN, coldHit1Backbone: NaN });
  }
  const warm = buildEvalSet(run.split, getProtocol(run.coldItems.size > 0 ? 'test-20-warm' : 'test-20'), { seed });
  out.warmUsers = warm.users.length;
  out.warmHit1 = hit1(warm, run.stage1.scoreCandidates(x(warm), warm.candidates, { via: 'item' }));
  out.warmHit1Backbone = hit1(warm, run.backbone.score(warm.histories, warm.candidates, warm.users));
  return out as AlignEval;
}

/** Saves a whole alignment run (backbone, Stage 1, text embeddings, cold items) under `dir`. */
export async function saveAlignRun(dir: string, run: AlignRun, meta: Record<string, unknown>): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await run.backbone.save(path.join(dir, 'backbone'));
  await run.stage1.save(path.join(dir, 'stage1'));
  await writeFileAtomic(path.join(dir, 'text-embeddings.safetensors'), encodeSafetensors(
    { embeddings: { shape: [run.textEmbeddings.length / run.encoder.dim, run.encoder.dim], data: run.textEmbeddings } },
    { encoder: run.encoder.id },
  ));
  await writeFileAtomic(path.join(dir, 'run.json'), JSON.stringify({ ...meta, encoder: run.encoder, coldItems: [...run.coldItems] }, null, 2));
}

/** Loads a run written by {@link saveAlignRun}. */
export async function loadAlignRun(dir: string, baseSplit: LeaveOneOutSplit, backboneName: string): Promise<AlignRun> {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
  const backbone = await loadBackbone(backboneName, path.join(dir, 'backbone'));
  const textEmbeddings = readSafetensors(path.join(dir, 'text-embeddings.safetensors')).tensors.get('embeddings')!.data as Float32Array;
  const stage1 = await Stage1Alignment.load(path.join(dir, 'stage1'), { backbone, textEmbeddings });
  const coldItems = new Set<number>(meta.coldItems);
  const split = coldItems.size > 0 ? coldItemSplit(baseSplit, { fraction: meta.coldFraction, seed: meta.seed }).split : baseSplit;
  return { backbone, stage1, fit: meta.fit, split, coldItems, textEmbeddings, encoder: meta.encoder, backboneSeconds: 0 };
}

/** Trains another Stage 1 on the same backbone, text embeddings and cold items (for ablations). */
export async function retrainStage1(run: AlignRun, seed: number, overrides: { reconstruction?: boolean; matching?: boolean; epochs?: number }): Promise<Stage1Alignment> {
  const s = new Stage1Alignment({
    itemDim: run.backbone.dim, textDim: run.encoder.dim,
    reconstruction: overrides.reconstruction ?? true, matching: overrides.matching ?? true,
    examplesPerUser: run.stage1.config.examplesPerUser, lr: run.stage1.config.lr,
    init: run.stage1.config.init, initTextRidge: run.stage1.config.initTextRidge,
  });
  await s.fit({ backbone: run.backbone, split: run.split, textEmbeddings: run.textEmbeddings, seed, epochs: overrides.epochs, excludeItems: run.coldItems });
  return s;
}

/** Mean over dimensions of the standard deviation across rows of a [n, k] matrix. */
export function spread(m: Float32Array, k: number): number {
  const n = m.length / k;
  let total = 0;
  for (let j = 0; j < k; j++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = m[i * k + j];
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    total += Math.sqrt(Math.max(0, s2 / n - mean * mean));
  }
  return total / k;
}
