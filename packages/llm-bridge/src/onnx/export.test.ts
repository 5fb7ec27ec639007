import * as ort from 'onnxruntime-node';
import { Rng } from '@allmrec/core';
import { ONNX_IO, decoderArchFromHfConfig, exportDecoderToOnnx } from './export';
import { referenceForward } from './test/reference';
import { allTinyCheckpoints } from './test/tiny-checkpoints';

/** Left-pads rows of lengths `lens` to T: embeddings, attention mask and position ids. */
function padBatch(rows: Float32Array[], lens: number[], E: number, T: number) {
  const B = rows.length;
  const emb = new Float32Array(B * T * E);
  const mask = new BigInt64Array(B * T);
  const pos = new BigInt64Array(B * T);
  rows.forEach((r, b) => {
    const pad = T - lens[b];
    emb.set(r, (b * T + pad) * E);
    for (let t = pad; t < T; t++) { mask[b * T + t] = 1n; pos[b * T + t] = BigInt(t - pad); }
  });
  return { emb, mask, pos };
}

/** Runs a left-padded batch: rows of lengths `lens` padded to T. */
async function runPadded(session: ort.InferenceSession, rows: Float32Array[], lens: number[], E: number, T: number, V: number) {
  const B = rows.length;
  const { emb, mask, pos } = padBatch(rows, lens, E, T);
  const out = await session.run({
    inputs_embeds: new ort.Tensor('float32', emb, [B, T, E]),
    attention_mask: new ort.Tensor('int64', mask, [B, T]),
    position_ids: new ort.Tensor('int64', pos, [B, T]),
    num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(0n), []),
  });
  expect(out.logits.dims).toEqual([B, T, V]);
  return out.logits.data as Float32Array;
}

export const maxDiffs: Record<string, number> = {};

describe('exportDecoderToOnnx vs an independent JS reference', () => {
  afterAll(() => { console.log(`max |onnx - reference| per family: ${JSON.stringify(maxDiffs)}`); });

  for (const ck of allTinyCheckpoints()) {
    test(`${ck.name}: logits match within 1e-4, including a left-padded batch`, async () => {
      const arch = decoderArchFromHfConfig(ck.hf);
      const bytes = exportDecoderToOnnx(arch, ck.weights);
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      const rng = new Rng(7);
      const E = arch.embedSize, V = arch.vocabSize;
      const lens = [9, 6, 1];
      const T = 9;
      const rows = lens.map((n) => Float32Array.from({ length: n * E }, () => rng.normal()));
      const logits = await runPadded(session, rows, lens, E, T, V);
      let maxDiff = 0;
      rows.forEach((r, b) => {
        const ref = referenceForward(ck.hf, ck.weights, r, lens[b]);
        const pad = T - lens[b];
        for (let t = 0; t < lens[b]; t++) for (let v = 0; v < V; v++) {
          maxDiff = Math.max(maxDiff, Math.abs(logits[(b * T + pad + t) * V + v] - ref[t * V + v]));
        }
      });
      maxDiffs[ck.name] = maxDiff;
      expect(maxDiff).toBeLessThan(1e-4);
      // num_logits_to_keep: the last K positions only.
      const out = await session.run({
        inputs_embeds: new ort.Tensor('float32', rows[0], [1, lens[0], E]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(lens[0]).fill(1n), [1, lens[0]]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: lens[0] }, (_, i) => BigInt(i)), [1, lens[0]]),
        num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(2n), []),
      });
      expect(out.logits.dims).toEqual([1, 2, V]);
      const last = out.logits.data as Float32Array;
      for (let i = 0; i < 2 * V; i++) expect(Math.abs(last[i] - logits[(lens[0] - 2) * V + i])).toBeLessThan(1e-5);
      await session.release();
    });
  }

  for (const ck of allTinyCheckpoints()) {
    test(`${ck.name}: KV-cache graph (withPast): prefix with empty past, then the rest with the cache, left-padded`, async () => {
      const arch = decoderArchFromHfConfig(ck.hf);
      const session = await ort.InferenceSession.create(exportDecoderToOnnx(arch, ck.weights, { withPast: true }), { intraOpNumThreads: 1 });
      const { embedSize: E, vocabSize: V, kvHeads: kvh, headDim: hd, layers } = arch;
      expect(session.inputNames).toContain('past_key_values.0.key');
      expect(session.outputNames).toContain(`present.${layers - 1}.value`);
      const rng = new Rng(17);
      const lens = [9, 6, 4];
      const B = lens.length, T = 9, T0 = 5, T1 = T - T0; // left-padded rows; first T0 columns, then T1
      const rows = lens.map((n) => Float32Array.from({ length: n * E }, () => rng.normal()));
      const { emb, mask, pos } = padBatch(rows, lens, E, T);
      const cols = <A extends Float32Array | BigInt64Array>(a: A, per: number, from: number, to: number): A => {
        const out = new (a.constructor as new (n: number) => A)(B * (to - from) * per);
        for (let b = 0; b < B; b++) out.set(a.subarray((b * T + from) * per, (b * T + to) * per) as never, b * (to - from) * per);
        return out;
      };
      const feeds = (from: number, to: number, past: Record<string, ort.Tensor>) => ({
        inputs_embeds: new ort.Tensor('float32', cols(emb, E, from, to), [B, to - from, E]),
        attention_mask: new ort.Tensor('int64', cols(mask, 1, 0, to), [B, to]),
        position_ids: new ort.Tensor('int64', cols(pos, 1, from, to), [B, to - from]),
        num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(0n), []),
        ...past,
      });
      const empty: Record<string, ort.Tensor> = {};
      for (let l = 0; l < layers; l++) {
        empty[ONNX_IO.pastKey(l)] = new ort.Tensor('float32', new Float32Array(0), [B, kvh, 0, hd]);
        empty[ONNX_IO.pastValue(l)] = new ort.Tensor('float32', new Float32Array(0), [B, kvh, 0, hd]);
      }
      const a = await session.run(feeds(0, T0, empty));
      expect(a.logits.dims).toEqual([B, T0, V]);
      expect(a[ONNX_IO.presentKey(0)].dims).toEqual([B, kvh, T0, hd]);
      const past: Record<string, ort.Tensor> = {};
      for (let l = 0; l < layers; l++) {
        past[ONNX_IO.pastKey(l)] = a[ONNX_IO.presentKey(l)];
        past[ONNX_IO.pastValue(l)] = a[ONNX_IO.presentValue(l)];
      }
      const c = await session.run(feeds(T0, T, past));
      expect(c.logits.dims).toEqual([B, T1, V]);
      expect(c[ONNX_IO.presentValue(layers - 1)].dims).toEqual([B, kvh, T, hd]);
      const la = a.logits.data as Float32Array, lc = c.logits.data as Float32Array;
      let maxDiff = 0;
      rows.forEach((r, b) => {
        const ref = referenceForward(ck.hf, ck.weights, r, lens[b]);
        const pad = T - lens[b];
        for (let t = pad; t < T; t++) for (let v = 0; v < V; v++) {
          const got = t < T0 ? la[(b * T0 + t) * V + v] : lc[(b * T1 + t - T0) * V + v];
          maxDiff = Math.max(maxDiff, Math.abs(got - ref[(t - pad) * V + v]));
        }
      });
      expect(maxDiff).toBeLessThan(1e-4);
      await session.release();
    });
  }
});
