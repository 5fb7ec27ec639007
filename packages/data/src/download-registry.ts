import type { DatasetFormatName } from './load';

/** Public hosts the registry knows (overridable with `baseUrl` / env `ALLMREC_DATA_MIRROR`). */
export const DATA_HOSTS = {
  grouplens: 'https://files.grouplens.org/datasets/movielens',
  mcauley: 'https://datarepo.eng.ucsd.edu/mcauley_group/data',
} as const;

/** One file of a downloadable dataset. */
export interface DownloadableFile {
  host: keyof typeof DATA_HOSTS;
  /** Path below the host's base URL (also the path below a mirror). */
  path: string;
  /** Known sha256, when verified; otherwise recorded on first download in `<file>.sha256`. */
  sha256?: string;
  /** Known md5 (GroupLens publishes md5 sums). */
  md5?: string;
  /** Unzip after download. */
  unzip?: boolean;
}

/** A dataset `downloadDataset` can fetch. */
export interface DownloadableDataset {
  name: string;
  format: DatasetFormatName;
  description: string;
  files: DownloadableFile[];
  /** Folder (relative to the dataset's cache folder) to pass to loadDataset. */
  dataPath: string;
  /** Amazon category, when any. */
  category?: string;
  terms: string;
}

/** Amazon Reviews 2018 categories (McAuley lab, "small" per-category files). */
export const AMAZON2018_CATEGORIES = [
  'AMAZON_FASHION', 'All_Beauty', 'Appliances', 'Arts_Crafts_and_Sewing', 'Automotive', 'Books', 'CDs_and_Vinyl',
  'Cell_Phones_and_Accessories', 'Clothing_Shoes_and_Jewelry', 'Digital_Music', 'Electronics', 'Gift_Cards',
  'Grocery_and_Gourmet_Food', 'Home_and_Kitchen', 'Industrial_and_Scientific', 'Kindle_Store', 'Luxury_Beauty',
  'Magazine_Subscriptions', 'Movies_and_TV', 'Musical_Instruments', 'Office_Products', 'Patio_Lawn_and_Garden',
  'Pet_Supplies', 'Prime_Pantry', 'Software', 'Sports_and_Outdoors', 'Tools_and_Home_Improvement', 'Toys_and_Games',
  'Video_Games',
];

/** Amazon Reviews 2023 categories. */
export const AMAZON2023_CATEGORIES = [
  'All_Beauty', 'Amazon_Fashion', 'Appliances', 'Arts_Crafts_and_Sewing', 'Automotive', 'Baby_Products',
  'Beauty_and_Personal_Care', 'Books', 'CDs_and_Vinyl', 'Cell_Phones_and_Accessories', 'Clothing_Shoes_and_Jewelry',
  'Digital_Music', 'Electronics', 'Gift_Cards', 'Grocery_and_Gourmet_Food', 'Handmade_Products', 'Health_and_Household',
  'Health_and_Personal_Care', 'Home_and_Kitchen', 'Industrial_and_Scientific', 'Kindle_Store', 'Magazine_Subscriptions',
  'Movies_and_TV', 'Musical_Instruments', 'Office_Products', 'Patio_Lawn_and_Garden', 'Pet_Supplies', 'Software',
  'Sports_and_Outdoors', 'Subscription_Boxes', 'Tools_and_Home_Improvement', 'Toys_and_Games', 'Video_Games', 'Unknown',
];

const GROUPLENS_TERMS = 'GroupLens research licence: research use, cite Harper & Konstan 2015, no redistribution';
const MCAULEY_TERMS = 'McAuley lab data: research use; cite Ni, Li & McAuley 2019 (2018) or Hou et al. 2024 (2023)';

const MOVIELENS: DownloadableDataset[] = [
  {
    name: 'ml-100k',
    format: 'movielens-100k',
    description: 'MovieLens 100K (943 users, 1,682 movies, 100,000 ratings)',
    // md5 as published by GroupLens (ml-100k.zip.md5).
    files: [{ host: 'grouplens', path: 'ml-100k.zip', md5: '0e33842e24a9c977be4e0107933c0723', unzip: true }],
    dataPath: 'ml-100k',
    terms: GROUPLENS_TERMS,
  },
  {
    name: 'ml-1m',
    format: 'movielens-1m',
    description: 'MovieLens 1M (6,040 users, 3,706 movies, 1,000,209 ratings)',
    files: [{ host: 'grouplens', path: 'ml-1m.zip', unzip: true }],
    dataPath: 'ml-1m',
    terms: GROUPLENS_TERMS,
  },
  {
    name: 'ml-latest-small',
    format: 'movielens-latest',
    description: 'MovieLens latest small (about 100,000 ratings, 9,000 movies)',
    files: [{ host: 'grouplens', path: 'ml-latest-small.zip', unzip: true }],
    dataPath: 'ml-latest-small',
    terms: GROUPLENS_TERMS,
  },
];

function amazon2018(category: string): DownloadableDataset {
  return {
    name: `amazon2018-${category}`,
    format: 'amazon2018',
    description: `Amazon Reviews 2018 ${category}: 5-core reviews + metadata`,
    files: [
      { host: 'mcauley', path: `amazon_v2/categoryFilesSmall/${category}_5.json.gz` },
      { host: 'mcauley', path: `amazon_v2/metaFiles2/meta_${category}.json.gz` },
    ],
    dataPath: '.',
    category,
    terms: MCAULEY_TERMS,
  };
}

function amazon2023(category: string): DownloadableDataset {
  return {
    name: `amazon2023-${category}`,
    format: 'amazon2023',
    description: `Amazon Reviews 2023 ${category}: reviews + metadata`,
    files: [
      { host: 'mcauley', path: `amazon_2023/raw/review_categories/${category}.jsonl.gz` },
      { host: 'mcauley', path: `amazon_2023/raw/meta_categories/meta_${category}.jsonl.gz` },
    ],
    dataPath: '.',
    category,
    terms: MCAULEY_TERMS,
  };
}

/** Every dataset name `downloadDataset` accepts. */
export function listDownloadableDatasets(): DownloadableDataset[] {
  return [...MOVIELENS, ...AMAZON2018_CATEGORIES.map(amazon2018), ...AMAZON2023_CATEGORIES.map(amazon2023)];
}

/**
 * The downloadable dataset called `name`: "ml-100k", "ml-1m", "ml-latest-small",
 * "amazon2018-<Category>" or "amazon2023-<Category>" (category case-insensitive).
 */
export function getDownloadableDataset(name: string): DownloadableDataset {
  const ml = MOVIELENS.find((d) => d.name === name.toLowerCase());
  if (ml) return ml;
  const m = /^amazon(2018|2023)[-/:](.+)$/i.exec(name);
  if (m) {
    const list = m[1] === '2018' ? AMAZON2018_CATEGORIES : AMAZON2023_CATEGORIES;
    const cat = list.find((c) => c.toLowerCase() === m[2].toLowerCase());
    if (cat) return m[1] === '2018' ? amazon2018(cat) : amazon2023(cat);
    throw new Error(`unknown Amazon ${m[1]} category "${m[2]}" (known: ${list.join(', ')})`);
  }
  throw new Error(`unknown dataset "${name}" (known: ${MOVIELENS.map((d) => d.name).join(', ')}, amazon2018-<Category>, amazon2023-<Category>)`);
}
