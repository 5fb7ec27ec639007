import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { cleanDescription, cleanTitle, firstLine } from './html';
import { loadDataset } from './load';
import { prepareDataset } from './prepare';
import type { RawData } from './raw';
import { SHARED_DATASETS, haveSharedDatasets } from './testing/paths';
import { classifyMarkup, firstSentence, repairTitles, type TitleInput } from './titles';

const item = (key: string, title: string, description = ''): TitleInput => ({ key, title, description });

describe('titles that are not titles', () => {
  test('markup: tags over half the characters, or nothing left once stripped', () => {
    expect(classifyMarkup('<span class="a-size-medium">Echo Dot</span>')).toEqual({ tags: true, markup: true, stripped: 'Echo Dot' });
    expect(classifyMarkup('<div id="x"></div>').markup).toBe(true);
    expect(classifyMarkup('The Legend of Zelda <b>Collector</b> Edition')).toEqual({ tags: true, markup: false, stripped: 'The Legend of Zelda Collector Edition' });
    expect(classifyMarkup('5 < 6 > 4')).toEqual({ tags: false, markup: false, stripped: '5 < 6 > 4' });
  });

  test('first sentence: ".", "!" or "?" before a space or the end; long ones cut at a word', () => {
    expect(firstSentence('Gift card for Serendipity 3 only. Not valid online.')).toBe('Gift card for Serendipity 3 only.');
    expect(firstSentence('Redeem at Amazon.com today! Or later')).toBe('Redeem at Amazon.com today!');
    expect(firstSentence('No full stop here')).toBe('No full stop here');
    const long = firstSentence('word '.repeat(60));
    expect(long.length).toBeLessThanOrEqual(161);
    expect(long).toMatch(/word…$/);
  });

  test('markup and shared titles are replaced, counted, one example each; every title ends distinct', () => {
    const items: TitleInput[] = [
      item('A1', '<span class="a-size-medium">Echo</span>', 'Smart speaker with Alexa. Plays music.'),
      item('A2', '<span class="a-size-medium">Kindle</span>'), // no description: its stripped text
      item('A3', '<div></div>'), // nothing at all: item <key>
      item('B1', 'Zelda <i>Deluxe</i> Edition'),
      ...['C1', 'C2', 'C3', 'C4', 'C5'].map((k, i) => item(k, 'Amazon eGift Card', i < 3 ? `Gift card number ${i}. For any occasion.` : '')),
      item('D1', 'Heat'),
      item('D2', 'heat'),
      item('E1', 'Solo'),
    ];
    const { titles, report } = repairTitles(items);
    expect(titles).toEqual([
      'Smart speaker with Alexa.', 'Kindle', 'item A3', 'Zelda Deluxe Edition',
      'Gift card number 0.', 'Gift card number 1.', 'Gift card number 2.', 'Amazon eGift Card [C4]', 'Amazon eGift Card [C5]',
      'Heat [D1]', 'heat [D2]', 'Solo',
    ]);
    expect(report).toMatchObject({
      markup: 3, tagsStripped: 1, shared: 5, sharedTitles: 1, fromDescription: 4, strippedKept: 1, placeholder: 1, madeDistinct: 4,
    });
    expect(report.examples.markup).toEqual({ key: 'A1', before: '<span class="a-size-medium">Echo</span>', after: 'Smart speaker with Alexa.' });
    expect(report.examples.shared).toEqual({ key: 'C1', before: 'Amazon eGift Card', after: 'Gift card number 0.', items: 5 });
    expect(report.examples.madeDistinct).toEqual({ key: 'C4', before: 'Amazon eGift Card', after: 'Amazon eGift Card [C4]' });
    // Distinct case-insensitively, and no title is contained in another's (the match rule is a substring test).
    const lower = titles.map((t) => t.toLowerCase());
    expect(new Set(lower).size).toBe(titles.length);
    for (const a of lower) for (const b of lower) if (a !== b) expect(b.includes(a)).toBe(false);
    // Deterministic.
    expect(repairTitles(items).titles).toEqual(titles);
  });

  test('the shared rule needs both: >= 5 items and > 0.5% of the catalogue', () => {
    const many = Array.from({ length: 1200 }, (_, i) => item(`k${i}`, i < 6 ? 'Spider-Man' : `Game ${i}`, 'A game. Fun.'));
    const r = repairTitles(many); // 6 of 1,200 = 0.5%: not more than 0.5%, so still titles (made distinct)
    expect([r.report.shared, r.report.madeDistinct]).toEqual([0, 6]);
    expect(r.titles[0]).toBe('Spider-Man [k0]');
    expect(repairTitles(many.slice(0, 1000)).report.shared).toBe(6); // 0.6%
    expect(repairTitles(many.slice(0, 4).concat(many.slice(6, 10))).report.shared).toBe(0); // 4 items
    expect(repairTitles(many, { sharedMinItems: 5, sharedMinShare: 0.001 }).report.shared).toBe(6);
    expect(() => repairTitles(many, { sharedMinItems: 1 })).toThrow(/sharedTitleMinItems must be an integer >= 2/);
  });

  test('prepareDataset applies it and reports it', () => {
    const rows: [string, string][] = [['u1', 'a'], ['u1', 'b'], ['u2', 'c'], ['u2', 'a']];
    const raw: RawData = {
      name: 't', files: [], hasTime: false,
      interactions: rows.map(([user, it], order) => ({ user, item: it, order })),
      items: new Map([
        ['a', { title: '<span class="a-size-medium">A</span>', description: 'Alpha is first. Really.' }],
        ['b', { title: 'Same' }],
        ['c', { title: 'Same', description: 'Gamma' }],
      ]),
    };
    const { dataset, report } = prepareDataset(raw, { minUser: 0, minItem: 0 });
    expect(dataset.items.slice(1)).toEqual([
      { title: 'Alpha is first.', description: 'Alpha is first. Really.' },
      { title: 'Same [b]', description: '' },
      { title: 'Same [c]', description: 'Gamma' },
    ]);
    expect(report.items.titles).toMatchObject({ markup: 1, fromDescription: 1, madeDistinct: 2 });
    expect(report.notes.some((n) => /^1 titles were HTML markup/.test(n))).toBe(true);
    expect(report.notes.some((n) => /^2 items shared a title with another item: their key was appended \(e\.g\. b: "Same" -> "Same \[b\]"\)/.test(n))).toBe(true);
  });
});

