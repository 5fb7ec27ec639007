import { parseJsonObject } from '../fields';
import type { RawData, ReaderOptions } from '../raw';
import { locateAmazonFiles, readAmazonFiles, type AmazonLayout } from './amazon-common';

/** Amazon Reviews 2018 file names: `{Category}_5.json[.gz]` or `{Category}.json[.gz]`, `meta_{Category}.json[.gz]`. */
export const AMAZON2018_LAYOUT: AmazonLayout = {
  label: 'amazon2018',
  reviews: /^(?!meta_)(.+?)(_5)?\.json(?:\.gz)?$/,
  meta: /^meta_(.+)\.json(?:\.gz)?$/,
};

/**
 * Reads Amazon Reviews 2018 raw files: one JSON review a line (reviewerID, asin, overall,
 * unixReviewTime) and one JSON product a line (asin, title, description list).
 * `path` is the folder (category auto-detected or `options.category`) or the review file.
 */
export async function readAmazon2018(p: string, options: ReaderOptions = {}): Promise<RawData> {
  const files = locateAmazonFiles(p, AMAZON2018_LAYOUT, options.category);
  return readAmazonFiles(
    files,
    AMAZON2018_LAYOUT,
    { user: ['reviewerID'], item: ['asin'], rating: 'overall', time: 'unixReviewTime', metaId: ['asin'] },
    parseJsonObject,
    options,
  );
}
