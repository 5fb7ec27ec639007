import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, dropoutMask, selectBackend } from '@allmrec/core';
import { conformanceFixture, defineBackboneConformanceTests } from './conformance';
import { NCF, NCF_DEFAULTS, foldInGradients, initialParameters, itemHalf, lossAndGradients, parameterShapes, type NCFConfig } from './ncf';
import { createBackbone, listBackbones } from './registry';
import { earlyStoppingTrace, foldInAgreement, splitOf } from './test-helpers';
import { ParamSet, saveParams } from './trainer';
import './index';

const SMALL = { mfDim: 16, mlpDim: 16, hidden: [32, 16], batchSize: 64, lr: 0.01, epochs: 20 };

beforeAll(async () => {
  await selectBackend('wasm');
});

// Measured: Hit@1/20 = 0.87 folded in, 0.95 with user ids (random 0.05).
defineBackboneConformanceTests('ncf', (n) => new NCF(n, SMALL), { load: (dir) => NCF.load(dir), scoring: 'monotone', users: true, minHit1: 0.7 });

/** An NCF with the given weights, written as an artifact and loaded (how tests set weights). */
async function ncfWith(c: NCFConfig, numUsers: number, numItems: number, values: Map<string, Float32Array>): Promise<NCF> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-ncf-'));
  const params = new ParamSet('test', parameterShapes(numUsers, numItems, c));
  try {
    params.set(values);
    await saveParams(dir, 'allmrec.backbone.ncf', { name: 'ncf', numItems, numUsers, config: c }, params, {
      train_counts: { shape: [numUsers + 1], data: new Int32Array(numUsers + 1).fill(1) },
    });
    return await NCF.load(dir);
  } finally {
    params.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An independent forward: gathers, concatenation, the MLP as written in the paper. Returns logits [M]. */
function referenceLogits(P: Record<string, tf.Tensor>, c: NCFConfig, uMf: tf.Tensor, uMlp: tf.Tensor, items: Int32Array, masks?: tf.Tensor[]): tf.Tensor {
  const i = tf.tensor1d(items, 'int32');
  const gmf = tf.mul(uMf, tf.gather(P.item_mf, i));
  let a: tf.Tensor = tf.concat([uMlp, tf.gather(P.item_mlp, i)], 1);
  c.hidden.forEach((_, k) => {
    if (masks) a = tf.mul(a, masks[k]);
    a = tf.relu(tf.add(tf.matMul(a as tf.Tensor2D, P[`mlp.${k}.w`] as tf.Tensor2D), P[`mlp.${k}.b`]));
  });
  return tf.reshape(tf.add(tf.matMul(tf.concat([gmf, a], 1) as tf.Tensor2D, P['predict.w'] as tf.Tensor2D), P['predict.b']), [-1]);
}

const bce = (z: tf.Tensor, y: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.sub(tf.softplus(z), tf.mul(y, z)), w)) as tf.Scalar;

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, digits = 5): void {
  expect(a.length).toBe(b.length);
  for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(b[j], digits);
}

