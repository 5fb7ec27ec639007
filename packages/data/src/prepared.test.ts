import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from './load';
import { loadPreparedDataset, savePreparedDataset } from './prepared';

test('a prepared dataset round-trips through its artifact directory', async () => {
  const { dataset, report } = await loadDataset({ format: 'synthetic', numUsers: 50, numItems: 60, seed: 3 } as never);
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-prepared-')), 'ds');
  await savePreparedDataset(dir, dataset, report);
  const back = await loadPreparedDataset(dir);
  expect(back.dataset.numUsers).toBe(dataset.numUsers);
  expect(back.dataset.numItems).toBe(dataset.numItems);
  expect(back.dataset.sequences.map((s) => [...s])).toEqual(dataset.sequences.map((s) => [...s]));
  expect(back.dataset.items).toEqual(dataset.items);
  expect(back.dataset.itemKeys).toEqual(dataset.itemKeys);
  expect(back.report?.steps).toEqual(report.steps);
  // Tampering is detected by the manifest checksums.
  fs.appendFileSync(path.join(dir, 'items.json'), ' ');
  await expect(loadPreparedDataset(dir)).rejects.toThrow(/items\.json/);
});
