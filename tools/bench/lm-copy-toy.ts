/**
 * How fast a small GPT-2 pretrained by `pretrainLM` learns to copy a title from a list (the skill
 * Stage 2 needs from its frozen LM), on a toy corpus: `list: "T1", "T2", ... pick: "Tk"` with Tk a
 * random listed title, every title one added token. Prints the loss every 50 steps and the share
 * of fresh 4-title lists answered with a listed title.
 *
 * Usage: [MIMETIC=1] npx tsx tools/bench/lm-copy-toy.ts [titles=50] [steps=1000] [outDir=runs/lm-copy-toy]
 * (MIMETIC=1: mimetic attention initialisation, see GPT2Spec.mimeticInit.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { generate, loadCausalLM } from '../../packages/llm-bridge/src/index';
import { CONTEXT_MARK, PIECE_BREAK, pretrainLM } from '../../packages/llm-bridge/src/demo/index';
import { Rng, selectBackend } from '../../packages/core/src/index';

async function main(): Promise<void> {
  await selectBackend();
  const N = Number(process.argv[2] ?? 50);
  const steps = Number(process.argv[3] ?? 1000);
  const outDir = process.argv[4] ?? 'runs/lm-copy-toy';
  const titles = Array.from({ length: N }, (_, i) => `Title ${String.fromCharCode(65 + (i % 26))}${Math.floor(i / 26)} x`);
  const rng = new Rng(1);
  const list = (k: number) => Array.from({ length: k }, () => titles[rng.int(N)]);
  const prompt = (c: string[]) => `list: ${c.map((t) => `"${t}"`).join(', ')}. pick: `;
  const corpus: string[] = [];
  for (let d = 0; d < 6000; d++) {
    const c = list(2 + rng.int(4));
    corpus.push([CONTEXT_MARK + prompt(c), `"${c[rng.int(c.length)]}"`].join(PIECE_BREAK));
  }
  const t0 = performance.now();
  const r = await pretrainLM({
    corpus, outDir, seed: 1, vocabSize: 300, addedTokens: titles, hidden: 64, layers: 2, heads: 4, maxPositions: 128, seqLen: 128,
    batchSize: 32, steps, lr: 3e-3, mimeticInit: process.env.MIMETIC === '1',
    onProgress: (e) => { if (!e.done && e.current % 50 === 0) console.log(`step ${e.current} loss ${Number(e.values?.loss).toFixed(4)}`); },
  });
  const lm = await loadCausalLM(outDir);
  let copied = 0;
  const n = 50;
  for (let d = 0; d < n; d++) {
    const c = list(4);
    const ids = [...lm.tokenizer.encode(prompt(c)), ...lm.tokenizer.encode('"')];
    const e = lm.embedTokens(tf.tensor2d([ids], [1, ids.length], 'int32'));
    const m = tf.ones([1, ids.length]) as tf.Tensor2D;
    const g = await generate(lm, e, m, { maxNewTokens: 3, repetitionPenalty: 1 });
    tf.dispose([e, m]);
    if (c.some((t) => lm.tokenizer.decode(g[0]).startsWith(t))) copied++;
  }
  lm.dispose();
  console.log(JSON.stringify({ titles: N, steps: r.steps, seconds: Math.round((performance.now() - t0) / 100) / 10, final_loss: r.finalLoss, no_copy_loss: Math.log(N) / 4, copy_rate_4_titles: copied / n }));
}

main().catch((e) => { console.error(e); process.exit(1); });
