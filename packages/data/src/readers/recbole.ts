import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataFormatError } from '../errors';
import { parseNumberField } from '../fields';
import { isDirectory, listMatching } from '../files';
import { cleanDescription, cleanTitle } from '../html';
import { forEachLine } from '../lines';
import type { RawData, RawInteraction, RawItemMeta, ReaderOptions } from '../raw';
import { domainFromCategory } from './amazon-common';

/** A RecBole atomic-file header field: `name:type`. */
export interface RecBoleField {
  name: string;
  type: string;
}

/** Parses a RecBole header line (`user_id:token\titem_id_list:token_seq\t...`). */
export function parseRecBoleHeader(line: string, file: string): RecBoleField[] {
  return line.split('\t').map((h, i) => {
    const m = /^\s*([^:\s]+):(token|token_seq|float|float_seq)\s*$/.exec(h);
    if (!m) throw new DataFormatError(`bad header field ${JSON.stringify(h)} (expected name:type)`, { file, line: 1, field: `column ${i + 1}` });
    return { name: m[1], type: m[2] };
  });
}

function pickInterFile(dir: string, prefix?: string): { file: string; prefix: string } {
  const tests = listMatching(dir, /\.test\.inter$/);
  const plain = listMatching(dir, /\.inter$/).filter((n) => !/\.(train|valid|test)\.inter$/.test(n));
  const candidates = tests.length ? tests : plain;
  const named = candidates.map((n) => ({ n, prefix: n.replace(/(\.test)?\.inter$/, '') }));
  const chosen = prefix ? named.filter((x) => x.prefix === prefix) : named;
  if (chosen.length === 0) throw new DataFormatError(`no RecBole .inter file${prefix ? ` for "${prefix}"` : ''} found`, { file: dir });
  if (chosen.length > 1) {
    throw new DataFormatError(`several RecBole datasets (${chosen.map((x) => x.prefix).join(', ')}); pass the category option`, { file: dir });
  }
  return { file: path.join(dir, chosen[0].n), prefix: chosen[0].prefix };
}

function pickItemFile(dir: string, prefix: string): string | undefined {
  const items = listMatching(dir, /\.item$/);
  const base = (n: string) => n.replace(/\.item$/, '');
  const exact = items.find((n) => base(n) === prefix);
  if (exact) return path.join(dir, exact);
  const prefixed = items.filter((n) => prefix.startsWith(base(n))).sort((a, b) => b.length - a.length);
  if (prefixed.length) return path.join(dir, prefixed[0]);
  return items.length === 1 ? path.join(dir, items[0]) : undefined;
}

/**
 * Reads RecBole atomic files. Two `.inter` layouts are supported:
 * - sequential: `user_id:token  item_id_list:token_seq  item_id:token` (as in `*.test.inter`);
 *   a user's full sequence is the list followed by the target (the longest row per user wins),
 *   order = sequence order, no timestamps (prepared datasets get order 'sequence');
 * - plain: `user_id:token  item_id:token  [rating:float]  [timestamp:float]`, one interaction a row
 *   (order 'time' with a timestamp column, else 'file').
 * Item text comes from the `.item` file (`item_id:token  title:token_seq  [description:token_seq]`)
 * whose name matches the inter file's prefix (`Games.item` for `Games-6k.test.inter`).
 * `path` is a folder (a `*.test.inter` is preferred over plain `*.inter`) or an `.inter` file.
 */
