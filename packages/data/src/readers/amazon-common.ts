import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataFormatError } from '../errors';
import { parseNumberField, requireKey } from '../fields';
import { isDirectory, listMatching } from '../files';
import { cleanDescription, cleanTitle } from '../html';
import { forEachLine } from '../lines';
import type { Domain, RawData, RawInteraction, RawItemMeta, ReaderOptions } from '../raw';

/** Domain of an Amazon category name (Video_Games -> games, Movies_and_TV -> movies, ...). */
export function domainFromCategory(category: string): Domain {
  const c = category.toLowerCase();
  if (c.includes('movie')) return 'movies';
  if (c.includes('toy')) return 'toys';
  if (c.includes('video_game') || c === 'games' || c.startsWith('games')) return 'games';
  if (c.includes('beauty')) return 'beauty';
  return 'generic';
}

/** File naming of one Amazon release. */
export interface AmazonLayout {
  /** Release label used in names and messages ("amazon2018"). */
  label: string;
  /** Review file name pattern; group 1 = category; group 2 (optional) = 5-core marker. */
  reviews: RegExp;
  /** Metadata file name pattern; group 1 = category. */
  meta: RegExp;
}

/** The review and metadata files chosen for one category. */
export interface AmazonFiles {
  category: string;
  reviewFile: string;
  metaFile?: string;
}

/**
 * Finds the review and metadata files of one category in a folder (or from a review file path).
 * The category comes from `options.category` or is auto-detected when the folder holds exactly
 * one; the 5-core review file is preferred when both it and the full file are present.
 */
export function locateAmazonFiles(p: string, layout: AmazonLayout, category?: string): AmazonFiles {
  if (!fs.existsSync(p)) throw new DataFormatError(`path does not exist (expected ${layout.label} files)`, { file: p });
  let dir = p;
  let reviewName: string | undefined;
  if (!isDirectory(p)) {
    dir = path.dirname(p);
    reviewName = path.basename(p);
    const m = layout.reviews.exec(reviewName);
    if (!m || layout.meta.test(reviewName)) throw new DataFormatError(`not a ${layout.label} review file name`, { file: p });
    category ??= m[1];
  }
  const reviewFiles = listMatching(dir, layout.reviews).filter((n) => !layout.meta.test(n));
  let categories = [...new Set(reviewFiles.map((n) => layout.reviews.exec(n)![1]))];
  if (categories.length > 1) {
    // Other JSON files may sit in the folder (e.g. STATS.json): prefer categories with a meta file.
    const withMeta = new Set(listMatching(dir, layout.meta).map((n) => layout.meta.exec(n)![1]));
    const narrowed = categories.filter((c) => withMeta.has(c));
    if (narrowed.length >= 1) categories = narrowed;
  }
  if (!reviewName) {
    if (!category) {
      if (categories.length === 0) throw new DataFormatError(`no ${layout.label} review file found`, { file: dir });
      if (categories.length > 1) {
        throw new DataFormatError(`several categories found (${categories.join(', ')}); pass the category option`, { file: dir });
      }
      category = categories[0];
    }
    const mine = reviewFiles.filter((n) => layout.reviews.exec(n)![1] === category);
    if (mine.length === 0) throw new DataFormatError(`no review file for category "${category}" (found: ${categories.join(', ') || 'none'})`, { file: dir });
    mine.sort((a, b) => Number(!!layout.reviews.exec(b)![2]) - Number(!!layout.reviews.exec(a)![2]) || a.length - b.length);
    reviewName = mine[0];
  }
  const metaName = listMatching(dir, layout.meta).find((n) => layout.meta.exec(n)![1] === category);
  return { category: category!, reviewFile: path.join(dir, reviewName), metaFile: metaName ? path.join(dir, metaName) : undefined };
}

/** How to read the fields of one review / metadata object. */
export interface AmazonFieldMap {
  user: string[];
  item: string[];
  rating: string;
  time: string;
  metaId: string[];
}

function pick(obj: Record<string, unknown>, keys: string[]): unknown {
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== null && obj[k] !== '') return obj[k];
  return undefined;
}

/**
 * Streams an Amazon review file and its metadata file with a line parser (JSON or Python
 * literal). Only metadata of reviewed items is kept. Titles and descriptions are cleaned (HTML
 * entities decoded, tags stripped from descriptions).
 */
export async function readAmazonFiles(
  files: AmazonFiles,
  layout: AmazonLayout,
  fields: AmazonFieldMap,
  parseLine: (text: string, file: string, line: number) => Record<string, unknown>,
  options: ReaderOptions,
): Promise<RawData> {
  const interactions: RawInteraction[] = [];
  const { reviewFile, metaFile } = files;
  await forEachLine(reviewFile, (line, no) => {
    if (!line.trim()) return;
    const o = parseLine(line, reviewFile, no);
    const user = requireKey(pick(o, fields.user), reviewFile, no, fields.user[0]);
    const item = requireKey(pick(o, fields.item), reviewFile, no, fields.item[0]);
    const rating = o[fields.rating] === undefined ? undefined : parseNumberField(o[fields.rating], reviewFile, no, fields.rating);
    const time = parseNumberField(o[fields.time], reviewFile, no, fields.time);
    interactions.push({ user, item, rating, time, order: interactions.length });
    if (options.onProgress && interactions.length % 100000 === 0) {
      options.onProgress({ task: 'data:read', current: interactions.length, unit: 'reviews' });
    }
  });
  if (interactions.length === 0) throw new DataFormatError('empty file (no reviews)', { file: reviewFile });
  const items = new Map<string, RawItemMeta>();
  const notes: string[] = [];
  const out: string[] = [reviewFile];
  if (metaFile) {
    out.push(metaFile);
    const needed = new Set(interactions.map((x) => x.item));
    let duplicates = 0;
    await forEachLine(metaFile, (line, no) => {
      if (!line.trim()) return;
      const o = parseLine(line, metaFile, no);
      const id = requireKey(pick(o, fields.metaId), metaFile, no, fields.metaId[0]);
      if (!needed.has(id)) return;
      const title = cleanTitle(typeof o.title === 'string' ? o.title : undefined);
      const description = cleanDescription(o.description);
      const prev = items.get(id);
      if (prev) {
        duplicates++;
        if (prev.title || !title) return;
      }
      items.set(id, { title: title || undefined, description: description || undefined });
    });
    if (duplicates) notes.push(`${duplicates} repeated metadata rows (first row with a title kept)`);
  } else {
    notes.push(`no meta_${files.category} file found next to the reviews: items have no text`);
  }
  return {
    name: `${layout.label}-${files.category}`,
    interactions,
    items,
    domain: domainFromCategory(files.category),
    files: out,
    hasTime: true,
    notes,
  };
}
