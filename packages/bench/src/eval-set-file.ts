/**
 * Sampled-protocol candidate sets saved with a benchmark run, so every model in it (and a later
 * resumed or extended run) is scored on exactly the same candidates.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync, type LeaveOneOutSplit } from '@allmrec/core';
import { getProtocol, type EvalSet } from '@allmrec/eval';

interface EvalSetFile {
  format: 'allmrec-eval-set';
  version: 1;
  protocol: string;
  seed: number;
  dataKey: string;
  users: number[];
  candidates: number[][];
  targets: number[];
}

/** Writes the users, candidates and targets of `set` (histories follow from the split). */
export function saveEvalSet(file: string, set: EvalSet, dataKey = ''): void {
  const body: EvalSetFile = {
    format: 'allmrec-eval-set', version: 1, protocol: set.protocol, seed: set.seed, dataKey,
    users: Array.from(set.users), candidates: set.candidates.map((c) => Array.from(c)), targets: Array.from(set.targets),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, JSON.stringify(body) + '\n');
}

/**
 * Reads a set written by {@link saveEvalSet} for `split`.
 * @throws Error naming the file when it is not an eval-set file, was saved for other data, or a
 * user's target no longer matches the split.
 */
export function loadEvalSet(file: string, split: LeaveOneOutSplit, dataKey = ''): EvalSet {
  let body: EvalSetFile;
  try {
    body = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not a readable eval-set file (${(err as Error).message})`, { cause: err });
  }
  if (body.format !== 'allmrec-eval-set' || body.version !== 1) throw new Error(`${file}: not an allmrec eval-set file (format ${body.format}, version ${body.version})`);
  if (body.dataKey !== dataKey) throw new Error(`${file}: saved for other data (data key ${body.dataKey || '(none)'}, now ${dataKey || '(none)'}); use another output directory`);
  const p = getProtocol(body.protocol);
  const n = body.users.length;
  if (body.candidates.length !== n || body.targets.length !== n) throw new Error(`${file}: ${n} users but ${body.candidates.length} candidate lists and ${body.targets.length} targets`);
  const set: EvalSet = {
    protocol: body.protocol, seed: body.seed, users: Int32Array.from(body.users),
    histories: new Array(n), candidates: new Array(n), targetIndex: new Int32Array(n), targets: Int32Array.from(body.targets),
  };
  for (let i = 0; i < n; i++) {
    const u = body.users[i];
    if (p.target(split, u) !== body.targets[i]) throw new Error(`${file}: user ${u}'s target is ${body.targets[i]} in the file but ${p.target(split, u)} in the split; the data changed`);
    set.histories[i] = p.history(split, u);
    set.candidates[i] = Int32Array.from(body.candidates[i]);
    set.targetIndex[i] = set.candidates[i].indexOf(body.targets[i]);
    if (set.targetIndex[i] < 0) throw new Error(`${file}: user ${u}'s candidates do not contain the target ${body.targets[i]}`);
  }
  return set;
}
