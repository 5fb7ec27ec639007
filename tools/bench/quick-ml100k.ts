import { selectBackend } from '../../packages/core/src/index';
import { loadDataset, leaveOneOut } from '../../packages/data/src/index';
import { SASRec } from '../../packages/cf-backbones/src/index';
import { buildEvalSet, scoreEvalSet, evaluateScores, getProtocol } from '../../packages/eval/src/index';

async function main() {
  const seed = +(process.env.SEED ?? 1);
  const epochs = +(process.env.EPOCHS ?? 200);
  const info = await selectBackend();
  const minUser = process.env.MINU !== undefined ? +process.env.MINU : undefined;
  const { dataset } = await loadDataset({ format: 'movielens-100k', path: '../shared/datasets/ml-100k', minUser, minItem: minUser });
  const split = leaveOneOut(dataset);
  const model = new SASRec(dataset.numItems);
  const fit = await model.fit(split, { seed, epochs, onProgress: (e) => { if (e.task === 'sasrec:train' && e.current % 20 === 0) console.error(JSON.stringify(e)); } });
  const scorer = (h: Int32Array[], c: Int32Array[]) => model.score(h, c);
  const out: Record<string, unknown> = { backend: info.name, users: dataset.numUsers, items: dataset.numItems, ...fit };
  for (const p of ['test-20', 'valid-101']) {
    const set = buildEvalSet(split, getProtocol(p), { seed });
    const res = evaluateScores(set, await scoreEvalSet(set, scorer));
    out[p] = res.metrics;
  }
  console.log(JSON.stringify(out));
}
main();
