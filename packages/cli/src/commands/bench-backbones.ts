/**
 * `allmrec bench backbones`: the cross-backbone benchmark of @allmrec/bench on one dataset, with
 * backbones from the registry, from a module path or from an installed package.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { sha256Hex, type LeaveOneOutSplit } from '@allmrec/core';
import { leaveOneOut } from '@allmrec/data';
import * as backbones from '@allmrec/cf-backbones';
import { buildReport, runBackboneGrid, writeReports, type BenchStage } from '@allmrec/bench';
import { DATA_OPTIONS, intOption, parse, UsageError } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { makeOutput, table } from '../output';
import { environmentInfo } from '../pipeline';
import { allmrecStage } from '../bench-stages';
import { assertOrderFitsBackbone } from '../order-check';

export const BENCH_BACKBONES_HELP = `allmrec bench backbones [--data PATH --format FORMAT] [--backbones a,b,...] [--seeds 1,2,3]
                        [--out DIR] [--epochs N] [--patience 10] [--loss bce|ce] [--json]
  Trains every named backbone once per seed on the same leave-one-out split, early-stopped on
  validation full-ranking NDCG@10 (RecBole's rule), and reports per backbone the mean and spread
  over seeds of: full_hr10, full_ndcg10, full_mrr10 (and @20; every item outside the history is a
  candidate), test_hit1_20 and valid_ndcg10_101 (the paper's sampled protocols, on candidate sets
  drawn once and saved with the run), s_per_epoch. Writes report.json, report.md and a
  self-contained report.html into --out (default bench/<dataset>); a finished cell is never
  retrained, so an interrupted run resumes.

  --backbones LIST      registered names (default: every registered backbone); see below
  --seeds LIST          training seeds (default 1)
  --out DIR             where cells, candidate sets and reports go
  --epochs N            maximum epochs (default: each backbone's own)
  --patience N          validations without improvement before stopping (default 10; 0 = off)
  --eval-every N        validate every N epochs (default 1)
  --valid-users N       validate early stopping on at most N users (default all)
  --loss bce|ce         training loss of backbones that offer both (default: theirs, bce = the paper's)
  --config NAME.KEY=V   a config value for one backbone (repeatable), e.g. --config sasrec.dim=64
  --module PATH|PKG     load a module that registers more backbones (repeatable); it may export
                        register({ registerBackbone }) or call registerBackbone itself
  --stages allmrec      also run A-LLMRec (Stage 1 + Stage 2, the demonstration LM or --llm DIR)
                        on each trained backbone and add its Hit@1 to the report
  --llm DIR             the frozen LM of --stages allmrec (default: the demonstration LM)
  --eval-seed S         seed of the sampled candidate sets (default 42)`;

export const BENCH_BACKBONES_OPTIONS = {
  ...DATA_OPTIONS,
  backbones: { type: 'string' as const }, seeds: { type: 'string' as const, default: '1' }, out: { type: 'string' as const },
  epochs: { type: 'string' as const }, patience: { type: 'string' as const }, 'eval-every': { type: 'string' as const },
  'valid-users': { type: 'string' as const }, loss: { type: 'string' as const }, config: { type: 'string' as const, multiple: true },
  module: { type: 'string' as const, multiple: true }, stages: { type: 'string' as const }, llm: { type: 'string' as const },
  'eval-seed': { type: 'string' as const },
};

/** Imports `spec` (a file path, or a package name resolved from the working directory) and lets it register backbones. */
export async function loadBackboneModule(spec: string): Promise<string[]> {
  const before = new Set(backbones.listBackbones().map((b) => b.name));
  const asPath = path.resolve(spec);
  const req = createRequire(path.join(process.cwd(), 'package.json'));
  let file: string;
  if (fs.existsSync(asPath)) file = asPath;
  else {
    try {
      file = req.resolve(spec);
    } catch {
      throw new UsageError(`--module ${spec}: no such file, and no installed package of that name (from ${process.cwd()})`);
    }
  }
  let mod: Record<string, unknown>;
  try {
    // require() loads CommonJS and (Node >= 20.19) synchronous ES modules alike.
    mod = req(file) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_REQUIRE_ESM' && (err as { code?: string }).code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err;
    mod = await import(pathToFileURL(file).href) as Record<string, unknown>;
  }
  const register = (typeof mod.register === 'function' ? mod.register : typeof mod.default === 'function' ? mod.default
    : (mod.default as Record<string, unknown> | undefined)?.register) as ((api: typeof backbones) => unknown) | undefined;
  const named: string[] = [];
  const api = { ...backbones, registerBackbone: (...a: Parameters<typeof backbones.registerBackbone>) => { named.push(a[0]); backbones.registerBackbone(...a); } };
  if (typeof register === 'function') await register(api);
  const added = [...new Set([...named, ...backbones.listBackbones().map((b) => b.name).filter((n) => !before.has(n))])];
  if (added.length === 0) throw new UsageError(`--module ${spec} registered no backbone (export register({ registerBackbone }) or call registerBackbone)`);
  return added;
}

function listOption(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return String(v).split(',').map((s) => s.trim()).filter(Boolean);
}

function parseConfigValue(raw: string): unknown {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(raw)) return Number(raw);
  return raw;
}

/** A short fingerprint of a split: cells and candidate sets from other data are never reused. */
export function splitKey(split: LeaveOneOutSplit): string {
  const parts: number[] = [split.numUsers, split.numItems];
  for (let u = 0; u < split.train.length; u++) parts.push(-1, ...(split.train[u] ?? []), split.valid[u] ?? 0, split.test[u] ?? 0);
  return sha256Hex(Buffer.from(Int32Array.from(parts).buffer)).slice(0, 16);
}

