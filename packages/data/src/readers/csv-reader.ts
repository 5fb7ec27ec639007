import * as fs from 'node:fs';
import * as path from 'node:path';
import { findColumn, forEachRecord } from '../delimited-file';
import { DataFormatError, MissingColumnError } from '../errors';
import { parseNumberField } from '../fields';
import { cleanDescription, cleanTitle } from '../html';
import type { RawData, RawInteraction, RawItemMeta, ReaderOptions } from '../raw';

const USER = ['user_id', 'userId', 'user', 'reviewerID', 'uid'];
const ITEM = ['item_id', 'itemId', 'movieId', 'item', 'asin', 'parent_asin', 'iid'];
const TIME = ['timestamp', 'time', 'unixReviewTime', 'date', 'datetime'];
const RATING = ['rating', 'overall', 'score'];

function col(header: string[], given: string | undefined, defaults: string[], file: string, required: boolean, what: string): number {
  const i = findColumn(header, given ? [given] : defaults);
  if (i < 0 && (required || given)) throw new MissingColumnError(what, given, given ? [given] : defaults, header, file);
  return i;
}

function parseTime(v: string, file: string, line: number, field: string): number {
  const t = v.trim();
  if (/^[+-]?\d+(\.\d+)?$/.test(t)) return Number(t);
  const d = Date.parse(t);
  if (t && Number.isFinite(d)) return d / 1000;
  return parseNumberField(t, file, line, field);
}

/**
 * Reads a generic delimited interactions file with a header (comma, tab, semicolon or pipe,
 * auto-detected; RFC-4180 quotes). Columns are chosen by name (options userColumn, itemColumn,
 * timeColumn, ratingColumn, with common defaults). Time may be numeric or an ISO date (seconds).
 * An optional items file (`options.itemsFile`) gives id/title/description columns.
 */
export async function readCsv(p: string, options: ReaderOptions = {}): Promise<RawData> {
  if (!fs.existsSync(p) || fs.statSync(p).isDirectory()) {
    throw new DataFormatError('expected the path of a delimited interactions file', { file: p });
  }
  const interactions: RawInteraction[] = [];
  let c: { u: number; i: number; t: number; r: number } | null = null;
  const names: Record<string, string> = {};
  const header = await forEachRecord(
    p,
    (f, h, no) => {
      if (!c) {
        c = {
          u: col(h, options.userColumn, USER, p, true, 'user'),
          i: col(h, options.itemColumn, ITEM, p, true, 'item'),
          t: col(h, options.timeColumn, TIME, p, false, 'time'),
          r: col(h, options.ratingColumn, RATING, p, false, 'rating'),
        };
        names.time = c.t >= 0 ? h[c.t] : '';
        names.rating = c.r >= 0 ? h[c.r] : '';
        names.user = h[c.u];
        names.item = h[c.i];
      }
      const user = f[c.u].trim();
      const item = f[c.i].trim();
      if (!user) throw new DataFormatError('missing value', { file: p, line: no, field: names.user });
      if (!item) throw new DataFormatError('missing value', { file: p, line: no, field: names.item });
      interactions.push({
        user,
        item,
        time: c.t >= 0 ? parseTime(f[c.t], p, no, names.time) : undefined,
        rating: c.r >= 0 ? parseNumberField(f[c.r], p, no, names.rating) : undefined,
        order: interactions.length,
      });
    },
    { delimiter: options.delimiter, encoding: options.encoding },
  );
  if (interactions.length === 0) throw new DataFormatError(`no records after the header (${header.join(', ')})`, { file: p });
  const files = [p];
  const items = new Map<string, RawItemMeta>();
  const notes: string[] = [];
  if (options.itemsFile) {
    const itemsFile = path.resolve(path.dirname(p), options.itemsFile);
    files.push(itemsFile);
    let ic: { id: number; title: number; desc: number } | null = null;
    await forEachRecord(
      itemsFile,
      (f, h) => {
        ic ??= {
          id: col(h, options.itemIdColumn, ITEM, itemsFile, true, 'item id'),
          title: col(h, options.titleColumn, ['title', 'name'], itemsFile, false, 'title'),
          desc: col(h, options.descriptionColumn, ['description'], itemsFile, false, 'description'),
        };
        const id = f[ic.id].trim();
        if (!id) return;
        const title = ic.title >= 0 ? cleanTitle(f[ic.title]) : '';
        const description = ic.desc >= 0 ? cleanDescription(f[ic.desc]) : '';
        items.set(id, { title: title || undefined, description: description || undefined });
      },
      { encoding: options.encoding },
    );
  } else {
    notes.push('no itemsFile given: items have no text');
  }
  const name = path.basename(p).replace(/\.[^.]+$/, '');
  return { name, interactions, items, domain: 'generic', files, hasTime: c !== null && (c as { t: number }).t >= 0, notes };
}
