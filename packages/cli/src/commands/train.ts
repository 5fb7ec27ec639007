import * as fs from 'node:fs';
import * as path from 'node:path';
import { isArtifact } from '@allmrec/core';
import { leaveOneOut } from '@allmrec/data';
import type { InteractionDataset, LeaveOneOutSplit } from '@allmrec/core';
import { loadCausalLM, resolveCheckpoint, Stage2Model, templateFor, type CausalLM } from '@allmrec/llm-bridge';
import { interfaceSlotVectors, listCopyAccuracy } from '@allmrec/llm-bridge/demo';
import { DATA_OPTIONS, choiceOption, fractionOption, intOption, parse, positiveNumber, scaleRangeOption, shareOption, UsageError, DATA_OPTIONS_HELP } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { assertOrderFitsBackbone } from '../order-check';
import { makeOutput, table, type Output } from '../output';
import { environmentInfo } from '../pipeline';
import { loadAlignRun, makeEncoder, saveAlignRun, trainAlignment, type AlignRun } from '../stage1-pipeline';
import {
  MIXED_USER_SCALE, PROMPT_MARGIN, checkpointParams, hasBackbone, hasLM, hasStage1, itemTitles, lmLayers, longestPromptTokens, paths, pretrainForStage2,
  readRunMeta, recordDataOptions, stage2Sources, writeRunMeta, type Stage2PretrainOptions,
} from '../stage2-pipeline';

/** Default share of the LM steps over which the length curriculum grows (see PretrainOptions.curriculum). */
const LM_CURRICULUM = 0.5;
/** Heads of the LM pretrained here with the matching head: 8 leave tokens 5 of the 8 head slices (positions, S and U take 3). */
const MATCH_HEAD_HEADS = 8;

