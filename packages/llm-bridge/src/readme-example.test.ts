/** The README example, run as written (on a fixture checkpoint built by transformers). */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { causalLMLoss, generate, generateText, loadCausalLM, scoreContinuations } from './index';

test('README example', async () => {
  const checkpoint = path.join(__dirname, '__fixtures__', 'hf', 'qwen2');
  await selectBackend();
  // README: begin
  const lm = await loadCausalLM(checkpoint); // a directory or a hub name; runtime: 'onnx' for fast inference
  const { text, newIds } = await generateText(lm, 'w3 w4 w5', { maxNewTokens: 8 });

  // Stage 2 drives the LM with input embeddings: token embeddings with projected vectors between them.
  const ids = lm.tokenizer.encode('w3 w4 w5 w6');
  const embeds = lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32'));
  const mask = tf.ones([1, ids.length]) as tf.Tensor2D;
  const [generated] = await generate(lm, embeds, mask, { maxNewTokens: 8, repetitionPenalty: 1.5 });
  const scores = await scoreContinuations(lm, embeds, mask, [lm.tokenizer.encode('w7'), lm.tokenizer.encode('w8 w9')]);
  const labels = tf.tensor2d([ids.map((id, t) => (t < 2 ? -100 : id))], [1, ids.length], 'int32');
  const grad = tf.grad((x: tf.Tensor) => causalLMLoss(lm, x as tf.Tensor3D, mask, labels))(embeds);
  // README: end

  expect(newIds.length).toBe(8);
  expect(text).toBe(lm.tokenizer.decode(newIds));
  expect(generated.length).toBeLessThanOrEqual(8);
  expect(scores.every((s) => s < 0)).toBe(true);
  expect(grad.shape).toEqual(embeds.shape);
  tf.dispose([embeds, mask, labels, grad]);
  await lm.dispose();
});
