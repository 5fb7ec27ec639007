/**
 * The LLM conformance suite: what any {@link CausalLM} must do for Stage 2 (and every generation,
 * scoring and loss function of this package) to rely on it. Run it against your own LM:
 *
 *   import { defineCausalLMConformanceTests } from '@allmrec/llm-bridge/testing';
 *   defineCausalLMConformanceTests('my-lm', () => loadMyLM());
 *
 * or call {@link runCausalLMConformance} from any test framework and assert on its report.
 * Checks that need something only the implementer has (logits from a token-id path) run when it
 * is given in the options, and are reported as skipped otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@allmrec/core';
import type { CausalLM } from '../causal-lm';
import { generate } from '../generate';
import { causalLMLoss, IGNORE_INDEX } from '../loss';
import { scoreContinuations } from '../score';

/** Options of {@link runCausalLMConformance}. */
export interface CausalLMConformanceOptions {
  /**
   * Logits of token ids computed WITHOUT `embedTokens` + `forward`: the LM's own token-id path, or
   * a reference implementation's (e.g. transformers' logits for the same checkpoint), each
   * [ids.length, vocabSize] row-major; or a function of the LM giving them. Without it the
   * token-path check is skipped.
   */
  reference?: TokenPathReference[] | ((lm: CausalLM) => TokenPathReference[] | Promise<TokenPathReference[]>);
  /** Largest |difference| accepted between logits that must agree (default 1e-4). */
  tolerance?: number;
  /** Relative error accepted by the finite-difference gradient check (default 0.02). */
  gradientTolerance?: number;
  /** Seed of the suite's random inputs (default 7). */
  seed?: number;
  /** Token ids the suite may draw from (default 0 .. min(config, tokenizer vocabulary) - 1, excluding special ids). */
  tokenIds?: number[];
}

/** Logits [ids.length, vocabSize] (row-major) of a token sequence from an independent token-id path. */
export interface TokenPathReference {
  ids: number[];
  logits: ArrayLike<number>;
}

/** One check's outcome. */
export interface ConformanceCheck {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  detail: string;
}

/** Names of the checks, in order. */
export const CAUSAL_LM_CHECKS = [
  'config, tokenizer and embedTokens agree',
  'embedding-driven forward equals the token path',
  "left padding does not change real tokens' logits",
  'KV cache equals no cache (own batch and a shared batch-1 prompt)',
  'logitsToKeep, logitIndices and logProbs agree with the full forward',
  'loss counts only non-ignored targets',
  'gradient w.r.t. input embeddings matches finite differences',
  'weights unchanged after gradients and inference',
  'greedy generation equals the argmax of full forwards and stops at EOS',
  'scoreContinuations equals the sum of log-probabilities from forward',
  'deterministic: the same inputs give the same outputs',
] as const;

class CheckFailure extends Error {}

function fail(message: string): never {
  throw new CheckFailure(message);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

function argmax(a: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
  return best;
}

/** log-softmax of one row, in float64. */
function logSoftmaxRow(a: ArrayLike<number>, off: number, n: number): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, a[off + i]);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(a[off + i] - m);
  const lse = m + Math.log(s);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[off + i] - lse;
  return out;
}

