import { onePassFilter, prepareDataset } from './prepare';
import type { RawData, RawInteraction } from './raw';
import { formatItemText } from './item-text';

function raw(rows: [string, string, number?, number?][], items: Record<string, { title?: string; description?: string }> = {}, hasTime = true): RawData {
  const interactions: RawInteraction[] = rows.map(([user, item, time, rating], order) => ({ user, item, time, rating, order }));
  return { name: 't', interactions, items: new Map(Object.entries(items)), files: [], hasTime };
}

describe('prepareDataset', () => {
  test('the filter is one pass, not iterated to a fixed point', () => {
    // Item c has 1 interaction -> removed; that leaves user u2 with 1 item, but u2 is kept (one pass).
    const rows: [string, string][] = [['u1', 'a'], ['u1', 'b'], ['u2', 'a'], ['u2', 'c'], ['u3', 'b'], ['u3', 'a']];
    const kept = onePassFilter(raw(rows.map(([u, i], k) => [u, i, k])).interactions, 2, 2);
    expect(kept.map((x) => `${x.user}${x.item}`)).toEqual(['u1a', 'u1b', 'u2a', 'u3b', 'u3a']);
    // An iterated k-core (users >= 2) would then drop u2's single remaining item.
    expect(kept.filter((x) => x.user === 'u2')).toHaveLength(1);
  });

  test('re-indexing from 1, time sort with stable ties, first appearance order', () => {
    const r = raw([['B', 'x', 5], ['A', 'y', 2], ['B', 'z', 1], ['B', 'y', 5], ['A', 'x', 1]]);
    const { dataset, report } = prepareDataset(r, { minUser: 0, minItem: 0 });
    expect(dataset.userKeys).toEqual(['', 'B', 'A']);
    // B sorted: z(1), x(5), y(5) [x before y: file order]; items numbered by first appearance in that walk
    expect(dataset.itemKeys).toEqual(['', 'z', 'x', 'y']);
    expect(Array.from(dataset.sequences[1])).toEqual([1, 2, 3]);
    expect(Array.from(dataset.sequences[2])).toEqual([2, 3]);
    expect(dataset.sequences[0]).toHaveLength(0);
    expect(dataset.items[0]).toEqual({ title: '', description: '' });
    expect(report.timeTies).toBe(1);
    expect([dataset.order, report.order]).toEqual(['time', 'time']);
    expect(report.usersTrainOnly).toBe(1);
  });

  test('without timestamps the file order is kept', () => {
    const { dataset, report } = prepareDataset(raw([['u', 'b'], ['u', 'a'], ['u', 'c']], {}, false), { minUser: 0, minItem: 0 });
    expect(dataset.itemKeys.slice(1)).toEqual(['b', 'a', 'c']);
    expect(report.timeOrdered).toBe(false);
    expect([dataset.order, report.order]).toEqual(['file', 'file']);
  });

  test('duplicates: exact (default), user-item, none', () => {
    const rows: [string, string, number, number][] = [['u', 'a', 1, 5], ['u', 'a', 1, 5], ['u', 'a', 2, 5], ['u', 'b', 3, 4]];
    expect(prepareDataset(raw(rows), { minUser: 0, minItem: 0 }).report.duplicatesDropped).toBe(1);
    expect(prepareDataset(raw(rows), { minUser: 0, minItem: 0, dedupe: 'user-item' }).report.duplicatesDropped).toBe(2);
    const none = prepareDataset(raw(rows), { minUser: 0, minItem: 0, dedupe: 'none' });
    expect(none.report.duplicatesDropped).toBe(0);
    expect(none.dataset.sequences[1]).toHaveLength(4);
  });

  test('item text: title + first description line, fallback and empty handling', () => {
    const r = raw([['u', 'a', 1], ['u', 'b', 2], ['u', 'c', 3], ['u', 'd', 4]], {
      a: { title: ' Alpha ', description: 'First\nSecond' },
      b: { title: '', description: 'Only description\nmore' },
      c: { title: 'Gamma' },
    });
    const { dataset, report } = prepareDataset(r, { minUser: 0, minItem: 0 });
    expect(dataset.items.slice(1)).toEqual([
      { title: 'Alpha', description: 'First' },
      { title: 'Only description', description: '' },
      { title: 'Gamma', description: '' },
      { title: '', description: '' },
    ]);
    expect(report.items).toMatchObject({ total: 4, withoutMeta: 1, titleFromDescription: 1, withoutText: 1, withoutDescription: 3 });
    expect(formatItemText(dataset.items[3])).toBe('Gamma, Empty description');
    expect(formatItemText(dataset.items[1])).toBe('Alpha, First');
    const baked = prepareDataset(r, { minUser: 0, minItem: 0, emptyDescription: 'Empty description' });
    expect(baked.dataset.items[3].description).toBe('Empty description');
    const dropped = prepareDataset(r, { minUser: 0, minItem: 0, dropItemsWithoutText: true });
    expect(dropped.dataset.itemKeys.slice(1)).toEqual(['a', 'b', 'c']);
    expect(dropped.report.noTextDropped).toBe(1);
  });

  test('report steps and deterministic output', () => {
    const rows: [string, string, number, number][] = [];
    for (let k = 0; k < 200; k++) rows.push([`u${k % 13}`, `i${(k * 7) % 17}`, k % 5, 1 + (k % 5)]);
    const a = prepareDataset(raw(rows), { minRating: 2, minUser: 3, minItem: 3, name: 'x', domain: 'toys' });
    const b = prepareDataset(raw(rows), { minRating: 2, minUser: 3, minItem: 3, name: 'x', domain: 'toys' });
    expect(JSON.stringify(a.dataset.sequences.map((s) => Array.from(s)))).toBe(JSON.stringify(b.dataset.sequences.map((s) => Array.from(s))));
    expect(a.report.steps.map((s) => s.step)).toEqual(['read', 'rating >= 2', 'drop exact duplicates', 'one-pass filter user >= 3, item >= 3']);
    expect(a.report.lowRatingDropped).toBe(rows.filter((r) => r[3] < 2).length);
    expect(a.dataset.domain).toBe('toys');
    expect(a.dataset.name).toBe('x');
  });
});
