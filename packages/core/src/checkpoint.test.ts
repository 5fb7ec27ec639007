import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeArtifact } from './artifact';
import { readTrainingCheckpoint, writeTrainingCheckpoint } from './checkpoint';

describe('training checkpoints', () => {
  let dir: string;
  beforeEach(() => { dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-ckpt-')), 'ck'); });
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  const shapes = { w: [2, 2], b: [3] };
  const ckpt = {
    meta: { seed: 3, epoch: 7, history: [{ loss: 1.5 }] },
    params: new Map([['w', new Float32Array([1, 2, 3, 4])], ['b', new Float32Array([5, 6, 7])]]),
    adam: { steps: { w: 7, b: 6 }, m: new Map([['w', new Float32Array([0.1, 0.2, 0.3, 0.4])]]), v: new Map([['w', new Float32Array([1, 1, 2, 2])]]) },
    groups: { average: new Map([['b', new Float32Array([9, 9, 9])]]) },
  };

  it('round-trips parameters, Adam state, meta and extra groups', async () => {
    await writeTrainingCheckpoint(dir, 'test.ckpt', shapes, ckpt);
    const back = await readTrainingCheckpoint(dir, 'test.ckpt');
    expect(back.meta).toEqual(ckpt.meta);
    expect([...back.params.keys()].sort()).toEqual(['b', 'w']);
    expect(back.params.get('w')).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(back.adam.steps).toEqual({ w: 7, b: 6 });
    expect(back.adam.m.get('w')).toEqual(new Float32Array([0.1, 0.2, 0.3, 0.4]));
    expect(back.adam.v.get('w')).toEqual(new Float32Array([1, 1, 2, 2]));
    expect(back.groups!.average.get('b')).toEqual(new Float32Array([9, 9, 9]));
  });

  it('refuses a value whose size does not match its shape, naming it', async () => {
    const bad = { ...ckpt, params: new Map([['w', new Float32Array(3)]]) };
    await expect(writeTrainingCheckpoint(dir, 'test.ckpt', shapes, bad)).rejects.toThrow(/param\/w has 3 values, shape \[2,2\] needs 4/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('refuses a reserved extra group name and a kind mismatch', async () => {
    await expect(writeTrainingCheckpoint(dir, 'k', shapes, { ...ckpt, groups: { param: new Map() } })).rejects.toThrow(/reserved/);
    await writeTrainingCheckpoint(dir, 'k', shapes, ckpt);
    await expect(readTrainingCheckpoint(dir, 'other')).rejects.toThrow(/other/);
  });

  it('says an artifact without meta was written by an older version', async () => {
    await writeArtifact(dir, { kind: 'k', config: { epoch: 1 }, tensors: { 'param/w': { shape: [1], data: new Float32Array(1) } } });
    await expect(readTrainingCheckpoint(dir, 'k')).rejects.toThrow(/older version/);
  });
});
