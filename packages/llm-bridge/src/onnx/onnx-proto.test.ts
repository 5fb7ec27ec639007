import { ProtoWriter, encodeModel, DataType } from './onnx-proto';

describe('ProtoWriter', () => {
  test('varints, negative int64, floats, nested messages', () => {
    expect([...new ProtoWriter().int(1, 300).build()]).toEqual([0x08, 0xac, 0x02]);
    expect([...new ProtoWriter().int(1, -1).build()]).toEqual([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...new ProtoWriter().int(2, 2 ** 40).build()]).toEqual([0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    expect([...new ProtoWriter().float(2, 1).build()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    const inner = new ProtoWriter().str(1, 'ab');
    expect([...new ProtoWriter().msg(3, inner).build()]).toEqual([0x1a, 4, 0x0a, 2, 0x61, 0x62]);
    const big = new Uint8Array(1000).fill(7);
    const b = new ProtoWriter().bytes(9, big).build();
    expect([...b.subarray(0, 3)]).toEqual([0x4a, 0xe8, 0x07]);
    expect(b.length).toBe(1003);
  });

  test('external data: offsets aligned, small tensors inline', () => {
    const enc = encodeModel({
      graph: {
        name: 'g', nodes: [{ opType: 'Add', inputs: ['a', 'b'], outputs: ['y'] }],
        initializers: [
          { name: 'a', dataType: DataType.FLOAT, dims: [300], data: new Float32Array(300).fill(1) },
          { name: 'b', dataType: DataType.FLOAT, dims: [2], data: Float32Array.of(1, 2) },
          { name: 'c', dataType: DataType.FLOAT, dims: [300], data: new Float32Array(300).fill(2) },
        ],
        inputs: [], outputs: [{ name: 'y', elemType: DataType.FLOAT, dims: [300] }],
      },
    }, { externalData: true });
    expect(enc.externalData!.length).toBe(4096 + 1200);
    const text = Buffer.from(enc.model).toString('latin1');
    expect(text).toContain('model.onnx.data');
    expect(text).toContain('4096');
  });
});
