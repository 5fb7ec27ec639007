import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  encodeSafetensors,
  floatToHalf,
  halfToFloat,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from './safetensors';

/** Builds a safetensors file by hand: u64 LE header length, JSON header, data bytes. */
function build(header: object, data: number[] | Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.from(data)]);
}

describe('readSafetensors: known answers from hand-built bytes', () => {
  it('decodes F32 [2,2] = [1,2,3,4], F16, BF16, I32, I64, U8, BOOL, F64 and metadata', () => {
    const data = [
      // F32 1, 2, 3, 4 (little endian): 0x3f800000, 0x40000000, 0x40400000, 0x40800000
      0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40,
      // F16 1.5 (0x3e00), -2 (0xc000), 65504 (0x7bff), 2^-24 (0x0001)
      0x00, 0x3e, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00,
      // BF16 1.0 (0x3f80), -0.5 (0xbf00)
      0x80, 0x3f, 0x00, 0xbf,
      // I32 -1, 7
      0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x00, 0x00,
      // I64 -2, 3
      0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03, 0, 0, 0, 0, 0, 0, 0,
      // U8 200, BOOL 1 0
      200, 1, 0,
      // F64 0.1 = 0x3fb999999999999a
      0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,
    ];
    const buf = build(
      {
        __metadata__: { format: 'pt' },
        w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
        h: { dtype: 'F16', shape: [4], data_offsets: [16, 24] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [24, 28] },
        i: { dtype: 'I32', shape: [2], data_offsets: [28, 36] },
        l: { dtype: 'I64', shape: [2, 1], data_offsets: [36, 52] },
        u: { dtype: 'U8', shape: [1], data_offsets: [52, 53] },
        m: { dtype: 'BOOL', shape: [2], data_offsets: [53, 55] },
        d: { dtype: 'F64', shape: [], data_offsets: [55, 63] },
      },
      data,
    );
    const { tensors, metadata } = readSafetensors(buf);
    expect(metadata).toEqual({ format: 'pt' });
    const w = tensors.get('w')!;
    expect(w.dtype).toBe('F32');
    expect(w.shape).toEqual([2, 2]);
    expect(w.data).toBeInstanceOf(Float32Array);
    expect([...w.data]).toEqual([1, 2, 3, 4]);
    expect(tensors.get('h')!.data).toEqual(new Float32Array([1.5, -2, 65504, 2 ** -24]));
    expect(tensors.get('b')!.data).toEqual(new Float32Array([1, -0.5]));
    expect(tensors.get('i')!.data).toEqual(new Int32Array([-1, 7]));
    expect(tensors.get('l')!.data).toEqual(new Int32Array([-2, 3]));
    expect(tensors.get('u')!.data).toEqual(new Uint8Array([200]));
    expect(tensors.get('m')!.data).toEqual(new Uint8Array([1, 0]));
    expect(tensors.get('d')!.data).toEqual(new Float64Array([0.1]));
    expect(tensors.get('d')!.shape).toEqual([]);
  });

  it('returns BigInt64Array for I64 values beyond 32 bits', () => {
    const big = Buffer.alloc(8);
    big.writeBigInt64LE(2n ** 40n);
    const { tensors } = readSafetensors(build({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big));
    expect(tensors.get('x')!.data).toEqual(new BigInt64Array([2n ** 40n]));
  });

  it('reads a subset by name and reports a missing one', () => {
    const buf = encodeSafetensors({ a: { shape: [1], data: new Float32Array([1]) }, b: { shape: [1], data: new Float32Array([2]) } });
    expect([...readSafetensors(buf, { names: ['b'] }).tensors.keys()]).toEqual(['b']);
    expect(() => readSafetensors(buf, { names: ['zz'], label: 'mem' })).toThrow('safetensors mem: tensor "zz" not found');
  });
});

describe('encodeSafetensors', () => {
  it('produces the exact bytes of the format, header padded with spaces to 8 bytes', () => {
    const buf = encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } });
    const json = '{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}'; // 57 bytes
    const padded = json + ' '.repeat(7); // 8 + 64 is a multiple of 8
    expect(buf.readBigUInt64LE(0)).toBe(64n);
    expect(buf.subarray(8, 72).toString('utf8')).toBe(padded);
    expect([...buf.subarray(72)]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40]);
  });

  it('round-trips F32, F16, I32, U8 and metadata, independent of insertion order', () => {
    const tensors = {
      z: { shape: [3], data: new Float32Array([0.5, -1e-3, 3.25e8]) },
      a: { shape: [2, 2], data: new Int32Array([1, -2, 2147483647, -2147483648]) },
      h: { shape: [3], data: [1.5, -2, 0.1], dtype: 'F16' as const },
      u: { shape: [2], data: new Uint8Array([0, 255]) },
      e: { shape: [0, 4], data: new Float32Array(0) },
    };
    const buf = encodeSafetensors(tensors, { epoch: '3' });
    expect((8 + Number(buf.readBigUInt64LE(0))) % 8).toBe(0);
    const back = readSafetensors(buf);
    expect(back.metadata).toEqual({ epoch: '3' });
    expect(back.tensors.get('z')!.data).toEqual(tensors.z.data);
    expect(back.tensors.get('a')!).toEqual({ dtype: 'I32', shape: [2, 2], data: tensors.a.data });
    expect(back.tensors.get('h')!.dtype).toBe('F16');
    // 0.1 in half precision is 0x2e66 = 0.0999755859375
    expect([...back.tensors.get('h')!.data]).toEqual([1.5, -2, 0.0999755859375]);
    expect(back.tensors.get('u')!.data).toEqual(new Uint8Array([0, 255]));
    expect(back.tensors.get('e')!.shape).toEqual([0, 4]);
    const reordered = encodeSafetensors({ u: tensors.u, e: tensors.e, h: tensors.h, a: tensors.a, z: tensors.z }, { epoch: '3' });
    expect(reordered.equals(buf)).toBe(true);
  });

  it('rejects a data length that does not match the shape, non-integers for I32, and reserved names', () => {
    expect(() => encodeSafetensors({ w: { shape: [2, 3], data: new Float32Array(5) } })).toThrow(
      'safetensors tensor "w": shape [2, 3] has 6 elements but data has 5',
    );
    expect(() => encodeSafetensors({ i: { shape: [1], data: [1.5], dtype: 'I32' } })).toThrow(/"i": element 0 = 1.5/);
    expect(() => encodeSafetensors({ __metadata__: { shape: [0], data: [] } })).toThrow(/reserved/);
  });
});

