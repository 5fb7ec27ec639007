/**
 * A small protobuf writer for the subset of ONNX (onnx/onnx.proto, IR version 8) needed to
 * express decoder graphs: ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto,
 * AttributeProto (int, float, string, tensor, ints, floats).
 *
 * Messages are built as lists of byte chunks, so large float32 initializers are referenced (not
 * copied) until the final serialisation, which copies each byte once.
 *
 * Size limit: a protobuf message cannot exceed 2 GiB (signed 32-bit sizes in every protobuf
 * parser, onnxruntime's included). {@link encodeModel} therefore moves initializers to an external
 * data file (ONNX's external-data convention: `TensorProto.data_location = EXTERNAL` plus
 * `external_data` entries `location`, `offset`, `length`; onnxruntime resolves `location` relative
 * to the directory of the model file) when their total exceeds a threshold (1.5 GB by default),
 * or always/never on request.
 */
import * as os from 'node:os';

/** TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
} as const;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';
const textEncoder = new TextEncoder();

/**
 * One protobuf message under construction: a list of byte chunks plus their total length.
 * Field numbers and wire types follow https://protobuf.dev/programming-guides/encoding/.
 */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  /** Total encoded length in bytes. */
  length = 0;

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.length += this.scratch.length;
    this.scratch = [];
  }

  private pushByte(b: number): void {
    this.scratch.push(b);
    if (this.scratch.length >= 4096) this.flushScratch();
  }

  private varint(v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error(`varint: ${v} is not a safe integer`);
      if (v >= 0) {
        // Fast path for non-negative numbers (arithmetic, not 32-bit shifts: values may exceed 2^31).
        while (v >= 0x80) { this.pushByte((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
        this.pushByte(v);
        return;
      }
    }
    let x = BigInt.asUintN(64, BigInt(v)); // negative int64: ten-byte two's complement
    while (x >= 0x80n) { this.pushByte(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    this.pushByte(Number(x));
  }

  private key(field: number, wire: 0 | 1 | 2 | 5): void { this.varint(field * 8 + wire); }

  /** A varint field (int32/int64/enum/bool). */
  int(field: number, v: number | bigint): this { this.key(field, 0); this.varint(v); return this; }

  /** A float (fixed32) field. */
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.pushByte(x);
    return this;
  }

  /** A length-delimited bytes field; `data` is referenced, not copied. */
  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.varint(data.byteLength);
    if (data.byteLength <= 256) {
      for (const x of data) this.pushByte(x);
    } else {
      this.flushScratch();
      this.chunks.push(data);
      this.length += data.byteLength;
    }
    return this;
  }

  /** A string field (UTF-8). */
  str(field: number, s: string): this { return this.bytes(field, textEncoder.encode(s)); }

  /** An embedded message field. */
  msg(field: number, m: ProtoWriter): this {
    m.flushScratch();
    this.key(field, 2);
    this.varint(m.length);
    this.flushScratch();
    for (const c of m.chunks) this.chunks.push(c);
    this.length += m.length;
    return this;
  }

  /** A packed repeated varint field. */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    inner.flushScratch();
    this.key(field, 2);
    this.varint(inner.length);
    this.flushScratch();
    for (const c of inner.chunks) this.chunks.push(c);
    this.length += inner.length;
    return this;
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: readonly number[]): this {
    const arr = Float32Array.from(values);
    return this.bytes(field, leBytes(arr));
  }

  /** The encoded chunks (the message is complete). */
  finish(): Uint8Array[] {
    this.flushScratch();
    return this.chunks;
  }

  /** The encoded message as one buffer. */
  build(): Uint8Array {
    const chunks = this.finish();
    if (this.length > 2 ** 31 - 1) {
      throw new Error(`protobuf message of ${this.length} bytes exceeds the 2 GiB protobuf limit: use external data`);
    }
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of chunks) { out.set(c, o); o += c.byteLength; }
    return out;
  }
}

/** Little-endian bytes of a typed array (a view on little-endian hosts, a swapped copy otherwise). */
export function leBytes(a: Float32Array | Int32Array | BigInt64Array | Uint8Array): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN_HOST || a.BYTES_PER_ELEMENT === 1) return view;
  const out = new Uint8Array(view.length);
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < view.length; i += w) for (let j = 0; j < w; j++) out[i + j] = view[i + w - 1 - j];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plain-data descriptions of the ONNX messages.