export const TRAIN_HELP = `allmrec train [--data PATH --format FORMAT] --out DIR [--llm DIR|hub-name] [--seed S]
              [--backbone-epochs N] [--stage1-epochs N] [--stage2-epochs N] [--max-users N]
              [--history 10] [--candidates 20] [--encoder use-lite] [--offline] [--json]
              [research options: --lm-*, --stage2-warm-start, --stage2-distill, --stage2-average]
  Every stage of A-LLMRec into DIR, each reused when its artifact is already there (so an
  interrupted train resumes; a stage in progress resumes from its checkpoint):
    DIR/backbone                 Stage 0, the CF backbone (--backbone sasrec, --backbone-epochs)
    DIR/stage1, text embeddings  Stage 1 on the full catalogue (no cold hold-out; --encoder, --stage1-epochs)
    DIR/lm                       the frozen LM: --llm names a Hugging Face checkpoint (directory or hub
                                 name); without it, the demonstration LM is pretrained here (see
                                 Research options)
    DIR/stage2                   Stage 2: F_U and F_I into the frozen LM (--stage2-epochs, --max-users
                                 training users, --stage2-batch 4, --stage2-lr 1e-4)
  DIR/run.json records the dataset, the options and which LM was used; "allmrec eval --model DIR"
  and "allmrec recommend --model DIR" read it.

${DATA_OPTIONS_HELP}

  Prompt size: --history (items shown, default 10) and --candidates (default 20, the paper's) fix the
  longest prompt. The paper's 10 + 20 titles need ~400+ tokens, so the LM pretrained here gets
  max positions = longest prompt + ${PROMPT_MARGIN} (room for a generated answer) and trains on rows of that length
  (--lm-seq-len to shorten them): fewer history items or candidates make pretraining and every
  Stage 2 step cheaper but leave the paper's setting; evaluation uses the same candidate count (the
  paper's protocol only with 20). A checkpoint given with --llm must have enough positions.

  Other: --examples-per-user K (Stage 1), --offline (hub names from the cache only), --no-cache.

  Research options (the demonstration LM pretrained here; see BENCHMARKS.md):
    The default LM (no --llm) is a demonstration LM with a retrieval circuit written by hand: a
    small GPT-2 pretrained here on the dataset's item texts around wired heads that compare the
    slots and copy a title. Its Stage 2 numbers show that the plumbing works, not that a pretrained
    LLM reads collaborative knowledge. These options tune it and the Stage 2 knobs measured with it.
    --stage2-average D (Stage 2 keeps the weights' average over the steps, decay D, default 0.99,
      0 = the last step's weights as the paper)
    LM pretraining: --lm-steps 1000 --lm-max-seconds S --lm-hidden 128 --lm-layers 4
    --lm-heads ${MATCH_HEAD_HEADS} (4 with --lm-no-match-head) --lm-vocab 2048 --lm-batch 16 --lm-lr 1e-3 --lm-seq-len N --lm-documents N
    By default the LM gets a wired, held retrieval circuit ("allmrec lm pretrain --match-head"):
    the answer attends to the item slot whose vector is most similar to the user slot's and copies
    its title, reading the vectors in two recorded slices of the hidden state; Stage 2 then starts
    F_U and F_I with a warm start on those slices (--stage2-warm-start N steps, default 3000, 0 = the
    paper's Xavier start), which learns the next item and, at weight --stage2-distill A (default
    0 = off), the backbone's own ranking of the prompt's candidates. --lm-no-match-head
    pretrains without it, as the paper's frozen LM would be.
    --lm-list-answer vector|marker|random (list documents answer with the candidate whose slot vector
    is most similar to the user slot's, the default; with the candidate retrieved by the user slot's
    token; or with any listed title; the last two need --lm-no-match-head)
    --lm-no-title-tokens (item titles are whole tokens of the trained tokenizer unless given)
    --lm-bare-lists F (share of list documents without the prompt's wording; default 0.5)
    --lm-user-scale LO-HI (each list's user vector scaled by a log-uniform factor, default
      ${MIXED_USER_SCALE.join('-')}: the LM also sees the flat comparisons of Stage 2 and names a candidate
      from them; 1 = sharp lists only, which ranks the other candidates better but names a
      non-candidate more often)
    --lm-packed-rows (pack documents into rows; by default each starts its own row at position 0,
    as the prompt does) --lm-no-mimetic-init (by default attention starts with W_K = W_Q and
    W_O = W_V^T, which teaches the LM to copy from its prompt several times sooner)
    --lm-curriculum F (batches grow from the shortest tenth of the documents to all of them over
    the first share F of the steps; default ${LM_CURRICULUM}; 0 = off) --lm-sinusoidal-positions
    (start the position table as sinusoids: the first LM to retrieve the marked title above chance,
    BENCHMARKS.md). These
    defaults are the best measured so far (BENCHMARKS.md).`;

export const TRAIN_OPTIONS = {
  ...DATA_OPTIONS,
  out: { type: 'string' as const },
  llm: { type: 'string' as const },
  seed: { type: 'string' as const, default: '1' },
  backbone: { type: 'string' as const, default: 'sasrec' },
  'backbone-epochs': { type: 'string' as const },
  'stage1-epochs': { type: 'string' as const },
  'examples-per-user': { type: 'string' as const },
  'stage2-epochs': { type: 'string' as const },
  'stage2-batch': { type: 'string' as const },
  'stage2-lr': { type: 'string' as const },
  'stage2-warm-start': { type: 'string' as const },
  'stage2-distill': { type: 'string' as const },
  'stage2-average': { type: 'string' as const },
  'max-users': { type: 'string' as const },
  history: { type: 'string' as const, default: '10' },
  candidates: { type: 'string' as const, default: '20' },
  encoder: { type: 'string' as const, default: 'use-lite' },
  'model-dir': { type: 'string' as const },
  'no-cache': { type: 'boolean' as const, default: false },
  offline: { type: 'boolean' as const, default: false },
  'lm-steps': { type: 'string' as const },
  'lm-max-seconds': { type: 'string' as const },
  'lm-hidden': { type: 'string' as const },
  'lm-layers': { type: 'string' as const },
  'lm-heads': { type: 'string' as const },
  'lm-vocab': { type: 'string' as const },
  'lm-batch': { type: 'string' as const },
  'lm-lr': { type: 'string' as const },
  'lm-seq-len': { type: 'string' as const },
  'lm-documents': { type: 'string' as const },
  'lm-list-answer': { type: 'string' as const },
  'lm-no-match-head': { type: 'boolean' as const, default: false },
  'lm-no-title-tokens': { type: 'boolean' as const, default: false },
  'lm-bare-lists': { type: 'string' as const },
  'lm-user-scale': { type: 'string' as const },
  'lm-packed-rows': { type: 'boolean' as const, default: false },
  'lm-no-mimetic-init': { type: 'boolean' as const, default: false },
  'lm-curriculum': { type: 'string' as const },
  'lm-sinusoidal-positions': { type: 'boolean' as const, default: false },
};

