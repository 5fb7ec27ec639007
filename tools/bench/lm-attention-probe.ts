/**
 * Where the heads of a pretrained GPT-2 (a checkpoint from `allmrec lm pretrain`) attend on fresh
 * vector list documents (`--list-answer vector`): per layer and head, the mean attention from each
 * candidate slot to the token two back (its title), from the last prompt token to position 0 (the
 * user slot), how often the last prompt token attends more to the answer's slot / title than to
 * any other candidate's (chance = 1 / candidates), and its attention mass on slots and titles.
 * It recomputes the forward from the safetensors weights, so it also reads checkpoints mid-run.
 *
 * Usage: npx tsx tools/bench/lm-attention-probe.ts CHECKPOINT_DIR BARE(0|1) HISTORY(A-B) CANDIDATES(A-B) ZERO_DIMS
 * (ZERO_DIMS: position dimensions kept free of slot vectors, hidden/heads for --look-back LMs, else 0;
 * ignored for a checkpoint that records a slot interface (--match-head): its vectors go in its slices).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import { selectBackend, readSafetensors, Rng } from '../../packages/core/src/index';
import { HFTokenizer, templateFor } from '../../packages/llm-bridge/src/index';
import { buildPretrainCorpus, interfaceSlotVectors, tokenizeDocument, slotVectors, VECTOR_ROLES } from '../../packages/llm-bridge/src/demo/index';
import { loadDataset } from '../../packages/data/src/index';
async function main() {
  await selectBackend();
  const [dir, bare, hist, cand, zero] = process.argv.slice(2);
  const cfg = JSON.parse(fs.readFileSync(dir + '/config.json', 'utf8'));
  const H = cfg.n_embd, heads = cfg.n_head, L = cfg.n_layer, dh = H / heads;
  const W = readSafetensors(dir + '/model.safetensors').tensors;
  const p = (n: string) => { const t = W.get(n)!; return tf.tensor(t.data as Float32Array, t.shape); };
  const tokJson = JSON.parse(fs.readFileSync(dir + '/tokenizer.json', 'utf8'));
  const tokCfg = JSON.parse(fs.readFileSync(dir + '/tokenizer_config.json', 'utf8'));
  const eos = cfg.eos_token_id;
  const tok = new HFTokenizer(tokJson, tokCfg, { eosTokenId: eos, bosTokenId: eos });
  const { dataset } = await loadDataset({ path: process.env.ML100K ?? '../shared/datasets/ml-100k', format: 'movielens-100k' });
  const [h0, h1] = hist.split('-').map(Number); const [c0, c1] = cand.split('-').map(Number);
  const docs = buildPretrainCorpus(dataset.items.slice(1) as { title: string; description?: string }[], { seed: 77, documents: 60, listHistory: [h0, h1], listCandidates: [c0, c1], listAnswer: 'vector', itemTexts: false, bareLists: Number(bare), template: templateFor(dataset.domain) });
  const rng = new Rng(5);
  const acc: Record<string, number[]> = {};
  const add = (k: string, v: number) => { (acc[k] ??= []).push(v); };
  for (const d of docs) {
    const t = tokenizeDocument(tok, d, eos, rng, eos);
    // prompt = up to the answer's first title token: find the last vector slot, then the tokens until the target starts
    let end = t.target.indexOf(true); // first target token index (opening quote of the answer is a target)
    // positions 0..end-1 are the prompt; position end-1 predicts the opening quote; we also include the quote (end) to predict the title
    const T = end + 1;
    const ids = Int32Array.from(t.ids.slice(0, T));
    const roles = t.roles!.slice(0, T);
    const iface = cfg.allmrec_slot_interface;
    const sv = slotVectors(roles, 1, T, H, rng, iface ? interfaceSlotVectors(iface) : Number(zero) ? { zeroDims: Number(zero) } : {})!;
    const ans = roles.indexOf(VECTOR_ROLES.answer);
    const cands = roles.flatMap((r, i) => (r === VECTOR_ROLES.candidate ? [i] : []));
    tf.tidy(() => {
      let x: tf.Tensor2D = tf.add(tf.add(tf.mul(tf.gather(p('wte.weight'), tf.tensor1d(ids, 'int32')), tf.sub(1, tf.tensor2d(sv.mask, [T, 1]))), tf.tensor2d(sv.vectors, [T, H])), tf.slice(p('wpe.weight'), [0, 0], [T, H])) as tf.Tensor2D;
      const ln = (v: tf.Tensor2D, g: string) => { const { mean, variance } = tf.moments(v, -1, true); return tf.add(tf.mul(tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-5))), p(g + '.weight')), p(g + '.bias')) as tf.Tensor2D; };
      const causal = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9);
      for (let l = 0; l < L; l++) {
        const h = ln(x, `h.${l}.ln_1`);
        const qkv = tf.add(tf.matMul(h, p(`h.${l}.attn.c_attn.weight`) as tf.Tensor2D), p(`h.${l}.attn.c_attn.bias`));
        const outs: tf.Tensor[] = [];
        for (let k = 0; k < heads; k++) {
          const q = tf.slice(qkv, [0, k * dh], [T, dh]), kk = tf.slice(qkv, [0, H + k * dh], [T, dh]), v = tf.slice(qkv, [0, 2 * H + k * dh], [T, dh]);
          const a = tf.softmax(tf.add(tf.div(tf.matMul(q, kk, false, true), Math.sqrt(dh)), causal));
          const A = a.arraySync() as number[][];
          const slots = roles.flatMap((r, i) => (r === VECTOR_ROLES.answer || r === VECTOR_ROLES.candidate ? [i] : []));
          add(`L${l}h${k} slot->p-2`, slots.reduce((s, i) => s + A[i][i - 2], 0) / slots.length);
          add(`L${l}h${k} last->0`, A[T - 1][0]);
          add(`L${l}h${k} last argmax back`, T - 1 - A[T - 1].indexOf(Math.max(...A[T - 1])));
          add(`L${l}h${k} last->ansSlot-rank`, [ans, ...cands].map((i) => A[T - 1][i]).sort((a, b) => b - a).indexOf(A[T - 1][ans]) === 0 ? 1 : 0);
          add(`L${l}h${k} last->ansTitle-rank`, [ans, ...cands].map((i) => A[T - 1][i - 2]).sort((a, b) => b - a).indexOf(A[T - 1][ans - 2]) === 0 ? 1 : 0);
          add(`L${l}h${k} last->all slots mass`, slots.reduce((s, i) => s + A[T - 1][i] + A[T - 1][i - 2], 0));
          outs.push(tf.matMul(a, v));
        }
        x = tf.add(x, tf.add(tf.matMul(tf.concat(outs, 1) as tf.Tensor2D, p(`h.${l}.attn.c_proj.weight`) as tf.Tensor2D), p(`h.${l}.attn.c_proj.bias`))) as tf.Tensor2D;
        const h2 = ln(x, `h.${l}.ln_2`);
        const up = tf.add(tf.matMul(h2, p(`h.${l}.mlp.c_fc.weight`) as tf.Tensor2D), p(`h.${l}.mlp.c_fc.bias`));
        const g = tf.mul(tf.mul(up, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(up, tf.mul(tf.pow(up, 3), 0.044715)), Math.sqrt(2 / Math.PI)))));
        x = tf.add(x, tf.add(tf.matMul(g as tf.Tensor2D, p(`h.${l}.mlp.c_proj.weight`) as tf.Tensor2D), p(`h.${l}.mlp.c_proj.bias`))) as tf.Tensor2D;
      }
    });
  }
  for (const [k, v] of Object.entries(acc)) console.log(k.padEnd(32), (v.reduce((a, b) => a + b, 0) / v.length).toFixed(3));
}
main().catch((e) => { console.error(e); process.exit(1); });
