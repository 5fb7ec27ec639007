/**
 * Both runtimes of this package held to the exported LLM conformance suite, on checkpoints
 * transformers built (src/__fixtures__/hf), with transformers' logits as the token path; and the
 * suite's checks shown to fail on an LM that breaks the contract.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import type { CausalLM, ForwardOptions, ForwardResult } from '../causal-lm';
import { loadCausalLM, type LMRuntime } from '../checkpoint';
import { defineCausalLMConformanceTests, runCausalLMConformance, CAUSAL_LM_CHECKS } from './conformance';

const FIXTURES = path.join(__dirname, '..', '__fixtures__', 'hf');
/** One case per block layout, position scheme and attention variant. */
const CASES = ['gpt2', 'opt-350m-style', 'llama', 'mistral', 'qwen3', 'gemma2', 'phi3-sliding-partial', 'gpt-neox'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-conformance-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(() => selectBackend());

function reference(name: string) {
  const exp = JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'expected.json'), 'utf8')) as { ids: number[][]; logits: number[][][] };
  return exp.ids.map((ids, s) => ({ ids, logits: exp.logits[s].flat() }));
}

for (const runtime of ['tfjs', 'onnx'] as LMRuntime[]) {
  for (const name of CASES) {
    defineCausalLMConformanceTests(`${name} on ${runtime}`, async () => {
      await selectBackend();
      return loadCausalLM(path.join(FIXTURES, name), { runtime, onnx: { cacheDir: path.join(tmp, `${runtime}-${name}`), intraOpNumThreads: 1 } });
    }, { reference: reference(name) });
  }
}

/** Wraps a real LM and breaks one convention. */
class Broken implements CausalLM {
  constructor(private readonly inner: CausalLM, private readonly flaw: 'ignores-mask' | 'drops-cache' | 'mutates-weights' | 'claims-differentiable' | 'halves-gradients') {}
  get config() { return this.inner.config; }
  get tokenizer() { return this.inner.tokenizer; }
  get differentiable() { return this.flaw === 'claims-differentiable' ? true : this.inner.differentiable; }
  private drift = 0;
  embedTokens(ids: tf.Tensor2D): tf.Tensor3D {
    const e = this.inner.embedTokens(ids);
    if (this.flaw !== 'mutates-weights') return e;
    this.drift += 1e-3;
    const shifted = tf.add(e, this.drift) as tf.Tensor3D;
    e.dispose();
    return shifted;
  }
  forward(x: tf.Tensor3D, mask: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult | Promise<ForwardResult> {
    if (this.flaw === 'halves-gradients') {
      // The values are right; the gradient reaching the inputs is half of the true one.
      const half = tf.customGrad(((xi: tf.Tensor) => ({ value: tf.clone(xi), gradFunc: (dy: tf.Tensor) => tf.mul(dy, 0.5) })) as unknown as Parameters<typeof tf.customGrad>[0]);
      return this.inner.forward(half(x) as tf.Tensor3D, mask, options);
    }
    return this.forwardAsync(x, mask, options);
  }
  private async forwardAsync(x: tf.Tensor3D, mask: tf.Tensor2D, options: ForwardOptions): Promise<ForwardResult> {
    if (this.flaw === 'ignores-mask') {
      const ones = tf.onesLike(mask);
      try {
        return await this.inner.forward(x, ones, options);
      } finally {
        ones.dispose();
      }
    }
    if (this.flaw === 'drops-cache' && options.pastKeyValues) {
      // Pretends the past did not exist: attends to the new tokens only.
      const T = x.shape[1];
      const m = tf.slice(mask, [0, mask.shape[1] - T], [-1, T]) as tf.Tensor2D;
      try {
        const r = await this.inner.forward(x, m, { ...options, pastKeyValues: undefined });
        return r;
      } finally {
        m.dispose();
      }
    }
    return this.inner.forward(x, mask, options);
  }
  dispose() { return this.inner.dispose(); }
}

test.each([
  ['ignores-mask', "left padding does not change real tokens' logits"],
  ['drops-cache', 'KV cache equals no cache (own batch and a shared batch-1 prompt)'],
  ['mutates-weights', 'weights unchanged after gradients and inference'],
  ['claims-differentiable', 'loss counts only non-ignored targets'],
  ['halves-gradients', 'gradient w.r.t. input embeddings matches finite differences'],
] as const)('the suite catches an LM that %s', async (flaw, name) => {
  const inner = await loadCausalLM(path.join(FIXTURES, 'llama'), { runtime: flaw === 'claims-differentiable' ? 'onnx' : 'tfjs', onnx: { cacheDir: path.join(tmp, 'broken') } });
  try {
    const checks = await runCausalLMConformance(new Broken(inner, flaw));
    const c = checks.find((x) => x.name === name)!;
    expect(c.status).toBe('failed');
    expect(CAUSAL_LM_CHECKS).toContain(name);
  } finally {
    await inner.dispose();
  }
});
