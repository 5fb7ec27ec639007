/**
 * Stage 2 glue for the CLI: the `allmrec train` directory layout, LM sizing and pretraining for
 * the Stage 2 prompt, the Stage 2 sources (frozen backbone + Stage 1 joint embeddings), and one
 * evaluation set scored by both Stage 2 and the backbone.
 *
 * A `train` directory:
 *   run.json                 Stage 1 facts (written by saveAlignRun) + the train record (`train`, `lm`, ...)
 *   backbone/                Stage 0 (CF backbone)
 *   stage1/, text-embeddings.safetensors   Stage 1 (cold fraction 0: the full catalogue)
 *   lm/                      the LM pretrained here (absent when --llm named a checkpoint)
 *   stage2/                  Stage2Model.save (F_U, F_I)
 *   lm-checkpoint/, stage2-checkpoint/     resumable state of an unfinished stage (removed when it ends)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Rng, isArtifact, readSafetensorsHeader, writeFileAtomic, type InteractionDataset, type LeaveOneOutSplit, type ProgressListener,
} from '@allmrec/core';
import { type CFBackbone } from '@allmrec/cf-backbones';
import { type Stage1Alignment } from '@allmrec/alignment';
import { buildEvalSet, evaluateScores, getProtocol, type EvalSet, type Protocol, type RankMetrics } from '@allmrec/eval';
import {
  HFTokenizer, loadCausalLM, OnnxCausalLM, renderPrompt, resolveCheckpoint, templateFor, Stage2Model,
  type CausalLM, type PromptTemplate, type Stage2Sources,
} from '@allmrec/llm-bridge';
import {
  buildPretrainCorpus, textPieces, pretrainLM, SECTION_MARKER, trainByteLevelBPE, type PretrainOptions, type PretrainResult, type ListAnswer,
} from '@allmrec/llm-bridge/demo';
import { leaveOneOut } from '@allmrec/data';
import { DATA_OPTIONS, UsageError } from './args';
import { datasetFromOptions } from './dataset-source';
import { corpusSha256, demoLMKey, findDemoLM, pretrainInputs, restoreDemoLM, storeDemoLM } from './demo-lm-cache';
import { loadAlignRun, type AlignRun } from './stage1-pipeline';

/** Positions kept free after the longest prompt: the generated answer (32 tokens) or the target title. */
export const PROMPT_MARGIN = 40;

export const paths = (dir: string) => ({
  runJson: path.join(dir, 'run.json'),
  backbone: path.join(dir, 'backbone'),
  stage1: path.join(dir, 'stage1'),
  textEmbeddings: path.join(dir, 'text-embeddings.safetensors'),
  lm: path.join(dir, 'lm'),
  lmCheckpoint: path.join(dir, 'lm-checkpoint'),
  stage2: path.join(dir, 'stage2'),
  stage2Checkpoint: path.join(dir, 'stage2-checkpoint'),
});

/** DIR/run.json, or {} when absent. */
export function readRunMeta(dir: string): Record<string, any> {
  const f = paths(dir).runJson;
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : {};
}

export async function writeRunMeta(dir: string, meta: Record<string, unknown>): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await writeFileAtomic(paths(dir).runJson, JSON.stringify(meta, null, 2));
}

/** Whether Stage 1 (and with it the backbone) is complete in `dir`. */
export function hasStage1(dir: string): boolean {
  const p = paths(dir);
  return isArtifact(p.stage1) && fs.existsSync(p.textEmbeddings) && fs.existsSync(p.runJson) && !!readRunMeta(dir).encoder;
}

export function hasBackbone(dir: string): boolean {
  return fs.existsSync(path.join(paths(dir).backbone, 'manifest.json'));
}

export function hasLM(dir: string): boolean {
  const p = paths(dir).lm;
  return fs.existsSync(path.join(p, 'config.json')) && (fs.existsSync(path.join(p, 'model.safetensors')) || fs.existsSync(path.join(p, 'model.safetensors.index.json')));
}

/** Item titles by id (index 0 = padding); an item without a title is called by its key. */
export function itemTitles(dataset: InteractionDataset): string[] {
  return dataset.items.map((it, i) => (i === 0 ? '' : it.title || `item ${dataset.itemKeys[i]}`));
}

