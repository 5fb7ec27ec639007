import { parseJsonObject } from '../fields';
import type { RawData, ReaderOptions } from '../raw';
import { locateAmazonFiles, readAmazonFiles, type AmazonLayout } from './amazon-common';

/** Amazon Reviews 2023 file names: `{Category}.jsonl[.gz]`, `meta_{Category}.jsonl[.gz]`. */
export const AMAZON2023_LAYOUT: AmazonLayout = {
  label: 'amazon2023',
  reviews: /^(?!meta_)(.+?)()\.jsonl(?:\.gz)?$/,
  meta: /^meta_(.+)\.jsonl(?:\.gz)?$/,
};

/**
 * Reads Amazon Reviews 2023 files: reviews with user_id, parent_asin (falls back to asin),
 * rating, timestamp (milliseconds, kept as is); metadata with parent_asin, title, description list.
 */
export async function readAmazon2023(p: string, options: ReaderOptions = {}): Promise<RawData> {
  const files = locateAmazonFiles(p, AMAZON2023_LAYOUT, options.category);
  return readAmazonFiles(
    files,
    AMAZON2023_LAYOUT,
    { user: ['user_id'], item: ['parent_asin', 'asin'], rating: 'rating', time: 'timestamp', metaId: ['parent_asin', 'asin'] },
    parseJsonObject,
    options,
  );
}