export type StageName = 'backbone' | 'stage1' | 'lm' | 'stage2';

/** List documents answered by a freshly pretrained LM as a check of what it learned (recorded in run.json). */
const LIST_CHECK_DOCUMENTS = 20;

const round = (x: number, k = 2) => Math.round(x * 10 ** k) / 10 ** k;

/** The trained stages of {@link trainStages}, live (dispose when done). */
export interface TrainedStages {
  dir: string;
  env: Awaited<ReturnType<typeof environmentInfo>>;
  dataset: InteractionDataset;
  source: string;
  split: LeaveOneOutSplit;
  seed: number;
  meta: Record<string, any>;
  lm: CausalLM;
  align: AlignRun;
  s2: Stage2Model;
  /** Seconds per stage in this call (0 when reused) and the total. */
  seconds: Record<StageName, number> & { total: number };
  reused: StageName[];
  summary: Record<string, unknown>;
  dispose(): void;
}

/**
 * How the demonstration LM is pretrained here, from the --lm-* options (recorded in run.json as
 * is). Fills in the defaults the options imply (list answers, heads).
 */
export function lmRecipeOf(values: Record<string, unknown>) {
  const matchHead = !values['lm-no-match-head'];
  if (values['lm-list-answer'] === undefined) values['lm-list-answer'] = matchHead ? 'vector' : 'marker';
  if (matchHead && values['lm-list-answer'] !== 'vector') throw new UsageError(`--lm-list-answer ${String(values['lm-list-answer'])} needs --lm-no-match-head (the matching head is pretrained on vector lists)`);
  if (matchHead && values['lm-heads'] === undefined) values['lm-heads'] = String(MATCH_HEAD_HEADS);
  if (matchHead && ((intOption(values, 'lm-heads') ?? 0) < 4 || (intOption(values, 'lm-layers') ?? 2) < 2)) {
    throw new UsageError('the matching head needs --lm-heads 4 or more and --lm-layers 2 or more (or --lm-no-match-head)');
  }
  const lmRecipe = {
    listAnswer: choiceOption(values, 'lm-list-answer', ['marker', 'random', 'vector'] as const),
    matchHead,
    titleTokens: !values['lm-no-title-tokens'],
    bareLists: shareOption(values, 'lm-bare-lists', 0.5)!,
    oneDocPerRow: !values['lm-packed-rows'],
    mimeticInit: !values['lm-no-mimetic-init'],
    curriculum: fractionOption(values, 'lm-curriculum', LM_CURRICULUM)!,
    sinusoidalPositions: !!values['lm-sinusoidal-positions'],
    ...(matchHead ? { userScale: scaleRangeOption(values, 'lm-user-scale') ?? MIXED_USER_SCALE } : {}),
  };
  if (!matchHead && values['lm-user-scale'] !== undefined) throw new UsageError('--lm-user-scale needs the matching head (leave out --lm-no-match-head)');
  return lmRecipe;
}

/** The demonstration LM's pretraining request for a dataset and prompt size (see demoLMPlan). */
export function demoLMRequest(
  values: Record<string, unknown>, dataset: InteractionDataset, prompt: { seed: number; history: number; candidates: number },
): Omit<Stage2PretrainOptions, 'outDir' | 'checkpointDir' | 'progress'> {
  const recipe = lmRecipeOf(values); // first: it fills in the defaults the options imply (e.g. --lm-heads)
  return {
    dataset, seed: prompt.seed, history: prompt.history, candidates: prompt.candidates,
    steps: intOption(values, 'lm-steps'), maxSeconds: positiveNumber(values, 'lm-max-seconds'), hidden: intOption(values, 'lm-hidden'),
    layers: intOption(values, 'lm-layers'), heads: intOption(values, 'lm-heads'), vocab: intOption(values, 'lm-vocab'),
    batch: intOption(values, 'lm-batch'), seqLen: intOption(values, 'lm-seq-len'), lr: positiveNumber(values, 'lm-lr'),
    documents: intOption(values, 'lm-documents'), ...recipe,
  };
}

