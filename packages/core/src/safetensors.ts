/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {string: string}}`, then the little-endian tensor bytes; offsets are relative
 * to the start of that byte buffer.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { writeFileAtomic } from './fs-atomic';

/** Element types read by {@link readSafetensors}. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64' | 'U8' | 'BOOL';

/** Element types written by {@link encodeSafetensors}. */
export type SafetensorsWriteDtype = 'F32' | 'F16' | 'I32' | 'U8';

/** Typed array holding a decoded tensor. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/**
 * One decoded tensor. `dtype` is the type stored in the file; `data` is converted as follows:
 * F32/F16/BF16 -> Float32Array, F64 -> Float64Array, I32 -> Int32Array, I64 -> Int32Array when
 * every value fits in 32 bits (else BigInt64Array), U8/BOOL -> Uint8Array.
 */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

/** A tensor to write. `dtype` defaults to F32 for Float32Array, I32 for Int32Array, U8 for Uint8Array. */
export interface TensorInput {
  shape: readonly number[];
  data: Float32Array | Int32Array | Uint8Array | ArrayLike<number>;
  dtype?: SafetensorsWriteDtype;
}

/** Result of {@link readSafetensors}. */
export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** Options of {@link readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Read only these tensors (all when omitted); a missing name is an error. */
  names?: readonly string[];
  /** Label used in error messages when reading from a buffer (default "<buffer>"). */
  label?: string;
}

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8, U8: 1, BOOL: 1,
};
/** The format's cap on the JSON header size (100 MB). */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

interface Entry { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }

/** Byte access to a file (positional reads) or an in-memory buffer. */
interface Source {
  size: number;
  read(position: number, into: Uint8Array): void;
  close(): void;
}

function bufferSource(buf: Uint8Array): Source {
  return {
    size: buf.byteLength,
    read: (position, into) => into.set(buf.subarray(position, position + into.byteLength)),
    close: () => undefined,
  };
}

function fileSource(file: string): Source {
  const fd = fs.openSync(file, 'r');
  const size = fs.fstatSync(fd).size;
  return {
    size,
    read(position, into) {
      let done = 0;
      while (done < into.byteLength) {
        const n = fs.readSync(fd, into, done, into.byteLength - done, position + done);
        if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
        done += n;
      }
    },
    close: () => fs.closeSync(fd),
  };
}

/**
 * Reads a safetensors file (from a path) or buffer. Tensor bytes are read straight into freshly
 * allocated typed arrays, so the returned data never aliases the input buffer.
 * @throws Error naming the file and tensor when the header is malformed, an offset is out of
 *   range or overlaps another tensor, or a shape does not match its byte length.
 */
export function readSafetensors(
  source: string | Uint8Array,
  options: ReadSafetensorsOptions = {},
): SafetensorsFile {
  return withHeader(source, options.label, (src, { entries, metadata, dataStart, fail }) => {
    let wanted = entries;
    if (options.names) {
      const byName = new Map(entries.map((e) => [e.name, e]));
      wanted = options.names.map((n) => byName.get(n) ?? fail(`tensor "${n}" not found`));
    }
    const tensors = new Map<string, SafetensorsTensor>();
    for (const e of wanted) {
      const raw = new Uint8Array(e.end - e.begin);
      src.read(dataStart + e.begin, raw);
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: decode(e, raw, fail) });
    }
    return { tensors, metadata };
  });
}

/**
 * Names, dtypes and shapes of the tensors in a safetensors file (and its metadata), read from the
 * header alone: no tensor data is read. Validated like {@link readSafetensors}.
 */
export function readSafetensorsHeader(
  source: string | Uint8Array, label?: string,
): { tensors: { name: string; dtype: SafetensorsDtype; shape: number[] }[]; metadata: Record<string, string> } {
  return withHeader(source, label, (_src, { entries, metadata }) => ({
    tensors: entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape })),
    metadata,
  }));
}

interface ParsedHeader {
  entries: Entry[];
  metadata: Record<string, string>;
  dataStart: number;
  fail: (msg: string) => never;
}

/** Opens `source`, reads and validates its header, runs `body`, and closes the source. */
function withHeader<T>(source: string | Uint8Array, labelOpt: string | undefined, body: (src: Source, h: ParsedHeader) => T): T {
  const label = typeof source === 'string' ? source : labelOpt ?? '<buffer>';
  let src: Source;
  try {
    src = typeof source === 'string' ? fileSource(source) : bufferSource(source);
  } catch (err) {
    throw new Error(`safetensors ${label}: cannot open: ${(err as Error).message}`, { cause: err });
  }
  try {
    const fail = (msg: string): never => {
      throw new Error(`safetensors ${label}: ${msg}`);
    };
    if (src.size < 8) fail(`file is ${src.size} bytes, too short for the 8-byte header length`);
    const lenBytes = new Uint8Array(8);
    src.read(0, lenBytes);
    const headerLen = Number(Buffer.from(lenBytes).readBigUInt64LE(0));
    if (headerLen > src.size - 8) {
      fail(`header length ${headerLen} is larger than the file (${src.size} bytes)`);
    }
    if (headerLen > MAX_HEADER) fail(`header length ${headerLen} exceeds the 100 MB limit`);
    const headerBytes = new Uint8Array(headerLen);
    src.read(8, headerBytes);
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(headerBytes).toString('utf8'));
    } catch (err) {
      fail(`header is not valid JSON: ${(err as Error).message}`);
    }
    if (!header || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
    const dataStart = 8 + headerLen;
    const { entries, metadata } = parseHeader(header as Record<string, unknown>, src.size - dataStart, fail);
    return body(src, { entries, metadata, dataStart, fail });
  } finally {
    src.close();
  }
}

function parseHeader(
  header: Record<string, unknown>,
  dataLen: number,
  fail: (msg: string) => never,
): { entries: Entry[]; metadata: Record<string, string> } {
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!value || typeof value !== 'object' || Array.isArray(value)) fail('"__metadata__" is not an object');
      for (const [k, v] of Object.entries(value as object)) {
        if (typeof v !== 'string') fail(`"__metadata__"."${k}" is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = `tensor "${name}"`;
    if (!value || typeof value !== 'object') fail(`${t}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      fail(`${t}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${t}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`${t}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLen) {
      fail(`${t}: data_offsets [${begin}, ${end}] out of range (data section is ${dataLen} bytes)`);
    }
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = numel * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (end - begin !== expected) {
      fail(`${t}: shape [${(shape as number[]).join(', ')}] x ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin, end });
  }
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  let prev: Entry | undefined; // the tensor reaching furthest so far
  for (const cur of sorted) {
    if (prev && cur.begin < prev.end) {
      fail(`tensor "${cur.name}": data_offsets [${cur.begin}, ${cur.end}] overlap tensor "${prev.name}" [${prev.begin}, ${prev.end}]`);
    }
    if (!prev || cur.end > prev.end) prev = cur;
  }
  return { entries, metadata };
}

