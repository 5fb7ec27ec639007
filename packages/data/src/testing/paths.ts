import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The shared real datasets folder (read-only), relative to this repository. */
export const SHARED_DATASETS = path.resolve(__dirname, '../../../../../shared/datasets');

/** True when the shared datasets are present; logs why tests are skipped otherwise. */
export function haveSharedDatasets(): boolean {
  const ok = fs.existsSync(path.join(SHARED_DATASETS, 'ml-100k', 'u.data'));
  if (!ok) console.warn(`SKIPPED real-data tests: ${SHARED_DATASETS} not found`);
  return ok;
}

/** A fresh temporary folder for one test file. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `allmrec-data-${prefix}-`));
}
