import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, writeSafetensors } from '@allmrec/core';
import { OnnxCausalLM } from './onnx-lm';
import { logProb, referenceForward } from './test/reference';
import { allTinyCheckpoints, tinyGpt2, tinyLlama, type TinyCheckpoint } from './test/tiny-checkpoints';

function embedRows(ck: TinyCheckpoint, ids: number[]): Float32Array {
  const name = [...ck.weights.keys()].find((n) => /(wte|embed_tokens)\.weight$/.test(n))!;
  const table = ck.weights.get(name)!;
  const E = table.shape[1];
  const out = new Float32Array(ids.length * E);
  ids.forEach((id, i) => out.set(table.data.subarray(id * E, (id + 1) * E), i * E));
  return out;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a); out.set(b, a.length);
  return out;
}

/** Greedy decoding with the HF repetition penalty on the reference forward. */
function referenceGenerate(ck: TinyCheckpoint, embeds: Float32Array, T: number, maxNew: number, penalty: number, eos: number): number[] {
  const V = ck.hf.vocab_size;
  const E = embeds.length / T;
  const out: number[] = [];
  let cur = embeds;
  for (let s = 0; s < maxNew; s++) {
    const n = cur.length / E;
    const logits = referenceForward(ck.hf, ck.weights, cur, n).slice((n - 1) * V, n * V);
    for (const id of new Set(out)) logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
    if (best === eos) break;
    out.push(best);
    cur = concat(cur, embedRows(ck, [best]));
  }
  return out;
}

async function writeCheckpoint(dir: string, ck: TinyCheckpoint): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(ck.hf));
  await writeSafetensors(path.join(dir, 'model.safetensors'), new Map([...ck.weights].map(([k, v]) => [k, { shape: v.shape, data: v.data }])));
}

