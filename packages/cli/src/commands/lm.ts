import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCausalLM, templateFor } from '@allmrec/llm-bridge';
import { buildPretrainCorpus, listCopyAccuracy, pretrainLM } from '@allmrec/llm-bridge/demo';
import { DATA_OPTIONS, choiceOption, fractionOption, intOption, lookBackOption, parse, positiveNumber, scaleRangeOption, shareOption, UsageError, DATA_OPTIONS_HELP } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { makeOutput, table } from '../output';
import { environmentInfo } from '../pipeline';
import { MIXED_USER_SCALE } from '../stage2-pipeline';
import { LM_GENERATE_HELP, lmGenerateCommand } from './lm-generate';

export const LM_HELP = `${LM_GENERATE_HELP}

Research: the demonstration LM (a retrieval circuit written by hand; see BENCHMARKS.md)
allmrec lm pretrain [--data PATH --format FORMAT] [--corpus FILE ...] --out DIR
                    [--steps 1000] [--max-seconds S] [--hidden 128] [--layers 4] [--heads 4]
                    [--vocab 2048] [--seq-len 128] [--max-positions 256] [--batch 16] [--lr 1e-3] [--tokenizer train|gpt2] [--seed S] [--json]
  Trains a small GPT-2-family causal LM and saves it in the Hugging Face layout (config.json,
  model.safetensors, tokenizer.json), so it loads and stays frozen like any checkpoint. Corpus:
  the dataset's item texts plus short list documents in the prompt's wording (1-3 history and
  2-6 candidate titles; no interactions), or
  text files you give (one document per line). With --checkpoint-dir an interrupted run resumes.
${DATA_OPTIONS_HELP}
  List documents: --list-history A-B and --list-candidates A-B titles (default 1-3 and 2-6);
  --list-answer random (default: any listed title), marker (the candidate whose slot token equals
  the user slot's: in-context retrieval) or vector (the slots hold random continuous vectors, as
  F_U(x_u) and F_I(e_i) do in Stage 2, and the answer is the candidate whose vector is most
  similar to the user slot's: retrieval by similarity, what Stage 2 asks of the LM);
  --user-scale LO-HI (with vector; default 0.1-1 with --match-head, else 1) scales each user
  vector by a log-uniform factor, so the LM also learns to answer from a flat, mixed
  comparison, as Stage 2 makes it. --title-tokens makes every
  item title one token of the trained tokenizer (a title is then copied as a single token).
  --bare-lists F writes a share F of the list documents without the prompt's wording (short
  contexts, where copying is found sooner); --lists-only leaves the item texts out; --doc-rows
  starts every document at position 0 of its own row (as a Stage 2 prompt) instead of packing.
  --mimetic-init starts every attention head with W_K = W_Q and W_O = W_V^T (attend to what
  resembles the query, copy what is attended: Trockman & Kolter 2023), which shortens the plateau
  before the LM learns to copy from a list. --curriculum F (with --doc-rows) grows batches from the
  shortest tenth of the documents to all of them over the first share F of the steps.
  --sinusoidal-positions starts the position table as sinusoids (nearby positions alike).
  --look-back K starts --look-back-heads N (default half) of layer 0's heads attending K positions
  back (2: from each slot to its title, with --title-tokens), on dimensions kept for position, and
  --first-position-heads N (default 0) more attending to position 0 (the user slot);
  --look-back-hold F keeps them as wired for the first share F of the steps (1: all of them).
  --match-head (with --look-back and --first-position-heads) also wires layer 1's heads 1..N to
  compare the user slot's vector with every item slot's and copy the best one's title (one
  look-back slice each: more look-back heads copy more of the title), in
  subspaces kept for it (see GPT2Spec.lookBack.match), and a section flag on the token " set"
  that keeps it on the candidate list, off the history (GPT2Spec.lookBack.section); with
  --look-back-hold it stays wired.`;

/**
 * List documents short enough for 128-token rows (1-3 history titles, 2-6 candidates). The paper's
 * 10 + 20 need ~400 tokens: pretrain with a longer --seq-len and more positions for those.
 */