/** A constant tensor (initializer or attribute value). */
export interface TensorSpec {
  name: string;
  dataType: DataTypeValue;
  dims: readonly number[];
  /** Element values; float32 data is written as raw_data. */
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/** An attribute value: number (int when `Number.isInteger` and not forced), string, tensor or lists. */
export type AttributeValue =
  | { kind: 'int'; value: number | bigint }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorSpec }
  | { kind: 'ints'; value: readonly (number | bigint)[] }
  | { kind: 'floats'; value: readonly number[] };

/** Attribute helpers. */
export const attr = {
  int: (value: number | bigint): AttributeValue => ({ kind: 'int', value }),
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  tensor: (value: TensorSpec): AttributeValue => ({ kind: 'tensor', value }),
  ints: (value: readonly (number | bigint)[]): AttributeValue => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
};

/** A graph node. */
export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

/** A graph input/output: element type and shape (numbers are fixed sizes, strings symbolic). */
export interface ValueInfoSpec {
  name: string;
  elemType: DataTypeValue;
  dims: readonly (number | string)[];
}

/** A graph. */
export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
  docString?: string;
}

/** A model. */
export interface ModelSpec {
  graph: GraphSpec;
  /** Opset of the default domain (default 17). */
  opset?: number;
  /** Extra opset imports, e.g. `{ 'com.microsoft': 1 }`. */
  extraOpsets?: Record<string, number>;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

function byteSize(t: TensorSpec): number { return t.data.byteLength; }

function checkTensor(t: TensorSpec): void {
  const numel = t.dims.reduce((a, b) => a * b, 1);
  if (numel !== t.data.length) {
    throw new Error(`tensor "${t.name}": dims [${t.dims.join(', ')}] hold ${numel} elements but data has ${t.data.length}`);
  }
}

/** Where a tensor's bytes go when written as external data. */
interface ExternalRef { location: string; offset: number; length: number }

function tensorProto(t: TensorSpec, external?: ExternalRef): ProtoWriter {
  checkTensor(t);
  const p = new ProtoWriter();
  for (const d of t.dims) p.int(1, d);
  p.int(2, t.dataType);
  p.str(8, t.name);
  if (external) {
    const entry = (k: string, v: string) => new ProtoWriter().str(1, k).str(2, v);
    p.msg(13, entry('location', external.location));
    p.msg(13, entry('offset', String(external.offset)));
    p.msg(13, entry('length', String(external.length)));
    p.int(14, 1); // DataLocation.EXTERNAL
  } else {
    p.bytes(9, leBytes(t.data)); // raw_data, little-endian as the spec requires
  }
  return p;
}

function attributeProto(name: string, a: AttributeValue): ProtoWriter {
  const p = new ProtoWriter().str(1, name);
  switch (a.kind) {
    case 'float': p.float(2, a.value).int(20, AttrType.FLOAT); break;
    case 'int': p.int(3, a.value).int(20, AttrType.INT); break;
    case 'string': p.str(4, a.value).int(20, AttrType.STRING); break;
    case 'tensor': p.msg(5, tensorProto(a.value)).int(20, AttrType.TENSOR); break;
    case 'floats': for (const v of a.value) p.float(7, v); p.int(20, AttrType.FLOATS); break;
    case 'ints': for (const v of a.value) p.int(8, v); p.int(20, AttrType.INTS); break;
  }
  return p;
}

function nodeProto(n: NodeSpec): ProtoWriter {
  const p = new ProtoWriter();
  for (const i of n.inputs) p.str(1, i);
  for (const o of n.outputs) p.str(2, o);
  if (n.name) p.str(3, n.name);
  p.str(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) p.msg(5, attributeProto(k, v));
  if (n.domain) p.str(7, n.domain);
  return p;
}

function valueInfoProto(v: ValueInfoSpec): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    shape.msg(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().str(2, d));
  }
  const tensorType = new ProtoWriter().int(1, v.elemType).msg(2, shape);
  return new ProtoWriter().str(1, v.name).msg(2, new ProtoWriter().msg(1, tensorType));
}

/** Options of {@link encodeModel}. */
export interface EncodeOptions {
  /**
   * Put initializers in an external data file: `'auto'` (default) when their total size exceeds
   * `externalThresholdBytes`, `true` always, `false` never (fails past 2 GiB).
   */
  externalData?: boolean | 'auto';
  /** Default 1.5e9 bytes. */
  externalThresholdBytes?: number;
  /** File name of the external data, relative to the model file (default "model.onnx.data"). */
  externalDataLocation?: string;
  /** Tensors smaller than this stay inline even with external data (default 1024 bytes, as onnx). */
  externalMinTensorBytes?: number;
  /** Offset alignment of each external tensor (default 4096, so onnxruntime can memory-map). */
  externalAlignment?: number;
}