describe('half precision', () => {
  it('converts known bit patterns both ways', () => {
    const cases: [number, number][] = [
      [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x3e00, 1.5], [0x7bff, 65504],
      [0x0001, 2 ** -24], [0x0400, 2 ** -14], [0x7c00, Infinity], [0xfc00, -Infinity],
    ];
    for (const [bits, value] of cases) {
      expect(halfToFloat(bits)).toBe(value);
      expect(floatToHalf(value)).toBe(bits);
    }
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
    expect(floatToHalf(NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalf(1e6)).toBe(0x7c00); // overflow -> Inf
    expect(floatToHalf(65520)).toBe(0x7c00); // rounds up past the largest half
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even (1.0)
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie rounds to even (1 + 2^-9)
  });

  it('round-trips every finite half value', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = halfToFloat(bits);
      if (!Number.isFinite(v)) continue;
      if (bits === 0x8000) continue; // -0 encodes as 0x8000 too; toBe would distinguish
      expect(floatToHalf(v)).toBe(bits);
    }
  });
});

describe('readSafetensors: corruption', () => {
  const good = () => encodeSafetensors({ a: { shape: [2], data: new Float32Array([1, 2]) }, b: { shape: [1], data: new Float32Array([3]) } });

  it('rejects a file shorter than 8 bytes', () => {
    expect(() => readSafetensors(Buffer.alloc(3), { label: 'x.safetensors' })).toThrow('safetensors x.safetensors: file is 3 bytes');
  });

  it('rejects a header length larger than the file', () => {
    const buf = good();
    buf.writeBigUInt64LE(BigInt(buf.length), 0);
    expect(() => readSafetensors(buf)).toThrow(/header length \d+ is larger than the file/);
  });

  it('rejects invalid JSON and unknown dtypes', () => {
    const buf = good();
    buf[8] = 0x5b; // '[' instead of '{'
    expect(() => readSafetensors(buf)).toThrow(/header is not valid JSON/);
    expect(() => readSafetensors(build({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, [0]))).toThrow(
      /tensor "a": unsupported dtype "Q4"/,
    );
  });

  it('rejects offsets out of range, overlapping tensors and shape mismatches, naming the tensor', () => {
    expect(() => readSafetensors(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, [0, 0, 0, 0]))).toThrow(
      'tensor "a": data_offsets [0, 8] out of range (data section is 4 bytes)',
    );
    expect(() =>
      readSafetensors(
        build(
          {
            a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
            z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
            b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
          },
          new Array(16).fill(0),
        ),
      ),
    ).toThrow('tensor "b": data_offsets [8, 12] overlap tensor "a" [0, 16]');
    expect(() => readSafetensors(build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Array(8).fill(0)))).toThrow(
      'tensor "a": shape [3] x F32 needs 12 bytes but data_offsets span 8',
    );
    expect(() => readSafetensors(build({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0]))).toThrow(
      /tensor "a": shape \[-1\]/,
    );
    expect(() => readSafetensors(build({ a: { dtype: 'BOOL', shape: [1], data_offsets: [0, 1] } }, [2]))).toThrow(
      /tensor "a": BOOL element 0 has byte value 2/,
    );
    expect(() => readSafetensors(build({ __metadata__: { n: 1 } }, []))).toThrow(/"__metadata__"."n" is not a string/);
  });
});

