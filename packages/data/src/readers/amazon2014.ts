import { DataFormatError } from '../errors';
import { parsePythonLiteral, PythonLiteralError } from '../python-literal';
import type { RawData, ReaderOptions } from '../raw';
import { locateAmazonFiles, readAmazonFiles, type AmazonLayout } from './amazon-common';

/** Amazon Reviews 2014 file names: `reviews_{Category}[_5].json[.gz]`, `meta_{Category}.json[.gz]`. */
export const AMAZON2014_LAYOUT: AmazonLayout = {
  label: 'amazon2014',
  reviews: /^reviews_(.+?)(_5)?\.json(?:\.gz)?$/,
  meta: /^meta_(.+)\.json(?:\.gz)?$/,
};

/**
 * Parses one line of the 2014 release: strict JSON, or else a Python dict literal (the 2014
 * metadata was written with `str(dict)`), parsed safely (never evaluated).
 */
export function parseJsonOrPythonLine(text: string, file: string, line: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    try {
      v = parsePythonLiteral(text);
    } catch (e) {
      const msg = e instanceof PythonLiteralError ? e.message : String(e);
      throw new DataFormatError(`neither JSON nor a Python literal (${msg})`, { file, line });
    }
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DataFormatError('expected an object / dict', { file, line });
  return v as Record<string, unknown>;
}

/**
 * Reads Amazon Reviews 2014 files (reviewerID, asin, overall, unixReviewTime; metadata asin,
 * title, description as a string). Lines may be JSON or Python dict literals.
 */
export async function readAmazon2014(p: string, options: ReaderOptions = {}): Promise<RawData> {
  const files = locateAmazonFiles(p, AMAZON2014_LAYOUT, options.category);
  return readAmazonFiles(
    files,
    AMAZON2014_LAYOUT,
    { user: ['reviewerID'], item: ['asin'], rating: 'overall', time: 'unixReviewTime', metaId: ['asin'] },
    parseJsonOrPythonLine,
    options,
  );
}