export async function readRecBole(p: string, options: ReaderOptions = {}): Promise<RawData> {
  if (!fs.existsSync(p)) throw new DataFormatError('path does not exist (expected RecBole atomic files)', { file: p });
  let interFile: string;
  let prefix: string;
  if (isDirectory(p)) ({ file: interFile, prefix } = pickInterFile(p, options.category));
  else {
    interFile = p;
    prefix = path.basename(p).replace(/(\.(train|valid|test))?\.inter$/, '');
  }
  const dir = path.dirname(interFile);
  let header: RecBoleField[] | null = null;
  let cols: { user: number; item: number; list: number; rating: number; time: number } | null = null;
  const interactions: RawInteraction[] = [];
  const sequences = new Map<string, string[]>();
  await forEachLine(interFile, (line, no) => {
    if (!line.trim()) return;
    if (!header) {
      header = parseRecBoleHeader(line, interFile);
      const idx = (n: string) => header!.findIndex((f) => f.name === n);
      cols = { user: idx('user_id'), item: idx('item_id'), list: idx('item_id_list'), rating: idx('rating'), time: idx('timestamp') };
      if (cols.user < 0) throw new DataFormatError('missing column user_id:token', { file: interFile, line: 1, field: 'user_id' });
      if (cols.item < 0 && cols.list < 0) throw new DataFormatError('missing column item_id:token', { file: interFile, line: 1, field: 'item_id' });
      return;
    }
    const f = line.split('\t');
    const c = cols!;
    if (f.length < header.length) throw new DataFormatError(`expected ${header.length} tab-separated fields, got ${f.length}`, { file: interFile, line: no });
    const user = f[c.user].trim();
    if (!user) throw new DataFormatError('missing value', { file: interFile, line: no, field: 'user_id' });
    if (c.list >= 0) {
      const seq = f[c.list].trim() ? f[c.list].trim().split(/\s+/) : [];
      if (c.item >= 0 && f[c.item].trim()) seq.push(f[c.item].trim());
      const prev = sequences.get(user);
      if (!prev || seq.length > prev.length) sequences.set(user, seq);
    } else {
      const item = f[c.item].trim();
      if (!item) throw new DataFormatError('missing value', { file: interFile, line: no, field: 'item_id' });
      interactions.push({
        user,
        item,
        rating: c.rating >= 0 ? parseNumberField(f[c.rating], interFile, no, 'rating') : undefined,
        time: c.time >= 0 ? parseNumberField(f[c.time], interFile, no, 'timestamp') : undefined,
        order: interactions.length,
      });
    }
  });
  if (!header) throw new DataFormatError('empty file', { file: interFile });
  const sequential = (cols as unknown as { list: number }).list >= 0;
  if (sequential) {
    for (const [user, seq] of sequences) for (const item of seq) interactions.push({ user, item, order: interactions.length });
  }
  if (interactions.length === 0) throw new DataFormatError('no interactions (header only)', { file: interFile });
  const files = [interFile];
  const items = new Map<string, RawItemMeta>();
  const notes: string[] = [];
  const itemFile = pickItemFile(dir, prefix);
  if (itemFile) {
    files.push(itemFile);
    let ih: RecBoleField[] | null = null;
    let ic = { id: -1, title: -1, desc: -1 };
    await forEachLine(itemFile, (line, no) => {
      if (!line.trim()) return;
      if (!ih) {
        ih = parseRecBoleHeader(line, itemFile);
        const idx = (n: string) => ih!.findIndex((f) => f.name === n);
        ic = { id: idx('item_id'), title: idx('title'), desc: idx('description') };
        if (ic.id < 0) throw new DataFormatError('missing column item_id:token', { file: itemFile, line: 1, field: 'item_id' });
        return;
      }
      const f = line.split('\t');
      const id = (f[ic.id] ?? '').trim();
      if (!id) throw new DataFormatError('missing value', { file: itemFile, line: no, field: 'item_id' });
      const title = ic.title >= 0 ? cleanTitle(f[ic.title]) : '';
      const description = ic.desc >= 0 ? cleanDescription(f[ic.desc] ?? '') : '';
      items.set(id, { title: title || undefined, description: description || undefined });
    });
  } else {
    notes.push('no .item file found: items have no text');
  }
  const hasTime = !sequential && cols!.time >= 0;
  if (sequential) notes.push('sequential .inter: no timestamps, order = sequence order in the file');
  return { name: prefix, interactions, items, domain: domainFromCategory(prefix), files, hasTime, explicitSequences: sequential, notes };
}
