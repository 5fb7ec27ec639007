import { syntheticSplit } from './testing/synthetic-split';
import type { LeaveOneOutSplit } from '@allmrec/core';
import { buildEvalSet } from './evaluate';
import { getProtocol, listProtocols } from './protocols';
import { coldItemSplit, coldUserProtocol, TEST_20_COLD } from './cold';


const base = syntheticSplit(400, 300, { maxLen: 15, shortEvery: 40 });

function occurring(split: LeaveOneOutSplit): Set<number> {
  const s = new Set<number>();
  for (let u = 1; u <= split.numUsers; u++) {
    split.train[u].forEach((i) => s.add(i));
    if (split.valid[u]) s.add(split.valid[u]);
    if (split.test[u]) s.add(split.test[u]);
  }
  return s;
}

describe('coldItemSplit', () => {
  it('removes cold items from every training sequence, validation target and protocol history', () => {
    const { split, coldItems } = coldItemSplit(base, { fraction: 0.2, seed: 7 });
    expect(coldItems.size).toBeGreaterThan(0);
    for (let u = 1; u <= split.numUsers; u++) {
      for (const i of split.train[u]) expect(coldItems.has(i)).toBe(false);
      expect(coldItems.has(split.valid[u])).toBe(false);
      // Order and warm items are kept.
      expect([...split.train[u]]).toEqual([...base.train[u]].filter((i) => !coldItems.has(i)));
      expect(split.test[u]).toBe(base.test[u]);
    }
    for (const name of ['test-20', 'test-20-cold', 'test-20-warm', 'test-20-cold-users', 'valid-101']) {
      const set = buildEvalSet(split, name, { seed: 3 });
      expect(set.users.length).toBeGreaterThan(0);
      for (const h of set.histories) for (const i of h) expect(coldItems.has(i)).toBe(false);
    }
    // The source split is untouched.
    expect(base.train.some((seq) => seq.some((i) => coldItems.has(i)))).toBe(true);
  });

  it('respects the fraction of items occurring in the data', () => {
    const occ = occurring(base);
    for (const fraction of [0, 0.1, 0.25, 1]) {
      const { coldItems } = coldItemSplit(base, { fraction, seed: 1 });
      expect(coldItems.size).toBe(Math.round(fraction * occ.size));
      for (const i of coldItems) expect(occ.has(i)).toBe(true);
    }
    expect(() => coldItemSplit(base, { fraction: 1.5, seed: 1 })).toThrow(/fraction/);
  });

  it('is deterministic under the seed and differs across seeds', () => {
    const a = coldItemSplit(base, { fraction: 0.2, seed: 11 }).coldItems;
    const b = coldItemSplit(base, { fraction: 0.2, seed: 11 }).coldItems;
    const c = coldItemSplit(base, { fraction: 0.2, seed: 12 }).coldItems;
    expect([...a].sort((x, y) => x - y)).toEqual([...b].sort((x, y) => x - y));
    expect([...a].sort((x, y) => x - y)).not.toEqual([...c].sort((x, y) => x - y));
  });
});

describe('cold-start protocols', () => {
  it('are registered', () => {
    expect(listProtocols()).toEqual(expect.arrayContaining(['test-20-cold', 'test-20-warm', 'test-20-cold-users']));
  });

  it('select test users by the coldness of their target and draw never-interacted negatives', () => {
    const { split, coldItems } = coldItemSplit(base, { fraction: 0.3, seed: 5 });
    const cold = buildEvalSet(split, 'test-20-cold', { seed: 1 });
    const warm = buildEvalSet(split, 'test-20-warm', { seed: 1 });
    const expectCold: number[] = [];
    const expectWarm: number[] = [];
    for (let u = 1; u <= base.numUsers; u++) {
      if (!base.test[u]) continue;
      const hasHistory = split.train[u].length > 0 || split.valid[u] > 0;
      if (!hasHistory) continue;
      (coldItems.has(base.test[u]) ? expectCold : expectWarm).push(u);
    }
    expect([...cold.users]).toEqual(expectCold);
    expect([...warm.users]).toEqual(expectWarm);
    expect(expectCold.length).toBeGreaterThan(10);
    for (const [set, wantCold] of [[cold, true], [warm, false]] as const) {
      set.users.forEach((u, i) => {
        expect(set.targets[i]).toBe(base.test[u]);
        expect(coldItems.has(set.targets[i])).toBe(wantCold);
        expect(set.candidates[i].length).toBe(20);
        expect(set.candidates[i][set.targetIndex[i]]).toBe(base.test[u]);
        // History: warm training items + the validation item when warm.
        const want = [...base.train[u]].filter((x) => !coldItems.has(x));
        if (base.valid[u] && !coldItems.has(base.valid[u])) want.push(base.valid[u]);
        expect([...set.histories[i]]).toEqual(want);
        // Negatives: never interacted with in the full data (cold interactions included).
        const all = new Set([...base.train[u], base.valid[u], base.test[u]]);
        set.candidates[i].forEach((c, j) => { if (j !== set.targetIndex[i]) expect(all.has(c)).toBe(false); });
      });
    }
  });

  it('refuse a split that is not a cold-item view', () => {
    expect(() => buildEvalSet(base, TEST_20_COLD)).toThrow(/coldItemSplit/);
  });

  it('cold users: test users with at most the threshold of training items', () => {
    const set = buildEvalSet(base, 'test-20-cold-users', { seed: 2 });
    const want: number[] = [];
    for (let u = 1; u <= base.numUsers; u++) if (base.valid[u] && base.train[u].length <= 3) want.push(u);
    expect([...set.users]).toEqual(want);
    expect(want.length).toBeGreaterThan(0);
    set.users.forEach((u, i) => {
      expect(set.targets[i]).toBe(base.test[u]);
      expect([...set.histories[i]]).toEqual([...base.train[u], base.valid[u]]);
    });
    const p5 = coldUserProtocol({ maxTrainItems: 5 });
    expect(p5.name).toBe('test-20-cold-users-5');
    const set5 = buildEvalSet(base, p5, { seed: 2 });
    expect(set5.users.length).toBeGreaterThan(set.users.length);
    for (const u of set5.users) expect(base.train[u].length).toBeLessThanOrEqual(5);
    expect(getProtocol('test-20-cold-users').numNegatives).toBe(19);
  });
});
