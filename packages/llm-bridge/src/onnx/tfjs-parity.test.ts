/**
 * The ONNX path and the package's tfjs decoders agree on the same Hugging Face checkpoint
 * (written by the tfjs side's tiny-checkpoint helper, HF layout), on a left-padded batch.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '@allmrec/core';
import { loadCausalLMSync } from '../checkpoint';
import { writeTinyCheckpoint, type TinyCheckpointSpec } from '../tiny';
import { OnnxCausalLM } from './onnx-lm';

const VARIANTS: Record<string, { spec: TinyCheckpointSpec; shards?: 1 | 2 }> = {
  gpt2: { spec: { family: 'gpt2', seed: 101, vocabSize: 80, hidden: 32, heads: 4 } },
  'gpt2-untied': { spec: { family: 'gpt2', seed: 102, vocabSize: 64, hidden: 16, heads: 2, tied: false } },
  opt: { spec: { family: 'opt', seed: 201, vocabSize: 72, hidden: 32, heads: 4 } },
  'opt-project-postnorm': { spec: { family: 'opt', seed: 202, vocabSize: 64, hidden: 32, heads: 2, wordEmbedProjDim: 16, preNorm: false } },
  llama: { spec: { family: 'llama', seed: 301, vocabSize: 96, hidden: 32, heads: 4, kvHeads: 2 }, shards: 2 },
  qwen2: { spec: { family: 'qwen2', seed: 401, vocabSize: 64, hidden: 32, heads: 4, kvHeads: 2 } },
};

describe('ONNX vs tfjs decoders on the same HF checkpoint', () => {
  let tmp: string;
  const measured: Record<string, number> = {};
  beforeAll(async () => {
    await selectBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-onnx-tfjs-'));
  });
  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`max |onnx - tfjs| logits: ${JSON.stringify(measured)}`);
  });

  for (const [name, v] of Object.entries(VARIANTS)) {
    test(`${name}: logits (left-padded batch) and candidate scores agree within 1e-4`, async () => {
      const dir = writeTinyCheckpoint(path.join(tmp, name), v.spec, { shards: v.shards ?? 1 });
      const tlm = loadCausalLMSync(dir);
      const olm = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: 1 });
      expect(olm.embedSize).toBe(tlm.config.embedSize);
      const E = olm.embedSize;
      const V = olm.config.vocabSize;
      const rng = new Rng(9);
      const B = 3, T = 8;
      const lens = [8, 5, 2];
      const emb = new Float32Array(B * T * E);
      const mask = new Float32Array(B * T);
      for (let b = 0; b < B; b++) {
        for (let t = T - lens[b]; t < T; t++) {
          mask[b * T + t] = 1;
          for (let e = 0; e < E; e++) emb[(b * T + t) * E + e] = 0.5 * rng.normal();
        }
      }
      const want = tf.tidy(() => tlm.forward(tf.tensor3d(emb, [B, T, E]), tf.tensor2d(mask, [B, T])).logits.dataSync());
      const { logits } = await olm.forward(emb, B, T, mask);
      let worst = 0;
      for (let b = 0; b < B; b++) for (let t = T - lens[b]; t < T; t++) for (let i = 0; i < V; i++) {
        const k = (b * T + t) * V + i;
        worst = Math.max(worst, Math.abs(logits[k] - want[k]));
      }
      // The embedding tables agree too.
      const ids = [0, 1, V - 1];
      const tEmb = tf.tidy(() => tlm.embedTokens(tf.tensor2d([ids], [1, 3], 'int32')).dataSync());
      const oEmb = olm.embedTokens(ids);
      for (let i = 0; i < oEmb.length; i++) expect(oEmb[i]).toBe(tEmb[i]);
      // Candidate scoring (both with a KV cache: the prompt once, then the candidate tokens).
      const prompt = emb.subarray(0, T * E);
      const conts = [[4, 9, 11], [7], [], [2, 2, 30, 5]];
      const tScores = tf.tidy(() => tlm.scoreContinuations(tf.tensor3d(prompt, [1, T, E]), tf.ones([1, T]), conts));
      const oScores = await olm.scoreContinuations(prompt, T, conts);
      for (let i = 0; i < conts.length; i++) worst = Math.max(worst, Math.abs(oScores[i] - tScores[i]));
      measured[name] = Number(worst.toExponential(2));
      expect(worst).toBeLessThan(1e-4);
      tlm.dispose();
      await olm.dispose();
    });
  }
});
