import type { InteractionDataset, SequenceOrder } from '@allmrec/core';
import { UsageError } from './args';
import { assertOrderFits, assertOrderFitsBackbone, describeOrder, orderOptionsOf, rememberOrderOptions } from './order-check';

function dataset(order: SequenceOrder): InteractionDataset {
  return {
    name: 'toy', numUsers: 1, numItems: 2, sequences: [new Int32Array(0), Int32Array.from([1, 2])], order,
    items: [{ title: '', description: '' }, { title: 'A', description: '' }, { title: 'B', description: '' }],
    userKeys: ['', 'u'], itemKeys: ['', 'a', 'b'],
  };
}
/** Fake backbones: only what the check reads. */
const sequential = { name: 'fake-seq', usesOrder: true };
const legacySequential = { name: 'fake-default' }; // usesOrder absent = sequential
const orderFree = { name: 'fake-free', usesOrder: false };

describe('assertOrderFits', () => {
  test('a sequential backbone refuses file order, naming the file and the ways out', () => {
    for (const b of [sequential, legacySequential]) {
      expect(() => assertOrderFits(dataset('file'), b, { source: '/data/plays.csv' })).toThrow(UsageError);
      expect(() => assertOrderFits(dataset('file'), b, { source: '/data/plays.csv' })).toThrow(
        `backbone "${b.name}" reads the order of each history, but /data/plays.csv has no timestamps (sequences would follow file order). ` +
          `Use an order-free backbone (pop, bpr, lightgcn, ncf) or pass --order file if the file's order is chronological.`,
      );
    }
    expect(() => assertOrderFits(dataset('file'), sequential, {})).toThrow(/but the dataset "toy" has no timestamps/);
  });

  test('accepted: --order file, order-free backbones, time and sequence order', () => {
    expect(() => assertOrderFits(dataset('file'), sequential, { acceptFileOrder: true })).not.toThrow();
    expect(() => assertOrderFits(dataset('file'), orderFree, {})).not.toThrow();
    for (const o of ['time', 'sequence'] as const) expect(() => assertOrderFits(dataset(o), sequential, {})).not.toThrow();
  });

  test('without options it uses the ones recorded for the dataset object', () => {
    const d = dataset('file');
    expect(orderOptionsOf(d)).toEqual({});
    expect(() => assertOrderFits(d, sequential)).toThrow(/the dataset "toy"/);
    rememberOrderOptions(d, { source: '/x.tsv' });
    expect(() => assertOrderFits(d, sequential)).toThrow(/but \/x\.tsv has no timestamps/);
    rememberOrderOptions(d, { source: '/x.tsv', acceptFileOrder: true });
    expect(() => assertOrderFits(d, sequential)).not.toThrow();
    expect(() => assertOrderFits(dataset('file'), sequential)).toThrow(); // another object: nothing recorded
  });

  test('by registered name (sasrec reads order) and the order descriptions', () => {
    expect(() => assertOrderFitsBackbone(dataset('file'), 'sasrec', {})).toThrow(/backbone "sasrec" reads the order/);
    expect(() => assertOrderFitsBackbone(dataset('time'), 'sasrec', {})).not.toThrow();
    expect(describeOrder('file')).toMatch(/^file \(no timestamps/);
  });
});
