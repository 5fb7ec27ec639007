/**
 * The backbone conformance suite: what any CFBackbone must do for stages 1 and 2 to rely on it.
 * Run it against your own backbone:
 *
 *   import { defineBackboneConformanceTests } from '@allmrec/cf-backbones';
 *   defineBackboneConformanceTests('my-model', (numItems) => new MyModel(numItems), { fit: { epochs: 20 } });
 *
 * or call {@link runBackboneConformance} from any test framework and assert on its report.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, type LeaveOneOutSplit } from '@allmrec/core';
import type { CFBackbone, FitOptions } from './backbone';

export interface ConformanceOptions {
  /** Options passed to `fit` (seed is set by the suite). */
  fit?: Omit<FitOptions, 'seed'>;
  /** Loads a saved model back; defaults to none (the save/load check then only checks `save`). */
  load?: (dir: string) => Promise<CFBackbone>;
  /**
   * 'dot' (default): score(h, c) must equal <x_u, E_c>. 'monotone': only require that scores
   * and embeddings exist; for backbones that score with something other than a dot product.
   */
  scoring?: 'dot' | 'monotone';
  /** Minimum Hit@1 over 20 candidates on the suite's patterned fixture (default 0.25; random is 0.05). */
  minHit1?: number;
  /**
   * Whether the model draws on its seed at all (default true). A deterministic one (popularity
   * counts) must instead give the same model for two seeds.
   */
  seeded?: boolean;
  /**
   * Whether scores depend on the user (default true). A non-personalised model (popularity) cannot
   * learn which cycle a user walks, so the pattern check requires what it claims instead: the same
   * scores for every history. Its Hit@1 is reported, with no minimum.
   */
  personalised?: boolean;
  /**
   * Pass the fixture's user ids (default false), for backbones with per-user parameters (BPR,
   * LightGCN, NCF): the scoring checks then run both with the ids (trained users) and without (the
   * history-only rule), and the pattern check requires `minHit1` both ways.
   */
  users?: boolean;
}

export interface ConformanceCheck {
  name: string;
  passed: boolean;
  detail: string;
}

const NUM_ITEMS = 40;

/**
 * A small fixture with a strong sequential pattern: each user walks a cycle of items (i -> i+1 in
 * one of four 10-item cycles) with occasional random items, so a sequential model that learns
 * anything beats random by far.
 */
export function conformanceFixture(seed = 5): LeaveOneOutSplit {
  const rng = new Rng(seed);
  const numUsers = 120;
  const train: Int32Array[] = [new Int32Array(0)];
  const valid = new Int32Array(numUsers + 1);
  const test = new Int32Array(numUsers + 1);
  for (let u = 1; u <= numUsers; u++) {
    const cycle = rng.int(4);
    let pos = rng.int(10);
    const len = 8 + rng.int(10);
    const seq: number[] = [];
    for (let t = 0; t < len; t++) {
      seq.push(rng.next() < 0.1 ? 1 + rng.int(NUM_ITEMS) : 1 + cycle * 10 + pos);
      pos = (pos + 1) % 10;
    }
    // The last two follow the pattern exactly, so valid/test are predictable.
    seq.push(1 + cycle * 10 + pos);
    seq.push(1 + cycle * 10 + ((pos + 1) % 10));
    train.push(Int32Array.from(seq.slice(0, -2)));
    valid[u] = seq[seq.length - 2];
    test[u] = seq[seq.length - 1];
  }
  return { numUsers, numItems: NUM_ITEMS, train, valid, test };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])))) return false;
  return true;
}

function hit1(model: CFBackbone, split: LeaveOneOutSplit, seed: number, withUsers = false): number {
  const rng = new Rng(seed);
  const histories: Int32Array[] = [];
  const cands: Int32Array[] = [];
  const users = Int32Array.from({ length: split.numUsers }, (_, i) => i + 1);
  for (let u = 1; u <= split.numUsers; u++) {
    const seen = new Set([...split.train[u], split.valid[u], split.test[u]]);
    const c = [split.test[u]];
    while (c.length < 20) {
      const t = 1 + rng.int(split.numItems);
      if (!seen.has(t) && !c.includes(t)) c.push(t);
    }
    histories.push(Int32Array.from([...split.train[u], split.valid[u]]));
    cands.push(Int32Array.from(c));
  }
  const scores = model.score(histories, cands, withUsers ? users : undefined);
  let hits = 0;
  scores.forEach((s) => {
    let better = 0;
    for (let j = 1; j < s.length; j++) if (s[j] >= s[0]) better++;
    if (better === 0) hits++;
  });
  return hits / scores.length;
}

/**
 * Trains fresh backbones from `create` on the fixture and checks the contract. Returns one entry
 * per check; nothing throws unless `create` itself does.
 */