export async function benchBackbones(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, BENCH_BACKBONES_OPTIONS);
  if (values.help) { process.stdout.write(BENCH_BACKBONES_HELP + '\n'); return 0; }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const out = makeOutput(values);
  for (const m of (values.module as unknown as string[] | undefined) ?? []) {
    const added = await loadBackboneModule(m);
    out.log(`--module ${m}: registered ${added.join(', ')}`);
  }
  const registered = backbones.listBackbones();
  const names = listOption(values.backbones) ?? registered.map((b) => b.name);
  for (const n of names) {
    if (!registered.some((b) => b.name === n)) throw new UsageError(`--backbones: unknown backbone "${n}" (registered: ${registered.map((b) => b.name).join(', ')}; --module adds more)`);
  }
  const seeds = (listOption(values.seeds) ?? ['1']).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n)) throw new UsageError(`--seeds: "${s}" is not an integer`);
    return n;
  });
  const epochs = intOption(values, 'epochs');
  if (epochs !== undefined && epochs < 1) throw new UsageError('--epochs must be at least 1');
  const patience = intOption(values, 'patience', 10)!;
  if (patience < 0) throw new UsageError('--patience must be 0 or more');
  const evalEvery = intOption(values, 'eval-every', 1)!;
  if (evalEvery < 1) throw new UsageError('--eval-every must be at least 1');
  const validUsers = intOption(values, 'valid-users');
  if (validUsers !== undefined && validUsers < 1) throw new UsageError('--valid-users must be at least 1');
  const config: Record<string, Record<string, unknown>> = {};
  const loss = values.loss as string | undefined;
  if (loss !== undefined) {
    if (loss !== 'bce' && loss !== 'ce') throw new UsageError(`--loss must be bce or ce, got "${loss}"`);
    const takers = names.filter((n) => registered.find((b) => b.name === n)?.defaults && 'loss' in registered.find((b) => b.name === n)!.defaults!);
    if (takers.length === 0) throw new UsageError(`--loss ${loss}: none of ${names.join(', ')} offers a choice of loss`);
    for (const n of takers) config[n] = { ...config[n], loss };
  }
  for (const kv of (values.config as unknown as string[] | undefined) ?? []) {
    const m = /^([a-z0-9_-]+)\.([A-Za-z0-9_]+)=(.*)$/.exec(kv);
    if (!m) throw new UsageError(`--config ${kv}: expected NAME.KEY=VALUE, e.g. sasrec.dim=64`);
    if (!names.includes(m[1])) throw new UsageError(`--config ${kv}: backbone "${m[1]}" is not in --backbones`);
    const defaults = registered.find((b) => b.name === m[1])?.defaults;
    if (defaults && !(m[2] in defaults)) throw new UsageError(`--config ${kv}: backbone "${m[1]}" has no config key "${m[2]}" (known: ${Object.keys(defaults).join(', ')})`);
    config[m[1]] = { ...config[m[1]], [m[2]]: parseConfigValue(m[3]) };
  }
  const stageNames = listOption(values.stages) ?? [];
  for (const s of stageNames) if (s !== 'allmrec') throw new UsageError(`--stages: unknown stage "${s}" (known: allmrec)`);
  if (values.llm !== undefined && !stageNames.includes('allmrec')) throw new UsageError('--llm is the LM of --stages allmrec; add --stages allmrec');

  const env = await environmentInfo(values.backend as string | undefined);
  const { dataset, source } = await datasetFromOptions(values);
  for (const n of names) assertOrderFitsBackbone(dataset, n);
  const split = leaveOneOut(dataset);
  const outDir = (values.out as string | undefined) ?? path.join('bench', path.basename(path.resolve(String(values.data ?? dataset.name))));
  const stages: BenchStage[] = stageNames.map(() => allmrecStage(values, dataset, out));
  let interactions = 0;
  for (const s of dataset.sequences) interactions += s.length;
  out.log(`bench backbones on ${dataset.name} (${source}): ${dataset.numUsers} users, ${dataset.numItems} items; ${names.join(', ')} x seeds ${seeds.join(',')} -> ${path.resolve(outDir)}`);
  const t0 = performance.now();
  const cells = await runBackboneGrid({
    dataset: dataset.name, split, backbones: names, seeds, outDir, epochs, patience, evalEvery, validUsers, config,
    evalSeed: intOption(values, 'eval-seed', 42), stages, dataKey: splitKey(split), onProgress: out.progress, log: out.log,
  });
  const report = writeReports(outDir, buildReport({
    title: `allmrec cross-backbone benchmark: ${dataset.name}`, dataset: dataset.name,
    data: { users: dataset.numUsers, items: dataset.numItems, interactions },
    settings: { backbones: names, seeds, epochs: epochs ?? 'backbone default', patience, evalEvery, validUsers: validUsers ?? 'all', config, evalSeed: intOption(values, 'eval-seed', 42), stages: stageNames, source },
    machine: { backend: env.backend, cpu: env.cpu, cores: env.cores, node: env.node, os: `${os.platform()} ${os.release()}` },
    date: new Date().toISOString().slice(0, 10), cells,
  }));
  out.log(`${cells.length} cells in ${((performance.now() - t0) / 1000).toFixed(1)} s; reports: ${report.files!.markdown}, ${report.files!.html}`);
  out.result(report, () => {
    const cols = ['full_hr10', 'full_ndcg10', 'full_mrr10', 'test_hit1_20', 'valid_ndcg10_101', 's_per_epoch'];
    process.stdout.write(table(report.rows.map((r) => [r.backbone, ...cols.map((c) => (typeof r[c] === 'number' ? (r[c] as number) : 'n/a'))]), ['backbone', ...cols]) + '\n');
  });
  return 0;
}
