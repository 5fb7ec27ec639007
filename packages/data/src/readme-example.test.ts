import * as path from 'node:path';
import { Rng } from '@allmrec/core';
import { datasetStats, formatItemText, leaveOneOut, loadDataset, sampleNegatives } from './index';
import { SHARED_DATASETS, haveSharedDatasets } from './testing/paths';

const maybe = haveSharedDatasets() ? test : test.skip;

maybe('README example runs on ml-100k', async () => {
  const { dataset, report } = await loadDataset({ format: 'movielens-100k', path: path.join(SHARED_DATASETS, 'ml-100k') });
  const stats = datasetStats(dataset);
  expect([stats.users, stats.items, stats.interactions]).toEqual([943, 1682, 100000]); // numbers quoted in README.md
  expect(report.steps[0].interactions).toBe(100000);
  const split = leaveOneOut(dataset);
  const u = 1;
  const negatives = sampleNegatives(new Rng(42), dataset.numItems, new Set(dataset.sequences[u]), 99);
  const candidates = [split.test[u], ...negatives];
  expect(new Set(candidates).size).toBe(100);
  expect(formatItemText(dataset.items[candidates[0]])).toMatch(/^.+ \(\d{4}\), (Genres: |Empty description)/);
});
