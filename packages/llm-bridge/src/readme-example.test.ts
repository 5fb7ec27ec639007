/**
 * The README example, run as written: the code block under "## Example" in README.md is checked
 * line by line against the block between the markers below, on the real TinyStories-656K
 * checkpoint beside the checkout (the README names a hub checkpoint instead).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { causalLMLoss, generate, generateText, loadCausalLM, scoreContinuations } from './index';

const checkpoint = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'models', 'tinystories-656k');

test('README example', async () => {
  await selectBackend();
  // README: begin
  const lm = await loadCausalLM(checkpoint); // a directory or a hub name; runtime: 'onnx' for fast inference
  const { text, newIds } = await generateText(lm, 'Once upon a time', { maxNewTokens: 20 });

  // Stage 2 drives the LM with input embeddings: token embeddings with projected vectors between them.
  const ids = lm.tokenizer.encode('Once upon a time, there was a little girl');
  const embeds = lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32'));
  const mask = tf.ones([1, ids.length]) as tf.Tensor2D;
  const [generated] = await generate(lm, embeds, mask, { maxNewTokens: 8, repetitionPenalty: 1.5 });
  const scores = await scoreContinuations(lm, embeds, mask, [lm.tokenizer.encode(' named Lily'), lm.tokenizer.encode(' who liked cats')]);
  const labels = tf.tensor2d([ids.map((id, t) => (t < 2 ? -100 : id))], [1, ids.length], 'int32');
  const grad = tf.grad((x: tf.Tensor) => causalLMLoss(lm, x as tf.Tensor3D, mask, labels))(embeds);
  // README: end

  expect(text.startsWith(', a little girl named Lily')).toBe(true);
  expect(newIds.length).toBe(20);
  expect(generated.length).toBeGreaterThan(0);
  expect(scores[0]).toBeGreaterThan(scores[1]); // the story's own continuation is the likelier one
  expect(grad.shape).toEqual(embeds.shape);
  tf.dispose([embeds, mask, labels, grad]);
  await lm.dispose();
});

test('the README shows exactly the code this test runs', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const block = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)![1];
  const own = fs.readFileSync(__filename, 'utf8');
  const ran = own.slice(own.indexOf('// README: begin'), own.indexOf('// README: end')).split('\n').map((l) => l.trim()).filter(Boolean);
  const shown = block.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('import') && !l.startsWith('await selectBackend') && !l.startsWith('const checkpoint'));
  expect(shown).toEqual(ran.slice(1));
});
