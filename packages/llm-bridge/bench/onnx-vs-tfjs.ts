// Users scored per second (A-LLMRec evaluation: one prompt of input embeddings, 20 candidate
// titles scored by log-likelihood) on a small random GPT-2-family model: onnxruntime-node vs
// the package's tfjs decoder (WASM backend unless BACKEND is set). Also times greedy generation.
//   npx tsx packages/llm-bridge/bench/onnx-vs-tfjs.ts
// Env: USERS (ONNX, default 10), TFJS_USERS (default 3), D (128), LAYERS (4), HEADS (4),
//      VOCAB (50257), PROMPT (120), TITLE (10), CANDS (20), GEN (16 new tokens), THREADS (2),
//      BACKEND (tfjs backend), SKIP_TFJS=1.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '../../core/src/index';
import type { CausalLM } from '../src/causal-lm';
import { loadCausalLM } from '../src/checkpoint';
import { generate } from '../src/generate';
import { scoreContinuations } from '../src/score';
import { writeTinyCheckpoint } from '../src/testing/tiny';

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);

async function main() {
  const D = env('D', 128), LAYERS = env('LAYERS', 4), HEADS = env('HEADS', 4), VOCAB = env('VOCAB', 50257);
  const PROMPT = env('PROMPT', 120), TITLE = env('TITLE', 10), CANDS = env('CANDS', 20), GEN = env('GEN', 16);
  const USERS = env('USERS', 10), TFJS_USERS = env('TFJS_USERS', 3), THREADS = env('THREADS', 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-bench-onnx-'));
  try {
    writeTinyCheckpoint(dir, { family: 'gpt2', seed: 1, vocabSize: VOCAB, hidden: D, layers: LAYERS, heads: HEADS, maxPositions: 256, std: 0.05 });
    const rng = new Rng(1);
    const users = Array.from({ length: Math.max(USERS, TFJS_USERS) }, () => ({
      prompt: Float32Array.from({ length: PROMPT * D }, () => 0.1 * rng.normal()),
      cands: Array.from({ length: CANDS }, () => Array.from({ length: TITLE - 2 + rng.int(5) }, () => rng.int(VOCAB))),
    }));
    console.log(`model: gpt2 d=${D} layers=${LAYERS} heads=${HEADS} vocab=${VOCAB}; prompt ${PROMPT} tokens, ${CANDS} candidates of ~${TITLE} tokens`);

    await selectBackend(process.env.BACKEND);
    let t0 = performance.now();
    const olm = await loadCausalLM(dir, { runtime: 'onnx', onnx: { intraOpNumThreads: THREADS } });
    console.log(`onnx: export + load ${(performance.now() - t0).toFixed(0)} ms`);
    t0 = performance.now();
    await (await loadCausalLM(dir, { runtime: 'onnx', onnx: { intraOpNumThreads: THREADS } })).dispose();
    console.log(`onnx: cached load ${(performance.now() - t0).toFixed(0)} ms`);
    const measure = async (lm: CausalLM, label: string, n: number) => {
      const score = async (u: number) => {
        const e = tf.tensor3d(users[u].prompt, [1, PROMPT, D]);
        const m = tf.ones([1, PROMPT]) as tf.Tensor2D;
        await scoreContinuations(lm, e, m, users[u].cands);
        tf.dispose([e, m]);
      };
      await score(0); // warm-up
      let t = performance.now();
      for (let u = 0; u < n; u++) await score(u);
      const usersPerSecond = n / ((performance.now() - t) / 1000);
      console.log(`${label}: scoring ${usersPerSecond.toFixed(2)} users/s (${n} users, KV cache)`);
      const e = tf.tensor3d(users[0].prompt, [1, PROMPT, D]);
      const m = tf.ones([1, PROMPT]) as tf.Tensor2D;
      t = performance.now();
      const [gen] = await generate(lm, e, m, { maxNewTokens: GEN, eosTokenId: [] });
      const msPerToken = (performance.now() - t) / gen.length;
      tf.dispose([e, m]);
      console.log(`${label}: greedy generation ${msPerToken.toFixed(1)} ms/token (KV cache, ${gen.length} tokens)`);
      return { usersPerSecond, msPerToken, gen };
    };
    const o = await measure(olm, `onnx (${THREADS} threads)`, USERS);
    await olm.dispose();
    if (process.env.SKIP_TFJS === '1') return;
    const tlm = await loadCausalLM(dir);
    const t = await measure(tlm, `tfjs (${tf.getBackend()})`, TFJS_USERS);
    console.log(`speed-up onnx/tfjs: scoring x${(o.usersPerSecond / t.usersPerSecond).toFixed(1)}, generation x${(t.msPerToken / o.msPerToken).toFixed(1)}`);
    console.log(`same greedy tokens: ${JSON.stringify(o.gen) === JSON.stringify(t.gen)}`);
    tlm.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
