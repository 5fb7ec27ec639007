import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@allmrec/core';
import { WeightAverage } from './weight-average';

beforeAll(async () => {
  await selectBackend();
});

function twoParams(): Map<string, tf.Variable> {
  return new Map<string, tf.Variable>([
    ['a', tf.variable(tf.tensor1d([1, 2]))],
    ['b', tf.variable(tf.tensor2d([[10]]))],
  ]);
}

/** A training step's result, without leaving the new value's tensor behind. */
function set(params: Map<string, tf.Variable>, name: string, value: number[] | number[][]): void {
  tf.tidy(() => params.get(name)!.assign(tf.tensor(value)));
}

test('θ̄ ← d·θ̄ + (1 − d)·θ from the starting values; apply writes θ̄ into the variables; nothing leaks', () => {
  const params = twoParams();
  const n0 = tf.memory().numTensors;
  const avg = new WeightAverage(0.5, params);
  set(params, 'a', [3, 4]);
  set(params, 'b', [[0]]);
  avg.update(); // a: 0.5·[1, 2] + 0.5·[3, 4] = [2, 3]; b: 5
  set(params, 'a', [6, 7]);
  avg.update(); // a: [4, 5]; b: 0.5·5 + 0.5·0 = 2.5
  expect(Array.from(avg.values().get('a')!)).toEqual([4, 5]);
  expect(Array.from(avg.values().get('b')!)).toEqual([2.5]);
  expect(Array.from(params.get('a')!.dataSync())).toEqual([6, 7]); // training weights untouched until apply
  avg.apply();
  expect(Array.from(params.get('a')!.dataSync())).toEqual([4, 5]);
  expect(params.get('b')!.shape).toEqual([1, 1]);
  expect(Array.from(params.get('b')!.dataSync())).toEqual([2.5]);
  avg.dispose();
  expect(tf.memory().numTensors).toBe(n0);
  for (const v of params.values()) v.dispose();
});

test('values/restore round trip; a checkpoint without a parameter or of another size is refused', () => {
  const params = twoParams();
  const avg = new WeightAverage(0.9, params);
  const other = new WeightAverage(0.9, params);
  set(params, 'a', [11, 12]);
  avg.update();
  const n0 = tf.memory().numTensors;
  other.restore(avg.values());
  expect(tf.memory().numTensors).toBe(n0);
  expect(other.values()).toEqual(avg.values());
  expect(() => other.restore(new Map([['a', new Float32Array(2)]]))).toThrow(/no average for b/);
  expect(() => other.restore(new Map([['a', new Float32Array(3)], ['b', new Float32Array(1)]]))).toThrow(/3 values for a \(2 expected\)/);
  expect(() => new WeightAverage(1, params)).toThrow(/decay must be in \[0, 1\)/);
  expect(() => new WeightAverage(-0.1, params)).toThrow(RangeError);
  avg.dispose();
  other.dispose();
  for (const v of params.values()) v.dispose();
});
