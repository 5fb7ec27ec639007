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
import { loadCausalLMSync } from '../src/checkpoint';
import { writeTinyCheckpoint } from '../src/tiny';
import { OnnxCausalLM } from '../src/onnx/onnx-lm';

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

    let t0 = performance.now();
    const olm = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: THREADS });
    console.log(`onnx: export + load ${(performance.now() - t0).toFixed(0)} ms`);
    t0 = performance.now();
    await (await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: THREADS })).dispose();
    console.log(`onnx: cached load ${(performance.now() - t0).toFixed(0)} ms`);
    await olm.scoreContinuations(users[0].prompt, PROMPT, users[0].cands); // warm-up
    t0 = performance.now();
    for (let u = 0; u < USERS; u++) await olm.scoreContinuations(users[u].prompt, PROMPT, users[u].cands);
    const onnxScore = USERS / ((performance.now() - t0) / 1000);
    console.log(`onnx: scoring ${onnxScore.toFixed(2)} users/s (${USERS} users, ${THREADS} threads, KV cache)`);
    t0 = performance.now();
    for (let u = 0; u < USERS; u++) await olm.scoreContinuations(users[u].prompt, PROMPT, users[u].cands, { useCache: false });
    const onnxScoreFull = USERS / ((performance.now() - t0) / 1000);
    console.log(`onnx: scoring ${onnxScoreFull.toFixed(2)} users/s (${USERS} users, ${THREADS} threads, no KV cache)`);
    t0 = performance.now();
    const gen = await olm.generate(users[0].prompt, 1, PROMPT, undefined, { maxNewTokens: GEN, eosTokenId: -1 });
    const onnxGen = (performance.now() - t0) / gen[0].length;
    console.log(`onnx: greedy generation ${onnxGen.toFixed(1)} ms/token (KV cache, ${gen[0].length} tokens)`);
    t0 = performance.now();
    const genFull = await olm.generate(users[0].prompt, 1, PROMPT, undefined, { maxNewTokens: GEN, eosTokenId: -1, useCache: false });
    console.log(`onnx: greedy generation ${((performance.now() - t0) / genFull[0].length).toFixed(1)} ms/token (no KV cache), same tokens: ${JSON.stringify(gen[0]) === JSON.stringify(genFull[0])}`);
    await olm.dispose();

    if (process.env.SKIP_TFJS === '1') return;
    const info = await selectBackend(process.env.BACKEND);
    const tlm = loadCausalLMSync(dir);
    const tfScore = (u: number) => tf.tidy(() => tlm.scoreContinuations(tf.tensor3d(users[u].prompt, [1, PROMPT, D]), tf.ones([1, PROMPT]), users[u].cands));
    tfScore(0); // warm-up
    t0 = performance.now();
    for (let u = 0; u < TFJS_USERS; u++) tfScore(u);
    const tfjsScore = TFJS_USERS / ((performance.now() - t0) / 1000);
    console.log(`tfjs(${info.name}): scoring ${tfjsScore.toFixed(2)} users/s (${TFJS_USERS} users, KV cache)`);
    t0 = performance.now();
    const tg = tf.tidy(() => tlm.generate(tf.tensor3d(users[0].prompt, [1, PROMPT, D]), tf.ones([1, PROMPT]), { maxNewTokens: GEN, eosTokenId: -1 }));
    const tfjsGen = (performance.now() - t0) / tg[0].length;
    console.log(`tfjs(${info.name}): greedy generation ${tfjsGen.toFixed(1)} ms/token (KV cache, ${tg[0].length} tokens)`);
    console.log(`speed-up onnx/tfjs: scoring x${(onnxScore / tfjsScore).toFixed(1)} (no KV cache x${(onnxScoreFull / tfjsScore).toFixed(1)}), generation x${(tfjsGen / onnxGen).toFixed(1)}`);
    console.log(`same greedy tokens: ${JSON.stringify(gen[0]) === JSON.stringify(tg[0])}`);
    tlm.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