const maybe = haveSharedDatasets() ? test : test.skip;

maybe('real Amazon 2018 Gift_Cards still prepares; what the detector finds there', async () => {
  const { dataset, report } = await loadDataset({ format: 'amazon2018', path: path.join(SHARED_DATASETS, 'amazon2018_gift_cards') });
  expect([dataset.numUsers, dataset.numItems]).toEqual([456, 147]);
  const t = report.items.titles;
  console.log(`Gift_Cards (5/5): ${dataset.numItems} items; markup ${t.markup}, tags stripped ${t.tagsStripped}, shared ${t.shared} ` +
    `(${t.sharedTitles} titles), made distinct ${t.madeDistinct}; examples ${JSON.stringify(t.examples)}`);
  expect(t).toMatchObject({ markup: 0, tagsStripped: 0, shared: 0, madeDistinct: 2 });
  expect(t.examples.madeDistinct?.before).toBe('Amazon.com Gift Card in a Gift Tag');
  const titles = dataset.items.slice(1).map((i) => i.title.toLowerCase());
  expect(new Set(titles).size).toBe(titles.length);
  // The full metadata (every item, reviewed or not): 202 of its 1,547 items are titled "Amazon eGift Card".
  const meta = zlib.gunzipSync(fs.readFileSync(path.join(SHARED_DATASETS, 'amazon2018_gift_cards', 'meta_Gift_Cards.json.gz'))).toString('utf8');
  const all = new Map<string, TitleInput>();
  for (const l of meta.trim().split('\n')) {
    const o = JSON.parse(l);
    if (!all.has(o.asin)) all.set(o.asin, item(o.asin, cleanTitle(o.title), firstLine(cleanDescription(o.description))));
  }
  const full = repairTitles([...all.values()]).report;
  console.log(`Gift_Cards full metadata: ${all.size} items; markup ${full.markup}, shared ${full.shared} (${full.sharedTitles} titles), ` +
    `from description ${full.fromDescription}, made distinct ${full.madeDistinct}; examples ${JSON.stringify(full.examples)}`);
  expect(full).toMatchObject({ markup: 0, shared: 202, sharedTitles: 1, fromDescription: 0 });
  expect(full.examples.shared).toMatchObject({ before: 'Amazon eGift Card', items: 202 });
});
