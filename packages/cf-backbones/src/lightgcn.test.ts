import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { BPR_GAMMA } from './bpr';
import { conformanceFixture, defineBackboneConformanceTests } from './conformance';
import { LIGHTGCN_DEFAULTS, LightGCN, buildGraph, forward, itemNode, lossAndGradients, type LightGCNConfig } from './lightgcn';
import { createBackbone, listBackbones } from './registry';
import { earlyStoppingTrace, foldInAgreement, splitOf } from './test-helpers';
import { loadParams } from './trainer';
import './index';

const SMALL = { dim: 16, batchSize: 64, lr: 0.01, epochs: 20 };

beforeAll(async () => {
  await selectBackend('wasm');
});

// Measured: Hit@1/20 = 0.91 with and without user ids (random 0.05).
defineBackboneConformanceTests('lightgcn', (n) => new LightGCN(n, SMALL), { load: (dir) => LightGCN.load(dir), users: true, minHit1: 0.7 });

/** The user side of a graph as CSR, from each user's item list (users 1..n). */
function csr(lists: number[][]): { ptr: Int32Array; items: Int32Array } {
  const ptr = new Int32Array(lists.length + 2);
  lists.forEach((l, k) => { ptr[k + 2] = ptr[k + 1] + l.length; });
  return { ptr, items: Int32Array.from(lists.flat()) };
}

