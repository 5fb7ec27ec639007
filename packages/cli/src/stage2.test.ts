import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildEvalSet, evaluateScores, getProtocol } from '@allmrec/eval';
import { writeTinyCheckpoint } from '@allmrec/llm-bridge/testing';
import { runCli } from './testing/run-cli';
import { loadStage2Run, stage2EvalSet } from './stage2-pipeline';

const TINY = ['--synthetic-users', '80', '--synthetic-items', '300'];
const TRAIN = [
  'train', ...TINY, '--encoder', 'tfidf', '--no-cache', '--backbone-epochs', '2', '--stage1-epochs', '1',
  '--stage2-epochs', '1', '--max-users', '8', '--lm-steps', '3', '--lm-hidden', '64', '--lm-layers', '2', '--lm-heads', '4', '--stage2-warm-start', '20',
  '--lm-vocab', '300', '--lm-documents', '60', '--lm-batch', '2', '--stage2-distill', '0.5',
];
const EVAL_USERS = 12;

const run = runCli;

function json(r: { code: number; stdout: string; stderr: string }): any {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]);
}

describe('allmrec train / eval / recommend (Stage 2)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-stage2-'));
  const dir = path.join(tmp, 'run');
  let trained: any;
  let evaluated: any;
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  beforeAll(async () => {
    trained = json(await run([...TRAIN, '--out', dir, '--json']));
  });

  test('train writes every stage into DIR and reports seconds per stage', () => {
    expect(trained.reused).toEqual([]);
    for (const k of ['backbone', 'stage1', 'lm', 'stage2', 'total']) expect(trained.seconds[k]).toBeGreaterThan(0);
    expect(trained.history).toBe(10);
    expect(trained.candidates).toBe(20);
    expect(trained.llm.source).toBe('pretrained');
    expect(trained.llm.maxPositions).toBeGreaterThanOrEqual(trained.llm.longestPrompt + 40);
    for (const f of ['backbone/manifest.json', 'stage1', 'text-embeddings.safetensors', 'lm/config.json', 'lm/model.safetensors', 'stage2', 'run.json']) {
      expect(fs.existsSync(path.join(dir, f))).toBe(true);
    }
    expect(fs.existsSync(path.join(dir, 'stage2-checkpoint'))).toBe(false);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(meta.lm.source).toBe('pretrained');
    expect(meta.lm.pretrain.maxPositions).toBe(trained.llm.maxPositions);
    expect(meta.coldItems).toEqual([]);
    expect(meta.train.dataOptions['synthetic-users']).toBe('80');
    // The default LM is pretrained with the matching head, records its slot interface, and Stage 2 warm-starts on it.
    expect(meta.lm.pretrain.matchHead).toBe(true);
    expect(meta.lm.pretrain.userScale).toEqual([0.1, 1]); // flat comparisons in pretraining, recorded
    expect(meta.lm.pretrain.listAnswer).toBe('vector');
    // The matching head's slices, one dimension each kept for the section flag on the token " set".
    const iface = JSON.parse(fs.readFileSync(path.join(dir, 'lm', 'config.json'), 'utf8')).allmrec_slot_interface;
    expect(iface).toEqual({ user: [32, 47], item: [16, 31], section: expect.any(Number) });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'lm', 'tokenizer.json'), 'utf8')).model.vocab['Ġset']).toBe(iface.section);
    expect(meta.stage2.warmStart.steps).toBe(20);
    expect(meta.stage2.warmStart.hit1).toBeGreaterThanOrEqual(0);
    expect(meta.stage2.warmStart.distill).toBe(0.5); // the backbone's own ranking, as asked (off by default)
    expect(meta.stage2.weightAverage).toBe(0.99); // the default average of the steps' weights, recorded
  });

  test('eval prints one JSON object with the Stage 2 and backbone numbers', async () => {
    evaluated = json(await run(['eval', '--model', dir, '--max-users', String(EVAL_USERS), '--json']));
    expect(evaluated.users).toBe(EVAL_USERS);
    expect(evaluated.protocol).toBe('test-20');
    expect(evaluated.llm.name).toBe(path.join(dir, 'lm'));
    expect(evaluated.llm.params).toBe(trained.llm.params);
    expect(evaluated.llm.params).toBeGreaterThan(0);
    for (const k of ['hit1_generate', 'valid_output_rate', 'hit1_rank', 'hit5_rank', 'ndcg5_rank', 'ndcg10_rank', 'sasrec_hit1']) {
      expect(evaluated[k]).toBeGreaterThanOrEqual(0);
      expect(evaluated[k]).toBeLessThanOrEqual(1);
    }
    expect(evaluated.hit5_rank).toBeGreaterThanOrEqual(evaluated.hit1_rank);
  });

  test('sasrec_hit1 and the Stage 2 numbers are over the same users and candidates', async () => {
    const r = await loadStage2Run(dir, {});
    try {
      const seed = r.meta.train.seed;
      const set = stage2EvalSet(r.split, 20, seed, EVAL_USERS);
      const ref = buildEvalSet(r.split, getProtocol('test-20'), { seed, maxUsers: EVAL_USERS });
      expect(Array.from(set.users)).toEqual(Array.from(ref.users));
      expect(set.candidates.map((c) => Array.from(c))).toEqual(ref.candidates.map((c) => Array.from(c)));
      // The backbone on that set gives eval's sasrec_hit1 ...
      const cf = evaluateScores(ref, r.align.backbone.score(ref.histories, ref.candidates)).metrics;
      expect(evaluated.sasrec_hit1).toBeCloseTo(cf.hit1, 4);
      // ... and the library's own Stage 2 evaluation (its own test-20 set, same seed and maxUsers) gives eval's Stage 2 numbers.
      const lib = await r.s2.evaluate(r.split, { seed, maxUsers: EVAL_USERS });
      expect(lib.users).toBe(evaluated.users);
      for (const k of ['hit1_generate', 'valid_output_rate', 'hit1_rank', 'hit5_rank', 'ndcg5_rank', 'ndcg10_rank'] as const) {
        expect(evaluated[k]).toBeCloseTo(lib[k], 4);
      }
    } finally {
      r.dispose();
    }
  });

  test('recommend --user ranks the eval candidates; --history draws 20 items outside it', async () => {
    const r = await loadStage2Run(dir, {});
    const seed = r.meta.train.seed;
    const ref = buildEvalSet(r.split, getProtocol('test-20'), { seed, maxUsers: 1 });
    const key = r.dataset.userKeys[ref.users[0]];
    r.dispose();
    const a = json(await run(['recommend', '--model', dir, '--user', key, '--json']));
    expect(a.user).toBe(key);
    expect(typeof a.text).toBe('string');
    expect(a.ranked).toHaveLength(20);
    expect(a.ranked.map((x: any) => x.item).sort((x: number, y: number) => x - y)).toEqual(Array.from(ref.candidates[0]).sort((x, y) => x - y));
    expect(a.target.item).toBe(ref.targets[0]);
    expect(a.ranked.filter((x: any) => x.target)).toHaveLength(1);
    for (let i = 1; i < a.ranked.length; i++) expect(a.ranked[i].logProb).toBeLessThanOrEqual(a.ranked[i - 1].logProb);
    if (a.chosen) expect(a.ranked.map((x: any) => x.item)).toContain(a.chosen.item);
    const b = json(await run(['recommend', '--model', dir, '--history', '1,2,3', '--json']));
    expect(b.target).toBeNull();
    expect(b.history.map((x: any) => x.item)).toEqual([1, 2, 3]);
    expect(b.ranked).toHaveLength(20);
    expect(new Set(b.ranked.map((x: any) => x.item)).size).toBe(20);
    for (const x of b.ranked) expect([1, 2, 3]).not.toContain(x.item);
    const human = await run(['recommend', '--model', dir, '--history', '1,2,3']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/generated: /);
  });

  test('a second train on the same DIR reuses every stage; a missing stage is redone alone', async () => {
    const again = json(await run([...TRAIN, '--out', dir, '--json']));
    expect([...again.reused].sort()).toEqual(['backbone', 'lm', 'stage1', 'stage2']);
    expect(again.seconds.stage1).toBe(0);
    expect(again.seconds.lm).toBe(0);
    expect(again.seconds.stage2).toBe(0);
    fs.rmSync(path.join(dir, 'stage2'), { recursive: true });
    const redo = json(await run([...TRAIN, '--out', dir, '--json']));
    expect([...redo.reused].sort()).toEqual(['backbone', 'lm', 'stage1']);
    expect(redo.seconds.stage2).toBeGreaterThan(0);
    expect(redo.stage2.finalLoss).toBeCloseTo(trained.stage2.finalLoss, 4);
  });

  test('an interrupted Stage 2 resumes from DIR/stage2-checkpoint', async () => {
    // Simulate a train that stopped after epoch 1 of 2: the checkpoint is there, DIR/stage2 is not.
    const r = await loadStage2Run(dir, {});
    try {
      r.s2.dispose(); // the projectors' variable names derive from the seed
      const { Stage2Model } = await import('@allmrec/llm-bridge');
      const s2 = new Stage2Model(r.lm, r.s2.sources, { historyLength: 10, numCandidates: 20, warmStartSteps: 20, warmStartDistill: 0.5 }, r.meta.train.seed); // as TRAIN asks
      await s2.fit({ split: r.split, seed: r.meta.train.seed, epochs: 1, maxUsers: 8, checkpointDir: path.join(dir, 'stage2-checkpoint') });
      s2.dispose();
    } finally {
      r.lm.dispose();
      r.align.stage1.dispose();
      r.align.backbone.dispose();
    }
    fs.rmSync(path.join(dir, 'stage2'), { recursive: true });
    const argv = [...TRAIN, '--out', dir, '--json'];
    argv[argv.indexOf('--stage2-epochs') + 1] = '2';
    const t = json(await run(argv));
    expect([...t.reused].sort()).toEqual(['backbone', 'lm', 'stage1']);
    expect(t.stage2.resumedFrom).toBe(1);
    expect(t.stage2.epochs).toBe(2);
    expect(t.stage2.losses[0]).toBeCloseTo(trained.stage2.losses[0], 4);
    expect(fs.existsSync(path.join(dir, 'stage2-checkpoint'))).toBe(false);
  });

  test('--llm uses a checkpoint as it is, and refuses one whose positions cannot hold the prompt', async () => {
    const small = path.join(tmp, 'tiny-64');
    writeTinyCheckpoint(small, { family: 'gpt2', seed: 3, hidden: 16, layers: 1, heads: 2, maxPositions: 64 });
    const bad = await run([...TRAIN, '--llm', small, '--out', path.join(tmp, 'bad'), '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/64 positions/);
    const big = path.join(tmp, 'tiny-big');
    writeTinyCheckpoint(big, { family: 'gpt2', seed: 3, hidden: 16, layers: 1, heads: 2, maxPositions: 2048 });
    const out = path.join(tmp, 'with-llm');
    const t = json(await run([...TRAIN, '--llm', big, '--history', '3', '--candidates', '5', '--out', out, '--json']));
    expect(t.llm.source).toBe('checkpoint');
    expect(t.llm.name).toBe(big);
    // An ordinary checkpoint records no slot interface: Stage 2 starts from Xavier, as in the paper.
    expect(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).stage2.warmStart).toBeUndefined();
    expect(t.candidates).toBe(5);
    expect(fs.existsSync(path.join(out, 'lm'))).toBe(false);
    const e = json(await run(['eval', '--model', out, '--max-users', '4', '--no-generate', '--json']));
    expect(e.protocol).toBe('test-5');
    expect(e.candidates).toBe(5);
    expect(e.hit1_generate).toBeNull();
    expect(e.llm.name).toBe(big);
    expect(e.hit1_rank).toBeGreaterThanOrEqual(0);
  });

  test('usage errors exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['train', ...TINY], /--out/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--history', '0'], /--history/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--candidates', '1'], /--candidates/],
      // Learning rates are checked before any stage runs (Stage 2's used to fail only after the LM).
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--stage2-lr', '0'], /--stage2-lr must be greater than 0/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--lm-lr=-1'], /--lm-lr must be greater than 0/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--lm-list-answer', 'marker'], /needs --lm-no-match-head/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--lm-heads', '2'], /--lm-heads 4 or more/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--lm-user-scale', '1-0.1'], /--lm-user-scale must be X or LO-HI/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--lm-no-match-head', '--lm-user-scale', '0.5'], /--lm-user-scale needs the matching head/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--stage2-warm-start=-1'], /--stage2-warm-start must be 0 or more/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--stage2-distill', '1.5'], /--stage2-distill must be between 0 and 1/],
      [['train', ...TINY, '--out', path.join(tmp, 'x'), '--stage2-average', '1'], /--stage2-average must be at least 0 and below 1/],
      [['train', '--out', path.join(tmp, 'x'), '--nope'], /nope/],
      [['train', ...TINY, '--out', dir, '--llm', path.join(tmp, 'tiny-big')], /another --out/],
      [['eval'], /--model/],
      [['eval', '--model', path.join(tmp, 'missing')], /no such directory/],
      [['eval', '--model', tmp], /not a finished/],
      [['eval', '--model', dir, '--max-users', 'x'], /integer/],
      [['recommend', '--model', dir], /exactly one/],
      [['recommend', '--model', dir, '--user', 'a', '--history', '1'], /exactly one/],
      [['recommend', '--model', dir, '--history', '1,x'], /item id/],
      [['recommend', '--model', dir, '--history', '99999'], /out of range/],
      [['recommend', '--model', dir, '--user', 'nobody'], /no such user/],
      [['eval', '--model', dir, '--synthetic-users', '90'], /not the one/],
    ];
    for (const [argv, msg] of cases) {
      const r = await run(argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.stderr).toMatch(msg);
    }
    const help = await run(['--help']);
    expect(help.stdout).toMatch(/train .*\n\s*eval .*\n\s*recommend/);
    expect((await run(['train', '--help'])).stdout).toMatch(/--candidates/);
  });
});
