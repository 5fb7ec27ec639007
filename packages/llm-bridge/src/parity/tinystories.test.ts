/**
 * A real pretrained checkpoint nobody in this project made (TinyStories-656K, Llama layout, its
 * tied embedding stored only as lm_head.weight), read from ../shared/models beside the checkout,
 * against the reference output its SOURCE.md records from transformers 5.17 (torch 2.13, float32).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { loadCausalLM, type LMRuntime } from '../checkpoint';
import { generateText } from '../generate';

const DIR = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'models', 'tinystories-656k');
const PROMPT = 'Once upon a time, there was a little girl named Lily. She loved';
const SOURCE = fs.existsSync(path.join(DIR, 'SOURCE.md')) ? fs.readFileSync(path.join(DIR, 'SOURCE.md'), 'utf8') : '';

/** A JSON list after `label` in SOURCE.md (the reference is read from the file, not copied here). */
function listAfter(label: string): number[] {
  const m = new RegExp(`${label.replace(/[()]/g, '\\$&')}[^\\[]*(\\[[^\\]]*\\])`).exec(SOURCE);
  if (!m) throw new Error(`${DIR}/SOURCE.md: no "${label}" list`);
  return JSON.parse(m[1]);
}

test('the checkpoint and its reference are beside the checkout', () => {
  expect(fs.existsSync(path.join(DIR, 'model.safetensors'))).toBe(true);
  expect(SOURCE).toContain(PROMPT);
});

describe.each<LMRuntime>(['tfjs', 'onnx'])('tinystories-656k on %s', (runtime) => {
  let tmp: string;
  beforeAll(async () => {
    await selectBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinystories-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('prompt ids, last-position logits and 30 greedy tokens equal transformers', async () => {
    const lm = await loadCausalLM(DIR, { runtime, onnx: { cacheDir: tmp, intraOpNumThreads: 1 } });
    try {
      const wantIds = listAfter('prompt ids (with BOS):');
      const ids = lm.tokenizer.encode(PROMPT, { addSpecialTokens: true });
      expect(ids).toEqual(wantIds);
      const emb = tf.tidy(() => lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32')));
      const mask = tf.ones([1, ids.length]) as tf.Tensor2D;
      const { logits } = await lm.forward(emb, mask, { logitsToKeep: 1 });
      const first8 = Array.from(logits.dataSync().subarray(0, 8));
      tf.dispose([emb, mask, logits]);
      const want8 = listAfter('last-position logits, first 8:');
      for (let i = 0; i < 8; i++) expect(Math.abs(first8[i] - want8[i])).toBeLessThan(1e-4);

      const out = await generateText(lm, PROMPT, { maxNewTokens: 30 });
      expect(out.promptIds).toEqual(wantIds);
      expect(out.newIds).toEqual(listAfter('repetition penalty 1.0: ids'));
      const text = /- text: "(.*)"\n/.exec(SOURCE)![1];
      expect(out.text).toBe(JSON.parse(`"${text}"`));
    } finally {
      await lm.dispose();
    }
  });

  test('greedy ids with repetition penalties 1, 1.3 and 1.5 equal transformers generate', async () => {
    // tools/parity/tinystories_reference.py records transformers' ids for this checkpoint.
    const ref = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '__fixtures__', 'tinystories-generate.json'), 'utf8')) as {
      max_new_tokens: number; cases: { prompt: string; repetition_penalty: number; prompt_ids: number[]; new_ids: number[]; text: string }[];
    };
    const lm = await loadCausalLM(DIR, { runtime, onnx: { cacheDir: tmp, intraOpNumThreads: 1 } });
    try {
      for (const c of ref.cases) {
        const out = await generateText(lm, c.prompt, { maxNewTokens: ref.max_new_tokens, repetitionPenalty: c.repetition_penalty });
        expect(out.promptIds).toEqual(c.prompt_ids);
        expect({ penalty: c.repetition_penalty, ids: out.newIds }).toEqual({ penalty: c.repetition_penalty, ids: c.new_ids });
        expect(out.text).toBe(c.text);
      }
    } finally {
      await lm.dispose();
    }
  });
});
