import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { ParamSet, loadParams, saveParams } from './trainer';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('ParamSet', () => {
  test('holds exactly one tensor per parameter, and none once disposed', () => {
    const before = tf.memory().numTensors;
    const p = new ParamSet('test', { a: [2, 3], b: [4] });
    p.set(new Map([['a', new Float32Array(6)], ['b', Float32Array.from([1, 2, 3, 4])]]));
    expect(tf.memory().numTensors).toBe(before + 2);
    p.set(new Map([['a', new Float32Array(6).fill(1)], ['b', new Float32Array(4)]]));
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(Array.from(p.get('a'))).toEqual([1, 1, 1, 1, 1, 1]);
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('names a missing or mis-sized parameter', () => {
    const p = new ParamSet('m', { a: [2] });
    expect(() => p.set(new Map())).toThrow(/m: missing parameter a/);
    expect(() => p.set(new Map([['a', new Float32Array(3)]]))).toThrow(/parameter a has 3 values, expected \[2\]/);
    expect(() => p.variables).toThrow(/no weights yet/);
  });
});

describe('saveParams / loadParams', () => {
  test('keep integer extras integer beside the float parameters', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-params-'));
    try {
      const p = new ParamSet('m', { w: [3] });
      p.set(new Map([['w', Float32Array.from([0.5, -1, 2])]]));
      await saveParams(dir, 'test.kind', { k: 1 }, p, {
        graph: { shape: [4], data: Int32Array.from([0, 2, 2, 7]) },
        scale: { shape: [1], data: Float32Array.from([3]) },
      });
      await expect(saveParams(dir, 'test.kind', {}, p, { w: { shape: [1], data: new Int32Array(1) } })).rejects.toThrow(/extra tensor w has the name of a parameter/);
      const { config, values, ints } = await loadParams(dir, 'test.kind');
      expect(config).toEqual({ k: 1 });
      expect(Array.from(values.get('w')!)).toEqual([0.5, -1, 2]);
      expect(Array.from(values.get('scale')!)).toEqual([3]);
      expect(ints.get('graph')).toBeInstanceOf(Int32Array);
      expect(Array.from(ints.get('graph')!)).toEqual([0, 2, 2, 7]);
      p.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
