/**
 * Test helper: a minimal ONNX protobuf writer, enough to build an "encoder" whose output is
 * computable by hand: `last_hidden_state = Gather(embedding, input_ids)` ([B, T, H]).
 */

/** Protobuf wire writer (varints, length-delimited fields). */
class Proto {
  private parts: number[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) { this.parts.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    this.parts.push(Number(x));
  }
  private key(field: number, wire: number): void { this.varint((field << 3) | wire); }

  int(field: number, v: number | bigint): this { this.key(field, 0); this.varint(v); return this; }
  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2); this.varint(data.length); for (const b of data) this.parts.push(b); return this;
  }
  str(field: number, s: string): this { return this.bytes(field, Buffer.from(s, 'utf8')); }
  msg(field: number, m: Proto): this { return this.bytes(field, m.build()); }
  build(): Uint8Array { return Uint8Array.from(this.parts); }
}

const FLOAT = 1;
const INT64 = 7;

function valueInfo(name: string, elemType: number, dims: (number | string)[]): Proto {
  const shape = new Proto();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Proto().int(1, d) : new Proto().str(2, d));
  const tensorType = new Proto().int(1, elemType).msg(2, shape);
  return new Proto().str(1, name).msg(2, new Proto().msg(1, tensorType));
}

/** Options of {@link tinyEmbeddingModel}. */
export interface TinyModelOptions {
  /** Embedding table, row-major `[vocab, hidden]`. */
  table: Float32Array;
  vocab: number;
  hidden: number;
  /** Also declare a (unused) `token_type_ids` input. */
  tokenTypeIds?: boolean;
}

/**
 * Serialises an ONNX ModelProto (ir_version 8, opset 13): initializer `embedding` [V, H] float,
 * inputs `input_ids` and `attention_mask` (int64 [batch, seq]), one `Gather` node, output
 * `last_hidden_state` [batch, seq, H].
 */
export function tinyEmbeddingModel(o: TinyModelOptions): Uint8Array {
  const raw = new Uint8Array(o.table.buffer, o.table.byteOffset, o.table.byteLength);
  const init = new Proto().int(1, o.vocab).int(1, o.hidden).int(2, FLOAT).str(8, 'embedding').bytes(9, raw);
  const node = new Proto().str(1, 'embedding').str(1, 'input_ids').str(2, 'last_hidden_state')
    .str(3, 'gather').str(4, 'Gather').msg(5, new Proto().str(1, 'axis').int(3, 0).int(20, 2));
  const graph = new Proto().msg(1, node).str(2, 'tiny').msg(5, init)
    .msg(11, valueInfo('input_ids', INT64, ['batch', 'seq']))
    .msg(11, valueInfo('attention_mask', INT64, ['batch', 'seq']));
  if (o.tokenTypeIds) graph.msg(11, valueInfo('token_type_ids', INT64, ['batch', 'seq']));
  graph.msg(12, valueInfo('last_hidden_state', FLOAT, ['batch', 'seq', o.hidden]));
  return new Proto().int(1, 8).str(2, 'allmrec-test').msg(7, graph)
    .msg(8, new Proto().str(1, '').int(2, 13)).build();
}