/** What Stage 2 reads: x_u from the frozen backbone, e_i = Stage 1's joint embeddings (and the backbone's scores for the warm start). */
export function stage2Sources(dataset: InteractionDataset, backbone: CFBackbone, stage1: Stage1Alignment, coldItems: ReadonlySet<number>): Stage2Sources {
  return {
    userReps: (histories, users) => backbone.userRepresentations(histories, users),
    itemEmbeddings: (ids) => stage1.jointEmbeddings(ids, coldItems),
    userDim: backbone.dim,
    itemDim: stage1.config.latentDim,
    titles: itemTitles(dataset),
    template: templateFor(dataset.domain),
    cfScores: (histories, candidates) => backbone.score(histories, candidates),
  };
}

/**
 * Token count of the longest Stage 2 prompt plus its target: the `history + candidates` items
 * whose `, "title"` pieces are longest (+ one slot each), the fixed wording, the user slot and
 * the longest quoted title + EOS as target.
 */
export function longestPromptTokens(tok: { encode(text: string): number[] }, titles: string[], template: PromptTemplate, history: number, candidates: number): number {
  const fixed = renderPrompt(tok, template, [], [], { placeholderId: 0 }).ids.length;
  const costs = titles.slice(1).map((t) => tok.encode(`, "${t}"`).length + 1).sort((a, b) => b - a);
  let items = 0;
  for (let i = 0; i < Math.min(costs.length, history + candidates); i++) items += costs[i];
  let target = 0;
  for (const t of titles.slice(1)) target = Math.max(target, tok.encode(`"${t}"`).length + 1);
  return fixed + items + target;
}

/**
 * The wiring `matchHead` pretrains with: each slot looks two back (its title) with half the heads
 * (as many as the wiring leaves room for: heads 0 and 1 and the first-position head stay apart),
 * one head at the user slot, the matching heads limited to the candidate list by the section flag,
 * all held. Every look-back head is one more dh slice of the title the matching heads copy: with
 * 8 heads of 16 dimensions, 4 slices name the right one of 400 titles at initialisation in 100% of
 * lists, 1 slice in 53% (`tools/bench/copy-width.ts`).
 */
function matchHeadWiring(heads: number) {
  return { offset: 2, heads: Math.max(1, Math.min(Math.floor(heads / 2), heads - 3)), first: 1, match: true, section: true, hold: 1 };
}

/**
 * The user vector's scale in the matching head's list documents (`SlotVectorOptions.userScale`):
 * down to a tenth, so the LM also sees the flat attention of Stage 2, where F_U and F_I are only as
 * sure as the CF model, and learns to name the most similar candidate from a mixture of titles.
 * Measured on ml-100k, seed 1: answers naming a candidate 0.951 (sharp lists only) -> 0.984, at the
 * cost of the ranking below the top (Hit@5 0.776 -> 0.722); down to 0.03 ranked worse still.
 */
export const MIXED_USER_SCALE: [number, number] = [0.1, 1];

/** Options of {@link pretrainForStage2}. */
export interface Stage2PretrainOptions {
  dataset: InteractionDataset;
  outDir: string;
  seed: number;
  history: number;
  candidates: number;
  steps?: number;
  maxSeconds?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  vocab?: number;
  batch?: number;
  seqLen?: number;
  lr?: number;
  documents?: number;
  /** How list documents choose their answer (see buildPretrainCorpus). */
  listAnswer?: ListAnswer;
  /** Item titles as whole tokens of the trained tokenizer (default true). */
  titleTokens?: boolean;
  /** Share of list documents without the prompt's wording (see buildPretrainCorpus). */
  bareLists?: number;
  /** One document per row at position 0 (see PretrainOptions.oneDocPerRow). */
  oneDocPerRow?: boolean;
  /** Mimetic attention initialisation (see PretrainOptions.mimeticInit). */
  mimeticInit?: boolean;
  /** Length curriculum (see PretrainOptions.curriculum). */
  curriculum?: number;
  /** Sinusoidal initial position table (see PretrainOptions.sinusoidalPositions). */
  sinusoidalPositions?: boolean;
  /**
   * Wire and hold the retrieval circuit (`GPT2Spec.lookBack.match`: one look-back head, one
   * first-position head, layer 1's matching head; needs vector list documents).
   */
  matchHead?: boolean;
  /** With `matchHead`: the list documents' user vector scale (SlotVectorOptions.userScale; default MIXED_USER_SCALE). */
  userScale?: [number, number];
  checkpointDir?: string;
  progress?: ProgressListener;
}

/** The pretraining a {@link Stage2PretrainOptions} asks for, and the prompt sizes it was derived from. */
export interface DemoLMPlan {
  options: PretrainOptions;
  maxPositions: number;
  seqLen: number;
  longestPrompt: number;
  documents: number;
  /** Cache key of this pretraining (undefined with a time budget: see demo-lm-cache.ts). */
  key?: string;
}