const LIST_SIZES = { listHistory: [1, 3] as [number, number], listCandidates: [2, 6] as [number, number] };

/** "A-B" (or "N") as an integer range with A >= min. */
function rangeOption(values: Record<string, unknown>, name: string, fallback: [number, number], min: number): [number, number] {
  const v = values[name];
  if (v === undefined) return fallback;
  const m = /^(\d+)(?:-(\d+))?$/.exec(String(v));
  const r: [number, number] | undefined = m ? [Number(m[1]), Number(m[2] ?? m[1])] : undefined;
  if (!r || r[0] < min || r[1] < r[0]) throw new UsageError(`--${name} must be N or A-B with ${min} <= A <= B, got "${String(v)}"`);
  return r;
}

export async function lmCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'generate') return lmGenerateCommand(rest);
  if (sub !== 'pretrain') {
    process.stdout.write(LM_HELP + '\n');
    return sub === '--help' || sub === '-h' ? 0 : 2;
  }
  const { values } = parse(rest, {
    ...DATA_OPTIONS, corpus: { type: 'string', multiple: true }, out: { type: 'string' }, seed: { type: 'string', default: '1' },
    steps: { type: 'string' }, 'max-seconds': { type: 'string' }, hidden: { type: 'string' }, layers: { type: 'string' },
    heads: { type: 'string' }, vocab: { type: 'string' }, 'max-positions': { type: 'string' }, 'seq-len': { type: 'string' }, batch: { type: 'string' },
    lr: { type: 'string' }, tokenizer: { type: 'string', default: 'train' }, 'checkpoint-dir': { type: 'string' },
    documents: { type: 'string' }, 'list-answer': { type: 'string', default: 'random' },
    'list-history': { type: 'string' }, 'list-candidates': { type: 'string' }, 'user-scale': { type: 'string' }, 'title-tokens': { type: 'boolean', default: false },
    'lists-only': { type: 'boolean', default: false }, 'bare-lists': { type: 'string' },
    'doc-rows': { type: 'boolean', default: false }, 'mimetic-init': { type: 'boolean', default: false },
    curriculum: { type: 'string' }, 'sinusoidal-positions': { type: 'boolean', default: false },
    'look-back': { type: 'string' }, 'look-back-heads': { type: 'string' }, 'first-position-heads': { type: 'string' }, 'look-back-hold': { type: 'string' },
    'match-head': { type: 'boolean', default: false },
  });
  if (values.help) { process.stdout.write(LM_HELP + '\n'); return 0; }
  if (!values.out) throw new UsageError('lm pretrain needs --out DIR');
  const tokenizer = values.tokenizer as string;
  if (tokenizer !== 'train' && tokenizer !== 'gpt2') throw new UsageError('--tokenizer must be "train" or "gpt2"');
  if (values['title-tokens'] && (tokenizer !== 'train' || values.corpus)) throw new UsageError('--title-tokens needs a dataset and --tokenizer train');
  const listAnswer = choiceOption(values, 'list-answer', ['random', 'marker', 'vector'] as const);
  const curriculum = fractionOption(values, 'curriculum');
  const lr = positiveNumber(values, 'lr');
  const maxSeconds = positiveNumber(values, 'max-seconds');
  const wired = lookBackOption(values, 'look-back', 'look-back-heads', 'first-position-heads', intOption(values, 'heads') ?? 4);
  if (values['match-head'] && !(wired && wired.first >= 1)) throw new UsageError('--match-head needs --look-back and --first-position-heads (at least 1)');
  if (values['match-head'] && listAnswer !== 'vector') throw new UsageError('--match-head needs --list-answer vector (it compares slot vectors)');
  const lookBack = wired && { ...wired, hold: shareOption(values, 'look-back-hold') ?? 0, ...(values['match-head'] ? { match: true, section: true } : {}) };
  if (values['user-scale'] !== undefined && listAnswer !== 'vector') throw new UsageError('--user-scale needs --list-answer vector (it scales the user slot vectors)');
  const userScale = scaleRangeOption(values, 'user-scale') ?? (values['match-head'] ? MIXED_USER_SCALE : undefined);
  const bareLists = shareOption(values, 'bare-lists');
  const sizes = {
    listHistory: rangeOption(values, 'list-history', LIST_SIZES.listHistory, 0),
    listCandidates: rangeOption(values, 'list-candidates', LIST_SIZES.listCandidates, 2),
  };
  const out = makeOutput(values);
  const env = await environmentInfo(values.backend as string | undefined);
  const seed = intOption(values, 'seed', 1)!;
  const files = values.corpus as unknown as string[] | undefined;
  let corpus: string[];
  let corpusName: string;
  let titles: string[] = [];
  let domain: string | undefined;
  if (files && files.length) {
    corpus = [];
    for (const f of files) {
      if (!fs.existsSync(f)) throw new UsageError(`--corpus ${f}: no such file`);
      corpus.push(...fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim().length > 0));
    }
    corpusName = files.map((f) => path.basename(f)).join(', ');
  } else {
    const { dataset } = await datasetFromOptions(values);
    titles = dataset.items.slice(1).map((i) => i.title).filter(Boolean);
    domain = dataset.domain;
    corpus = buildPretrainCorpus(dataset.items.slice(1), { seed, template: templateFor(domain), documents: intOption(values, 'documents'), ...sizes, listAnswer, itemTexts: !values['lists-only'], bareLists, sectionMarker: !!values['match-head'] });
    corpusName = `${dataset.name} item texts + list documents`;
  }
  if (corpus.length < 2) throw new UsageError('the corpus has fewer than 2 documents');
  const r = await pretrainLM({
    corpus, outDir: values.out as string, seed, tokenizer, vocabSize: intOption(values, 'vocab'),
    addedTokens: values['title-tokens'] ? [...new Set(titles)] : undefined,
    hidden: intOption(values, 'hidden'), layers: intOption(values, 'layers'), heads: intOption(values, 'heads'),
    maxPositions: intOption(values, 'max-positions'),
    seqLen: intOption(values, 'seq-len'), batchSize: intOption(values, 'batch'), steps: intOption(values, 'steps'),
    maxSeconds, lr, oneDocPerRow: !!values['doc-rows'],
    mimeticInit: !!values['mimetic-init'], curriculum,
    sinusoidalPositions: !!values['sinusoidal-positions'], lookBack,
    ...(userScale ? { slotVectors: { userScale } } : {}),
    checkpointDir: values['checkpoint-dir'] as string | undefined, onProgress: out.progress,
  });
  let listCopy: { validRate: number; exactRate: number; rankRate: number; chance: number } | undefined;
  if (titles.length >= 10) {
    const lm = await loadCausalLM(r.dir);
    const acc = await listCopyAccuracy(lm, titles, {
      seed: seed + 1, documents: 50, template: templateFor(domain), ...sizes, answerBy: listAnswer, bare: bareLists === 1, slotVectors: r.slotVectors && { ...r.slotVectors, userScale: undefined }, // checked at full norm
    });
    listCopy = { validRate: acc.validRate, exactRate: acc.exactRate, rankRate: acc.rankRate, chance: acc.chance };
    lm.dispose();
  }
  const result = { ...env, corpus: corpusName, documents: corpus.length, ...r, list_copy: listCopy };
  out.result(result, () => process.stdout.write(table([
    ['saved to', path.resolve(r.dir)], ['parameters', r.params], ['vocabulary', r.vocabSize], ['corpus', corpusName],
    ['training tokens', r.trainTokens], ['steps', r.steps], ['seconds', r.seconds], ['final training loss', r.finalLoss],
    ['held-out perplexity', r.heldOutPerplexity],
    ...(listCopy ? [['list documents answered with a listed title', listCopy.validRate], ['...with the right title', listCopy.exactRate],
      ['right title ranked first by likelihood', listCopy.rankRate], ['...by chance', listCopy.chance]] as [string, number][] : []),
  ]) + '\n'));
  return 0;
}