describe('NCF', () => {
  test('is registered by name, with dim = GMF + MLP embedding size', () => {
    expect(listBackbones().map((b) => b.name)).toContain('ncf');
    const m = createBackbone('ncf', 10);
    expect(m.dim).toBe(128);
    expect(m.usesOrder).toBe(false);
    m.dispose();
  });

  test('one row by hand: logit, loss and every gradient; the loaded model scores it the same', async () => {
    // d_mf = d_mlp = 1, one hidden unit. p_u = 2, q_i = 3 → gmf = 6; [m_u; n_i] = [1; -1];
    // z1 = 1·0.5 + (−1)·0.25 + 0.1 = 0.35 (relu passes); z = 6·0.1 + 0.35·2 − 0.3 = 1.
    // Label 1: loss = softplus(−1) = 0.3132617; dz = σ(1) − 1 = −0.2689414.
    const c: NCFConfig = { ...NCF_DEFAULTS, mfDim: 1, mlpDim: 1, hidden: [1], dropout: 0 };
    const v = new Map<string, Float32Array>([
      ['user_mf', Float32Array.from([0, 2])], ['item_mf', Float32Array.from([0, 3])],
      ['user_mlp', Float32Array.from([0, 1])], ['item_mlp', Float32Array.from([0, -1])],
      ['mlp.0.w', Float32Array.from([0.5, 0.25])], ['mlp.0.b', Float32Array.from([0.1])],
      ['predict.w', Float32Array.from([0.1, 2])], ['predict.b', Float32Array.from([-0.3])],
    ]);
    const dz = -0.2689414;
    tf.tidy(() => {
      const p: Record<string, tf.Tensor> = {};
      for (const [k, x] of v) p[k] = tf.tensor(x, parameterShapes(1, 1, c)[k]);
      const r = lossAndGradients(p, c, {
        uMf: tf.tensor2d([[2]]), iMf: tf.tensor2d([[3]]), uMlp: tf.tensor2d([[1]]), iMlp: tf.tensor2d([[-1]]),
        labels: tf.tensor2d([[1]]), weight: tf.tensor2d([[1]]),
      });
      expect(r.loss.dataSync()[0]).toBeCloseTo(0.3132617, 6);
      expectClose(r.grads['predict.w'].dataSync(), [dz * 6, dz * 0.35], 6);
      expectClose(r.grads['predict.b'].dataSync(), [dz], 6);
      // Through the hidden unit: dz1 = dz · 2.
      const dz1 = dz * 2;
      expectClose(r.grads['mlp.0.w'].dataSync(), [dz1 * 1, dz1 * -1], 6);
      expectClose(r.grads['mlp.0.b'].dataSync(), [dz1], 6);
      expectClose(r.rows.uMf.dataSync(), [dz * 0.1 * 3], 6);
      expectClose(r.rows.iMf.dataSync(), [dz * 0.1 * 2], 6);
      expectClose(r.rows.uMlp.dataSync(), [dz1 * 0.5], 6);
      expectClose(r.rows.iMlp.dataSync(), [dz1 * 0.25], 6);
    });
    const model = await ncfWith(c, 1, 1, v);
    expect(model.score([[1]], [[1]], [1])[0][0]).toBeCloseTo(1, 5);
    expect(Array.from(model.userRepresentations([[1]], [1]))).toEqual([2, 1]);
    expect(Array.from(model.itemEmbeddings([1]))).toEqual([3, -1]);
    model.dispose();
  });

  test('training gradients match tfjs autodiff with dropout masks; the scoring path gives the same logits', async () => {
    const c: NCFConfig = { ...NCF_DEFAULTS, mfDim: 3, mlpDim: 2, hidden: [5, 4, 3], dropout: 0.3 };
    const U = 4;
    const I = 6;
    const rng = new Rng(21);
    const init = initialParameters(U, I, c, rng);
    // Larger than the real init, and positive hidden biases, so every path carries gradient.
    for (const [k, x] of init) init.set(k, x.map((y) => y * (k.startsWith('user_') || k.startsWith('item_') ? 60 : 1.5) + (/^mlp\.\d+\.b$/.test(k) ? 0.5 : 0.05 * Math.sin(y * 1e3))));
    const users = Int32Array.from([1, 2, 2, 3, 4, 1, 3, 4]);
    const items = Int32Array.from([1, 2, 5, 6, 3, 2, 4, 1]);
    const labels = Float32Array.from([1, 1, 0, 1, 0, 0, 1, 0]);
    const M = users.length;
    const shapes = parameterShapes(U, I, c);
    const names = Object.keys(shapes);
    tf.tidy(() => {
      const P: Record<string, tf.Tensor> = {};
      for (const n of names) P[n] = tf.tensor(init.get(n)!, shapes[n]);
      const masks = [2 * c.mlpDim, ...c.hidden.slice(0, -1)].map((n) => dropoutMask(rng, [M, n], c.dropout) as tf.Tensor2D);
      const u = tf.tensor1d(users, 'int32');
      const i = tf.tensor1d(items, 'int32');
      const y = tf.tensor2d(labels, [M, 1]);
      const w = tf.fill([M, 1], 1 / M) as tf.Tensor2D;
      const mine = lossAndGradients(P, c, {
        uMf: tf.gather(P.user_mf, u) as tf.Tensor2D, iMf: tf.gather(P.item_mf, i) as tf.Tensor2D,
        uMlp: tf.gather(P.user_mlp, u) as tf.Tensor2D, iMlp: tf.gather(P.item_mlp, i) as tf.Tensor2D, labels: y, weight: w,
      }, masks);
      mine.grads.user_mf = tf.unsortedSegmentSum(mine.rows.uMf, u, U + 1);
      mine.grads.item_mf = tf.unsortedSegmentSum(mine.rows.iMf, i, I + 1);
      mine.grads.user_mlp = tf.unsortedSegmentSum(mine.rows.uMlp, u, U + 1);
      mine.grads.item_mlp = tf.unsortedSegmentSum(mine.rows.iMlp, i, I + 1);
      const ref = tf.valueAndGrads((...xs: tf.Tensor[]) => {
        const Q: Record<string, tf.Tensor> = {};
        names.forEach((n, k) => { Q[n] = xs[k]; });
        const z = referenceLogits(Q, c, tf.gather(Q.user_mf, u), tf.gather(Q.user_mlp, u), items, masks);
        return bce(z, tf.reshape(y, [-1]), tf.reshape(w, [-1]));
      })(names.map((n) => P[n]));
      expect(mine.loss.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0], 5);
      names.forEach((n, k) => {
        const a = mine.grads[n].dataSync();
        const b = ref.grads[k].dataSync();
        const scale = Math.max(...Array.from(b, Math.abs));
        if (!(scale > 1e-5)) throw new Error(`no gradient reaches ${n}`);
        for (let j = 0; j < a.length; j++) if (Math.abs(a[j] - b[j]) > 1e-5 + 1e-3 * scale) throw new Error(`gradient of ${n}[${j}]: ${a[j]} vs autodiff ${b[j]}`);
      });
    });
    // Scoring (split first layer, chunked rows) equals the reference forward without dropout.
    const model = await ncfWith(c, U, I, init);
    const got = model.scoreAll([[1], [2], [3], [4]], [1, 2, 3, 4]);
    const want = tf.tidy(() => {
      const P: Record<string, tf.Tensor> = {};
      for (const n of names) P[n] = tf.tensor(init.get(n)!, shapes[n]);
      const uu = tf.tensor1d(Int32Array.from({ length: 4 * (I + 1) }, (_, k) => 1 + Math.floor(k / (I + 1))), 'int32');
      const ii = Int32Array.from({ length: 4 * (I + 1) }, (_, k) => k % (I + 1));
      return referenceLogits(P, c, tf.gather(P.user_mf, uu), tf.gather(P.user_mlp, uu), ii).dataSync();
    });
    expectClose(got, want, 4);
    model.dispose();
  });

  test('fold-in gradients with respect to the user vectors match tfjs autodiff', () => {
    const c: NCFConfig = { ...NCF_DEFAULTS, mfDim: 3, mlpDim: 2, hidden: [5, 3] };
    const rng = new Rng(5);
    const init = initialParameters(2, 6, c, rng);
    for (const [k, x] of init) init.set(k, x.map((y) => y * (k.startsWith('user_') || k.startsWith('item_') ? 60 : 1.5) + (/^mlp\.\d+\.b$/.test(k) ? 0.5 : 0.05 * Math.sin(y * 1e3))));
    const shapes = parameterShapes(2, 6, c);
    const row = Int32Array.from([0, 0, 1, 2, 2, 2, 0]);
    const items = Int32Array.from([1, 4, 2, 6, 3, 1, 5]);
    const labels = Float32Array.from([1, 0, 1, 1, 0, 0, 1]);
    const weight = Float32Array.from([0.2, 0.3, 1, 0.1, 0.5, 0.4, 0.5]);
    tf.tidy(() => {
      const P: Record<string, tf.Tensor> = {};
      for (const n of Object.keys(shapes)) P[n] = tf.tensor(init.get(n)!, shapes[n]);
      const Vmf = tf.tensor2d(Float32Array.from({ length: 9 }, () => rng.normal()), [3, 3]);
      const Vmlp = tf.tensor2d(Float32Array.from({ length: 6 }, () => rng.normal()), [3, 2]);
      const rows = { row: tf.tensor1d(row, 'int32'), items: tf.tensor1d(items, 'int32'), labels: tf.tensor1d(labels), weight: tf.tensor1d(weight) };
      const mine = foldInGradients(P, c, itemHalf(P, c), rows, Vmf, Vmlp);
      const ref = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => bce(referenceLogits(P, c, tf.gather(a, rows.row), tf.gather(b, rows.row), items), rows.labels, rows.weight))([Vmf, Vmlp]);
      expect(mine.loss.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0], 5);
      expectClose(mine.mf.dataSync(), ref.grads[0].dataSync());
      expectClose(mine.mlp.dataSync(), ref.grads[1].dataSync());
      expect(Math.max(...Array.from(ref.grads[1].dataSync(), Math.abs))).toBeGreaterThan(1e-4);
    });
  });

  test('overfits three users with disjoint tastes, with a falling loss and a fixed tensor count', async () => {
    const split = splitOf([[1, 2, 3], [4, 5, 6], [7, 8, 9]], 9);
    const model = new NCF(9, { mfDim: 8, mlpDim: 8, hidden: [16, 8], dropout: 0, batchSize: 4, lr: 0.02, epochs: 120 });
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

  test('a trained user folded in from its own training history ranks the items as its trained embeddings do', async () => {
    const split = conformanceFixture(9);
    const model = new NCF(split.numItems, SMALL);
    await model.fit(split, { seed: 2 });
    const a = foldInAgreement(model, split);
    expect(a.self).toBeGreaterThan(0.75);
    expect(a.otherCycle).toBeLessThan(0.3);
    expect(a.heldOutTop10).toBeGreaterThan(0.85);
    // Order-free; ids 0 and unknown ids fold in; an empty history is 0.
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
      model.userRepresentations([h]);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('scores all 1,682 items for 256 users at the default size quickly', async () => {
    const c = NCF_DEFAULTS;
    const model = await ncfWith(c, 256, 1682, initialParameters(256, 1682, c, new Rng(1)));
    const users = Int32Array.from({ length: 256 }, (_, i) => i + 1);
    const histories = Array.from(users, () => Int32Array.from([1]));
    model.scoreAll(histories.slice(0, 2), users.slice(0, 2));
    const t0 = performance.now();
    const S = model.scoreAll(histories, users);
    const ms = performance.now() - t0;
    expect(S.length).toBe(256 * 1683);
    // Measured 0.55 s (943 users: 2.0 s) on WASM with 2 busy cores.
    expect(ms).toBeLessThan(5000);
    model.dispose();
  });

  test('early stopping scores the current weights between epochs and keeps the best epoch', async () => {
    const split = conformanceFixture(6);
    const model = new NCF(split.numItems, SMALL);
    const t = await earlyStoppingTrace(model, split);
    expect(t.bestEpoch).toBe(2);
    expect(t.epochs).toBe(4);
    expect(t.byEpoch).toHaveLength(4);
    for (let e = 1; e < t.byEpoch.length; e++) expect(Array.from(t.byEpoch[e])).not.toEqual(Array.from(t.byEpoch[e - 1]));
    Array.from(t.final).forEach((v, i) => expect(v).toBeCloseTo(t.byEpoch[1][i], 5));
    model.dispose();
  });

  test('rejects bad configuration and input, naming the field', () => {
    expect(() => new NCF(0)).toThrow(/numItems/);
    expect(() => new NCF(10, { hidden: [] })).toThrow(/config.hidden/);
    expect(() => new NCF(10, { dropout: 1 })).toThrow(/config.dropout/);
    expect(() => new NCF(10, { mlp_hidden_size: [1] } as never)).toThrow(/unknown config field "mlp_hidden_size"/);
    const m = new NCF(10);
    expect(() => m.score([[1]], [[1]])).toThrow(/no weights/);
    expect(() => m.score([[1]], [[1], [2]])).toThrow(/1 histories but 2 candidate lists/);
  });
});
