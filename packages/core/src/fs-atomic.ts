/**
 * Crash-safe file writes and file checksums. A file written here is either the complete new
 * content or the previous content: never a half-written file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** The temporary name used while writing `target`: `<target>.tmp-<pid>-<random>` (same directory). */
export function tempPathFor(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Writes `data` to `file` atomically: writes a temporary file in the same directory, fsyncs it,
 * then renames it over `file`. Creates the parent directory when missing. On failure the
 * temporary file is removed and `file` keeps its previous content.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, file);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
  await fsyncDir(path.dirname(file));
}

/** Synchronous {@link writeFileAtomic}. */
export function writeFileAtomicSync(file: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Hex sha256 of a file's content, streamed (works for files larger than memory). */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const stream = createReadStream(file);
    stream.on('data', (chunk) => hash.update(chunk));
    stream.on('error', (err) => reject(new Error(`cannot hash ${file}: ${err.message}`, { cause: err })));
    stream.on('end', () => resolve(hash.digest('hex')));
  });
}

/** Hex sha256 of in-memory bytes or a string (UTF-8). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Best-effort fsync of a directory so a rename survives a power loss (no-op where unsupported). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Directories cannot be opened or synced on some platforms (Windows); ignore.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
