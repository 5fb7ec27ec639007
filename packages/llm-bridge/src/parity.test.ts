/**
 * Numerical parity of each decoder family against an independent NumPy implementation
 * (tools/parity/reference_forward.py, which parses safetensors itself). The tiny random
 * checkpoints are deterministic in their seed, so the reference's logits are also kept as a
 * fixture (src/__fixtures__/parity.json) for machines without python3/numpy.
 * Regenerate the fixture with UPDATE_PARITY_FIXTURES=1.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, sha256File } from '@allmrec/core';
import { loadCausalLMSync } from './checkpoint';
import { writeTinyCheckpoint, type TinyCheckpointSpec } from './tiny';

const REPO = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(REPO, 'tools', 'parity', 'reference_forward.py');
const FIXTURE = path.join(__dirname, '__fixtures__', 'parity.json');
const TOL = 1e-4;

/** The variants checked; changing one requires regenerating the fixture. */
const PARITY_VARIANTS: Record<string, TinyCheckpointSpec> = {
  gpt2: { family: 'gpt2', seed: 101, vocabSize: 80, hidden: 32, heads: 4 },
  'gpt2-untied': { family: 'gpt2', seed: 102, vocabSize: 64, hidden: 16, heads: 2, tied: false },
  opt: { family: 'opt', seed: 201, vocabSize: 72, hidden: 32, heads: 4 },
  'opt-project-postnorm': { family: 'opt', seed: 202, vocabSize: 64, hidden: 32, heads: 2, wordEmbedProjDim: 16, preNorm: false },
  llama: { family: 'llama', seed: 301, vocabSize: 96, hidden: 32, heads: 4, kvHeads: 2 },
  qwen2: { family: 'qwen2', seed: 401, vocabSize: 64, hidden: 32, heads: 4, kvHeads: 2 },
};
const IDS = [[1, 5, 9, 12, 30, 7, 2, 44, 13], [3, 17, 60]];

interface FixtureEntry { sha256: string; ids: number[][]; logits: number[][][] }

function hasNumpy(): boolean {
  if (process.env.PARITY_SKIP_PYTHON === '1') return false;
  const r = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  return r.status === 0;
}

function reference(dir: string, ids: number[][]): number[][][] {
  const args = [SCRIPT, dir, ...ids.flatMap((s) => ['--ids', s.join(',')])];
  return JSON.parse(execFileSync('python3', args, { encoding: 'utf8', maxBuffer: 64 << 20 })).logits;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('logit parity with the NumPy reference', () => {
  let tmp: string;
  const python = hasNumpy();
  const fixture: Record<string, FixtureEntry> = fs.existsSync(FIXTURE) ? JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) : {};
  const update = process.env.UPDATE_PARITY_FIXTURES === '1';
  const measured: Record<string, number> = {};

  beforeAll(async () => {
    await selectBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-parity-'));
  });
  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (update) {
      fs.mkdirSync(path.dirname(FIXTURE), { recursive: true });
      fs.writeFileSync(FIXTURE, JSON.stringify(fixture) + '\n');
    }
    // eslint-disable-next-line no-console
    console.log(`max |logit diff| vs NumPy (${python ? 'live python3' : 'fixture'}): ${JSON.stringify(measured)}`);
  });

  for (const [name, spec] of Object.entries(PARITY_VARIANTS)) {
    test(name, async () => {
      const dir = writeTinyCheckpoint(path.join(tmp, name), spec);
      const sha = await sha256File(path.join(dir, 'model.safetensors'));
      let expected: number[][][];
      if (python) {
        expected = reference(dir, IDS);
        if (update || !fixture[name]) fixture[name] = { sha256: sha, ids: IDS, logits: expected.map((s) => s.map((r) => r.map((v) => Number(v.toPrecision(9))))) };
      }
      const fx = fixture[name];
      if (!fx) throw new Error(`no fixture for ${name} and no python3 with numpy: run once with python3 available and UPDATE_PARITY_FIXTURES=1`);
      // The fixture belongs to exactly this checkpoint.
      expect(fx.sha256).toBe(sha);
      expect(fx.ids).toEqual(IDS);
      if (!python) expected = fx.logits;

      const lm = loadCausalLMSync(dir);
      let worst = 0;
      for (let s = 0; s < IDS.length; s++) {
        const ids = IDS[s];
        const got = tf.tidy(() => {
          const emb = lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32'));
          return lm.forward(emb, tf.ones([1, ids.length])).logits.dataSync();
        });
        const want = expected![s].flat();
        expect(got.length).toBe(want.length);
        worst = Math.max(worst, maxAbsDiff(got, want), maxAbsDiff(got, fx.logits[s].flat()));
      }
      lm.dispose();
      measured[name] = Number(worst.toExponential(2));
      expect(worst).toBeLessThan(TOL);
    });
  }
});
