import { Rng, type LeaveOneOutSplit } from '@allmrec/core';
import { Pop } from '@allmrec/cf-backbones';
import { evaluateBackbone } from './pipeline';

/** 30 users with 12 random items each out of 200: enough room for 100 negatives per user. */
function randomSplit(): LeaveOneOutSplit {
  const rng = new Rng(4);
  const n = 30;
  const train: Int32Array[] = [new Int32Array(0)];
  const valid = new Int32Array(n + 1);
  const test = new Int32Array(n + 1);
  for (let u = 1; u <= n; u++) {
    const items = new Set<number>();
    while (items.size < 12) items.add(1 + rng.int(200));
    const s = [...items];
    train.push(Int32Array.from(s.slice(0, 10)));
    valid[u] = s[10];
    test[u] = s[11];
  }
  return { numUsers: n, numItems: 200, train, valid, test };
}

test('evaluateBackbone passes each history\'s user id, so per-user backbones score trained users as trained', async () => {
  const split = randomSplit();
  const model = new Pop(split.numItems);
  await model.fit(split, { seed: 1 });
  const seen: { histories: number; users: number[] }[] = [];
  const score = model.score.bind(model);
  model.score = (h, c, u) => {
    seen.push({ histories: h.length, users: Array.from(u ?? []) });
    return score(h, c, u);
  };
  await evaluateBackbone(model, split, 1);
  expect(seen.length).toBeGreaterThan(0);
  for (const s of seen) expect(s.users).toHaveLength(s.histories);
  expect(new Set(seen.flatMap((s) => s.users))).toEqual(new Set(Array.from({ length: 30 }, (_, i) => i + 1)));
  model.dispose();
});