/**
 * Every stage into `values.out` (see TRAIN_HELP), each reused when already there; the models stay
 * loaded for the caller (`allmrec run` evaluates them next).
 */
export async function trainStages(values: Record<string, unknown>, out: Output): Promise<TrainedStages> {
  const dir = values.out as string;
  const seed = intOption(values, 'seed', 1)!;
  const history = intOption(values, 'history', 10)!;
  const candidates = intOption(values, 'candidates', 20)!;
  if (history < 1) throw new UsageError('--history must be at least 1');
  if (candidates < 2) throw new UsageError('--candidates must be at least 2 (the target and one other item)');
  const maxUsers = intOption(values, 'max-users');
  if (maxUsers !== undefined && maxUsers < 1) throw new UsageError('--max-users must be at least 1');
  for (const k of ['backbone-epochs', 'stage1-epochs', 'stage2-epochs', 'stage2-batch', 'lm-steps', 'lm-hidden', 'lm-layers', 'lm-heads', 'lm-batch', 'lm-seq-len', 'lm-documents']) {
    const v = intOption(values, k);
    if (v !== undefined && v < 1) throw new UsageError(`--${k} must be a positive integer`);
  }
  positiveNumber(values, 'lm-lr'); // checked here, before any work
  positiveNumber(values, 'lm-max-seconds');
  const stage2Lr = positiveNumber(values, 'stage2-lr');
  const warmStartSteps = intOption(values, 'stage2-warm-start');
  if (warmStartSteps !== undefined && warmStartSteps < 0) throw new UsageError('--stage2-warm-start must be 0 or more steps');
  const warmStartDistill = shareOption(values, 'stage2-distill');
  const weightAverage = fractionOption(values, 'stage2-average');
  const llm = values.llm as string | undefined;
  const lmRecipe = lmRecipeOf(values);
  const offline = values.offline ? true : undefined;
  const env = await environmentInfo(values.backend as string | undefined);
  const t0 = performance.now();
  const { dataset, source } = await datasetFromOptions(values);
  const split = leaveOneOut(dataset);
  const backboneName = values.backbone as string;
  assertOrderFitsBackbone(dataset, backboneName); // before the LM, which trains first
  const p = paths(dir);
  fs.mkdirSync(dir, { recursive: true });
  let meta = readRunMeta(dir);
  if (meta.train?.dataset && (meta.train.dataset.users !== dataset.numUsers || meta.train.dataset.items !== dataset.numItems)) {
    throw new UsageError(`${dir} holds a run on another dataset (${meta.train.dataset.name}); use another --out`);
  }
  out.log(`allmrec train: ${dataset.name} (${source}), ${dataset.numUsers} users, ${dataset.numItems} items -> ${path.resolve(dir)}; backend ${env.backend}`);
  const seconds: Record<StageName, number> = { backbone: 0, stage1: 0, lm: 0, stage2: 0 };
  const reused: StageName[] = [];
  const trainRecord = {
    dataOptions: meta.train?.dataOptions ?? recordDataOptions(values, seed),
    dataset: { name: dataset.name, users: dataset.numUsers, items: dataset.numItems, source },
    seed: meta.train?.seed ?? seed, backbone: meta.train?.backbone ?? backboneName,
    history: meta.train?.history ?? history, candidates: meta.train?.candidates ?? candidates,
  };
  if (meta.train && (meta.train.history !== history || meta.train.candidates !== candidates)) {
    out.log(`note: ${dir} was started with --history ${meta.train.history} --candidates ${meta.train.candidates}; continuing with those`);
  }
  let summary: Record<string, unknown> = {};
  let models!: { lm: CausalLM; align: AlignRun; s2: Stage2Model };
  const save = async (extra: Record<string, unknown>) => {
    meta = { ...meta, ...extra, train: trainRecord };
    await writeRunMeta(dir, meta);
  };

  const disposers: (() => void)[] = [];
  try {
    // The LM first: a checkpoint that cannot hold the prompt fails before any training.
    const titles = itemTitles(dataset);
    const template = templateFor(dataset.domain);
    const sLM = performance.now();
    let lm: CausalLM;
    const check = (m: CausalLM, what: string) => {
      const longest = longestPromptTokens(m.tokenizer, titles, template, trainRecord.history, trainRecord.candidates);
      // The longest prompt with its target must fit; generation stops at the context window.
      if (longest > m.config.maxPositions) {
        throw new UsageError(`${what} has ${m.config.maxPositions} positions but the longest prompt with its answer (--history ${trainRecord.history}, --candidates ${trainRecord.candidates}) needs ${longest}; lower --history / --candidates or use an LM with more positions`);
      }
      return longest;
    };
    if (meta.lm) {
      if (llm && !(meta.lm.source === 'checkpoint' && meta.lm.name === (fs.existsSync(llm) ? path.resolve(llm) : llm))) {
        throw new UsageError(`${dir} was trained with the LM ${meta.lm.source === 'pretrained' ? 'pretrained in DIR/lm' : meta.lm.name}; use another --out for --llm ${llm}`);
      }
      if (meta.lm.source === 'pretrained' && !hasLM(dir)) throw new Error(`${dir}/lm is missing although run.json records it`);
      lm = await loadCausalLM(meta.lm.source === 'pretrained' ? p.lm : meta.lm.name, { offline });
      disposers.push(() => lm.dispose());
      reused.push('lm');
    } else if (llm) {
      const name = fs.existsSync(llm) ? path.resolve(llm) : llm;
      const resolved = await resolveCheckpoint(name, { offline });
      lm = await loadCausalLM(resolved, { offline });
      disposers.push(() => lm.dispose());
      check(lm, `--llm ${llm}`);
      await save({ lm: { source: 'checkpoint', name, params: checkpointParams(resolved) } });
    } else {
      if (hasLM(dir)) {
        // Pretrained to completion but run.json was not updated (interrupted right after).
        await save({ lm: { source: 'pretrained', name: 'lm', params: checkpointParams(p.lm) } });
        reused.push('lm');
      } else {
        out.log('LM: the demonstration LM (a small GPT-2 with a retrieval circuit written by hand), pretrained on the item texts or restored from the cache');
        const r = await pretrainForStage2({
          ...demoLMRequest(values, dataset, trainRecord), outDir: p.lm, checkpointDir: p.lmCheckpoint, progress: out.progress,
        });
        fs.rmSync(p.lmCheckpoint, { recursive: true, force: true });
        if (r.cached) out.log(`LM: restored from ${r.cached === 'shipped' ? 'the copy shipped with allmrec' : 'the cache'} (the same inputs pretrained once, ${round(r.result.seconds)} s; key ${r.key})`);
        await save({
          lm: {
            source: 'pretrained', name: 'lm', params: r.result.params,
            pretrain: {
              steps: r.result.steps, seconds: round(r.result.seconds), finalLoss: r.result.finalLoss, heldOutPerplexity: r.result.heldOutPerplexity,
              vocabSize: r.result.vocabSize, maxPositions: r.maxPositions, seqLen: r.seqLen, longestPrompt: r.longestPrompt, documents: r.documents,
              ...lmRecipe, ...(r.key ? { key: r.key } : {}), ...(r.cached ? { restoredFrom: r.cached } : {}),
            },
          },
        });
      }
      lm = await loadCausalLM(p.lm);
      disposers.push(() => lm.dispose());
      if (meta.lm.pretrain && meta.lm.pretrain.listCopy === undefined) {
        // What the frozen LM can do before Stage 2: answer fresh list documents of the Stage 2 size.
        const acc = await listCopyAccuracy(lm, titles.slice(1).filter(Boolean), {
          seed: trainRecord.seed + 1, documents: LIST_CHECK_DOCUMENTS, template, answerBy: lmRecipe.listAnswer,
          ...(lm.config.slotInterface ? { slotVectors: interfaceSlotVectors(lm.config.slotInterface) } : {}),
          listHistory: [trainRecord.history, trainRecord.history], listCandidates: [trainRecord.candidates, trainRecord.candidates],
        });
        await save({ lm: { ...meta.lm, pretrain: { ...meta.lm.pretrain, listCopy: { documents: acc.documents, validRate: acc.validRate, exactRate: acc.exactRate, rankRate: acc.rankRate, chance: acc.chance } } } });
        const pct = (x: number) => `${Math.round(x * 100)}%`;
        out.log(lmRecipe.listAnswer === 'random'
          ? `LM check on ${acc.documents} list documents of the Stage 2 size: ${pct(acc.validRate)} answer a listed title, ${pct(acc.exactRate)} exactly a listed title`
          : `LM check on ${acc.documents} list documents of the Stage 2 size: ${pct(acc.validRate)} answer a listed title, ${pct(acc.exactRate)} the ${lmRecipe.listAnswer === 'marker' ? 'marked' : 'most similar'} one; ranked first by likelihood ${pct(acc.rankRate)} (chance ${pct(acc.chance)})`);
      }
    }
    const longest = check(lm, 'the LM');
    if (!reused.includes('lm')) seconds.lm = round((performance.now() - sLM) / 1000);
    out.log(`LM (${meta.lm.source === 'pretrained' ? `pretrained in ${p.lm}` : meta.lm.name}): ${lm.config.modelType}, hidden ${lm.config.hiddenSize}, ${lmLayers(lm) ?? '?'} layers, ${lm.config.maxPositions} positions (longest prompt ${longest} tokens)${reused.includes('lm') ? ', reused' : `, ${seconds.lm} s`}`);

    // Stages 0 and 1.
    let align: AlignRun;
    if (hasStage1(dir)) {
      const s = performance.now();
      align = await loadAlignRun(dir, split, trainRecord.backbone);
      disposers.push(() => { align.stage1.dispose(); align.backbone.dispose(); });
      if (align.coldItems.size > 0) throw new UsageError(`${dir} holds a Stage 1 with cold items held out; train needs the full catalogue (use another --out)`);
      seconds.backbone = round((performance.now() - s) / 1000);
      reused.push('backbone', 'stage1');
      out.log('stage 0 (backbone) and stage 1: reused');
    } else {
      if (hasBackbone(dir)) reused.push('backbone');
      const encoder = await makeEncoder(values.encoder as string, { modelDir: values['model-dir'] as string | undefined, cache: !values['no-cache'] });
      const s = performance.now();
      try {
        align = await trainAlignment({
          dataset, baseSplit: split, seed: trainRecord.seed, encoder, coldFraction: 0, backboneName: trainRecord.backbone,
          backboneEpochs: intOption(values, 'backbone-epochs'), backboneDir: p.backbone,
          stage1Epochs: intOption(values, 'stage1-epochs'), examplesPerUser: intOption(values, 'examples-per-user'), progress: out.progress,
        });
      } finally {
        encoder.dispose();
      }
      disposers.push(() => { align.stage1.dispose(); align.backbone.dispose(); });
      seconds.backbone = round(align.backboneSeconds);
      seconds.stage1 = round((performance.now() - s) / 1000 - align.backboneSeconds);
      const keep = { ...meta };
      await saveAlignRun(dir, align, { seed: trainRecord.seed, coldFraction: 0, dataset: dataset.name, fit: align.fit });
      meta = { ...keep, ...readRunMeta(dir) };
      await save({});
      out.log(`stage 0 (backbone): ${reused.includes('backbone') ? 'reused' : `${seconds.backbone} s`}; stage 1: ${seconds.stage1} s`);
    }

    // Stage 2.
    const sources = stage2Sources(dataset, align.backbone, align.stage1, align.coldItems);
    let s2: Stage2Model;
    if (isArtifact(p.stage2)) {
      s2 = await Stage2Model.load(p.stage2, lm, sources);
      disposers.push(() => s2.dispose());
      reused.push('stage2');
      out.log('stage 2: reused');
    } else {
      const s = performance.now();
      const epochs = intOption(values, 'stage2-epochs');
      const batchSize = intOption(values, 'stage2-batch');
      s2 = new Stage2Model(lm, sources, {
        historyLength: trainRecord.history, numCandidates: trainRecord.candidates,
        ...(epochs !== undefined ? { epochs } : {}), ...(batchSize !== undefined ? { batchSize } : {}), ...(stage2Lr !== undefined ? { lr: stage2Lr } : {}),
        ...(warmStartSteps !== undefined ? { warmStartSteps } : {}), ...(warmStartDistill !== undefined ? { warmStartDistill } : {}),
        ...(weightAverage !== undefined ? { weightAverage } : {}),
      }, trainRecord.seed);
      disposers.push(() => s2.dispose());
      const fit = await s2.fit({ split: align.split, seed: trainRecord.seed, maxUsers, checkpointDir: p.stage2Checkpoint, onProgress: out.progress });
      await s2.save(p.stage2);
      fs.rmSync(p.stage2Checkpoint, { recursive: true, force: true });
      seconds.stage2 = round((performance.now() - s) / 1000);
      const last = fit.epochs[fit.epochs.length - 1];
      await save({
        stage2: {
          epochs: fit.epochs.length, trainUsers: fit.trainUsers, stepsPerEpoch: fit.stepsPerEpoch, stepSeconds: fit.stepSeconds,
          finalLoss: last?.loss, losses: fit.epochs.map((e) => e.loss), resumedFrom: fit.resumedFrom, maxUsers: maxUsers ?? null,
          ...(fit.warmStart ? { warmStart: fit.warmStart } : {}), weightAverage: s2.config.weightAverage,
        },
      });
      const warm = fit.warmStart ? `, warm start on the LM's slot interface: ${fit.warmStart.steps} steps, surrogate Hit@1 ${round(fit.warmStart.hit1, 3)}${fit.warmStart.distill > 0 ? `, the backbone's ranking distilled at weight ${fit.warmStart.distill}` : ''}` : '';
      const averaged = s2.config.weightAverage > 0 ? `, weights averaged over the steps (decay ${s2.config.weightAverage})` : '';
      out.log(`stage 2: ${seconds.stage2} s (${fit.trainUsers} users, ${fit.epochs.length} epochs, final loss ${last ? round(last.loss, 4) : 'n/a'}${fit.resumedFrom ? `, resumed after epoch ${fit.resumedFrom}` : ''}${warm}${averaged})`);
    }
    models = { lm, align, s2 };
    summary = {
      history: s2.config.historyLength, candidates: s2.config.numCandidates,
      llm: { source: meta.lm.source, name: meta.lm.source === 'pretrained' ? path.resolve(p.lm) : meta.lm.name, params: meta.lm.params, maxPositions: lm.config.maxPositions, longestPrompt: longest },
    };
  } catch (err) {
    for (const d of disposers.reverse()) d();
    throw err;
  }

  const total = round((performance.now() - t0) / 1000);
  return {
    dir, env, dataset, source, split: models.align.split, seed: trainRecord.seed, meta, ...models, seconds: { ...seconds, total }, reused, summary,
    dispose: () => { for (const d of disposers.reverse()) d(); },
  };
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, TRAIN_OPTIONS);
  if (values.help) { process.stdout.write(TRAIN_HELP + '\n'); return 0; }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.out) throw new UsageError('train needs --out DIR');
  const out = makeOutput(values);
  const r = await trainStages(values, out);
  r.dispose();
  const { env, dataset, source, seconds, reused, summary, meta } = r;
  const total = seconds.total;
  const result = {
    ...env, out: path.resolve(r.dir), dataset: dataset.name, source, users: dataset.numUsers, items: dataset.numItems, seed: r.seed,
    ...summary, seconds, reused, stage2: meta.stage2,
  };
  out.result(result, () => process.stdout.write(table([
    ...(['backbone', 'stage1', 'lm', 'stage2'] as StageName[]).map((k) => [k, reused.includes(k) ? 'reused' : `${seconds[k].toFixed(2)} s`]),
    ['total', `${total.toFixed(2)} s`],
  ], [`A-LLMRec stages in ${path.resolve(r.dir)}`, 'seconds']) + '\n'));
  return 0;
}
