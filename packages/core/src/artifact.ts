/**
 * Artifact directories: `config.json` + `weights.safetensors` + extra files + `manifest.json`
 * (sizes and sha256 of every file). Written into a temporary sibling directory and swapped into
 * place with renames, so an interrupted write leaves the previous artifact loadable and never a
 * half-written one.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fsyncDir, sha256File, sha256Hex } from './fs-atomic';
import {
  encodeSafetensors,
  readSafetensors,
  type SafetensorsTensor,
  type TensorInput,
} from './safetensors';

/** The `format` field of every artifact manifest. */
export const ARTIFACT_FORMAT = 'allmrec-artifact';
/** The manifest version written by this code. */
export const ARTIFACT_VERSION = 1;

const MANIFEST = 'manifest.json';
const CONFIG = 'config.json';
const WEIGHTS = 'weights.safetensors';

/** `manifest.json` of an artifact directory. */
export interface ArtifactManifest {
  format: typeof ARTIFACT_FORMAT;
  version: number;
  /** What the artifact holds, e.g. "sasrec", "stage1", "stage2". */
  kind: string;
  /** ISO-8601 creation time. */
  created: string;
  /** Every file of the artifact except the manifest, with its size and sha256. */
  files: Record<string, { bytes: number; sha256: string }>;
}

/** What {@link writeArtifact} writes. */
export interface ArtifactContent {
  kind: string;
  /** JSON-serialisable configuration, written as `config.json`. */
  config: object;
  /** Tensors, written as `weights.safetensors` (omitted when undefined). */
  tensors?: Record<string, TensorInput> | Map<string, TensorInput>;
  /** String metadata stored in the safetensors header. */
  tensorMetadata?: Record<string, string>;
  /** Extra files by relative path (e.g. "vocab.json"); may use sub-directories. */
  files?: Record<string, Uint8Array | string>;
}

/** Test hooks of {@link writeArtifact}. @internal */
export interface WriteArtifactOptions {
  /** Called after each file is written to the temporary directory; a throw aborts the write. */
  afterFile?: (name: string) => void | Promise<void>;
  /** Called after the old artifact was moved to its backup, before the new one is renamed in. */
  beforeSwap?: () => void | Promise<void>;
}

/** A loaded artifact. */
export interface Artifact {
  dir: string;
  kind: string;
  config: any;
  /** Tensors of `weights.safetensors` (empty when the artifact has none). */
  tensors: Map<string, SafetensorsTensor>;
  tensorMetadata: Record<string, string>;
  /** Extra files (everything except config, weights and manifest) by relative path. */
  files: Record<string, Buffer>;
  manifest: ArtifactManifest;
}

/** Options of {@link readArtifact}. */
export interface ReadArtifactOptions {
  /** Fail unless the manifest's kind equals this. */
  expectKind?: string;
  /** Skip the sha256 checks (sizes are still checked). Default false. */
  skipChecksums?: boolean;
}

function isPlainRelative(name: string): boolean {
  const norm = path.posix.normalize(name);
  return !!name && !path.isAbsolute(name) && !norm.startsWith('..') && norm === name && !name.includes('\\');
}

function checkRelativeName(name: string): void {
  if (!isPlainRelative(name)) {
    throw new Error(`artifact file name "${name}" must be a plain relative path without ".."`);
  }
  if (name === MANIFEST || name === CONFIG || name === WEIGHTS) {
    throw new Error(`artifact file name "${name}" is reserved`);
  }
}