/**
 * The pretraining of the demonstration LM for a dataset (pretrainLM's options), sized so the
 * longest Stage 2 prompt fits: the corpus is the item texts plus list documents with 1..history
 * history titles and 2..candidates candidates; the BPE is trained once up front (deterministically,
 * as pretrainLM will) to count the longest prompt's tokens L; maxPositions = L + 40 (rounded up to
 * 8), seqLen defaults to maxPositions so the longest list documents fit one training row.
 */
export function demoLMPlan(o: Omit<Stage2PretrainOptions, 'checkpointDir' | 'progress'>): DemoLMPlan {
  const template = templateFor(o.dataset.domain);
  const corpus = buildPretrainCorpus(o.dataset.items.slice(1), {
    seed: o.seed, template, documents: o.documents, listHistory: [1, o.history], listCandidates: [2, o.candidates], listAnswer: o.listAnswer, bareLists: o.bareLists,
    sectionMarker: o.matchHead,
  });
  const vocabSize = o.vocab ?? 2048;
  const addedTokens = o.titleTokens ?? true ? [...new Set(itemTitles(o.dataset).slice(1).filter((t) => t.length > 0))] : undefined;
  const bpe = trainByteLevelBPE((function* () {
    for (const d of corpus) yield* textPieces(d);
  })(), { vocabSize, addedTokens, ...(o.matchHead ? { wholeWords: [SECTION_MARKER] } : {}) });
  const tok = new HFTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig, { eosTokenId: bpe.eosTokenId, bosTokenId: bpe.eosTokenId });
  const longestPrompt = longestPromptTokens(tok, itemTitles(o.dataset), template, o.history, o.candidates);
  const maxPositions = Math.ceil((longestPrompt + PROMPT_MARGIN) / 8) * 8;
  const seqLen = o.seqLen ?? maxPositions;
  if (seqLen > maxPositions) throw new UsageError(`--lm-seq-len ${seqLen} exceeds the ${maxPositions} positions the prompt needs; leave it out or lower it`);
  const options: PretrainOptions = {
    corpus, outDir: o.outDir, seed: o.seed, tokenizer: 'train', vocabSize, addedTokens, hidden: o.hidden, layers: o.layers, heads: o.heads,
    maxPositions, seqLen, batchSize: o.batch, steps: o.steps, maxSeconds: o.maxSeconds, lr: o.lr,
    oneDocPerRow: o.oneDocPerRow, mimeticInit: o.mimeticInit, curriculum: o.curriculum, sinusoidalPositions: o.sinusoidalPositions,
    ...(o.matchHead ? { lookBack: matchHeadWiring(o.heads ?? 4), slotVectors: { userScale: o.userScale ?? MIXED_USER_SCALE } } : {}),
  };
  return { options, maxPositions, seqLen, longestPrompt, documents: corpus.length, key: demoLMKey(options) };
}

/**
 * Pretrains the demonstration LM of {@link demoLMPlan} into `o.outDir`, or restores the same
 * pretraining from the cache (the user's, or the one shipped for the built-in run): see
 * demo-lm-cache.ts. A finished pretraining is stored in the user's cache.
 */
export async function pretrainForStage2(o: Stage2PretrainOptions): Promise<{
  result: PretrainResult; maxPositions: number; seqLen: number; longestPrompt: number; documents: number; cached?: 'cache' | 'shipped'; key?: string;
}> {
  const plan = demoLMPlan(o);
  const sizes = { maxPositions: plan.maxPositions, seqLen: plan.seqLen, longestPrompt: plan.longestPrompt, documents: plan.documents };
  if (plan.key) {
    const hit = await findDemoLM(plan.key);
    if (hit) {
      restoreDemoLM(hit.dir, o.outDir);
      return { result: { ...hit.record.result, dir: o.outDir }, ...sizes, cached: hit.where, key: plan.key };
    }
  }
  const result = await pretrainLM({ ...plan.options, checkpointDir: o.checkpointDir, onProgress: o.progress });
  if (plan.key) {
    const { dir: _dir, ...rest } = result;
    await storeDemoLM(plan.key, result.dir, { corpusSha256: corpusSha256(plan.options.corpus!), options: pretrainInputs(plan.options), result: rest });
  }
  return { result, ...sizes, key: plan.key };
}

/** Parameter count of a checkpoint directory, from the safetensors headers (no weights read). */
export function checkpointParams(dir: string): number {
  const files: string[] = [];
  const index = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) files.push('model.safetensors');
  else if (fs.existsSync(index)) files.push(...new Set<string>(Object.values(JSON.parse(fs.readFileSync(index, 'utf8')).weight_map as Record<string, string>)));
  let n = 0;
  for (const f of files) {
    for (const t of readSafetensorsHeader(path.join(dir, f)).tensors) n += t.shape.reduce((x, y) => x * y, 1);
  }
  return n;
}

