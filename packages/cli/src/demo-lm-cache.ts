/**
 * The demonstration LM's pretraining, cached by its inputs. Pretraining is deterministic: the same
 * corpus and options give the same weights byte for byte, so a finished pretraining is stored under
 * a key that hashes everything it read (`$ALLMREC_HOME/demo-lm/<key>`) and a later run with the same
 * inputs restores it instead of training again. The built-in run's LM also ships with this package
 * (`assets/demo-lm/<key>`), so a new user's first `allmrec run` does not pretrain it; it is the
 * output of `npx tsx tools/demo-lm/ship.ts`, and `demo-lm-cache.test.ts` checks that the current code
 * still produces it (same key, same corpus, same weights after a two-step fingerprint run).
 *
 * A run with a time budget (`maxSeconds`) is not cached: where it stops depends on the machine.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir, readArtifact, sha256File } from '@allmrec/core';
import { pretrainLM, type PretrainOptions, type PretrainResult } from '@allmrec/llm-bridge/demo';

/**
 * Bumped when the pretraining code changes what given inputs produce (the fingerprint test fails
 * first: then regenerate the shipped LM with tools/demo-lm/ship.ts and bump this).
 */
export const DEMO_LM_CACHE_FORMAT = 1;

/** What a cache entry records next to the checkpoint (`pretrain.json`). */
export interface DemoLMRecord {
  format: number;
  key: string;
  /** sha256 of the corpus documents (JSON array). */
  corpusSha256: string;
  /** The options pretrainLM ran with, without the corpus and the output paths. */
  options: Record<string, unknown>;
  /** What pretrainLM returned (its `dir` is where it trained). */
  result: Omit<PretrainResult, 'dir'>;
  /** sha256 of model.safetensors after the same pretraining cut to 2 steps (see {@link demoLMFingerprint}). */
  fingerprint?: string;
  /** Facts the caller keeps with the LM (e.g. the longest prompt it was sized for). */
  extra?: Record<string, unknown>;
}

/** Options that change nothing pretrainLM computes. */
const NOT_INPUTS = new Set(['corpus', 'outDir', 'checkpointDir', 'checkpointEvery', 'onProgress']);

function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The options of a pretraining that determine its weights (everything but the corpus and the paths). */
export function pretrainInputs(options: PretrainOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([k, v]) => !NOT_INPUTS.has(k) && v !== undefined));
}

/** sha256 of a corpus. */
export function corpusSha256(corpus: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(corpus)).digest('hex');
}

/** The cache key of a pretraining, or undefined when it cannot be cached (a time budget). */
export function demoLMKey(options: PretrainOptions): string | undefined {
  if (options.maxSeconds !== undefined) return undefined;
  const corpus = options.corpus;
  if (!corpus) return undefined;
  return createHash('sha256')
    .update(sortedJson({ format: DEMO_LM_CACHE_FORMAT, corpus: corpusSha256(corpus), options: pretrainInputs(options) }))
    .digest('hex').slice(0, 32);
}

/** Where the package keeps its shipped entries. */
export function shippedDemoLMDir(): string {
  return path.resolve(__dirname, '..', 'assets', 'demo-lm');
}

/** The user's cache of entries. */
export function userDemoLMDir(): string {
  return cacheDir('demo-lm');
}

/** True when every file of an entry matches its manifest (sizes and sha256: core's readArtifact checks). */
async function entryIntact(dir: string): Promise<boolean> {
  if (!fs.existsSync(path.join(dir, 'pretrain.json'))) return false;
  try {
    return 'model.safetensors' in (await readArtifact(dir)).manifest.files;
  } catch {
    return false;
  }
}

/** The cached entry for `key`: the user's cache first, then the shipped one; undefined when neither holds an intact entry. */
export async function findDemoLM(key: string): Promise<{ dir: string; where: 'cache' | 'shipped'; record: DemoLMRecord } | undefined> {
  for (const [base, where] of [[userDemoLMDir(), 'cache'], [shippedDemoLMDir(), 'shipped']] as const) {
    const dir = path.join(base, key);
    if (!(await entryIntact(dir))) continue;
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'pretrain.json'), 'utf8')) as DemoLMRecord;
    if (record.format === DEMO_LM_CACHE_FORMAT && record.key === key) return { dir, where, record };
  }
  return undefined;
}

/** Copies the checkpoint of an entry into `outDir` (atomically: a temporary name, then a rename). */
export function restoreDemoLM(entryDir: string, outDir: string): void {
  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(path.resolve(outDir)), { recursive: true });
  fs.cpSync(entryDir, tmp, { recursive: true });
  fs.rmSync(path.join(tmp, 'pretrain.json'));
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmp, outDir);
}

/** Stores a finished pretraining in the user's cache (atomically; an existing entry is kept). */
export async function storeDemoLM(key: string, checkpointDir: string, record: Omit<DemoLMRecord, 'format' | 'key'>): Promise<string> {
  const dir = path.join(userDemoLMDir(), key);
  if (await entryIntact(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(checkpointDir, tmp, { recursive: true });
  const full: DemoLMRecord = { format: DEMO_LM_CACHE_FORMAT, key, ...record };
  fs.writeFileSync(path.join(tmp, 'pretrain.json'), JSON.stringify(full, null, 2) + '\n');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

/**
 * sha256 of the weights the same pretraining gives when cut to 2 steps: cheap to recompute, and it
 * changes when the pretraining code changes what its inputs produce.
 */
export async function demoLMFingerprint(options: PretrainOptions): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-lm-fingerprint-'));
  try {
    const { onProgress: _p, checkpointDir: _c, ...rest } = options;
    await pretrainLM({ ...rest, steps: 2, outDir: path.join(tmp, 'lm') });
    return await sha256File(path.join(tmp, 'lm', 'model.safetensors'));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