/** Runs every check against `lm` and reports each (the LM is not disposed). */
export async function runCausalLMConformance(lm: CausalLM, options: CausalLMConformanceOptions = {}): Promise<ConformanceCheck[]> {
  const tol = options.tolerance ?? 1e-4;
  const rng = new Rng(options.seed ?? 7).fork('causal-lm-conformance');
  const V = lm.config.vocabSize;
  const H = lm.config.hiddenSize;
  const special = new Set([lm.config.bosTokenId, lm.config.eosTokenId, lm.config.padTokenId, ...(lm.config.eosTokenIds ?? [])]);
  const pool = options.tokenIds ?? Array.from({ length: Math.min(V, lm.tokenizer.vocabSize) }, (_, i) => i).filter((i) => !special.has(i));
  if (pool.length < 2) throw new Error('runCausalLMConformance: fewer than 2 token ids to draw from');
  const draw = (n: number) => Array.from({ length: n }, () => pool[rng.int(pool.length)]);
  const checks: ConformanceCheck[] = [];

  const embed = (ids: number[][]): tf.Tensor3D => tf.tidy(() => lm.embedTokens(tf.tensor2d(ids, [ids.length, ids[0].length], 'int32')));
  /** Logits [T, V] of one unpadded sequence given as embeddings. */
  const logitsOfEmbeds = async (e: tf.Tensor3D): Promise<Float32Array> => {
    const mask = tf.ones([e.shape[0], e.shape[1]]) as tf.Tensor2D;
    try {
      const r = await lm.forward(e, mask);
      r.pastKeyValues?.dispose();
      const d = r.logits.dataSync() as Float32Array;
      r.logits.dispose();
      return d.slice();
    } finally {
      mask.dispose();
    }
  };
  const logitsOf = async (ids: number[]): Promise<Float32Array> => {
    const e = embed([ids]);
    try {
      return await logitsOfEmbeds(e);
    } finally {
      e.dispose();
    }
  };
  const check = async (name: (typeof CAUSAL_LM_CHECKS)[number], fn: () => Promise<string | void>, skip?: string | false) => {
    if (skip) {
      checks.push({ name, status: 'skipped', detail: skip });
      return;
    }
    try {
      const detail = await fn();
      checks.push({ name, status: 'passed', detail: detail || 'ok' });
    } catch (err) {
      checks.push({ name, status: 'failed', detail: err instanceof Error ? err.message : String(err) });
    }
  };
  const T = Math.max(4, Math.min(10, lm.config.maxPositions - 8));

  await check(CAUSAL_LM_CHECKS[0], async () => {
    if (!(Number.isInteger(V) && V > 0 && Number.isInteger(H) && H > 0)) fail(`vocabSize ${V} and hiddenSize ${H} must be positive integers`);
    if (!(lm.config.maxPositions >= 8)) fail(`maxPositions ${lm.config.maxPositions} is below the suite's 8`);
    if (lm.tokenizer.vocabSize > V) fail(`the tokenizer has ${lm.tokenizer.vocabSize} tokens but the model only ${V} embedding rows`);
    for (const id of special) if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < V)) fail(`special token id ${id} is outside [0, ${V})`);
    const ids = draw(T);
    const e = embed([ids, ids]);
    const shape = e.shape;
    const rows = e.dataSync();
    e.dispose();
    if (shape[0] !== 2 || shape[1] !== T || shape[2] !== H) fail(`embedTokens of [2, ${T}] ids gave [${shape}], expected [2, ${T}, ${H}]`);
    // A token's embedding does not depend on where it stands (Stage 2 splices slots between tokens).
    const single = embed([[ids[T - 1]]]);
    const one = single.dataSync();
    single.dispose();
    if (maxAbsDiff(one, rows.subarray((T - 1) * H, T * H)) !== 0) fail('the embedding of a token depends on its position or batch row');
    // Text made of the LM's own tokens encodes back into ids the model has.
    const text = lm.tokenizer.decode(ids.slice(0, 4));
    const enc = lm.tokenizer.encode(text);
    if (enc.length === 0 && text.trim().length > 0) fail(`tokenizer.encode(${JSON.stringify(text)}) gave no ids`);
    if (!enc.every((i) => Number.isInteger(i) && i >= 0 && i < V)) fail(`tokenizer.encode(${JSON.stringify(text)}) gave ids outside [0, ${V}): ${enc}`);
    return `vocabulary ${V}, width ${H}, ${lm.config.maxPositions} positions`;
  });

  const refs = typeof options.reference === 'function' ? await options.reference(lm) : options.reference;
  await check(CAUSAL_LM_CHECKS[1], async () => {
    let worst = 0;
    for (const r of refs!) {
      const got = await logitsOf(r.ids);
      if (got.length !== r.logits.length) fail(`reference for ${r.ids.length} ids holds ${r.logits.length} logits, forward gave ${got.length}`);
      worst = Math.max(worst, maxAbsDiff(got, r.logits));
    }
    if (!(worst <= tol)) fail(`max |logit difference| ${worst} exceeds ${tol}`);
    return `max |difference| ${worst.toExponential(2)} over ${refs!.length} sequences`;
  }, refs?.length ? undefined : 'no token-path reference given (options.reference)');

  await check(CAUSAL_LM_CHECKS[2], async () => {
    const long = draw(T);
    const short = draw(Math.max(2, T - 3));
    const pad = T - short.length;
    const alone = [await logitsOf(long), await logitsOf(short)];
    // The padding positions hold unrelated embeddings, so a mask that leaks shows.
    const e = tf.tidy(() => {
      const a = embed([long]);
      const b = embed([[...draw(pad), ...short]]);
      return tf.concat([a, b], 0) as tf.Tensor3D;
    });
    const mask = tf.tensor2d([new Array(T).fill(1), [...new Array(pad).fill(0), ...new Array(short.length).fill(1)]]);
    const r = await lm.forward(e, mask);
    const got = r.logits.dataSync();
    tf.dispose([e, mask, r.logits]);
    const d0 = maxAbsDiff(got.subarray(0, T * V), alone[0]);
    const d1 = maxAbsDiff(got.subarray((T + pad) * V, 2 * T * V), alone[1]);
    if (!(Math.max(d0, d1) <= tol)) fail(`left padding changed the logits of real tokens by ${Math.max(d0, d1)} (> ${tol})`);
    return `max |difference| ${Math.max(d0, d1).toExponential(2)}`;
  });

  await check(CAUSAL_LM_CHECKS[3], async () => {
    const ids = draw(T);
    const full = await logitsOf(ids);
    const cut = Math.floor(T / 2);
    const e1 = embed([ids.slice(0, cut)]);
    const e2 = embed([ids.slice(cut)]);
    const m1 = tf.ones([1, cut]) as tf.Tensor2D;
    const m2 = tf.ones([1, T]) as tf.Tensor2D;
    const r1 = await lm.forward(e1, m1, { useCache: true });
    if (!r1.pastKeyValues) fail('forward with useCache returned no pastKeyValues');
    if (r1.pastKeyValues.length !== cut) fail(`the cache of ${cut} positions reports length ${r1.pastKeyValues.length}`);
    const r2 = await lm.forward(e2, m2, { pastKeyValues: r1.pastKeyValues, useCache: true });
    const part = r2.logits.dataSync().slice();
    const grownLength = r2.pastKeyValues?.length;
    tf.dispose([e1, e2, m1, m2, r1.logits, r2.logits]);
    r2.pastKeyValues?.dispose();
    const own = maxAbsDiff(part, full.subarray(cut * V));
    if (grownLength !== T) fail(`the grown cache reports length ${grownLength}, expected ${T}`);
    // One prompt (batch 1) shared by two continuations, as candidate scoring does.
    const a = draw(3);
    const b = draw(3);
    const wantA = await logitsOf([...ids.slice(0, cut), ...a]);
    const wantB = await logitsOf([...ids.slice(0, cut), ...b]);
    const ec = embed([a, b]);
    const mc = tf.ones([2, cut + 3]) as tf.Tensor2D;
    const ep = embed([ids.slice(0, cut)]);
    const mp = tf.ones([1, cut]) as tf.Tensor2D;
    const rp = await lm.forward(ep, mp, { useCache: true });
    const rc = await lm.forward(ec, mc, { pastKeyValues: rp.pastKeyValues });
    const got = rc.logits.dataSync().slice();
    rp.pastKeyValues?.dispose();
    rc.pastKeyValues?.dispose();
    tf.dispose([ec, mc, ep, mp, rp.logits, rc.logits]);
    const shared = Math.max(maxAbsDiff(got.subarray(0, 3 * V), wantA.subarray(cut * V)), maxAbsDiff(got.subarray(3 * V), wantB.subarray(cut * V)));
    if (!(Math.max(own, shared) <= tol)) fail(`cached logits differ from the full forward by ${own} (own batch) and ${shared} (shared prompt) (> ${tol})`);
    return `max |difference| ${Math.max(own, shared).toExponential(2)}`;
  });

  await check(CAUSAL_LM_CHECKS[4], async () => {
    const ids = [draw(T), draw(T)];
    const e = embed(ids);
    const mask = tf.ones([2, T]) as tf.Tensor2D;
    const full = await lm.forward(e, mask);
    const last2 = await lm.forward(e, mask, { logitsToKeep: 2 });
    const picks = Int32Array.of(T + 1, 0, T - 1);
    const some = await lm.forward(e, mask, { logitIndices: picks });
    const lp = await lm.forward(e, mask, { logitIndices: picks, logProbs: true });
    const f = full.logits.dataSync();
    const l2 = last2.logits.dataSync();
    const sm = some.logits.dataSync();
    const lpd = lp.logits.dataSync();
    const shapes = [last2.logits.shape, some.logits.shape, lp.logits.shape];
    tf.dispose([e, mask, full.logits, last2.logits, some.logits, lp.logits]);
    if (shapes[0].join() !== [2, 2, V].join()) fail(`logitsToKeep 2 gave [${shapes[0]}], expected [2, 2, ${V}]`);
    if (shapes[1].join() !== [1, 3, V].join()) fail(`logitIndices of 3 positions gave [${shapes[1]}], expected [1, 3, ${V}]`);
    const want2 = new Float32Array(2 * 2 * V);
    for (let b = 0; b < 2; b++) want2.set(f.subarray((b * T + T - 2) * V, (b * T + T) * V), b * 2 * V);
    const wantS = new Float32Array(3 * V);
    picks.forEach((p, i) => wantS.set(f.subarray(p * V, (p + 1) * V), i * V));
    const d = Math.max(maxAbsDiff(l2, want2), maxAbsDiff(sm, wantS));
    if (!(d <= tol)) fail(`selected logits differ from the full forward's by ${d}`);
    if (shapes[2].join() !== shapes[1].join()) fail(`logProbs changed the shape to [${shapes[2]}]`);
    const wantLp = new Float64Array(3 * V);
    picks.forEach((p, i) => wantLp.set(logSoftmaxRow(f, p * V, V), i * V));
    const dl = maxAbsDiff(lpd, wantLp);
    if (!(dl <= tol * 10)) fail(`logProbs differ from the log-softmax of the logits by ${dl}`);
    return `max |difference| ${d.toExponential(2)} (logits), ${dl.toExponential(2)} (log-probabilities)`;
  });

  const ids = draw(T);
  const labelsOf = (keep: boolean[], fill: () => number) => ids.map((id, t) => (t === 0 ? fill() : keep[t] ? id : IGNORE_INDEX));
  await check(CAUSAL_LM_CHECKS[5], async () => {
    const e = embed([ids]);
    const mask = tf.ones([1, T]) as tf.Tensor2D;
    const keep = ids.map((_, t) => t > 0 && t % 2 === 1);
    const lab = tf.tensor2d([labelsOf(keep, () => pool[0])], [1, T], 'int32');
    try {
      if (!lm.differentiable) {
        let refused = '';
        try {
          tf.tidy(() => causalLMLoss(lm, e, mask, lab));
        } catch (err) {
          refused = (err as Error).message;
        }
        if (!/not differentiable/.test(refused)) fail(`an LM that says it is not differentiable must make the loss refuse clearly; got "${refused || 'no error'}"`);
        return 'not differentiable: the loss refuses with a clear error';
      }
      const full = await logitsOfEmbeds(e);
      let sum = 0;
      let n = 0;
      for (let t = 0; t + 1 < T; t++) {
        if (!keep[t + 1]) continue;
        sum -= logSoftmaxRow(full, t * V, V)[ids[t + 1]];
        n++;
      }
      const want = sum / n;
      const got = tf.tidy(() => causalLMLoss(lm, e, mask, lab).dataSync()[0]);
      // Other values at ignored positions and at position 0 change nothing.
      const lab2 = tf.tensor2d([labelsOf(keep, () => pool[1])], [1, T], 'int32');
      const got2 = tf.tidy(() => causalLMLoss(lm, e, mask, lab2).dataSync()[0]);
      lab2.dispose();
      if (!(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)))) fail(`loss ${got} but the mean cross-entropy of the ${n} kept targets is ${want}`);
      if (got2 !== got) fail(`the label at position 0 changed the loss (${got} -> ${got2})`);
      return `loss ${got.toFixed(5)} = mean over ${n} of ${T - 1} targets`;
    } finally {
      tf.dispose([e, mask, lab]);
    }
  });

  await check(CAUSAL_LM_CHECKS[6], async () => {
    const e = embed([ids]);
    const mask = tf.ones([1, T]) as tf.Tensor2D;
    const lab = tf.tensor2d([ids.map((id, t) => (t === 0 ? IGNORE_INDEX : id))], [1, T], 'int32');
    try {
      const L = (x: tf.Tensor) => causalLMLoss(lm, x as tf.Tensor3D, mask, lab);
      const g = tf.tidy(() => tf.grad(L)(e));
      const gd = g.dataSync().slice();
      g.dispose();
      const tolG = options.gradientTolerance ?? 0.02;
      const h = 2e-2;
      let worst = 0;
      let gnorm = 0;
      for (const v of gd) gnorm += v * v;
      gnorm = Math.sqrt(gnorm);
      if (!(gnorm > 0)) fail('the gradient w.r.t. the input embeddings is zero');
      for (let k = 0; k < 3; k++) {
        // Directions mixing the gradient's with a random one, so the derivative stands well above
        // float32 noise while components off the gradient are tested too.
        const u = new Float32Array(T * H);
        const r = Float32Array.from({ length: T * H }, () => rng.normal());
        let rn = 0;
        for (const v of r) rn += v * v;
        rn = Math.sqrt(rn);
        const mix = [1, 0.6, 0.3][k];
        let norm = 0;
        for (let i = 0; i < u.length; i++) { u[i] = mix * gd[i] / gnorm + (1 - mix) * r[i] / rn; norm += u[i] * u[i]; }
        for (let i = 0; i < u.length; i++) u[i] /= Math.sqrt(norm);
        let analytic = 0;
        for (let i = 0; i < u.length; i++) analytic += gd[i] * u[i];
        const at = (s: number) => tf.tidy(() => L(tf.add(e, tf.mul(tf.tensor3d(u, [1, T, H]), s))).dataSync()[0]);
        // Central differences at h and h/2, Richardson-extrapolated (error O(h⁴) instead of O(h²)).
        const d1 = (at(h) - at(-h)) / (2 * h);
        const d2 = (at(h / 2) - at(-h / 2)) / h;
        const numeric = (4 * d2 - d1) / 3;
        const rel = Math.abs(numeric - analytic) / Math.max(1e-3, Math.abs(numeric), Math.abs(analytic));
        worst = Math.max(worst, rel);
        if (!(rel <= tolG)) fail(`directional derivative ${analytic} but finite differences give ${numeric} (relative error ${rel.toFixed(4)} > ${tolG})`);
      }
      return `worst relative error ${worst.toExponential(2)} over 3 directions (|gradient| ${gnorm.toExponential(2)})`;
    } finally {
      tf.dispose([e, mask, lab]);
    }
  }, !lm.differentiable && 'not differentiable (an inference-only runtime): the loss refusal is checked above');

  await check(CAUSAL_LM_CHECKS[7], async () => {
    const before = await logitsOf(ids);
    const tensorsBefore = tf.memory().numTensors;
    if (lm.differentiable) {
      const e = embed([ids]);
      const mask = tf.ones([1, T]) as tf.Tensor2D;
      const lab = tf.tensor2d([ids.map((id, t) => (t === 0 ? IGNORE_INDEX : id))], [1, T], 'int32');
      const x = tf.variable(e, true, `conformance-inputs-${rng.int(1e9)}`);
      try {
        for (let s = 0; s < 3; s++) {
          // Gradients of the loss w.r.t. every trainable variable there is: only the inputs may get one.
          const { value, grads } = tf.variableGrads(() => causalLMLoss(lm, x as unknown as tf.Tensor3D, mask, lab));
          const others = Object.keys(grads).filter((n) => n !== x.name);
          const step = grads[x.name];
          if (step) tf.tidy(() => x.assign(tf.sub(x, step)));
          tf.dispose([value, ...Object.values(grads)]);
          if (others.length > 0) fail(`the loss has gradients w.r.t. trainable variables other than the inputs (${others.slice(0, 3).join(', ')}): the LM's weights must not be trainable`);
          if (!step) fail('the loss has no gradient w.r.t. the input embeddings');
        }
      } finally {
        x.dispose();
      }
      tf.dispose([e, mask, lab]);
    }
    // Inference calls too (generation and scoring) must leave the weights alone.
    const pe = embed([ids.slice(0, 4)]);
    const pm = tf.ones([1, 4]) as tf.Tensor2D;
    await generate(lm, pe, pm, { maxNewTokens: 3, eosTokenId: [] });
    await scoreContinuations(lm, pe, pm, [draw(2), draw(3)]);
    tf.dispose([pe, pm]);
    const leaked = tf.memory().numTensors - tensorsBefore;
    const after = await logitsOf(ids);
    if (maxAbsDiff(before, after) !== 0) fail(`the logits of the same input changed by ${maxAbsDiff(before, after)} after training steps on the inputs: the LM's weights moved`);
    if (leaked !== 0) fail(`${leaked} tensors were left behind by the calls`);
    return lm.differentiable ? 'bit-identical logits after 3 SGD steps through the LM, generation and scoring; no tensor left' : 'bit-identical logits after generation and scoring; no tensor left';
  });

  await check(CAUSAL_LM_CHECKS[8], async () => {
    const steps = 5;
    // A prompt whose greedy continuation holds a token after its first that is new, so stopping
    // mid-way is checked (a few tries; repetitive LMs may only stop at the first token).
    let prompt = ids.slice(0, 4);
    for (let tries = 0; tries < 8; tries++) {
      const e = embed([prompt]);
      const m = tf.ones([1, prompt.length]) as tf.Tensor2D;
      const [g0] = await generate(lm, e, m, { maxNewTokens: steps, eosTokenId: [] });
      tf.dispose([e, m]);
      if (g0.some((id, i) => i > 0 && !g0.slice(0, i).includes(id))) break;
      prompt = draw(4);
    }
    const pe = embed([prompt]);
    const pm = tf.ones([1, prompt.length]) as tf.Tensor2D;
    try {
      const [gen] = await generate(lm, pe, pm, { maxNewTokens: steps, eosTokenId: [] });
      if (gen.length !== steps) fail(`with no end-of-sequence id, generation returned ${gen.length} of ${steps} tokens`);
      const seq = [...prompt];
      for (let s = 0; s < steps; s++) {
        const full = await logitsOf(seq);
        const want = argmax(full, (seq.length - 1) * V, V);
        if (gen[s] !== want) fail(`step ${s}: generation chose ${gen[s]} but the argmax of a full forward over the ${seq.length} tokens is ${want}`);
        seq.push(gen[s]);
      }
      const k = gen.findIndex((id, i) => i > 0 && !gen.slice(0, i).includes(id));
      const stopAt = k > 0 ? k : 0;
      const [stopped] = await generate(lm, pe, pm, { maxNewTokens: steps, eosTokenId: gen[stopAt] });
      const want = gen.slice(0, gen.indexOf(gen[stopAt]));
      if (stopped.join() !== want.join()) fail(`with end-of-sequence id ${gen[stopAt]}, generation returned [${stopped}], expected [${want}]`);
      return `greedy [${gen}]; with end-of-sequence ${gen[stopAt]} it returns [${want}]`;
    } finally {
      tf.dispose([pe, pm]);
    }
  });

  await check(CAUSAL_LM_CHECKS[9], async () => {
    const prompt = ids.slice(0, 5);
    const conts = [draw(1), draw(3), [], draw(2)];
    const pe = embed([prompt]);
    const pm = tf.ones([1, prompt.length]) as tf.Tensor2D;
    const got = await scoreContinuations(lm, pe, pm, conts);
    tf.dispose([pe, pm]);
    let worst = 0;
    for (let c = 0; c < conts.length; c++) {
      let want = 0;
      if (conts[c].length > 0) {
        const full = await logitsOf([...prompt, ...conts[c]]);
        for (let j = 0; j < conts[c].length; j++) want += logSoftmaxRow(full, (prompt.length - 1 + j) * V, V)[conts[c][j]];
      }
      worst = Math.max(worst, Math.abs(got[c] - want));
      if (!(Math.abs(got[c] - want) <= tol * Math.max(1, Math.abs(want)) * 10)) fail(`continuation ${c} scored ${got[c]}; the sum of its log-probabilities from forward is ${want}`);
    }
    if (got[2] !== 0) fail(`an empty continuation scored ${got[2]}, expected 0`);
    return `max |difference| ${worst.toExponential(2)}`;
  });

  await check(CAUSAL_LM_CHECKS[10], async () => {
    const a = await logitsOf(ids);
    const b = await logitsOf(ids);
    if (maxAbsDiff(a, b) !== 0) fail('two forwards of the same input differ');
    const pe = embed([ids.slice(0, 3)]);
    const pm = tf.ones([1, 3]) as tf.Tensor2D;
    const g1 = await generate(lm, pe, pm, { maxNewTokens: 4, eosTokenId: [] });
    const g2 = await generate(lm, pe, pm, { maxNewTokens: 4, eosTokenId: [] });
    tf.dispose([pe, pm]);
    if (g1[0].join() !== g2[0].join()) fail(`two generations differ: [${g1[0]}] vs [${g2[0]}]`);
    return 'bit-identical forwards and generations';
  });

  return checks;
}