describe('OnnxCausalLM', () => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-onnx-lm-')); });
  afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  for (const ck of allTinyCheckpoints()) {
    test(`${ck.name}: scoreContinuations sums the continuation log-probs (batched, left-padded)`, async () => {
      const lm = await OnnxCausalLM.fromWeights(ck.hf, ck.weights, { intraOpNumThreads: 1 });
      const rng = new Rng(11);
      const E = lm.embedSize, V = lm.config.vocabSize;
      const P = 5;
      const prompt = Float32Array.from({ length: P * E }, () => rng.normal());
      const conts = [[3, 7, 9], [12], [], [4, 4, 4, 4, 1], [49, 0]];
      const scores = await lm.scoreContinuations(prompt, P, conts, { batchSize: 3 });
      conts.forEach((c, i) => {
        let want = 0;
        if (c.length) {
          const seq = concat(prompt, embedRows(ck, c));
          const logits = referenceForward(ck.hf, ck.weights, seq, P + c.length);
          c.forEach((id, j) => { want += logProb(logits, V, P - 1 + j, id); });
        }
        expect(Math.abs(scores[i] - want)).toBeLessThan(1e-4);
      });
      expect(scores[2]).toBe(0);
      // Continuations given as embeddings: same scores.
      const viaEmbeds = await lm.scoreContinuations(prompt, P, conts, { continuationEmbeds: conts.map((c) => lm.embedTokens(c)) });
      for (let i = 0; i < conts.length; i++) expect(Math.abs(viaEmbeds[i] - scores[i])).toBeLessThan(1e-5);
      await lm.dispose();
    });
  }

  for (const ck of allTinyCheckpoints()) {
    test(`${ck.name}: KV-cached scoring equals the uncached full-forward path`, async () => {
      const lm = await OnnxCausalLM.fromWeights(ck.hf, ck.weights, { intraOpNumThreads: 1 });
      const rng = new Rng(31);
      const E = lm.embedSize;
      const P = 7;
      const prompt = Float32Array.from({ length: P * E }, () => rng.normal());
      const conts = [[3, 7, 9, 1, 2, 8], [12], [], [4, 4, 4, 4, 1], [49, 0], [5, 6, 7], [10], [11, 22, 33, 44]];
      const uncached = await lm.scoreContinuations(prompt, P, conts, { useCache: false });
      for (const batchSize of [20, 3, 1]) {
        const cached = await lm.scoreContinuations(prompt, P, conts, { batchSize });
        let worst = 0;
        for (let i = 0; i < conts.length; i++) worst = Math.max(worst, Math.abs(cached[i] - uncached[i]));
        expect(worst).toBeLessThan(1e-4);
        expect(cached[2]).toBe(0);
      }
      // Scores differ between continuations (the comparison is not vacuous).
      expect(new Set(Array.from(uncached).map((v) => v.toFixed(3))).size).toBeGreaterThan(5);
      const viaEmbeds = await lm.scoreContinuations(prompt, P, conts, { continuationEmbeds: conts.map((c) => lm.embedTokens(c)) });
      for (let i = 0; i < conts.length; i++) expect(Math.abs(viaEmbeds[i] - uncached[i])).toBeLessThan(1e-4);
      // Too long for the position table: rejected on the cached path too.
      const max = lm.maxSequenceLength;
      await expect(lm.scoreContinuations(prompt, P, [new Array<number>(max).fill(1)])).rejects.toThrow(/exceeds/);
      await lm.dispose();
    });

    test(`${ck.name}: KV-cached greedy generation equals uncached generation (left-padded batch, rows leaving)`, async () => {
      const lm = await OnnxCausalLM.fromWeights(ck.hf, ck.weights, { intraOpNumThreads: 1 });
      const rng = new Rng(41);
      const E = lm.embedSize;
      const lens = [6, 3, 0, 5];
      const T = 6;
      const B = lens.length;
      const emb = new Float32Array(B * T * E);
      const mask = new Uint8Array(B * T);
      lens.forEach((n, b) => {
        for (let t = T - n; t < T; t++) {
          mask[b * T + t] = 1;
          for (let e = 0; e < E; e++) emb[(b * T + t) * E + e] = rng.normal();
        }
      });
      for (const penalty of [1.5, 1]) {
        const uncached = await lm.generate(emb, B, T, mask, { maxNewTokens: 10, repetitionPenalty: penalty, eosTokenId: -1, useCache: false });
        const cached = await lm.generate(emb, B, T, mask, { maxNewTokens: 10, repetitionPenalty: penalty, eosTokenId: -1 });
        expect(cached).toEqual(uncached);
        expect(cached[0].length).toBe(10);
        expect(cached[2]).toEqual([]);
        // An EOS that stops some rows early: the remaining rows continue on the compacted cache.
        const stop = uncached[1][1];
        const u2 = await lm.generate(emb, B, T, mask, { maxNewTokens: 10, repetitionPenalty: penalty, eosTokenId: stop, useCache: false });
        const c2 = await lm.generate(emb, B, T, mask, { maxNewTokens: 10, repetitionPenalty: penalty, eosTokenId: stop });
        expect(c2).toEqual(u2);
        expect(c2[1].length).toBeLessThan(10);
      }
      // Rows reaching the position limit leave the batch (cache rows compacted).
      const max = lm.maxSequenceLength;
      const near = await lm.generate(emb, B, T, mask, { maxNewTokens: max, eosTokenId: -1 });
      const nearU = await lm.generate(emb, B, T, mask, { maxNewTokens: max, eosTokenId: -1, useCache: false });
      expect(near).toEqual(nearU);
      lens.forEach((n, b) => expect(near[b].length).toBe(n === 0 ? 0 : max - n));
      await lm.dispose();
    });
  }

  for (const ck of [tinyGpt2(), tinyLlama()]) {
    test(`${ck.name}: greedy generate with repetition penalty 1.5 matches the reference, left-padded batch`, async () => {
      const lm = await OnnxCausalLM.fromWeights(ck.hf, ck.weights, { intraOpNumThreads: 1 });
      const rng = new Rng(21);
      const E = lm.embedSize;
      const lens = [6, 3];
      const T = 6;
      const rows = lens.map((n) => Float32Array.from({ length: n * E }, () => rng.normal()));
      const emb = new Float32Array(2 * T * E);
      const mask = new Uint8Array(2 * T);
      rows.forEach((r, b) => { emb.set(r, (b * T + T - lens[b]) * E); mask.fill(1, b * T + T - lens[b], (b + 1) * T); });
      const eos = 5;
      const got = await lm.generate(emb, 2, T, mask, { maxNewTokens: 8, repetitionPenalty: 1.5, eosTokenId: eos });
      rows.forEach((r, b) => expect(got[b]).toEqual(referenceGenerate(ck, r, lens[b], 8, 1.5, eos)));
      // The penalty matters: without it the output differs for at least one row on these weights.
      const plain = await lm.generate(emb, 2, T, mask, { maxNewTokens: 8, repetitionPenalty: 1, eosTokenId: eos });
      rows.forEach((r, b) => expect(plain[b]).toEqual(referenceGenerate(ck, r, lens[b], 8, 1, eos)));
      expect(got.some((g) => g.length >= 3)).toBe(true);
      expect(JSON.stringify(plain)).not.toEqual(JSON.stringify(got));
      // Stops at EOS (not included): the output is the earlier one cut at the first EOS.
      const stop = got[1][2];
      const cut = await lm.generate(emb, 2, T, mask, { maxNewTokens: 8, eosTokenId: [stop, 49] });
      got.forEach((g, b) => expect(cut[b]).toEqual(g.includes(stop) ? g.slice(0, g.indexOf(stop)) : g));
      await lm.dispose();
    });
  }

  test('fromCheckpoint caches the export, reuses it, and re-exports a stale or corrupted cache', async () => {
    const ck = tinyLlama();
    const dir = path.join(tmp, 'llama');
    await writeCheckpoint(dir, ck);
    const rng = new Rng(3);
    const x = Float32Array.from({ length: 4 * 16 }, () => rng.normal());
    const ref = referenceForward(ck.hf, ck.weights, x, 4);
    const check = async (lm: OnnxCausalLM) => {
      const { logits } = await lm.forward(x, 1, 4);
      let d = 0;
      for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(logits[i] - ref[i]));
      expect(d).toBeLessThan(1e-4);
      await lm.dispose();
    };
    const first = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: 1 });
    expect(first.loadInfo.exported).toBe(true);
    expect(first.loadInfo.modelPath).toBe(path.join(dir, 'onnx', 'model.onnx'));
    await check(first);
    const mtime = fs.statSync(path.join(dir, 'onnx', 'model.onnx')).mtimeMs;

    const second = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: 1 });
    expect(second.loadInfo.exported).toBe(false);
    expect(fs.statSync(path.join(dir, 'onnx', 'model.onnx')).mtimeMs).toBe(mtime);
    await check(second);

    // Garbage of another size.
    fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), 'not a model');
    const third = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: 1 });
    expect(third.loadInfo.exported).toBe(true);
    expect(third.loadInfo.cacheMiss).toMatch(/size/);
    await check(third);

    // Same size, flipped bytes: the checksum catches it.
    const file = path.join(dir, 'onnx', 'model.onnx');
    const bytes = fs.readFileSync(file);
    for (let i = 0; i < 64; i++) bytes[i] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const fourth = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: 1 });
    expect(fourth.loadInfo.exported).toBe(true);
    expect(fourth.loadInfo.cacheMiss).toMatch(/checksum/);
    await check(fourth);

    // Without checksum verification, a model that does not parse is re-exported, not a crash.
    const b2 = fs.readFileSync(file);
    b2.fill(0xff, 0, 4096);
    fs.writeFileSync(file, b2);
    const fifth = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: 1, verifyCache: false });
    expect(fifth.loadInfo.exported).toBe(true);
    expect(fifth.loadInfo.cacheMiss).toMatch(/does not load/);
    await check(fifth);

    // Changed weights: stale key.
    const ck2 = tinyLlama(99);
    await writeCheckpoint(dir, ck2);
    const sixth = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: 1 });
    expect(sixth.loadInfo.exported).toBe(true);
    expect(sixth.loadInfo.cacheMiss).toMatch(/stale/);
    await sixth.dispose();
    expect(fs.readdirSync(path.join(dir, 'onnx')).sort()).toEqual(['export.json', 'model.onnx']);
  });

  test('external data (model.onnx.data) loads relative to the model and gives the same logits', async () => {
    const ck = tinyGpt2();
    const dir = path.join(tmp, 'gpt2-ext');
    await writeCheckpoint(dir, ck);
    const lm = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: 1, exportOptions: { externalData: true } });
    expect(fs.existsSync(path.join(dir, 'onnx', 'model.onnx.data'))).toBe(true);
    expect(fs.statSync(path.join(dir, 'onnx', 'model.onnx')).size).toBeLessThan(fs.statSync(path.join(dir, 'onnx', 'model.onnx.data')).size);
    const rng = new Rng(5);
    const x = Float32Array.from({ length: 5 * 16 }, () => rng.normal());
    const ref = referenceForward(ck.hf, ck.weights, x, 5);
    const { logits, dims } = await lm.forward(x, 1, 5);
    expect(dims).toEqual([1, 5, 50]);
    let d = 0;
    for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(logits[i] - ref[i]));
    expect(d).toBeLessThan(1e-4);
    await lm.dispose();
    const again = await OnnxCausalLM.fromCheckpoint(dir, { intraOpNumThreads: 1, exportOptions: { externalData: true } });
    expect(again.loadInfo.exported).toBe(false);
    await again.dispose();
  });

  test('rejects sequences longer than the position table and bad shapes', async () => {
    const ck = tinyGpt2();
    const lm = await OnnxCausalLM.fromWeights(ck.hf, ck.weights, { intraOpNumThreads: 1 });
    await expect(lm.forward(new Float32Array(33 * 16), 1, 33)).rejects.toThrow(/exceeds/);
    await expect(lm.forward(new Float32Array(10), 1, 3)).rejects.toThrow(/expected/);
    expect(() => lm.embedTokens([50])).toThrow(/out of range/);
    await lm.dispose();
    await expect(lm.forward(new Float32Array(16), 1, 1)).rejects.toThrow(/dispose/);
  });
});
