import type { PrepareOptions } from './prepare';
import type { DatasetReader } from './raw';
import { readAmazon2014 } from './readers/amazon2014';
import { readAmazon2018 } from './readers/amazon2018';
import { readAmazon2023 } from './readers/amazon2023';
import { readCsv } from './readers/csv-reader';
import { readMovieLens100k } from './readers/movielens-100k';
import { readMovieLens1m } from './readers/movielens-1m';
import { readMovieLensLatest } from './readers/movielens-latest';
import { readRecBole } from './readers/recbole';
import { generateSynthetic } from './synthetic';

/** A registered dataset format. */
export interface DatasetFormat {
  name: string;
  description: string;
  read: DatasetReader;
  /** True when the format needs no path (generated data). */
  pathless?: boolean;
  /** Preparation defaults specific to the format (overridden by explicit options). */
  defaults?: Partial<PrepareOptions>;
}

const formats = new Map<string, DatasetFormat>();

/** Registers (or replaces) a format under its name. */
export function registerFormat(format: DatasetFormat): void {
  formats.set(format.name, format);
}

/** The format registered under `name`; throws listing the known names otherwise. */
export function getFormat(name: string): DatasetFormat {
  const f = formats.get(name);
  if (!f) throw new Error(`unknown dataset format "${name}" (known: ${[...formats.keys()].join(', ')})`);
  return f;
}

/** All registered formats, in registration order. */
export function listFormats(): DatasetFormat[] {
  return [...formats.values()];
}

// MovieLens releases are already filtered by GroupLens (every user rated >= 20 movies), and the
// reference SASRec numbers on them use every rating; RecBole atomic files are published already
// preprocessed (the shared Video_Games folder is 5-core). Those formats default to no further
// filtering; the Amazon raw formats get the paper's one-pass 5/5 filter.
const ALREADY_FILTERED: Partial<PrepareOptions> = { minUser: 0, minItem: 0 };

registerFormat({ name: 'movielens-100k', description: 'MovieLens 100K: u.data, u.item (latin-1), u.genre', read: readMovieLens100k, defaults: ALREADY_FILTERED });
registerFormat({ name: 'movielens-1m', description: 'MovieLens 1M/10M: ratings.dat, movies.dat ("::"-separated, latin-1)', read: readMovieLens1m, defaults: ALREADY_FILTERED });
registerFormat({ name: 'movielens-latest', description: 'MovieLens latest/20M/25M/32M: ratings.csv, movies.csv', read: readMovieLensLatest, defaults: ALREADY_FILTERED });
registerFormat({ name: 'amazon2018', description: 'Amazon Reviews 2018: {Category}[_5].json[.gz], meta_{Category}.json[.gz]', read: readAmazon2018 });
registerFormat({ name: 'amazon2014', description: 'Amazon Reviews 2014: reviews_{Category}[_5].json[.gz], meta_{Category}.json[.gz] (Python dict lines)', read: readAmazon2014 });
registerFormat({ name: 'amazon2023', description: 'Amazon Reviews 2023: {Category}.jsonl[.gz], meta_{Category}.jsonl[.gz]', read: readAmazon2023 });
registerFormat({ name: 'recbole', description: 'RecBole atomic files: .inter (plain or item_id_list sequences) and .item', read: readRecBole, defaults: ALREADY_FILTERED });
registerFormat({ name: 'csv', description: 'Generic CSV/TSV with a header and named columns (+ optional items file)', read: readCsv });
registerFormat({
  name: 'synthetic',
  description: 'SYNTHETIC built-in data: topics in titles + Markov-chain sequences (no path needed)',
  read: async (_path, o) =>
    generateSynthetic({ numUsers: o.numUsers, numItems: o.numItems, numTopics: o.numTopics, meanSequenceLength: o.meanSequenceLength, seed: o.seed }),
  pathless: true,
});
