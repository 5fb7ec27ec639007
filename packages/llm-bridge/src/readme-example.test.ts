/** The README example, run as written (with a temporary directory). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { loadCausalLM, writeTinyCheckpoint } from './index';

test('README example', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-readme-'));
  await selectBackend();
  const dir = writeTinyCheckpoint(path.join(tmp, 'tiny-llama'), { family: 'llama', seed: 1 });
  const lm = await loadCausalLM(dir);

  const ids = lm.tokenizer.encode('the user has watched');
  const embeds = lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32'));
  const mask = tf.ones([1, ids.length]) as tf.Tensor2D;

  const { logits } = lm.forward(embeds, mask);
  const generated = lm.generate(embeds, mask, { maxNewTokens: 8 });
  const text = lm.tokenizer.decode(generated[0]);
  const scores = lm.scoreContinuations(embeds, mask, [lm.tokenizer.encode(' "a"'), lm.tokenizer.encode(' "b"')]);

  const labels = tf.tensor2d([ids.map((id, t) => (t < 2 ? -100 : id))], [1, ids.length], 'int32');
  const grad = tf.grad((x: tf.Tensor) => lm.loss(x as tf.Tensor3D, mask, labels))(embeds);

  expect(logits.shape).toEqual([1, ids.length, lm.config.vocabSize]);
  expect(generated[0].length).toBeLessThanOrEqual(8);
  expect(typeof text).toBe('string');
  expect(scores.every((s) => s < 0)).toBe(true);
  expect(grad.shape).toEqual(embeds.shape);
  tf.dispose([logits, embeds, mask, labels, grad]);
  lm.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});