/** The evaluation protocol of a Stage 2 model: the paper's "test-20", or the same rule with `numCandidates`. */
export function stage2Protocol(numCandidates: number): Protocol {
  const base = getProtocol('test-20');
  if (numCandidates === base.numNegatives + 1) return base;
  return { ...base, name: `test-${numCandidates}`, description: `${base.description} (${numCandidates} candidates)`, numNegatives: numCandidates - 1 };
}

/** The one evaluation set both Stage 2 and the backbone are scored on. */
export function stage2EvalSet(split: LeaveOneOutSplit, numCandidates: number, seed: number, maxUsers?: number): EvalSet {
  return buildEvalSet(split, stage2Protocol(numCandidates), { seed, maxUsers });
}

/** The backbone's own scores on the same set. */
export function evaluateBackboneOnSet(backbone: CFBackbone, set: EvalSet): RankMetrics {
  const scores: Float32Array[] = [];
  for (let s = 0; s < set.users.length; s += 256) {
    const e = Math.min(set.users.length, s + 256);
    scores.push(...backbone.score(set.histories.slice(s, e), set.candidates.slice(s, e), set.users.slice(s, e)));
  }
  return evaluateScores(set, scores).metrics;
}

/** Keys of the data options recorded in run.json to rebuild the same dataset later. */
const DATA_KEYS = Object.keys(DATA_OPTIONS);

/** The data options of a `train` run (paths made absolute; the seed fixes synthetic data). */
export function recordDataOptions(values: Record<string, unknown>, seed: number): Record<string, unknown> {
  const r: Record<string, unknown> = { seed: String(seed) };
  for (const k of DATA_KEYS) if (values[k] !== undefined) r[k] = k === 'data' ? path.resolve(String(values[k])) : values[k];
  return r;
}

/** Whether the command line names a dataset (else the one recorded at training is used). */
export function namesData(values: Record<string, unknown>): boolean {
  return DATA_KEYS.some((k) => values[k] !== undefined);
}

/** Everything `eval` and `recommend` need, loaded from a `train` directory. */
export interface Stage2Run {
  meta: Record<string, any>;
  dataset: InteractionDataset;
  split: LeaveOneOutSplit;
  align: AlignRun;
  lm: CausalLM;
  lmInfo: { name: string; source: string; dir: string; params: number; hidden: number; layers?: number; maxPositions: number };
  s2: Stage2Model;
  dispose(): void;
}

/** Where the LM of a train directory lives (DIR/lm, a checkpoint directory, or a hub name). */
export function lmLocation(dir: string, meta: Record<string, any>): string {
  if (!meta.lm) throw new Error(`${dir}: run.json records no LM (was "allmrec train" interrupted?)`);
  return meta.lm.source === 'pretrained' ? paths(dir).lm : meta.lm.name;
}

/** The checkpoint directory of a train directory's LM: DIR/lm, or the named checkpoint resolved (a hub name: its cache). */
export async function lmCheckpointDir(dir: string, meta: Record<string, any>, opts: { offline?: boolean } = {}): Promise<string> {
  const where = lmLocation(dir, meta);
  return meta.lm.source === 'pretrained' ? where : resolveCheckpoint(where, { offline: opts.offline });
}