/** Result of {@link encodeModel}. */
export interface EncodedModel {
  /** The ModelProto bytes. */
  model: Uint8Array;
  /** External data (to write next to the model as `externalDataLocation`), when used. */
  externalData?: { location: string; chunks: Uint8Array[]; length: number };
}

/** Serialises a model (see {@link EncodeOptions} for external data). */
export function encodeModel(spec: ModelSpec, options: EncodeOptions = {}): EncodedModel {
  const g = spec.graph;
  const total = g.initializers.reduce((s, t) => s + byteSize(t), 0);
  const mode = options.externalData ?? 'auto';
  const useExternal = mode === true || (mode === 'auto' && total > (options.externalThresholdBytes ?? 1.5e9));
  const location = options.externalDataLocation ?? 'model.onnx.data';
  const minBytes = options.externalMinTensorBytes ?? 1024;
  const align = options.externalAlignment ?? 4096;

  const graph = new ProtoWriter();
  for (const n of g.nodes) graph.msg(1, nodeProto(n));
  graph.str(2, g.name);
  const extChunks: Uint8Array[] = [];
  let extLength = 0;
  for (const t of g.initializers) {
    if (useExternal && byteSize(t) >= minBytes) {
      const pad = (align - (extLength % align)) % align;
      if (pad) { extChunks.push(new Uint8Array(pad)); extLength += pad; }
      const bytes = leBytes(t.data);
      graph.msg(5, tensorProto(t, { location, offset: extLength, length: bytes.byteLength }));
      extChunks.push(bytes);
      extLength += bytes.byteLength;
    } else {
      graph.msg(5, tensorProto(t));
    }
  }
  if (g.docString) graph.str(10, g.docString);
  for (const v of g.inputs) graph.msg(11, valueInfoProto(v));
  for (const v of g.outputs) graph.msg(12, valueInfoProto(v));

  const model = new ProtoWriter();
  model.int(1, spec.irVersion ?? 8);
  model.str(2, spec.producerName ?? 'allmrec-llm-bridge');
  if (spec.producerVersion) model.str(3, spec.producerVersion);
  if (spec.docString) model.str(6, spec.docString);
  model.msg(7, graph);
  model.msg(8, new ProtoWriter().str(1, '').int(2, spec.opset ?? 17));
  for (const [domain, version] of Object.entries(spec.extraOpsets ?? {})) {
    model.msg(8, new ProtoWriter().str(1, domain).int(2, version));
  }
  for (const [k, v] of Object.entries(spec.metadata ?? {})) {
    model.msg(14, new ProtoWriter().str(1, k).str(2, v));
  }
  return {
    model: model.build(),
    externalData: useExternal ? { location, chunks: extChunks, length: extLength } : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Graph building helper.

/**
 * Accumulates nodes and initializers with unique generated names. `op` returns the name of the
 * (first) output so graphs read like expressions.
 */
export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  private counter = 0;
  private readonly constCache = new Map<string, string>();

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string { return `${prefix}__${this.counter++}`; }

  /** Adds a node; returns its output names (generated from `opType` unless given). */
  opN(opType: string, inputs: readonly string[], nOutputs: number, attributes?: Record<string, AttributeValue>, outputs?: readonly string[]): string[] {
    const outs = outputs ? [...outputs] : Array.from({ length: nOutputs }, () => this.fresh(opType));
    this.nodes.push({ opType, inputs, outputs: outs, name: this.fresh(`n_${opType}`), attributes });
    return outs;
  }

  /** Adds a single-output node and returns the output name. */
  op(opType: string, inputs: readonly string[], attributes?: Record<string, AttributeValue>, output?: string): string {
    return this.opN(opType, inputs, 1, attributes, output ? [output] : undefined)[0];
  }

  /** Adds a float32 initializer. */
  float(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, data });
    return name;
  }

  /** An int64 constant initializer (deduplicated by value). */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const_i64');
    this.initializers.push({ name, dataType: DataType.INT64, dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    this.constCache.set(key, name);
    return name;
  }

  /** A float32 scalar (or 1-element) constant initializer (deduplicated by value). */
  scalar(value: number, dims: readonly number[] = []): string {
    const key = `f32:${dims.join('x')}:${value}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const_f32');
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, data: Float32Array.of(value) });
    this.constCache.set(key, name);
    return name;
  }
}
