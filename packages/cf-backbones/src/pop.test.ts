import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { defineBackboneConformanceTests } from './conformance';
import { Pop } from './pop';
import { createBackbone, listBackbones } from './registry';
import { splitOf } from './test-helpers';
import './index';

beforeAll(async () => {
  await selectBackend('wasm');
});

// Pop cannot learn which cycle a fixture user walks (measured Hit@1/20 0.11; random 0.05): the suite
// checks instead that it ignores the history and the seed, as it claims.
defineBackboneConformanceTests('pop', (n) => new Pop(n), { load: (dir) => Pop.load(dir), seeded: false, personalised: false, users: true });

describe('Pop', () => {
  test('is registered by name', () => {
    expect(listBackbones().map((b) => b.name)).toContain('pop');
    const m = createBackbone('pop', 10);
    expect(m.dim).toBe(1);
    expect(m.usesOrder).toBe(false);
    m.dispose();
  });

  test('counts training interactions by hand, repeats included, validation and test items excluded', async () => {
    const split = splitOf([[1, 2, 2], [2, 3], [2, 5, 5, 5]], 6);
    split.valid[1] = 6;
    split.test[1] = 6;
    const pop = new Pop(6);
    const events: string[] = [];
    const r = await pop.fit(split, {
      seed: 1, epochs: 50, onProgress: (e) => events.push(`${e.task} ${e.current}/${e.total}`),
      earlyStopping: { score: () => 0.5, patience: 1 },
    });
    expect(r).toMatchObject({ epochs: 1, stepsPerEpoch: 1, finalLoss: 0, resumedFrom: 0, bestEpoch: 1, bestScore: 0.5 });
    expect(events).toEqual(['pop:train 1/1']);
    // item:  0  1  2  3  4  5  6
    const expected = [0, 1, 4, 1, 0, 3, 0];
    expect(Array.from(pop.itemEmbeddings([0, 1, 2, 3, 4, 5, 6]))).toEqual(expected);
    expect(Array.from(pop.userRepresentations([[1], [4, 5]]))).toEqual([1, 1]);
    const s = pop.score([[1], [3, 4]], [[2, 5, 1], [6]], [1, 99]);
    expect(s.map((x) => Array.from(x))).toEqual([[4, 3, 1], [0]]);
    const before = tf.memory().numTensors;
    const all = pop.scoreAll([[1], []]);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(all)).toEqual([...expected, ...expected]);
    expect(() => pop.score([[7]], [[1]])).toThrow(/history 0: item id 7 at position 0 is outside 0..6/);
    await expect(pop.fit(split, { seed: 1 })).rejects.toThrow(/frozen/);
    pop.dispose();
  });

  test('rejects bad input, naming the field', async () => {
    expect(() => new Pop(0)).toThrow(/numItems/);
    expect(() => new Pop(5, { dim: 3 } as never)).toThrow(/unknown config field "dim"/);
    await expect(new Pop(5).fit(splitOf([[1, 9]], 5), { seed: 1 })).rejects.toThrow(/train\[1\]\[1\] = 9 is outside 1..5/);
    expect(() => new Pop(5).scoreAll([[1]])).toThrow(/no weights/);
  });
});
