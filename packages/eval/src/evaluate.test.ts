import { syntheticSplit } from './testing/synthetic-split';
import { Rng, type LeaveOneOutSplit } from '@allmrec/core';
import { buildEvalSet, evaluate, evaluateScores, scoreEvalSet, type Scorer } from './evaluate';
import { getProtocol, interactedItems, listProtocols, registerProtocol, TEST_20 } from './protocols';


/** A tiny hand-made split. */
const tiny: LeaveOneOutSplit = {
  numUsers: 3,
  numItems: 30,
  train: [new Int32Array(0), Int32Array.from([1, 2, 3]), Int32Array.from([4, 5]), Int32Array.from([6])],
  valid: Int32Array.from([0, 7, 8, 0]),
  test: Int32Array.from([0, 9, 10, 0]),
};

describe('protocols', () => {
  it('registers test-20 and valid-101 with the documented histories, targets and exclusions', () => {
    expect(listProtocols()).toEqual(expect.arrayContaining(['test-20', 'valid-101']));
    const t = getProtocol('test-20');
    expect(t.numNegatives).toBe(19);
    expect([...t.history(tiny, 1)]).toEqual([1, 2, 3, 7]);
    expect(t.target(tiny, 1)).toBe(9);
    expect(t.target(tiny, 3)).toBe(0);
    expect([...interactedItems(tiny, 2)]).toEqual([4, 5, 8, 10]);
    const v = getProtocol('valid-101');
    expect(v.numNegatives).toBe(100);
    expect([...v.history(tiny, 1)]).toEqual([1, 2, 3]);
    expect(v.target(tiny, 2)).toBe(8);
    expect(() => getProtocol('nope')).toThrow(/unknown evaluation protocol "nope" \(known: test-20, valid-101/);
  });

  it('plugs in new protocols by name', async () => {
    expect(() => registerProtocol(TEST_20)).toThrow(/already registered/);
    registerProtocol({ ...TEST_20, name: 'test-5', numNegatives: 4, description: 'tiny' });
    const set = buildEvalSet(tiny, 'test-5', { seed: 1 });
    expect(set.candidates.map((c) => c.length)).toEqual([5, 5]);
  });
});

describe('buildEvalSet', () => {
  const split = syntheticSplit(1000, 500);

  it('keeps only users with a target, candidates = target + never-interacted negatives', () => {
    for (const name of ['test-20', 'valid-101']) {
      const set = buildEvalSet(split, name, { seed: 3 });
      const p = getProtocol(name);
      expect(set.users.length).toBe(1000 - 20); // every 50th user has no target
      const problems: string[] = []; // collected, then asserted once (100k expect calls are slow)
      for (let i = 0; i < set.users.length; i++) {
        const u = set.users[i];
        const c = set.candidates[i];
        if (c.length !== p.numNegatives + 1) problems.push(`${u}: ${c.length} candidates`);
        if (c[set.targetIndex[i]] !== p.target(split, u) || set.targets[i] !== p.target(split, u)) problems.push(`${u}: target`);
        if (new Set(c).size !== c.length) problems.push(`${u}: duplicate candidates`);
        const seen = new Set(interactedItems(split, u));
        c.forEach((item, j) => {
          if (j === set.targetIndex[i]) return;
          if (seen.has(item)) problems.push(`${u}: negative ${item} was interacted with`);
          if (item < 1 || item > 500) problems.push(`${u}: negative ${item} out of range`);
        });
      }
      expect(problems).toEqual([]);
    }
  });

  it('is deterministic for a seed and changes with the seed', () => {
    const a = buildEvalSet(split, 'test-20', { seed: 5, maxUsers: 100 });
    const b = buildEvalSet(split, 'test-20', { seed: 5, maxUsers: 100 });
    const c = buildEvalSet(split, 'test-20', { seed: 6, maxUsers: 100 });
    expect(b).toEqual(a);
    expect(c.users).not.toEqual(a.users);
  });

  it('respects maxUsers, samples users without replacement and keeps a user\'s candidates fixed', () => {
    const small = buildEvalSet(split, 'test-20', { seed: 5, maxUsers: 100 });
    expect(small.users.length).toBe(100);
    expect(new Set(small.users).size).toBe(100);
    expect([...small.users]).toEqual([...small.users].sort((x, y) => x - y));
    const all = buildEvalSet(split, 'test-20', { seed: 5 });
    const index = new Map([...all.users].map((u, i) => [u, i]));
    small.users.forEach((u, i) => {
      expect(index.has(u)).toBe(true);
      expect(small.candidates[i]).toEqual(all.candidates[index.get(u)!]);
    });
    expect(buildEvalSet(split, 'test-20', { maxUsers: 0 }).users.length).toBe(0);
  });

  it('spreads the target over candidate positions (shuffled) unless shuffle is off', () => {
    const set = buildEvalSet(split, 'test-20', { seed: 1 });
    const positions = new Set(set.targetIndex);
    expect(positions.size).toBe(20);
    const unshuffled = buildEvalSet(split, 'test-20', { seed: 1, shuffle: false });
    expect(new Set(unshuffled.targetIndex)).toEqual(new Set([0]));
  });
});

describe('evaluate', () => {
  const split = syntheticSplit(1000, 500);
  const targetOf = (name: string) => (u: number) => getProtocol(name).target(split, u);

  it('an oracle scorer gets Hit@1 = NDCG = MRR = 1', async () => {
    const t = targetOf('test-20');
    const oracle: Scorer = (_h, cands, users) => cands.map((c, i) => Float32Array.from(c, (item) => (item === t(users[i]) ? 1 : 0)));
    const r = await evaluate(split, 'test-20', oracle, { seed: 2, batchSize: 64 });
    expect(r).toEqual({
      protocol: 'test-20',
      users: 980,
      numCandidates: 20,
      metrics: { hit1: 1, hit5: 1, hit10: 1, ndcg5: 1, ndcg10: 1, mrr: 1 },
    });
  });

  it('a constant scorer gets nothing: ties count against the target', async () => {
    const constant: Scorer = (_h, cands) => cands.map((c) => new Float32Array(c.length).fill(0.5));
    const t20 = await evaluate(split, 'test-20', constant, { perUser: true });
    expect(t20.metrics).toEqual({ hit1: 0, hit5: 0, hit10: 0, ndcg5: 0, ndcg10: 0, mrr: expect.closeTo(1 / 20, 12) });
    expect(new Set(t20.perUser!.ranks)).toEqual(new Set([19]));
    const v = await evaluate(split, 'valid-101', constant);
    expect(v.metrics.hit10).toBe(0);
    expect(v.metrics.mrr).toBeCloseTo(1 / 101, 12);
  });

  it('a random scorer lands near chance: Hit@1 ~ 1/20 and HR@10 ~ 10/101', async () => {
    // 10,000 users. Hit@1 ~ Binomial(n, 0.05)/n: sd = sqrt(0.05*0.95/10000) = 0.0022, so 0.01 is
    // ~4.5 sd. HR@10 over 101: p = 0.099, sd = 0.0030, tolerance 0.012 = 4 sd. NDCG@10: per-user
    // sd <= 0.3, mean sd <= 0.003, tolerance 0.012. Seeded, so the test is also deterministic.
    const big = syntheticSplit(10_250, 3000, { seed: 7 });
    const rng = new Rng(99);
    const random: Scorer = (_h, cands) => cands.map((c) => Float32Array.from(c, () => rng.next()));
    const t = await evaluate(big, 'test-20', random, { seed: 11 });
    expect(t.users).toBe(10_000);
    expect(Math.abs(t.metrics.hit1 - 1 / 20)).toBeLessThan(0.01);
    expect(Math.abs(t.metrics.hit5 - 5 / 20)).toBeLessThan(0.02);
    const v = await evaluate(big, 'valid-101', random, { seed: 11 });
    expect(Math.abs(v.metrics.hit10 - 10 / 101)).toBeLessThan(0.012);
    let ndcg = 0;
    for (let r = 0; r < 10; r++) ndcg += 1 / Math.log2(r + 2) / 101;
    expect(Math.abs(v.metrics.ndcg10 - ndcg)).toBeLessThan(0.012);
  });

  it('gives every scorer the same candidates regardless of batch size', async () => {
    const seen: string[][] = [[], []];
    const recorder = (k: number): Scorer => (h, cands, users) => {
      cands.forEach((c, i) => seen[k].push(`${users[i]}|${h[i].join(',')}|${c.join(',')}`));
      return cands.map((c) => new Float32Array(c.length));
    };
    await evaluate(split, 'valid-101', recorder(0), { seed: 4, batchSize: 7, maxUsers: 300 });
    await evaluate(split, 'valid-101', recorder(1), { seed: 4, batchSize: 256, maxUsers: 300 });
    expect(seen[0]).toHaveLength(300);
    expect(seen[1]).toEqual(seen[0]);
  });

  it('scores an eval set with two models and compares them on the same users', async () => {
    const set = buildEvalSet(split, 'test-20', { seed: 9, maxUsers: 50 });
    // "Model" A ranks the target 2nd (rank 1) for every user; B ranks it 1st.
    const scoresA = set.candidates.map((c, i) => Float32Array.from(c, (_x, j) => (j === set.targetIndex[i] ? 2 : j === (set.targetIndex[i] + 1) % c.length ? 3 : 0)));
    const a = evaluateScores(set, scoresA, { perUser: true });
    expect(a.metrics.hit1).toBe(0);
    expect(a.metrics.ndcg5).toBeCloseTo(1 / Math.log2(3), 12);
    expect(a.metrics.mrr).toBe(0.5);
    expect(a.perUser!.users).toEqual(set.users);
  });

  it('reports progress and rejects malformed scorer output, naming the user', async () => {
    const set = buildEvalSet(split, 'test-20', { seed: 1, maxUsers: 10 });
    const events: { current: number; done?: boolean }[] = [];
    await scoreEvalSet(set, (_h, c) => c.map((x) => new Float32Array(x.length)), { batchSize: 4, onProgress: (e) => events.push(e) });
    expect(events.map((e) => e.current)).toEqual([4, 8, 10, 10]);
    expect(events[3].done).toBe(true);

    await expect(scoreEvalSet(set, (_h, c) => c.slice(1).map((x) => new Float32Array(x.length)))).rejects.toThrow(
      /scorer returned 9 score rows for a batch of 10 users/,
    );
    await expect(scoreEvalSet(set, (_h, c) => c.map(() => new Float32Array(3)))).rejects.toThrow(
      new RegExp(`scorer returned 3 scores for user ${set.users[0]}, who has 20 candidates`),
    );
    const nan = set.candidates.map((c) => new Float32Array(c.length));
    nan[2][5] = NaN;
    expect(() => evaluateScores(set, nan)).toThrow(new RegExp(`user ${set.users[2]}: score of .*NaN`));
    expect(() => evaluateScores(set, nan.slice(1))).toThrow(/9 score rows for 10 users/);
  });
});
