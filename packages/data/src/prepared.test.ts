import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeArtifact } from '@allmrec/core';
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
  expect(back.dataset.order).toBe('time');
  expect(back.report?.steps).toEqual(report.steps);
  // Tampering is detected by the manifest checksums.
  fs.appendFileSync(path.join(dir, 'items.json'), ' ');
  await expect(loadPreparedDataset(dir)).rejects.toThrow(/items\.json/);
});

test('the sequence order round-trips; directories written without it load only when their report says "time"', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-prepared-order-'));
  const { dataset, report } = await loadDataset({ format: 'synthetic', numUsers: 20, numItems: 30, seed: 1 } as never);
  const fileOrdered = { ...dataset, order: 'file' as const };
  await savePreparedDataset(path.join(root, 'file'), fileOrdered, { ...report, timeOrdered: false, order: 'file' });
  expect((await loadPreparedDataset(path.join(root, 'file'))).dataset.order).toBe('file');
  // An older layout: no order in the config.
  const legacy = (dir: string, timeOrdered?: boolean) =>
    writeArtifact(path.join(root, dir), {
      kind: 'allmrec.dataset',
      config: { name: 'old', numUsers: 1, numItems: 1, domain: 'generic' },
      tensors: { offsets: { shape: [3], data: new Int32Array([0, 0, 1]), dtype: 'I32' }, items: { shape: [1], data: new Int32Array([1]), dtype: 'I32' } },
      files: {
        'items.json': JSON.stringify([{ key: '', title: '', description: '' }, { key: 'a', title: 'A', description: '' }]),
        'users.json': JSON.stringify(['', 'u']),
        ...(timeOrdered === undefined ? {} : { 'report.json': JSON.stringify({ timeOrdered }) }),
      },
    });
  await legacy('old-time', true);
  await legacy('old-file', false);
  await legacy('old-none');
  expect((await loadPreparedDataset(path.join(root, 'old-time'))).dataset.order).toBe('time');
  await expect(loadPreparedDataset(path.join(root, 'old-file'))).rejects.toThrow(/old-file: field "order": the dataset records no sequence order.*prepare it again/);
  await expect(loadPreparedDataset(path.join(root, 'old-none'))).rejects.toThrow(/records no sequence order/);
  fs.rmSync(root, { recursive: true, force: true });
});