function decode(e: Entry, raw: Uint8Array, fail: (msg: string) => never): TensorData {
  const n = raw.byteLength / DTYPE_BYTES[e.dtype];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (e.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST) return new Float32Array(raw.buffer, raw.byteOffset, n);
      return Float32Array.from({ length: n }, (_, i) => view.getFloat32(i * 4, true));
    case 'F64':
      if (LITTLE_ENDIAN_HOST) return new Float64Array(raw.buffer, raw.byteOffset, n);
      return Float64Array.from({ length: n }, (_, i) => view.getFloat64(i * 8, true));
    case 'I32':
      if (LITTLE_ENDIAN_HOST) return new Int32Array(raw.buffer, raw.byteOffset, n);
      return Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4, true));
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'I64': {
      const big = new BigInt64Array(n);
      let fits = true;
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(i * 8, true);
        big[i] = v;
        if (v > 2147483647n || v < -2147483648n) fits = false;
      }
      if (!fits) return big;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(big[i]);
      return out;
    }
    case 'BOOL':
      for (let i = 0; i < n; i++) {
        if (raw[i] > 1) fail(`tensor "${e.name}": BOOL element ${i} has byte value ${raw[i]} (expected 0 or 1)`);
      }
      return raw;
    case 'U8':
      return raw;
  }
}

/** Converts IEEE 754 half-precision bits to a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Converts a number to IEEE 754 half-precision bits (round to nearest even; overflow -> Inf). */
export function floatToHalf(value: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++; // may carry into the exponent: correct
  return sign | half;
}

function toEntries(
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
): [string, TensorInput][] {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  return list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Encodes tensors (F32, F16, I32, U8) and string metadata as safetensors bytes. Tensors are laid
 * out in name order, so the same tensors always give the same bytes.
 * @throws Error naming the tensor when its data length does not match its shape, a name is
 *   reserved, or the dtype cannot hold the data.
 */
export function encodeSafetensors(
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors metadata "${k}" must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of toEntries(tensors)) {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" is reserved and cannot name a tensor');
    const shape = [...t.shape];
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`safetensors tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    const numel = shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== numel) {
      throw new Error(`safetensors tensor "${name}": shape [${shape.join(', ')}] has ${numel} elements but data has ${t.data.length}`);
    }
    const dtype: SafetensorsWriteDtype =
      t.dtype ?? (t.data instanceof Int32Array ? 'I32' : t.data instanceof Uint8Array ? 'U8' : 'F32');
    const bytes = encodeData(name, dtype, t.data);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  const unpadded = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + unpadded) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.byteLength + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.byteLength), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

function encodeData(name: string, dtype: SafetensorsWriteDtype, data: ArrayLike<number>): Uint8Array {
  const n = data.length;
  if (LITTLE_ENDIAN_HOST && ((dtype === 'F32' && data instanceof Float32Array) || (dtype === 'I32' && data instanceof Int32Array))) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const buf = Buffer.alloc(n * (dtype === 'F16' ? 2 : dtype === 'U8' ? 1 : 4));
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) buf.writeFloatLE(data[i], i * 4);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) buf.writeUInt16LE(floatToHalf(data[i]), i * 2);
      break;
    case 'I32':
      for (let i = 0; i < n; i++) {
        const v = data[i];
        if (!Number.isInteger(v) || v > 2147483647 || v < -2147483648) {
          throw new Error(`safetensors tensor "${name}": element ${i} = ${v} is not a 32-bit integer`);
        }
        buf.writeInt32LE(v, i * 4);
      }
      break;
    case 'U8':
      for (let i = 0; i < n; i++) {
        const v = data[i];
        if (!Number.isInteger(v) || v < 0 || v > 255) {
          throw new Error(`safetensors tensor "${name}": element ${i} = ${v} is not a byte`);
        }
        buf[i] = v;
      }
      break;
    default:
      throw new Error(`safetensors tensor "${name}": cannot write dtype ${String(dtype)}`);
  }
  return buf;
}

/**
 * Encodes tensors and writes them to `file` atomically (temporary file + rename), so an
 * interrupted write never leaves a truncated file under `file`.
 */
export async function writeSafetensors(
  file: string,
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = encodeSafetensors(tensors, metadata);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  await writeFileAtomic(file, bytes);
}
