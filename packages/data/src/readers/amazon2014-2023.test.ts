import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadDataset } from '../load';
import { tempDir } from '../testing/paths';
import { readAmazon2014 } from './amazon2014';
import { readAmazon2023 } from './amazon2023';

describe('Amazon 2014 (Python dict literal lines)', () => {
  test('reads reviews (JSON) and metadata (Python literals) without eval', async () => {
    const dir = tempDir('amz14');
    fs.writeFileSync(
      path.join(dir, 'reviews_Beauty_5.json.gz'),
      zlib.gzipSync(
        [
          '{"reviewerID": "A1YJEY40YUW4SE", "asin": "7806397051", "overall": 1.0, "unixReviewTime": 1391040000}',
          '{"reviewerID": "A1YJEY40YUW4SE", "asin": "9759091062", "overall": 5.0, "unixReviewTime": 1390000000}',
        ].join('\n'),
      ),
    );
    fs.writeFileSync(
      path.join(dir, 'meta_Beauty.json.gz'),
      zlib.gzipSync(
        [
          "{'asin': '7806397051', 'description': \"It's a \\\"palette\\\" &amp; more\", 'title': 'Xtreme Brite Brightening Gel 1oz.', 'price': 3.99, 'salesRank': {'Beauty': 12}, 'categories': [['Beauty', 'Makeup'], ('x', 1)], 'related': {'also_bought': ['B0']}, 'flag': True, 'none': None}",
          "{'asin': '9759091062', 'description': 'Line one\\nLine two', 'title': u'Caf\\xe9 \\u00e9t\\u00e9'}",
        ].join('\n'),
      ),
    );
    const raw = await readAmazon2014(dir);
    expect(raw.name).toBe('amazon2014-Beauty');
    expect(raw.items.get('7806397051')).toEqual({ title: 'Xtreme Brite Brightening Gel 1oz.', description: 'It\'s a "palette" & more' });
    expect(raw.items.get('9759091062')).toEqual({ title: 'Café été', description: 'Line one\nLine two' });
    const { dataset } = await loadDataset({ format: 'amazon2014', path: dir, minUser: 0, minItem: 0 });
    expect(dataset.order).toBe('time');
    expect(dataset.domain).toBe('beauty');
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(['9759091062', '7806397051']);
    expect(dataset.items[1].description).toBe('Line one');
  });

  test('a line that is neither JSON nor a Python literal is a DataFormatError', async () => {
    const dir = tempDir('amz14-bad');
    fs.writeFileSync(path.join(dir, 'reviews_Toys_5.json'), "{'reviewerID': 'A', 'asin': 'B', 'overall': 5.0, 'unixReviewTime': __import__('os')}\n");
    await expect(readAmazon2014(dir)).rejects.toMatchObject({ name: 'DataFormatError', line: 1 });
  });
});

describe('Amazon 2023 (.jsonl)', () => {
  test('user_id, parent_asin, rating, timestamp in ms; meta by parent_asin', async () => {
    const dir = tempDir('amz23');
    const r = (u: string, a: string, p: string, t: number, rating = 5) => JSON.stringify({ rating, title: 'x', text: 'y', asin: a, parent_asin: p, user_id: u, timestamp: t, verified_purchase: true });
    fs.writeFileSync(path.join(dir, 'Video_Games.jsonl'), [r('U1', 'A1', 'P1', 1588615855070), r('U1', 'A2', 'P2', 1588615855000), r('U2', 'A3', 'P1', 1)].join('\n') + '\n');
    fs.writeFileSync(
      path.join(dir, 'meta_Video_Games.jsonl.gz'),
      zlib.gzipSync(
        [
          JSON.stringify({ main_category: 'Video Games', title: 'Super Game &#8482;', parent_asin: 'P1', description: ['Great <i>game</i>', 'more'] }),
          JSON.stringify({ main_category: 'Video Games', title: 'Controller', parent_asin: 'P2', description: [] }),
        ].join('\n'),
      ),
    );
    const raw = await readAmazon2023(dir);
    expect(raw.name).toBe('amazon2023-Video_Games');
    expect(raw.interactions[0]).toEqual({ user: 'U1', item: 'P1', rating: 5, time: 1588615855070, order: 0 });
    const { dataset, report } = await loadDataset({ format: 'amazon2023', path: dir, minUser: 0, minItem: 0 });
    expect(dataset.order).toBe('time');
    expect(dataset.domain).toBe('games');
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(['P2', 'P1']);
    expect(dataset.items[2]).toEqual({ title: 'Super Game ™', description: 'Great game' });
    expect(report.items.withoutDescription).toBe(1);
  });
});
