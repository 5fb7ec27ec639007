// How many dimensions of a title the wired matching heads must copy for the LM to name it
// (GPT2Spec.lookBack.match with `heads` look-back heads, one dh slice each), at initialisation:
// hidden 128, 8 heads, 2 layers, N made-up titles as added tokens, worded lists of 1-3 history
// items and 10-20 candidates, unit slot vectors; the answer is the candidate most similar to the user.
//   npx tsx tools/bench/copy-width.ts [N=400] [heads=1,2,4,5]
// Prints, per look-back head count, the share of greedy first tokens that are a candidate's title
// (valid) and the share of lists whose most similar candidate has the highest likelihood (rank).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '../../packages/core/src/index';
import { HFTokenizer, TEMPLATES, loadCausalLMSync, writeHFCheckpoint } from '../../packages/llm-bridge/src/index';
import {
  TrainableGPT2, buildPretrainCorpus, interfaceSlotVectors, listCopyAccuracy, sectionMarkerToken, textPieces, trainByteLevelBPE,
} from '../../packages/llm-bridge/src/demo/index';

async function main() {
  await selectBackend();
  const N = Number(process.argv[2] ?? 400);
  const counts = (process.argv[3] ?? '1,2,4,5').split(',').map(Number);
  const words = ['Red', 'Blue', 'Night', 'River', 'Star', 'Ghost', 'King', 'Lost', 'City', 'Dream', 'Fire', 'Moon', 'Iron', 'Glass', 'Wild', 'Silent'];
  const titles = Array.from({ length: N }, (_, i) => `${words[i % 16]} ${words[Math.floor(i / 16) % 16]} ${i} (${1950 + (i % 50)})`);
  const options = { seed: 3, documents: 60, template: TEMPLATES.movies, listHistory: [1, 3] as [number, number], listCandidates: [10, 20] as [number, number], listAnswer: 'vector' as const, itemTexts: false, sectionMarker: true };
  const corpus = buildPretrainCorpus(titles.map((title) => ({ title })), options);
  const bpe = trainByteLevelBPE((function* () { for (const d of corpus) yield* textPieces(d); })(), { vocabSize: 400 + N, addedTokens: titles, wholeWords: [' set'] });
  const marker = sectionMarkerToken(new HFTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig, { eosTokenId: bpe.eosTokenId, bosTokenId: bpe.eosTokenId }));
  const spec = { vocabSize: bpe.vocabSize, hidden: 128, layers: 2, heads: 8, maxPositions: 256, eosTokenId: bpe.eosTokenId, mimeticInit: true, sharedInitRows: [bpe.vocabSize - N, bpe.vocabSize] as [number, number], sharedInitSpread: 0.1 };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'copy-width-'));
  try {
    for (const heads of counts) {
      const model = new TrainableGPT2({ ...spec, lookBack: { offset: 2, heads, first: 1, match: true, section: marker } }, 2);
      const iface = model.configJson().allmrec_slot_interface as { user: [number, number]; item: [number, number]; section?: number };
      const dir = path.join(tmp, `heads-${heads}`);
      await writeHFCheckpoint(dir, { config: model.configJson(), tensors: model.toHF(), tokenizerJson: bpe.tokenizerJson, tokenizerConfig: bpe.tokenizerConfig });
      model.dispose();
      const lm = loadCausalLMSync(dir);
      const acc = await listCopyAccuracy(lm, titles, { ...options, seed: 4, maxNewTokens: 1, answerBy: 'vector', slotVectors: interfaceSlotVectors(iface) });
      lm.dispose();
      console.log(`look-back heads ${heads} (${heads * 16} of 128 dims copied): valid ${acc.validRate.toFixed(3)}, rank ${acc.rankRate.toFixed(3)} (chance ${acc.chance.toFixed(3)}), ${acc.documents} lists`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