/**
 * Registers one test per check under a `describe` block of the running test framework (jest,
 * vitest, mocha with globals). `create` is called once; the LM is disposed after the checks.
 */
export function defineCausalLMConformanceTests(
  label: string, create: () => CausalLM | Promise<CausalLM>, options: CausalLMConformanceOptions = {},
): void {
  const g = globalThis as unknown as {
    describe: (n: string, f: () => void) => void;
    test: ((n: string, f: () => unknown, timeout?: number) => void) & { skip?: (n: string, f: () => unknown) => void };
    afterAll?: (f: () => unknown) => void;
  };
  if (typeof g.describe !== 'function' || typeof g.test !== 'function') {
    throw new Error('defineCausalLMConformanceTests needs a test framework with global describe/test; use runCausalLMConformance otherwise');
  }
  g.describe(`CausalLM conformance: ${label}`, () => {
    let lm: CausalLM | undefined;
    let results: Promise<ConformanceCheck[]> | undefined;
    const get = () => (results ??= (async () => {
      lm = await create();
      return runCausalLMConformance(lm, options);
    })());
    g.afterAll?.(async () => { await lm?.dispose(); });
    for (const name of CAUSAL_LM_CHECKS) {
      const skipped = name === CAUSAL_LM_CHECKS[1] && !options.reference;
      const run = async () => {
        const r = (await get()).find((x) => x.name === name);
        if (!r) throw new Error(`check "${name}" did not run`);
        if (r.status === 'failed') throw new Error(r.detail);
      };
      if (skipped && g.test.skip) g.test.skip(name, run);
      else g.test(name, run, 600000);
    }
  });
}
