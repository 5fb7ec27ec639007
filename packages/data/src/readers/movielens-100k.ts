import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataFormatError } from '../errors';
import { parseNumberField } from '../fields';
import { resolveDatasetDir } from '../files';
import { forEachLine, readLines } from '../lines';
import type { RawData, RawInteraction, RawItemMeta, ReaderOptions } from '../raw';

/** The 19 genres of MovieLens 100K, used when `u.genre` is absent. */
export const ML100K_GENRES = [
  'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama',
  'Fantasy', 'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western',
];

/** "Genres: A, B" from a genre list (the "unknown" genre and "(no genres listed)" are dropped). */
export function genresDescription(genres: string[]): string | undefined {
  const g = genres.map((x) => x.trim()).filter((x) => x && x !== 'unknown' && x !== '(no genres listed)');
  return g.length ? `Genres: ${g.join(', ')}` : undefined;
}

/**
 * Reads MovieLens 100K from its folder (or any file in it): `u.data` (tab-separated user, item,
 * rating, unix time), `u.item` (pipe-separated, latin-1: id|title|release|video release|url|19
 * genre flags) and `u.genre`. Item description = "Genres: ...". The title "unknown" (item 267)
 * counts as missing.
 */
export async function readMovieLens100k(p: string, _options: ReaderOptions = {}): Promise<RawData> {
  const dir = resolveDatasetDir(p, (n) => n === 'u.data', 'MovieLens 100K u.data');
  const dataFile = path.join(dir, 'u.data');
  const itemFile = path.join(dir, 'u.item');
  const genreFile = path.join(dir, 'u.genre');
  const interactions: RawInteraction[] = [];
  await forEachLine(
    dataFile,
    (line, no) => {
      if (!line.trim()) return;
      const f = line.split('\t');
      if (f.length < 4) throw new DataFormatError(`expected 4 tab-separated fields, got ${f.length}`, { file: dataFile, line: no });
      interactions.push({
        user: f[0].trim(),
        item: f[1].trim(),
        rating: parseNumberField(f[2], dataFile, no, 'rating'),
        time: parseNumberField(f[3], dataFile, no, 'timestamp'),
        order: interactions.length,
      });
    },
    { encoding: 'utf8' },
  );
  if (interactions.length === 0) throw new DataFormatError('empty file', { file: dataFile });

  let genres = ML100K_GENRES;
  const files = [dataFile];
  if (fs.existsSync(genreFile)) {
    files.push(genreFile);
    const g: string[] = [];
    for (const line of await readLines(genreFile, { encoding: 'latin1' })) {
      if (!line.trim()) continue;
      const [name, idx] = line.split('|');
      g[Number(idx)] = name;
    }
    if (g.length) genres = g;
  }
  const items = new Map<string, RawItemMeta>();
  const notes: string[] = [];
  if (fs.existsSync(itemFile)) {
    files.push(itemFile);
    await forEachLine(
      itemFile,
      (line, no) => {
        if (!line.trim()) return;
        const f = line.split('|');
        if (f.length < 5) throw new DataFormatError(`expected pipe-separated fields, got ${f.length}`, { file: itemFile, line: no });
        const flags = f.slice(5);
        const names = flags.map((x, i) => (x.trim() === '1' ? genres[i] ?? `genre${i}` : '')).filter(Boolean);
        const title = f[1].trim();
        items.set(f[0].trim(), {
          title: title && title !== 'unknown' ? title : undefined,
          description: genresDescription(names),
        });
      },
      { encoding: 'latin1' },
    );
  } else {
    notes.push('u.item not found: items have no text');
  }
  return { name: 'ml-100k', interactions, items, domain: 'movies', files, hasTime: true, notes };
}
