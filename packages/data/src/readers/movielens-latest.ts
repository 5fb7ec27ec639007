import * as fs from 'node:fs';
import * as path from 'node:path';
import { findColumn, forEachRecord } from '../delimited-file';
import { DataFormatError } from '../errors';
import { parseNumberField } from '../fields';
import { resolveDatasetDir } from '../files';
import type { RawData, RawInteraction, RawItemMeta, ReaderOptions } from '../raw';
import { genresDescription } from './movielens-100k';

function column(header: string[], name: string, file: string): number {
  const i = findColumn(header, [name]);
  if (i < 0) throw new DataFormatError(`missing column in header (${header.join(',')})`, { file, line: 1, field: name });
  return i;
}

/**
 * Reads MovieLens "latest" / 20M / 25M / 32M (`ratings.csv`: userId,movieId,rating,timestamp and
 * `movies.csv`: movieId,title,genres; UTF-8 with a header and RFC-4180 quoted titles).
 */
export async function readMovieLensLatest(p: string, _options: ReaderOptions = {}): Promise<RawData> {
  const dir = resolveDatasetDir(p, (n) => n === 'ratings.csv', 'MovieLens ratings.csv');
  const ratingsFile = path.join(dir, 'ratings.csv');
  const moviesFile = path.join(dir, 'movies.csv');
  const interactions: RawInteraction[] = [];
  let cols: number[] | null = null;
  await forEachRecord(
    ratingsFile,
    (f, header, no) => {
      if (!cols) cols = ['userId', 'movieId', 'rating', 'timestamp'].map((n) => column(header, n, ratingsFile));
      const [u, i, r, t] = cols;
      interactions.push({
        user: f[u].trim(),
        item: f[i].trim(),
        rating: parseNumberField(f[r], ratingsFile, no, 'rating'),
        time: parseNumberField(f[t], ratingsFile, no, 'timestamp'),
        order: interactions.length,
      });
    },
    { delimiter: ',' },
  );
  if (interactions.length === 0) throw new DataFormatError('no ratings (empty file)', { file: ratingsFile });
  const items = new Map<string, RawItemMeta>();
  const files = [ratingsFile];
  const notes: string[] = [];
  if (fs.existsSync(moviesFile)) {
    files.push(moviesFile);
    let mc: number[] | null = null;
    await forEachRecord(
      moviesFile,
      (f, header) => {
        if (!mc) mc = [column(header, 'movieId', moviesFile), column(header, 'title', moviesFile), findColumn(header, ['genres'])];
        const [id, title, genres] = mc;
        items.set(f[id].trim(), {
          title: f[title].trim() || undefined,
          description: genres >= 0 ? genresDescription(f[genres].split('|')) : undefined,
        });
      },
      { delimiter: ',' },
    );
  } else {
    notes.push('movies.csv not found: items have no text');
  }
  return { name: path.basename(dir) || 'ml-latest', interactions, items, domain: 'movies', files, hasTime: true, notes };
}
