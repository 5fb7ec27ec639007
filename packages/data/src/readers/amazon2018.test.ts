import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadDataset } from '../load';
import { SHARED_DATASETS, haveSharedDatasets, tempDir } from '../testing/paths';
import { readAmazon2018 } from './amazon2018';

const DIR = path.join(SHARED_DATASETS, 'amazon2018_gift_cards');
const maybe = haveSharedDatasets() ? describe : describe.skip;

function gunzipLines(file: string): Record<string, any>[] {
  return zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
}

maybe('Amazon 2018 (real Gift_Cards files)', () => {
  const reviews = gunzipLines(path.join(DIR, 'Gift_Cards_5.json.gz'));

  test('raw counts match STATS.json and the first review', async () => {
    const raw = await readAmazon2018(DIR);
    expect(raw.name).toBe('amazon2018-Gift_Cards');
    expect(raw.interactions).toHaveLength(2972);
    expect(new Set(raw.interactions.map((x) => x.user)).size).toBe(458);
    expect(new Set(raw.interactions.map((x) => x.item)).size).toBe(148);
    expect(raw.interactions[0]).toEqual({ user: 'A31UBHTUUIFJUT', item: 'B004LLIKVU', rating: 5, time: 1529193600, order: 0 });
    expect(raw.items.size).toBe(148);
  });

  test('HTML entities in titles are decoded', async () => {
    const meta = gunzipLines(path.join(DIR, 'meta_Gift_Cards.json.gz'));
    const rawTitle = meta.find((m) => m.asin === 'B00BXLV55Y')!.title;
    expect(rawTitle).toBe('Noodles &amp; Company Gift Card');
    const raw = await readAmazon2018(path.join(DIR, 'Gift_Cards_5.json.gz'));
    expect(raw.items.get('B00BXLV55Y')!.title).toBe('Noodles & Company Gift Card');
    expect(raw.items.get('B00MV9GCYQ')!.title).toBe("Papa John's Pizza Gift Cards - E-mail Delivery");
    for (const m of raw.items.values()) expect(m.title ?? '').not.toMatch(/&(amp|quot|#39);/);
  });

  test('exact duplicate reviews (same user, item, time, rating) are dropped: 2,972 -> 2,969', async () => {
    const keys = new Set(reviews.map((r) => `${r.reviewerID}|${r.asin}|${r.unixReviewTime}|${r.overall}`));
    const { dataset, report } = await loadDataset({ format: 'amazon2018', path: DIR, minUser: 0, minItem: 0 });
    expect([dataset.order, report.order]).toEqual(['time', 'time']);
    expect(report.duplicatesDropped).toBe(reviews.length - keys.size);
    expect(report.duplicatesDropped).toBe(3);
    expect(dataset.sequences.reduce((s, q) => s + q.length, 0)).toBe(keys.size);
    expect(dataset.numUsers).toBe(458);
    expect(dataset.numItems).toBe(148);
    expect(dataset.domain).toBe('generic');
  });

  test('default 5/5 one-pass filter after dedup equals an independent recount', async () => {
    const seen = new Set<string>();
    const rows = reviews.filter((r) => {
      const k = `${r.reviewerID}|${r.asin}|${r.unixReviewTime}|${r.overall}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    const uc = new Map<string, number>();
    const ic = new Map<string, number>();
    for (const r of rows) {
      uc.set(r.reviewerID, (uc.get(r.reviewerID) ?? 0) + 1);
      ic.set(r.asin, (ic.get(r.asin) ?? 0) + 1);
    }
    const kept = rows.filter((r) => uc.get(r.reviewerID)! >= 5 && ic.get(r.asin)! >= 5);
    const { dataset } = await loadDataset({ format: 'amazon2018', path: DIR });
    expect(dataset.numUsers).toBe(new Set(kept.map((r) => r.reviewerID)).size);
    expect(dataset.numItems).toBe(new Set(kept.map((r) => r.asin)).size);
    expect(dataset.sequences.reduce((s, q) => s + q.length, 0)).toBe(kept.length);
  });
});

describe('Amazon 2018 fixtures', () => {
  test('uncompressed files, description list with HTML, title fallback, category option', async () => {
    const dir = tempDir('amz18');
    const r = (u: string, a: string, t: number, o = 5) => JSON.stringify({ reviewerID: u, asin: a, overall: o, unixReviewTime: t });
    fs.writeFileSync(path.join(dir, 'Toys_and_Games_5.json'), [r('U1', 'A', 3), r('U1', 'B', 1), r('U2', 'A', 2)].join('\n') + '\n');
    fs.writeFileSync(
      path.join(dir, 'meta_Toys_and_Games.json'),
      [
        JSON.stringify({ asin: 'A', title: 'Blocks &quot;Deluxe&quot;', description: ['<p>Build <b>tall</b> towers&nbsp;&#38; more</p><br>Second line'] }),
        JSON.stringify({ asin: 'B', title: '  ', description: ['', 'Fun &#x41;ction figure<br/>with cape'] }),
        JSON.stringify({ asin: 'Z', title: 'Not reviewed' }),
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'Video_Games_5.json'), r('U9', 'Q', 1) + '\n');
    fs.writeFileSync(path.join(dir, 'notes.json'), '{}\n'); // stray JSON files without meta are ignored
    expect((await readAmazon2018(dir)).name).toBe('amazon2018-Toys_and_Games');
    fs.writeFileSync(path.join(dir, 'meta_Video_Games.json'), JSON.stringify({ asin: 'Q', title: 'Q' }) + '\n');
    await expect(readAmazon2018(dir)).rejects.toThrow(/several categories found \(Toys_and_Games, Video_Games\)/);
    const raw = await readAmazon2018(dir, { category: 'Toys_and_Games' });
    expect(raw.items.has('Z')).toBe(false);
    expect(raw.items.get('A')).toEqual({ title: 'Blocks "Deluxe"', description: 'Build tall towers & more\nSecond line' });
    const { dataset, report } = await loadDataset({ format: 'amazon2018', path: dir, category: 'Toys_and_Games', minUser: 0, minItem: 0 });
    expect(dataset.domain).toBe('toys');
    // U1: B (t=1) then A (t=3)
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(['B', 'A']);
    expect(dataset.items[1]).toEqual({ title: 'Fun Action figure', description: '' });
    expect(dataset.items[2]).toEqual({ title: 'Blocks "Deluxe"', description: 'Build tall towers & more' });
    expect(report.items.titleFromDescription).toBe(1);
    expect(report.items.examples.titleFromDescription).toEqual(['B']);
  });

  test('minRating drops low ratings before counting', async () => {
    const dir = tempDir('amz18-rating');
    const lines: string[] = [];
    for (let u = 0; u < 4; u++) for (let i = 0; i < 4; i++) lines.push(JSON.stringify({ reviewerID: `U${u}`, asin: `I${i}`, overall: u === 0 && i === 0 ? 1 : 5, unixReviewTime: i }));
    fs.writeFileSync(path.join(dir, 'Luxury_Beauty_5.json.gz'), zlib.gzipSync(lines.join('\n')));
    const { dataset, report } = await loadDataset({ format: 'amazon2018', path: dir, minUser: 4, minItem: 4, minRating: 3 });
    // U0 and I0 fall to 3 counted reviews after the rating filter, so they are removed (one pass).
    expect(report.lowRatingDropped).toBe(1);
    expect(dataset.userKeys.slice(1).sort()).toEqual(['U1', 'U2', 'U3']);
    expect(dataset.itemKeys.slice(1).sort()).toEqual(['I1', 'I2', 'I3']);
    expect(dataset.domain).toBe('beauty');
    expect(report.notes.join()).toMatch(/no meta_Luxury_Beauty/);
  });
});