describe('LightGCN', () => {
  test('is registered by name', () => {
    expect(listBackbones().map((b) => b.name)).toContain('lightgcn');
    const m = createBackbone('lightgcn', 10, { dim: 8 });
    expect(m.dim).toBe(8);
    expect(m.usesOrder).toBe(false);
    m.dispose();
  });

  test('propagates a 2-user, 3-item graph as computed by hand', () => {
    // User 1 has items 1, 2; user 2 has items 2, 3. Degrees: users 2, 2; items 1, 2, 1.
    // Â: (u1,i1) = 1/sqrt(2) = a, (u1,i2) = 1/2, (u2,i2) = 1/2, (u2,i3) = a.
    const { ptr, items } = csr([[1, 2], [2, 3]]);
    const g = buildGraph(2, 3, ptr, items);
    const a = Math.SQRT1_2;
    // d = 1, layer 0: P = (pad 0, u1 1, u2 2), Q = (pad 0, i1 3, i2 4, i3 5).
    const { layers, F } = forward(g, Float32Array.from([0, 1, 2]), Float32Array.from([0, 3, 4, 5]), 1, 2);
    // Node order: user 0, user 1, user 2, item 0, item 1, item 2, item 3.
    // Layer 1: u1 = 3a + 4/2, u2 = 4/2 + 5a; i1 = 1a, i2 = 1/2 + 2/2, i3 = 2a.
    const l1 = [0, 3 * a + 2, 2 + 5 * a, 0, a, 1.5, 2 * a];
    // Layer 2: u1 = a·a + 1.5/2 = 1.25, u2 = 1.5/2 + a·2a = 1.75; i1 = a(3a + 2), i2 = (u1 + u2)/2, i3 = a(2 + 5a).
    const l2 = [0, 1.25, 1.75, 0, a * (3 * a + 2), (3 * a + 2 + 2 + 5 * a) / 2, a * (2 + 5 * a)];
    const l0 = [0, 1, 2, 0, 3, 4, 5];
    Array.from(layers[1]).forEach((v, j) => expect(v).toBeCloseTo(l1[j], 5));
    Array.from(layers[2]).forEach((v, j) => expect(v).toBeCloseTo(l2[j], 5));
    Array.from(F).forEach((v, j) => expect(v).toBeCloseTo((l0[j] + l1[j] + l2[j]) / 3, 5));
    expect(Array.from(g.itemDegree)).toEqual([0, 1, 2, 1]);
    expect(itemNode(g, 3)).toBe(6);
    expect(() => buildGraph(2, 3, csr([[1, 1], [2]]).ptr, csr([[1, 1], [2]]).items)).toThrow(/user 1 lists item 1 twice/);
    expect(() => buildGraph(2, 3, csr([[4], [2]]).ptr, csr([[4], [2]]).items)).toThrow(/item 4, outside 1..3/);
  });

  test.each([2, 3])('gradients match tfjs autodiff over a dense Â with %i layers', (layers) => {
    const rng = new Rng(11 + layers);
    const U = 4;
    const I = 6;
    const d = 3;
    const lists = [[1, 2, 5], [2, 3], [4, 5, 6, 1], [6]];
    const { ptr, items } = csr(lists);
    const g = buildGraph(U, I, ptr, items);
    // Repeated users and items in one batch; the regulariser made visible.
    const batch = { size: 6, users: Int32Array.from([1, 1, 2, 3, 4, 3]), pos: Int32Array.from([1, 5, 3, 4, 6, 1]), neg: Int32Array.from([3, 3, 6, 2, 2, 2]) };
    const c: LightGCNConfig = { ...LIGHTGCN_DEFAULTS, dim: d, layers, regWeight: 0.3 };
    // Dense Â built independently: A from the lists, then D^-1/2 A D^-1/2.
    const n = U + 1 + I + 1;
    const A = new Float32Array(n * n);
    lists.forEach((l, k) => l.forEach((i) => { A[(k + 1) * n + U + 1 + i] = 1; A[(U + 1 + i) * n + k + 1] = 1; }));
    const deg = Array.from({ length: n }, (_, r) => A.subarray(r * n, r * n + n).reduce((x, y) => x + y, 0));
    const norm = A.map((v, j) => (v ? v / Math.sqrt(deg[Math.floor(j / n)] * deg[j % n]) : 0));
    tf.tidy(() => {
      const P = tf.tensor2d(Float32Array.from({ length: (U + 1) * d }, (_, j) => (j < d ? 0 : rng.normal())), [U + 1, d]);
      const Q = tf.tensor2d(Float32Array.from({ length: (I + 1) * d }, (_, j) => (j < d ? 0 : rng.normal())), [I + 1, d]);
      const mine = lossAndGradients({ user_emb: P, item_emb: Q }, g, batch, c);
      const Ahat = tf.tensor2d(norm, [n, n]);
      const ids = (x: Int32Array, off = 0) => tf.tensor1d(Int32Array.from(x, (v) => v + off), 'int32');
      const ref = tf.valueAndGrads((Pv: tf.Tensor, Qv: tf.Tensor) => {
        let E: tf.Tensor = tf.concat([Pv, Qv], 0);
        let sum = E;
        for (let k = 0; k < layers; k++) { E = tf.matMul(Ahat, E); sum = tf.add(sum, E); }
        const Fm = tf.div(sum, layers + 1);
        const u = tf.gather(Fm, ids(batch.users));
        const x = tf.sum(tf.mul(u, tf.sub(tf.gather(Fm, ids(batch.pos, U + 1)), tf.gather(Fm, ids(batch.neg, U + 1)))), 1);
        const bpr = tf.neg(tf.mean(tf.log(tf.add(tf.sigmoid(x), BPR_GAMMA))));
        const reg = tf.div(tf.addN([tf.norm(tf.gather(Pv, ids(batch.users))), tf.norm(tf.gather(Qv, ids(batch.pos))), tf.norm(tf.gather(Qv, ids(batch.neg)))]), batch.size);
        return tf.add(bpr, tf.mul(reg, c.regWeight)) as tf.Scalar;
      })([P, Q]);
      expect(mine.loss.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0], 5);
      const pairs: [tf.Tensor, tf.Tensor][] = [[mine.grads.user_emb, ref.grads[0]], [mine.grads.item_emb, ref.grads[1]]];
      for (const [x, y] of pairs) {
        const a = x.dataSync();
        const b = y.dataSync();
        let scale = 0;
        for (let j = 0; j < a.length; j++) {
          expect(a[j]).toBeCloseTo(b[j], 5);
          scale = Math.max(scale, Math.abs(b[j]));
        }
        expect(scale).toBeGreaterThan(1e-3);
      }
    });
  });

  test('overfits three users with disjoint tastes, with a falling loss and a fixed tensor count', async () => {
    const split = splitOf([[1, 2, 3], [4, 5, 6], [7, 8, 9]], 9);
    const model = new LightGCN(9, { dim: 8, batchSize: 4, lr: 0.05, epochs: 150 });
    const losses: number[] = [];
    const counts: number[] = [];
    await model.fit(split, { seed: 1, onEpochEnd: (_, s) => { losses.push(s.loss); counts.push(tf.memory().numTensors); } });
    expect(losses[losses.length - 1]).toBeLessThan(0.05);
    expect(new Set(counts.slice(1)).size).toBe(1);
    const S = model.scoreAll([split.train[1], split.train[2], split.train[3]], [1, 2, 3]);
    for (let u = 0; u < 3; u++) {
      const row = Array.from(S.subarray(u * 10 + 1, u * 10 + 10));
      const top3 = row.map((s, i) => [s, i + 1]).sort((a, b) => b[0] - a[0]).slice(0, 3).map((x) => x[1]).sort();
      expect(top3).toEqual([1, 2, 3].map((i) => i + 3 * u));
    }
    model.dispose();
  });

  test('a new node on a trained user\'s own training items is its F_u without the layer-0 term', async () => {
    const split = conformanceFixture(9);
    const model = new LightGCN(split.numItems, SMALL);
    await model.fit(split, { seed: 2 });
    const users = [1, 17, 60];
    const histories = users.map((u) => split.train[u]);
    const trained = model.userRepresentations(histories, users);
    const inductive = model.userRepresentations(histories);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-lgcn-'));
    try {
      // The layer-0 user rows P_u, read back through an artifact (they are not otherwise exposed).
      await model.save(dir);
      const { values } = await loadParams(dir, 'allmrec.backbone.lightgcn');
      const P = values.get('user_emb')!;
      const d = model.dim;
      users.forEach((u, b) => {
        for (let t = 0; t < d; t++) expect(inductive[b * d + t]).toBeCloseTo(trained[b * d + t] - P[u * d + t] / 3, 5);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // And it ranks like the trained user, unlike another cycle's user.
    const a = foldInAgreement(model, split);
    expect(a.self).toBeGreaterThan(0.9);
    expect(a.otherCycle).toBeLessThan(0.3);
    expect(a.heldOutTop10).toBeGreaterThan(0.9);
    // Order-free; ids 0 and unknown ids take the history; an empty history is 0.
    const h = Int32Array.from([3, 5, 4, 5]);
    const x = model.userRepresentations([h]);
    expect(Array.from(model.userRepresentations([Int32Array.from([5, 4, 3])], [0]))).toEqual(Array.from(x));
    expect(Array.from(model.userRepresentations([h], [10_000]))).toEqual(Array.from(x));
    expect(Array.from(model.userRepresentations([[]])).every((v) => v === 0)).toBe(true);
    model.scoreAll([h]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      model.score([h, h], [[1, 2], [3]], [0, 1]);
      model.scoreAll([h], [2]);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('early stopping scores the current weights between epochs and keeps the best epoch', async () => {
    const split = conformanceFixture(6);
    const model = new LightGCN(split.numItems, SMALL);
    const t = await earlyStoppingTrace(model, split);
    expect(t.bestEpoch).toBe(2);
    expect(t.epochs).toBe(4);
    expect(t.byEpoch).toHaveLength(4);
    for (let e = 1; e < t.byEpoch.length; e++) expect(Array.from(t.byEpoch[e])).not.toEqual(Array.from(t.byEpoch[e - 1]));
    Array.from(t.final).forEach((v, i) => expect(v).toBeCloseTo(t.byEpoch[1][i], 5));
    model.dispose();
  });

  test('rejects bad configuration and input, naming the field', () => {
    expect(() => new LightGCN(0)).toThrow(/numItems/);
    expect(() => new LightGCN(10, { layers: 0 })).toThrow(/config.layers/);
    expect(() => new LightGCN(10, { n_layers: 2 } as never)).toThrow(/unknown config field "n_layers"/);
    const m = new LightGCN(10);
    expect(() => m.itemEmbeddings([1])).toThrow(/no weights/);
  });
});