function siblings(dir: string): { parent: string; base: string } {
  const abs = path.resolve(dir);
  return { parent: path.dirname(abs), base: path.basename(abs) };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temporary directories left next to `dir` by writers that crashed (their pid is gone). */
async function removeStaleTemps(parent: string, base: string): Promise<void> {
  const prefix = `.${base}.tmp-`;
  let names: string[];
  try {
    names = await fsp.readdir(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await fsp.rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/** Finds a backup left by a writer interrupted between its two renames. */
function findBackup(dir: string): string | undefined {
  const { parent, base } = siblings(dir);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return undefined;
  }
  const found = names.filter((n) => n.startsWith(`.${base}.bak-`)).sort();
  return found.length ? path.join(parent, found[found.length - 1]) : undefined;
}

/**
 * Writes an artifact directory atomically. The files and then `manifest.json` are written into a
 * temporary sibling directory (`.<name>.tmp-<pid>-<random>`); then an existing artifact at `dir`
 * is renamed to a backup, the new directory renamed to `dir`, and the backup removed. If the
 * process dies between the two renames, {@link readArtifact} and the next write recover the backup.
 * @returns the manifest written.
 */
export async function writeArtifact(
  dir: string,
  content: ArtifactContent,
  options: WriteArtifactOptions = {},
): Promise<ArtifactManifest> {
  if (!content.kind || typeof content.kind !== 'string') throw new Error(`writeArtifact ${dir}: kind must be a non-empty string`);
  for (const name of Object.keys(content.files ?? {})) checkRelativeName(name);
  const { parent, base } = siblings(dir);
  const target = path.join(parent, base);
  await fsp.mkdir(parent, { recursive: true });
  await removeStaleTemps(parent, base);
  // A previous writer died between its renames: put its (complete) old artifact back first.
  const orphan = !fs.existsSync(target) ? findBackup(target) : undefined;
  if (orphan) await fsp.rename(orphan, target);

  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${base}.tmp-${tag}`);
  const backup = path.join(parent, `.${base}.bak-${tag}`);
  await fsp.mkdir(tmp);
  try {
    const files: ArtifactManifest['files'] = {};
    const put = async (name: string, data: Uint8Array | string, listed = true) => {
      const file = path.join(tmp, name);
      await fsp.mkdir(path.dirname(file), { recursive: true });
      const handle = await fsp.open(file, 'wx');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (listed) files[name] = { bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength, sha256: sha256Hex(data) };
      await options.afterFile?.(name);
    };
    let configJson: string;
    try {
      configJson = JSON.stringify(content.config, null, 2);
    } catch (err) {
      throw new Error(`config is not JSON-serialisable: ${(err as Error).message}`);
    }
    if (configJson === undefined) throw new Error('config is not JSON-serialisable');
    await put(CONFIG, configJson + '\n');
    if (content.tensors) await put(WEIGHTS, encodeSafetensors(content.tensors, content.tensorMetadata));
    for (const [name, data] of Object.entries(content.files ?? {})) await put(name, data);
    const manifest: ArtifactManifest = {
      format: ARTIFACT_FORMAT,
      version: ARTIFACT_VERSION,
      kind: content.kind,
      created: new Date().toISOString(),
      files,
    };
    await put(MANIFEST, JSON.stringify(manifest, null, 2) + '\n', false);
    await fsyncDir(tmp);

    const hadOld = fs.existsSync(target);
    if (hadOld) await fsp.rename(target, backup);
    try {
      await options.beforeSwap?.();
      await fsp.rename(tmp, target);
    } catch (err) {
      if (hadOld && !fs.existsSync(target)) await fsp.rename(backup, target).catch(() => undefined);
      throw err;
    }
    await fsyncDir(parent);
    if (hadOld) await fsp.rm(backup, { recursive: true, force: true });
    return manifest;
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw new Error(`cannot write artifact ${target}: ${(err as Error).message}`, { cause: err });
  }
}

function readManifest(dir: string): ArtifactManifest {
  const file = path.join(dir, MANIFEST);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`artifact ${dir}: ${MANIFEST} is missing or unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the directory is not a complete artifact`);
  }
  let m: any;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new Error(`artifact ${dir}: ${MANIFEST} is not valid JSON: ${(err as Error).message}`);
  }
  if (!m || m.format !== ARTIFACT_FORMAT) throw new Error(`artifact ${dir}: ${MANIFEST} has format ${JSON.stringify(m?.format)}, expected "${ARTIFACT_FORMAT}"`);
  if (typeof m.version !== 'number' || m.version > ARTIFACT_VERSION) {
    throw new Error(`artifact ${dir}: ${MANIFEST} version ${m.version} is not supported (this code reads up to ${ARTIFACT_VERSION})`);
  }
  if (typeof m.kind !== 'string' || !m.files || typeof m.files !== 'object') {
    throw new Error(`artifact ${dir}: ${MANIFEST} lacks "kind" or "files"`);
  }
  if (!m.files[CONFIG]) throw new Error(`artifact ${dir}: ${MANIFEST} does not list ${CONFIG}`);
  return m as ArtifactManifest;
}

/** True when `dir` holds a readable manifest of an artifact (checksums are not verified). */
export function isArtifact(dir: string): boolean {
  try {
    readManifest(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads an artifact directory, checking every file listed in the manifest against its size and
 * sha256. If `dir` is missing but a writer was interrupted between its renames, the complete
 * previous artifact (its backup) is read instead.
 * @throws Error naming the directory and the file that is missing, corrupt or of the wrong kind.
 */
export async function readArtifact(dir: string, options: ReadArtifactOptions = {}): Promise<Artifact> {
  let root = path.resolve(dir);
  if (!fs.existsSync(root)) {
    const backup = findBackup(root);
    if (!backup) throw new Error(`artifact ${root} does not exist`);
    root = backup;
  }
  const manifest = readManifest(root);
  if (options.expectKind !== undefined && manifest.kind !== options.expectKind) {
    throw new Error(`artifact ${root} is a "${manifest.kind}" artifact, expected "${options.expectKind}"`);
  }
  for (const [name, info] of Object.entries(manifest.files)) {
    if (!isPlainRelative(name) || name === MANIFEST) throw new Error(`artifact ${root}: ${MANIFEST} lists an invalid file name "${name}"`);
    const file = path.join(root, name);
    let stat: fs.Stats;
    try {
      stat = await fsp.stat(file);
    } catch {
      throw new Error(`artifact ${root}: file ${name} is missing`);
    }
    if (stat.size !== info.bytes) {
      throw new Error(`artifact ${root}: file ${name} has ${stat.size} bytes, the manifest says ${info.bytes} (truncated or modified)`);
    }
    if (!options.skipChecksums) {
      const sum = await sha256File(file);
      if (sum !== info.sha256) {
        throw new Error(`artifact ${root}: file ${name} fails its checksum (sha256 ${sum}, manifest ${info.sha256}); it was modified or corrupted`);
      }
    }
  }
  let config: unknown;
  try {
    config = JSON.parse(await fsp.readFile(path.join(root, CONFIG), 'utf8'));
  } catch (err) {
    throw new Error(`artifact ${root}: ${CONFIG} is not valid JSON: ${(err as Error).message}`);
  }
  let tensors = new Map<string, SafetensorsTensor>();
  let tensorMetadata: Record<string, string> = {};
  if (manifest.files[WEIGHTS]) {
    ({ tensors, metadata: tensorMetadata } = readSafetensors(path.join(root, WEIGHTS)));
  }
  const files: Record<string, Buffer> = {};
  for (const name of Object.keys(manifest.files)) {
    if (name === CONFIG || name === WEIGHTS) continue;
    files[name] = await fsp.readFile(path.join(root, name));
  }
  return { dir: root, kind: manifest.kind, config, tensors, tensorMetadata, files, manifest };
}
