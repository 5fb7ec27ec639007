/**
 * Parity with Hugging Face transformers itself, on both runtimes: every checkpoint under
 * src/__fixtures__/hf was built by transformers (tools/parity/build_hf_fixtures.py, which also
 * records transformers' logits and greedy ids), one directory per family and variant. Logits must
 * agree within 1e-4 and greedy ids exactly. No Python is needed here: the fixtures are committed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import type { CausalLM } from '../causal-lm';
import { loadCausalLM, type LMRuntime } from '../checkpoint';
import { generate } from '../generate';

const FIXTURES = path.join(__dirname, '..', '__fixtures__', 'hf');
const TOL = 1e-4;

interface Expected {
  case: string;
  model_type: string;
  stored_dtype: string;
  ids: number[][];
  logits: number[][][];
  greedy: { prompt_ids: number[]; new_ids: number[] };
}

const CASES = fs.readdirSync(FIXTURES).filter((d) => fs.existsSync(path.join(FIXTURES, d, 'expected.json'))).sort();

function expectedOf(name: string): Expected {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'expected.json'), 'utf8'));
}

/** Max |a - b| over the flattened arrays (NaN-safe: a NaN counts as infinite). */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

test('the fixtures cover every family the issue names', () => {
  const types = new Set(CASES.map((c) => expectedOf(c).model_type));
  for (const t of ['gpt2', 'opt', 'llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3', 'gpt_neox']) expect(types).toContain(t);
  const dtypes = new Set(CASES.map((c) => expectedOf(c).stored_dtype));
  expect([...dtypes].sort()).toEqual(['BF16', 'F16', 'F32']);
});

describe.each<LMRuntime>(['tfjs', 'onnx'])('%s runtime against transformers', (runtime) => {
  let tmp: string;
  const measured: Record<string, number> = {};
  beforeAll(async () => {
    await selectBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `hf-parity-${runtime}-`));
  });
  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    // eslint-disable-next-line no-console
    console.log(`max |logit - transformers| on ${runtime}: ${JSON.stringify(measured)}`);
  });

  test.each(CASES)('%s', async (name) => {
    const exp = expectedOf(name);
    const lm: CausalLM = await loadCausalLM(path.join(FIXTURES, name), { runtime, onnx: { cacheDir: path.join(tmp, name), intraOpNumThreads: 1 } });
    try {
      expect(lm.config.modelType).toBe(exp.model_type);
      let worst = 0;
      for (let s = 0; s < exp.ids.length; s++) {
        const ids = exp.ids[s];
        const emb = tf.tidy(() => lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32')));
        const mask = tf.ones([1, ids.length]) as tf.Tensor2D;
        const { logits } = await lm.forward(emb, mask);
        const got = logits.dataSync();
        const want = exp.logits[s].flat();
        expect(got.length).toBe(want.length);
        worst = Math.max(worst, maxAbsDiff(got, want));
        tf.dispose([emb, mask, logits]);
      }
      measured[name] = Number(worst.toExponential(2));
      expect(worst).toBeLessThan(TOL);

      const p = exp.greedy.prompt_ids;
      const emb = tf.tidy(() => lm.embedTokens(tf.tensor2d([p], [1, p.length], 'int32')));
      const mask = tf.ones([1, p.length]) as tf.Tensor2D;
      const [ids] = await generate(lm, emb, mask, { maxNewTokens: exp.greedy.new_ids.length, eosTokenId: [] });
      tf.dispose([emb, mask]);
      expect(ids).toEqual(exp.greedy.new_ids);
    } finally {
      await lm.dispose();
    }
  });
});