/** Loads a directory written by `allmrec train`; `values` may name another copy of the dataset. */
export async function loadStage2Run(dir: string, values: Record<string, unknown>, opts: { offline?: boolean } = {}): Promise<Stage2Run> {
  if (!fs.existsSync(dir)) throw new UsageError(`--model ${dir}: no such directory`);
  const meta = readRunMeta(dir);
  if (!meta.train || !isArtifact(paths(dir).stage2) || !hasStage1(dir)) {
    throw new UsageError(`--model ${dir} is not a finished "allmrec train" directory (run allmrec train --out ${dir} to finish it)`);
  }
  const dataValues = namesData(values) ? { ...values, seed: meta.train.dataOptions?.seed } : meta.train.dataOptions;
  const { dataset } = await datasetFromOptions(dataValues ?? {});
  const rec = meta.train.dataset as { name: string; users: number; items: number } | undefined;
  if (rec && (rec.users !== dataset.numUsers || rec.items !== dataset.numItems)) {
    throw new UsageError(`the dataset (${dataset.name}: ${dataset.numUsers} users, ${dataset.numItems} items) is not the one ${dir} was trained on (${rec.name}: ${rec.users} users, ${rec.items} items)`);
  }
  const split = leaveOneOut(dataset);
  const align = await loadAlignRun(dir, split, meta.train.backbone ?? 'sasrec');
  const lm = await loadCausalLM(lmLocation(dir, meta), { offline: opts.offline });
  const resolved = await lmCheckpointDir(dir, meta, opts);
  const sources = stage2Sources(dataset, align.backbone, align.stage1, align.coldItems);
  const s2 = await Stage2Model.load(paths(dir).stage2, lm, sources);
  return {
    meta, dataset, split, align, lm, s2,
    lmInfo: {
      name: meta.lm.source === 'pretrained' ? path.resolve(paths(dir).lm) : meta.lm.name,
      source: meta.lm.source, dir: path.resolve(resolved), params: checkpointParams(resolved),
      hidden: lm.config.hiddenSize, layers: lmLayers(lm), maxPositions: lm.config.maxPositions,
    },
    dispose: () => {
      s2.dispose();
      lm.dispose();
      align.stage1.dispose();
      align.backbone.dispose();
    },
  };
}

/** A seeded draw of `count` items (1..numItems) not in `exclude`. */
export function drawItems(numItems: number, exclude: ReadonlySet<number>, count: number, seed: number): Int32Array {
  const allowed: number[] = [];
  for (let i = 1; i <= numItems; i++) if (!exclude.has(i)) allowed.push(i);
  if (allowed.length < count) throw new UsageError(`only ${allowed.length} items are outside the history; ${count} candidates are needed`);
  const rng = new Rng(seed).fork('recommend:candidates');
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(allowed.length - i);
    const t = allowed[i];
    allowed[i] = allowed[j];
    allowed[j] = t;
  }
  return Int32Array.from(allowed.slice(0, count));
}

/** The eval-set entry of one user: the same history and candidates `allmrec eval` uses for that user. */
export function userEvalEntry(split: LeaveOneOutSplit, user: number, numCandidates: number, seed: number): { history: Int32Array; candidates: Int32Array; target: number } | undefined {
  const p = stage2Protocol(numCandidates);
  const only: Protocol = { ...p, target: (s, u) => (u === user ? p.target(s, u) : 0) };
  const set = buildEvalSet(split, only, { seed, maxUsers: 1 });
  if (set.users.length === 0) return undefined;
  return { history: set.histories[0], candidates: set.candidates[0], target: set.targets[0] };
}

/** Layers of a decoder loaded by this package (undefined for other CausalLM implementations). */
export function lmLayers(lm: CausalLM): number | undefined {
  const layers = (lm.config as { layers?: unknown }).layers;
  return typeof layers === 'number' ? layers : undefined;
}

/** Where the frozen LM's inference runs: onnxruntime-node (exported and cached once) or tfjs. */
export interface InferenceRuntime {
  name: 'onnxruntime' | 'tfjs';
  /** Undefined for tfjs (Stage2Model then uses its own LM). */
  lm?: CausalLM;
  /** Why onnxruntime is not used, when it is not. */
  fallback?: string;
  /** Whether this load exported the ONNX graph (first use of a checkpoint). */
  exported?: boolean;
  dispose(): Promise<void>;
}

/** The `--runtime` option: onnx (default; falls back to tfjs when onnxruntime cannot load) or tfjs. */
export const RUNTIME_OPTION = { runtime: { type: 'string' as const, default: 'onnx' } };

/**
 * The inference runtime of a checkpoint directory: onnxruntime-node with the graph exported to
 * `${ALLMREC_HOME}/onnx` on first use, or tfjs when asked (`tfjs`) or when onnxruntime fails to load
 * (the reason is kept in `fallback`).
 */
export async function inferenceRuntime(checkpointDir: string, which: string): Promise<InferenceRuntime> {
  if (which !== 'onnx' && which !== 'tfjs') throw new UsageError(`--runtime must be onnx or tfjs, got "${which}"`);
  const tfjs = (fallback?: string): InferenceRuntime => ({ name: 'tfjs', fallback, dispose: async () => {} });
  if (which === 'tfjs') return tfjs();
  try {
    const lm = (await loadCausalLM(checkpointDir, { runtime: 'onnx' })) as OnnxCausalLM;
    return { name: 'onnxruntime', lm, exported: lm.loadInfo.exported, dispose: () => lm.dispose() };
  } catch (err) {
    return tfjs(`onnxruntime unavailable (${(err as Error).message.split('\n')[0]}); using tfjs`);
  }
}
