import * as ort from 'onnxruntime-node';
import { Rng } from '@allmrec/core';
import { decoderArchFromHfConfig, exportDecoderToOnnx } from './export';
import { referenceForward } from './test/reference';
import { allTinyCheckpoints } from './test/tiny-checkpoints';

/** Runs a left-padded batch: rows of lengths `lens` padded to T. */
async function runPadded(session: ort.InferenceSession, rows: Float32Array[], lens: number[], E: number, T: number, V: number) {
  const B = rows.length;
  const emb = new Float32Array(B * T * E);
  const mask = new BigInt64Array(B * T);
  const pos = new BigInt64Array(B * T);
  rows.forEach((r, b) => {
    const pad = T - lens[b];
    emb.set(r, (b * T + pad) * E);
    for (let t = pad; t < T; t++) { mask[b * T + t] = 1n; pos[b * T + t] = BigInt(t - pad); }
  });
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
});
