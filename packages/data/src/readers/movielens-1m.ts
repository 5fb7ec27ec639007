import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataFormatError } from '../errors';
import { parseNumberField } from '../fields';
import { resolveDatasetDir } from '../files';
import { forEachLine } from '../lines';
import type { RawData, RawInteraction, RawItemMeta, ReaderOptions } from '../raw';
import { genresDescription } from './movielens-100k';

/**
 * Reads MovieLens 1M (also 10M) from its folder: `ratings.dat` (`UserID::MovieID::Rating::Timestamp`)
 * and `movies.dat` (`MovieID::Title::Genre1|Genre2`), both latin-1 encoded.
 */
export async function readMovieLens1m(p: string, _options: ReaderOptions = {}): Promise<RawData> {
  const dir = resolveDatasetDir(p, (n) => n === 'ratings.dat', 'MovieLens ratings.dat');
  const ratingsFile = path.join(dir, 'ratings.dat');
  const moviesFile = path.join(dir, 'movies.dat');
  const interactions: RawInteraction[] = [];
  await forEachLine(
    ratingsFile,
    (line, no) => {
      if (!line.trim()) return;
      const f = line.split('::');
      if (f.length < 4) throw new DataFormatError(`expected 4 "::"-separated fields, got ${f.length}`, { file: ratingsFile, line: no });
      interactions.push({
        user: f[0].trim(),
        item: f[1].trim(),
        rating: parseNumberField(f[2], ratingsFile, no, 'rating'),
        time: parseNumberField(f[3], ratingsFile, no, 'timestamp'),
        order: interactions.length,
      });
    },
    { encoding: 'latin1' },
  );
  if (interactions.length === 0) throw new DataFormatError('empty file', { file: ratingsFile });
  const items = new Map<string, RawItemMeta>();
  const files = [ratingsFile];
  const notes: string[] = [];
  if (fs.existsSync(moviesFile)) {
    files.push(moviesFile);
    await forEachLine(
      moviesFile,
      (line, no) => {
        if (!line.trim()) return;
        const f = line.split('::');
        if (f.length < 2) throw new DataFormatError('expected "MovieID::Title::Genres"', { file: moviesFile, line: no });
        items.set(f[0].trim(), {
          title: f[1].trim() || undefined,
          description: genresDescription((f[2] ?? '').split('|')),
        });
      },
      { encoding: 'latin1' },
    );
  } else {
    notes.push('movies.dat not found: items have no text');
  }
  return { name: path.basename(dir) || 'ml-1m', interactions, items, domain: 'movies', files, hasTime: true, notes };
}
