import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { ParamSet } from './trainer';

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