export async function runBackboneConformance(
  create: (numItems: number) => CFBackbone, options: ConformanceOptions = {},
): Promise<ConformanceCheck[]> {
  const split = conformanceFixture();
  const checks: ConformanceCheck[] = [];
  const check = async (name: string, fn: () => Promise<string | void> | string | void) => {
    try {
      const detail = await fn();
      checks.push({ name, passed: true, detail: detail || 'ok' });
    } catch (err) {
      checks.push({ name, passed: false, detail: err instanceof Error ? err.message : String(err) });
    }
  };
  const fail = (msg: string): never => { throw new Error(msg); };
  const fitOpts = (seed: number): FitOptions => ({ ...options.fit, seed });

  const a = create(NUM_ITEMS);
  const b = create(NUM_ITEMS);
  const c = create(NUM_ITEMS);
  await a.fit(split, fitOpts(11));
  await b.fit(split, fitOpts(11));
  await c.fit(split, fitOpts(12));
  const ids = Int32Array.from({ length: NUM_ITEMS }, (_, i) => i + 1);
  const histories = [split.train[1], split.train[2], Int32Array.from([3])];
  const candidates = [Int32Array.from([1, 2, 3]), Int32Array.from([4, 5, 6, 7, 8]), Int32Array.from([9])];
  const users = Int32Array.from([1, 2, 3]);
  // The user-id variants the scoring checks run: without ids always, with them when asked.
  const variants: { label: string; users?: Int32Array }[] = [{ label: '' }, ...(options.users ? [{ label: ' (with user ids)', users }] : [])];

  await check('identity: name, dim and numItems', () => {
    if (!a.name || typeof a.name !== 'string') fail('name must be a non-empty string');
    if (!(Number.isInteger(a.dim) && a.dim > 0)) fail(`dim must be a positive integer, got ${a.dim}`);
    if (a.numItems !== NUM_ITEMS) fail(`numItems is ${a.numItems}, expected ${NUM_ITEMS}`);
  });
  await check('shapes of itemEmbeddings, userRepresentations and score', () => {
    const e = a.itemEmbeddings(ids);
    if (e.length !== ids.length * a.dim) fail(`itemEmbeddings gave ${e.length} values for ${ids.length} items of dim ${a.dim}`);
    const r = a.userRepresentations(histories);
    if (r.length !== histories.length * a.dim) fail(`userRepresentations gave ${r.length} values for ${histories.length} histories`);
    const s = a.score(histories, candidates);
    if (s.length !== candidates.length || s.some((row, i) => row.length !== candidates[i].length)) {
      fail(`score shapes [${s.map((x) => x.length)}] do not match candidates [${candidates.map((x) => x.length)}]`);
    }
    for (const v of [...e, ...r, ...s.flatMap((x) => [...x])]) if (!Number.isFinite(v)) fail('non-finite output');
  });
  await check('deterministic under a seed', () => {
    if (!close(a.itemEmbeddings(ids), b.itemEmbeddings(ids), 1e-6)) fail('two fits with seed 11 give different item embeddings');
    for (const v of variants) {
      if (!close(a.userRepresentations(histories, v.users), b.userRepresentations(histories, v.users), 1e-5)) fail(`two fits with seed 11 give different user representations${v.label}`);
    }
    const same = close(a.itemEmbeddings(ids), c.itemEmbeddings(ids), 1e-6);
    if (options.seeded ?? true) {
      if (same) fail('seeds 11 and 12 give identical models: is the seed used?');
    } else if (!same) {
      fail('seeds 11 and 12 give different models, but the model was declared seed-free (seeded: false)');
    }
  });
  await check('frozen after training', async () => {
    if (!a.frozen) fail('frozen is false after fit');
    const before = a.itemEmbeddings(ids);
    a.score(histories, candidates);
    a.userRepresentations(histories);
    if (!close(before, a.itemEmbeddings(ids), 0)) fail('reading the model changed its embeddings');
    let threw = false;
    try { await a.fit(split, fitOpts(13)); } catch { threw = true; }
    if (!threw) fail('fit() on a frozen model did not throw');
    if (!close(before, a.itemEmbeddings(ids), 0)) fail('a refused fit() changed the embeddings');
  });
  await check('save/load round trip', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-conformance-'));
    try {
      await a.save(dir);
      if (fs.readdirSync(dir).length === 0) fail('save() wrote nothing');
      if (!options.load) return 'saved (no loader given, load not checked)';
      const l = await options.load(dir);
      try {
        if (!l.frozen) fail('a loaded model must be frozen');
        if (!close(a.itemEmbeddings(ids), l.itemEmbeddings(ids), 0)) fail('loaded item embeddings differ');
        for (const v of variants) {
          const s1 = a.score(histories, candidates, v.users);
          const s2 = l.score(histories, candidates, v.users);
          if (!s1.every((row, i) => close(row, s2[i], 1e-6))) fail(`loaded model scores differently${v.label}`);
        }
      } finally {
        l.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  await check('scores consistent with embeddings', () => {
    if ((options.scoring ?? 'dot') === 'monotone') {
      for (const v of variants) a.score(histories, candidates, v.users);
      return 'scoring is not a dot product; skipped the equality';
    }
    for (const v of variants) {
      const reps = a.userRepresentations(histories, v.users);
      const s = a.score(histories, candidates, v.users);
      candidates.forEach((cand, i) => {
        const e = a.itemEmbeddings(cand);
        cand.forEach((_, j) => {
          let dot = 0;
          for (let t = 0; t < a.dim; t++) dot += reps[i * a.dim + t] * e[j * a.dim + t];
          if (Math.abs(dot - s[i][j]) > 1e-4 * (1 + Math.abs(dot))) fail(`score ${s[i][j]} != <x_u, E_i> ${dot} (history ${i}, item ${cand[j]})${v.label}`);
        });
      });
    }
  });
  await check('scoreAll agrees with score', () => {
    if (!a.scoreAll) return 'no scoreAll (full ranking not supported); skipped';
    const n = NUM_ITEMS + 1;
    for (const v of variants) {
      const all = a.scoreAll(histories, v.users);
      if (all.length !== histories.length * n) fail(`scoreAll gave ${all.length} values for ${histories.length} histories x ${n} columns${v.label}`);
      const s = a.score(histories, histories.map(() => ids), v.users);
      s.forEach((row, b) => row.forEach((x, j) => {
        const y = all[b * n + ids[j]];
        if (!(Math.abs(x - y) <= 1e-4 * (1 + Math.abs(x)))) fail(`scoreAll ${y} != score ${x} (history ${b}, item ${ids[j]})${v.label}`);
      }));
    }
  });
  await check('rejects item ids outside the catalogue', () => {
    let threw = false;
    try { a.itemEmbeddings([NUM_ITEMS + 1]); } catch { threw = true; }
    if (!threw) fail(`itemEmbeddings([${NUM_ITEMS + 1}]) did not throw`);
  });
  await check('learns the fixture pattern', () => {
    if (!(options.personalised ?? true)) {
      // Two histories from different cycles must get the same scores from a non-personalised model.
      const s = a.score([split.train[1], Int32Array.from([40, 39])], [ids, ids]);
      if (!close(s[0], s[1], 1e-6)) fail('the model was declared non-personalised (personalised: false) but scores depend on the history');
      return `not personalised: same scores for every history; Hit@1/20 = ${hit1(a, split, 3).toFixed(3)} (random is 0.05, no minimum)`;
    }
    const min = options.minHit1 ?? 0.25;
    const found: string[] = [];
    for (const v of variants) {
      const h = hit1(a, split, 3, !!v.users);
      if (!(h >= min)) fail(`Hit@1/20 on the patterned fixture is ${h.toFixed(3)}${v.label}, below ${min} (random is 0.05)`);
      found.push(`Hit@1/20${v.label} = ${h.toFixed(3)}`);
    }
    return found.join('; ');
  });
  for (const m of [a, b, c]) m.dispose();
  return checks;
}

/**
 * Registers the conformance checks as tests with the test framework's global `describe`/`test`
 * (jest, vitest, mocha-style). The backbones are trained once, in the first test.
 */
export function defineBackboneConformanceTests(
  label: string, create: (numItems: number) => CFBackbone, options: ConformanceOptions = {},
): void {
  const g = globalThis as unknown as {
    describe: (n: string, f: () => void) => void;
    test: (n: string, f: () => unknown, timeout?: number) => void;
  };
  if (typeof g.describe !== 'function' || typeof g.test !== 'function') {
    throw new Error('defineBackboneConformanceTests needs a test framework with global describe/test; use runBackboneConformance otherwise');
  }
  g.describe(`CFBackbone conformance: ${label}`, () => {
    let results: Promise<ConformanceCheck[]> | undefined;
    const get = () => (results ??= runBackboneConformance(create, options));
    for (const name of CHECK_NAMES) {
      g.test(name, async () => {
        const r = (await get()).find((x) => x.name === name);
        if (!r) throw new Error(`check "${name}" did not run`);
        if (!r.passed) throw new Error(r.detail);
      }, 600000);
    }
  });
}

/** Names of the checks, in order. */
export const CHECK_NAMES = [
  'identity: name, dim and numItems',
  'shapes of itemEmbeddings, userRepresentations and score',
  'deterministic under a seed',
  'frozen after training',
  'save/load round trip',
  'scores consistent with embeddings',
  'scoreAll agrees with score',
  'rejects item ids outside the catalogue',
  'learns the fixture pattern',
];
