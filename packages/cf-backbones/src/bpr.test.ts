import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { BPR, BPR_GAMMA, lossAndGradients } from './bpr';
import { conformanceFixture, defineBackboneConformanceTests } from './conformance';
import { createBackbone, listBackbones } from './registry';
import { earlyStoppingTrace, foldInAgreement, splitOf } from './test-helpers';
import './index';

/** Small enough for the 40-item fixture to train in about a second. */
const SMALL = { dim: 16, batchSize: 64, lr: 0.01, epochs: 20 };

beforeAll(async () => {
  await selectBackend('wasm');
});

// Measured: Hit@1/20 = 0.89 folded in, 0.93 with user ids (random 0.05).
defineBackboneConformanceTests('bpr', (n) => new BPR(n, SMALL), { load: (dir) => BPR.load(dir), users: true, minHit1: 0.7 });

describe('BPR', () => {
  test('is registered by name', () => {
    expect(listBackbones().map((b) => b.name)).toContain('bpr');
    const m = createBackbone('bpr', 10, { dim: 8 });
    expect(m.dim).toBe(8);
    expect(m.usesOrder).toBe(false);
    m.dispose();
  });

  test('loss and gradients on 2 users x 3 items, by hand', () => {
    // P1 = (1, 0), P2 = (0, 1); Q1 = (1, 1), Q2 = (0, 1), Q3 = (2, 0).
    // Pair 1: user 1 prefers item 1 to item 2: x1 = <P1, Q1 - Q2> = <(1,0), (1,0)> = 1.
    // Pair 2: user 2 prefers item 3 to item 1: x2 = <P2, Q3 - Q1> = <(0,1), (1,-1)> = -1.
    // loss = -(log σ(1) + log σ(-1)) / 2 = (0.3132617 + 1.3132617) / 2 = 0.8132617.
    // dloss/dx = -(1 - σ(x)) / 2: g1 = -0.1344707, g2 = -0.3655293.
    tf.tidy(() => {
      const p = {
        user_emb: tf.tensor2d([0, 0, 1, 0, 0, 1], [3, 2]),
        item_emb: tf.tensor2d([0, 0, 1, 1, 0, 1, 2, 0], [4, 2]),
      };
      const batch = { size: 2, users: Int32Array.from([1, 2]), pos: Int32Array.from([1, 3]), neg: Int32Array.from([2, 1]) };
      const { loss, grads } = lossAndGradients(p, batch, 2);
      expect(loss.dataSync()[0]).toBeCloseTo(0.8132617, 6);
      const g1 = -0.1344707;
      const g2 = -0.3655293;
      // dP_u = g (Q_pos - Q_neg); dQ_pos += g P_u; dQ_neg -= g P_u.
      const dP = [0, 0, g1 * 1, g1 * 0, g2 * 1, g2 * -1];
      const dQ = [0, 0, g1 * 1 - g2 * 0, g1 * 0 - g2 * 1, -g1 * 1, -g1 * 0, g2 * 0, g2 * 1];
      Array.from(grads.user_emb.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(dP[i], 6));
      Array.from(grads.item_emb.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(dQ[i], 6));
    });
  });

  test('gradients match tfjs autodiff of the same loss on a random batch with repeated rows', () => {
    const rng = new Rng(3);
    const U = 5;
    const I = 7;
    const d = 4;
    const users = Int32Array.from({ length: 12 }, () => 1 + rng.int(U));
    const pos = Int32Array.from({ length: 12 }, () => 1 + rng.int(I));
    const neg = Int32Array.from(pos, (p) => 1 + ((p + rng.int(I - 1)) % I));
    const batch = { size: 12, users, pos, neg };
    tf.tidy(() => {
      const P = tf.tensor2d(Float32Array.from({ length: (U + 1) * d }, () => rng.normal()), [U + 1, d]);
      const Q = tf.tensor2d(Float32Array.from({ length: (I + 1) * d }, () => rng.normal()), [I + 1, d]);
      const mine = lossAndGradients({ user_emb: P, item_emb: Q }, batch, d);
      const ref = tf.valueAndGrads((Pv: tf.Tensor, Qv: tf.Tensor) => {
        const u = tf.gather(Pv, tf.tensor1d(users, 'int32'));
        const x = tf.sum(tf.mul(u, tf.sub(tf.gather(Qv, tf.tensor1d(pos, 'int32')), tf.gather(Qv, tf.tensor1d(neg, 'int32')))), 1);
        return tf.neg(tf.mean(tf.log(tf.add(tf.sigmoid(x), BPR_GAMMA)))) as tf.Scalar;
      })([P, Q]);
      expect(mine.loss.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0], 5);
      const pairs: [tf.Tensor, tf.Tensor][] = [[mine.grads.user_emb, ref.grads[0]], [mine.grads.item_emb, ref.grads[1]]];
      for (const [a, b] of pairs) {
        const x = a.dataSync();
        const y = b.dataSync();
        for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(y[i], 5);
      }
    });
  });

  test('overfits three users with disjoint tastes, with a falling loss and a fixed tensor count', async () => {
    const split = splitOf([[1, 2, 3], [4, 5, 6], [7, 8, 9]], 9);
    const model = new BPR(9, { dim: 8, batchSize: 4, lr: 0.05, epochs: 150 });
    const losses: number[] = [];
    const counts: number[] = [];
    await model.fit(split, { seed: 1, onEpochEnd: (_, s) => { losses.push(s.loss); counts.push(tf.memory().numTensors); } });
    expect(losses[losses.length - 1]).toBeLessThan(0.05);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 10);
    expect(new Set(counts.slice(1)).size).toBe(1);
    const S = model.scoreAll([split.train[1], split.train[2], split.train[3]], [1, 2, 3]);
    for (let u = 0; u < 3; u++) {
      const row = Array.from(S.subarray(u * 10 + 1, u * 10 + 10));
      const top3 = row.map((s, i) => [s, i + 1]).sort((a, b) => b[0] - a[0]).slice(0, 3).map((x) => x[1]).sort();
      expect(top3).toEqual([1, 2, 3].map((i) => i + 3 * u));
    }
    model.dispose();
  });

  test('a trained user folded in from its own training history ranks the items as its trained vector does', async () => {
    const split = conformanceFixture(9);
    const model = new BPR(split.numItems, SMALL);
    await model.fit(split, { seed: 2 });
    const a = foldInAgreement(model, split);
    expect(a.self).toBeGreaterThan(0.75);
    expect(a.otherCycle).toBeLessThan(0.3);
    expect(a.heldOutTop10).toBeGreaterThan(0.85);
    model.dispose();
  });

  test('the fold-in depends on the set of items only, and unknown ids fold in', async () => {
    const split = conformanceFixture(4);
    const model = new BPR(split.numItems, { ...SMALL, epochs: 3 });
    await model.fit(split, { seed: 5 });
    const h = Int32Array.from([3, 4, 5, 4, 6]);
    const x = model.userRepresentations([h]);
    expect(Array.from(model.userRepresentations([Int32Array.from([6, 5, 4, 3, 0])]))).toEqual(Array.from(x));
    // Id 0 and an id past the trained users fold in; a trained id reads its own vector.
    expect(Array.from(model.userRepresentations([h, h], [0, 9999]))).toEqual([...x, ...x]);
    expect(Array.from(model.userRepresentations([h], [1]))).not.toEqual(Array.from(x));
    // An empty history has nothing to fold in: x_u = 0.
    expect(Array.from(model.userRepresentations([new Int32Array(0)])).every((v) => v === 0)).toBe(true);
    model.scoreAll([h], [2]); // the first full ranking of a frozen model keeps its transposed table
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      model.score([h, h], [[1, 2], [3]], [0, 1]);
      model.scoreAll([h], [2]);
      model.scoreAll([h]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(() => model.userRepresentations([h], [1, 2])).toThrow(/1 histories but 2 user ids/);
    expect(() => model.userRepresentations([h], [-1])).toThrow(/user id -1 at position 0/);
    model.dispose();
  });

  test('resumes from a checkpoint to the same model as an uninterrupted run', async () => {
    const split = conformanceFixture(4);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-bpr-ckpt-'));
    try {
      const cfg = { ...SMALL, epochs: 6 };
      const full = new BPR(split.numItems, cfg);
      await full.fit(split, { seed: 8 });
      const first = new BPR(split.numItems, cfg);
      await first.fit(split, { seed: 8, checkpointDir: dir, checkpointEvery: 2, onEpochEnd: (e) => e === 4 });
      first.dispose();
      const resumed = new BPR(split.numItems, cfg);
      const r = await resumed.fit(split, { seed: 8, checkpointDir: dir, checkpointEvery: 2 });
      expect(r.resumedFrom).toBe(4);
      const ids = [1, 7, 20, 33];
      expect(Array.from(resumed.itemEmbeddings(ids))).toEqual(Array.from(full.itemEmbeddings(ids)));
      for (const m of [full, resumed]) m.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('early stopping scores the current weights between epochs and keeps the best epoch', async () => {
    const split = conformanceFixture(6);
    const model = new BPR(split.numItems, SMALL);
    const t = await earlyStoppingTrace(model, split);
    expect(t.bestEpoch).toBe(2);
    expect(t.epochs).toBe(4);
    expect(t.byEpoch).toHaveLength(4);
    for (let e = 1; e < t.byEpoch.length; e++) expect(Array.from(t.byEpoch[e])).not.toEqual(Array.from(t.byEpoch[e - 1]));
    Array.from(t.final).forEach((v, i) => expect(v).toBeCloseTo(t.byEpoch[1][i], 5));
    model.dispose();
  });

  test('rejects bad configuration and input, naming the field', () => {
    expect(() => new BPR(0)).toThrow(/numItems/);
    expect(() => new BPR(10, { dim: 0 })).toThrow(/config.dim/);
    expect(() => new BPR(10, { embedding_size: 8 } as never)).toThrow(/unknown config field "embedding_size"/);
    expect(() => new BPR(10, { lr: '0.1' } as never)).toThrow(/config.lr must be a number/);
    const m = new BPR(10);
    expect(() => m.userRepresentations([[1]])).toThrow(/no weights/);
  });
});