describe('writeSafetensors / readSafetensors(path)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-st-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes atomically and reads back from the path', async () => {
    const file = path.join(dir, 'w.safetensors');
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    await writeSafetensors(file, new Map([['emb', { shape: [10, 100], data }]]), { kind: 'test' });
    expect(fs.readdirSync(dir)).toEqual(['w.safetensors']);
    const back = readSafetensors(file);
    expect(back.tensors.get('emb')!.data).toEqual(data);
    expect(back.metadata).toEqual({ kind: 'test' });
  });

  it('names the file in errors: truncated file, missing file, bad input', async () => {
    const file = path.join(dir, 'w.safetensors');
    await writeSafetensors(file, { a: { shape: [4], data: new Float32Array(4) } });
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 2));
    expect(() => readSafetensors(file)).toThrow(`safetensors ${file}: tensor "a": data_offsets [0, 16] out of range`);
    expect(() => readSafetensors(path.join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors: cannot open/);
    await expect(writeSafetensors(file, { a: { shape: [5], data: new Float32Array(4) } })).rejects.toThrow(
      `${file}: safetensors tensor "a"`,
    );
  });
});

describe('readSafetensorsHeader', () => {
  test('lists names, dtypes and shapes without reading data, and validates like readSafetensors', () => {
    const buf = encodeSafetensors({ a: { shape: [2, 3], data: new Float32Array(6) }, b: { shape: [4], data: new Int32Array(4), dtype: 'I32' } }, { k: 'v' });
    const h = readSafetensorsHeader(buf);
    expect(h.tensors).toEqual([{ name: 'a', dtype: 'F32', shape: [2, 3] }, { name: 'b', dtype: 'I32', shape: [4] }]);
    expect(h.metadata).toEqual({ k: 'v' });
    expect(() => readSafetensorsHeader(buf.subarray(0, 20), 'cut.safetensors')).toThrow(/cut\.safetensors/);
  });
});
