import { readArtifact, writeArtifact, type InteractionDataset, type SequenceOrder } from '@allmrec/core';
import { DataFormatError } from './errors';
import type { PreparationReport } from './prepare';

const KIND = 'allmrec.dataset';

/**
 * Writes a prepared dataset as an artifact directory: sequences as one Int32 tensor with offsets
 * (weights.safetensors), item text and keys as JSON, and the preparation report. Atomic.
 */
export async function savePreparedDataset(dir: string, dataset: InteractionDataset, report?: PreparationReport): Promise<void> {
  const offsets = new Int32Array(dataset.numUsers + 2);
  let total = 0;
  for (let u = 1; u <= dataset.numUsers; u++) {
    offsets[u] = total;
    total += dataset.sequences[u].length;
  }
  offsets[dataset.numUsers + 1] = total;
  const items = new Int32Array(total);
  for (let u = 1; u <= dataset.numUsers; u++) items.set(dataset.sequences[u], offsets[u]);
  await writeArtifact(dir, {
    kind: KIND,
    config: { name: dataset.name, numUsers: dataset.numUsers, numItems: dataset.numItems, domain: dataset.domain ?? 'generic', order: dataset.order },
    tensors: {
      offsets: { shape: [offsets.length], data: offsets, dtype: 'I32' },
      items: { shape: [Math.max(total, 0)], data: items, dtype: 'I32' },
    },
    files: {
      'items.json': JSON.stringify(dataset.items.map((t, i) => ({ key: dataset.itemKeys[i], title: t.title, description: t.description }))),
      'users.json': JSON.stringify(dataset.userKeys),
      ...(report ? { 'report.json': JSON.stringify(report, null, 2) } : {}),
    },
  });
}

const ORDERS: readonly SequenceOrder[] = ['time', 'sequence', 'file'];

/**
 * Reads a dataset written by {@link savePreparedDataset}, verifying its checksums. Directories
 * written before datasets recorded their `order` get 'time' when their report says the sequences
 * were sorted by timestamps; any other such directory is an error (prepare it again).
 */
export async function loadPreparedDataset(dir: string): Promise<{ dataset: InteractionDataset; report?: PreparationReport }> {
  const art = await readArtifact(dir, { expectKind: KIND });
  const cfg = art.config as { name: string; numUsers: number; numItems: number; domain: InteractionDataset['domain']; order?: SequenceOrder };
  const report: PreparationReport | undefined = art.files['report.json'] ? JSON.parse(art.files['report.json'].toString('utf8')) : undefined;
  let order = cfg.order;
  if (order === undefined && report?.timeOrdered === true) order = 'time';
  if (order === undefined) {
    throw new DataFormatError('the dataset records no sequence order (written by an older allmrec, without timestamps): prepare it again', {
      file: dir, field: 'order',
    });
  }
  if (!ORDERS.includes(order)) throw new DataFormatError(`unknown sequence order "${order}" (expected ${ORDERS.join(', ')})`, { file: dir, field: 'order' });
  const offsets = art.tensors.get('offsets')!.data as Int32Array;
  const flat = art.tensors.get('items')!.data as Int32Array;
  const sequences: Int32Array[] = [new Int32Array(0)];
  for (let u = 1; u <= cfg.numUsers; u++) sequences.push(flat.slice(offsets[u], offsets[u + 1]));
  const items = JSON.parse(art.files['items.json'].toString('utf8')) as { key: string; title: string; description: string }[];
  const dataset: InteractionDataset = {
    name: cfg.name,
    numUsers: cfg.numUsers,
    numItems: cfg.numItems,
    sequences,
    order,
    items: items.map((x) => ({ title: x.title, description: x.description })),
    itemKeys: items.map((x) => x.key),
    userKeys: JSON.parse(art.files['users.json'].toString('utf8')),
    domain: cfg.domain,
  };
  return { dataset, report };
}
