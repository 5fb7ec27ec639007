import { Rng } from './rng';

describe('Rng', () => {
  test('same seed, same stream; different seeds, different streams', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const xs = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.nextUint32())).not.toEqual(xs);
  });

  test('uniform draws stay in range and are roughly uniform', () => {
    const r = new Rng(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100000; i++) {
      const k = r.int(10);
      if (!(k >= 0 && k < 10)) throw new Error(`int(10) gave ${k}`);
      counts[k]++;
    }
    // Each bucket ~ Binomial(1e5, 0.1): sd ~95; 6 sd bounds.
    for (const n of counts) expect(Math.abs(n - 10000)).toBeLessThan(570);
    expect(() => r.int(0)).toThrow(RangeError);
  });

  test('normal draws have mean 0 and variance 1', () => {
    const r = new Rng(2);
    let s = 0;
    let s2 = 0;
    const n = 200000;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.015);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
  });

  test('shuffle is a permutation and fork gives independent, reproducible streams', () => {
    const a = new Rng(3).shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    const f1 = new Rng(4).fork('x').nextUint32();
    expect(new Rng(4).fork('x').nextUint32()).toBe(f1);
    expect(new Rng(4).fork('y').nextUint32()).not.toBe(f1);
  });
});
