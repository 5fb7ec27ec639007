export { DataFormatError, MissingColumnError, type DataFormatLocation } from './errors';
export type { Domain, RawData, RawInteraction, RawItemMeta, ReaderOptions, DatasetReader } from './raw';
export { forEachLine, readLines, type TextEncoding } from './lines';
export { decodeHtmlEntities, stripHtmlTags, cleanTitle, cleanDescription, firstLine } from './html';
export { parsePythonLiteral, PythonLiteralError } from './python-literal';
export { splitDelimited, detectDelimiter } from './csv';
export { readMovieLens100k } from './readers/movielens-100k';
export { readMovieLens1m } from './readers/movielens-1m';
export { readMovieLensLatest } from './readers/movielens-latest';
export { readAmazon2018 } from './readers/amazon2018';
export { readAmazon2014 } from './readers/amazon2014';
export { readAmazon2023 } from './readers/amazon2023';
export { readRecBole } from './readers/recbole';
export { readCsv } from './readers/csv-reader';
export { generateSynthetic, type SyntheticOptions } from './synthetic';
export {
  prepareDataset,
  onePassFilter,
  type PrepareOptions,
  type PreparationReport,
  type PreparationStep,
  type DedupeMode,
} from './prepare';
export { formatItemText, EMPTY_DESCRIPTION } from './item-text';
export {
  repairTitles,
  classifyMarkup,
  firstSentence,
  type TitleRepairReport,
  type TitleRepairOptions,
  type TitleInput,
  type TitleExample,
} from './titles';
export { leaveOneOut } from './split';
export { sampleNegatives } from './negatives';
export { datasetStats, type DatasetStats } from './stats';
export { registerFormat, getFormat, listFormats, type DatasetFormat } from './registry';
export { loadDataset, type LoadDatasetOptions, type DatasetFormatName } from './load';
export { crc32, readZipEntries, readZipEntry, extractZip, type ZipEntry } from './zip';
export {
  listDownloadableDatasets,
  getDownloadableDataset,
  AMAZON2018_CATEGORIES,
  AMAZON2023_CATEGORIES,
  DATA_HOSTS,
  type DownloadableDataset,
  type DownloadableFile,
} from './download-registry';
export {
  downloadDataset,
  defaultCacheRoot,
  DatasetOfflineError,
  ChecksumError,
  type DownloadDatasetOptions,
  type DownloadedDataset,
} from './download';
export { savePreparedDataset, loadPreparedDataset } from './prepared';
