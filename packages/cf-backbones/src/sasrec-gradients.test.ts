/**
 * Gradient check: the hand-written SASRec backward pass against tfjs autodiff of an independent,
 * straightforward forward pass (4-D multi-head attention, tf.moments LayerNorm), with the same
 * dropout masks. Run on the CPU backend (tfjs-op paths) and on WASM (allmrec's fused kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { SASREC_DEFAULTS, type SASRecConfig, initialParameters, lossAndGradients, parameterShapes, prepareStep } from './sasrec';
import { SequenceSampler } from './sampler';

function referenceLoss(
  P: Record<string, tf.Tensor>, c: SASRecConfig, seq: Int32Array, pos: Int32Array, neg: Int32Array,
  B: number, L: number, masks: { emb: tf.Tensor; attn: tf.Tensor[]; ffn1: tf.Tensor[]; ffn2: tf.Tensor[] },
): tf.Scalar {
  const d = c.dim;
  const h = c.heads;
  const dh = d / h;
  const ln = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, c.lnEps))), g), b);
  };
  const dense = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
    tf.reshape(tf.add(tf.matMul(tf.reshape(x, [-1, d]), w as tf.Tensor2D), b), [B, L, d]);
  const heads = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [B, L, h, dh]), [0, 2, 1, 3]);
  const causal = tf.tensor2d(Array.from({ length: L * L }, (_, i) => (i % L > Math.floor(i / L) ? -1e9 : 0)), [L, L]);
  const tl = tf.reshape(tf.cast(tf.notEqual(tf.tensor1d(seq, 'int32'), 0), 'float32'), [B, L, 1]);
  let x: tf.Tensor = tf.reshape(tf.gather(P.item_emb, tf.tensor1d(seq, 'int32')), [B, L, d]);
  x = tf.add(tf.mul(x, Math.sqrt(d)), P.pos_emb);
  x = tf.mul(tf.mul(x, tf.reshape(masks.emb, [B, L, d])), tl);
  for (let i = 0; i < c.blocks; i++) {
    const k = `blocks.${i}.`;
    const Q = ln(x, P[k + 'attn_ln.g'], P[k + 'attn_ln.b']);
    const q = heads(dense(Q, P[k + 'wq'], P[k + 'bq']));
    const kk = heads(dense(x, P[k + 'wk'], P[k + 'bk']));
    const v = heads(dense(x, P[k + 'wv'], P[k + 'bv']));
    const s = tf.add(tf.div(tf.matMul(q, kk, false, true), Math.sqrt(dh)), causal);
    const p = tf.mul(tf.softmax(s), tf.reshape(masks.attn[i], [B, h, L, L]));
    const o = tf.reshape(tf.transpose(tf.matMul(p, v), [0, 2, 1, 3]), [B, L, d]);
    x = tf.add(Q, dense(o, P[k + 'wo'], P[k + 'bo']));
    const F = ln(x, P[k + 'ffn_ln.g'], P[k + 'ffn_ln.b']);
    const h1 = tf.relu(tf.mul(dense(F, P[k + 'w1'], P[k + 'b1']), tf.reshape(masks.ffn1[i], [B, L, d])));
    const h2 = tf.mul(dense(h1, P[k + 'w2'], P[k + 'b2']), tf.reshape(masks.ffn2[i], [B, L, d]));
    x = tf.mul(tf.add(h2, F), tl);
  }
  const out = tf.reshape(ln(x, P['final_ln.g'], P['final_ln.b']), [B * L, d]);
  const valid = tf.cast(tf.notEqual(tf.tensor1d(pos, 'int32'), 0), 'float32');
  const nValid = pos.reduce((a, t) => a + (t !== 0 ? 1 : 0), 0);
  if (c.loss === 'ce') {
    // Softmax over items 1..V-1 (column 0, padding, dropped), written independently of the model.
    const V = (P.item_emb.shape[0] as number);
    const logits = tf.slice(tf.matMul(out, P.item_emb, false, true), [0, 1], [B * L, V - 1]);
    const logp = tf.logSoftmax(logits);
    const target = tf.oneHot(tf.tensor1d(Array.from(pos, (t) => Math.max(t, 1) - 1), 'int32'), V - 1);
    return tf.div(tf.neg(tf.sum(tf.mul(tf.sum(tf.mul(logp, target), -1), valid))), nValid) as tf.Scalar;
  }
  const pl = tf.sum(tf.mul(out, tf.gather(P.item_emb, tf.tensor1d(pos, 'int32'))), -1);
  const nl = tf.sum(tf.mul(out, tf.gather(P.item_emb, tf.tensor1d(neg, 'int32'))), -1);
  return tf.div(tf.sum(tf.mul(valid, tf.add(tf.softplus(tf.neg(pl)), tf.softplus(nl)))), nValid) as tf.Scalar;
}

function checkGradients(backend: 'cpu' | 'wasm', heads: number, loss: SASRecConfig['loss'] = 'bce') {
  const c: SASRecConfig = { ...SASREC_DEFAULTS, dim: 8, heads, maxLen: 6, dropout: 0.3, batchSize: 4, loss };
  const numItems = 15;
  const rng = new Rng(7);
  const train: Int32Array[] = [new Int32Array(0)];
  for (let u = 1; u <= 6; u++) {
    const n = 2 + (u % 3) * 3; // lengths 2..8: some sequences padded, some truncated
    train.push(Int32Array.from({ length: n }, () => 1 + rng.int(numItems)));
  }
  const batch = new SequenceSampler(train, numItems, c.maxLen).sample(rng, c.batchSize);
  const init = initialParameters(numItems, c, rng);
  const shapes = parameterShapes(numItems, c);
  const names = Object.keys(shapes);
  tf.tidy(() => {
    const P: Record<string, tf.Tensor> = {};
    // Larger than the real init so every path carries gradient.
    for (const n of names) P[n] = tf.tensor(init.get(n)!.map((v) => v * 1.5 + (n.endsWith('.g') ? 0 : 0.05 * Math.sin(v * 1e3))), shapes[n]);
    const { inp, masks } = prepareStep(batch, c, rng);
    const mine = lossAndGradients(P, c, inp, masks, numItems);
    const f = (...xs: tf.Tensor[]) => {
      const Q: Record<string, tf.Tensor> = {};
      names.forEach((n, i) => { Q[n] = xs[i]; });
      return referenceLoss(Q, c, batch.seq, batch.pos, batch.neg, c.batchSize, c.maxLen, masks);
    };
    const ref = tf.valueAndGrads(f)(names.map((n) => P[n]));
    expect(mine.loss.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0], 5);
    names.forEach((n, i) => {
      const a = mine.grads[n].dataSync();
      const b = ref.grads[i].dataSync();
      expect(a.length).toBe(b.length);
      let maxAbs = 0;
      let maxDiff = 0;
      for (let j = 0; j < a.length; j++) {
        maxAbs = Math.max(maxAbs, Math.abs(b[j]));
        maxDiff = Math.max(maxDiff, Math.abs(a[j] - b[j]));
      }
      if (maxDiff > 1e-5 + 2e-3 * maxAbs) throw new Error(`${backend}: gradient of ${n} differs by ${maxDiff} (scale ${maxAbs})`);
      // Every parameter receives a real gradient in this setup, except the key bias: q·(k_j + b_k)
      // shifts all scores of a row equally, and softmax ignores that.
      if (!n.endsWith('.bk') && !(maxAbs > 1e-6)) throw new Error(`${backend}: no gradient reaches ${n} (${maxAbs})`);
      if (n.endsWith('.bk')) expect(maxAbs).toBeLessThan(1e-5);
    });
  });
}

describe('SASRec hand-written backward', () => {
  afterAll(async () => { await selectBackend('wasm'); });

  test.each([
    ['cpu', 1], ['cpu', 2], ['wasm', 1], ['wasm', 2],
  ] as const)('matches autodiff on %s with %i head(s)', async (backend, heads) => {
    const info = await selectBackend(backend);
    expect(info.name).toBe(backend);
    checkGradients(backend, heads);
  });

  test.each(['cpu', 'wasm'] as const)('matches autodiff with the full-softmax cross-entropy loss on %s', async (backend) => {
    await selectBackend(backend);
    checkGradients(backend, 2, 'ce');
  });
});
