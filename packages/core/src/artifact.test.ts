import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isArtifact, readArtifact, writeArtifact } from './artifact';
import { sha256Hex } from './fs-atomic';

describe('artifact directories', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-art-'));
    dir = path.join(root, 'sasrec');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const v1 = {
    kind: 'sasrec',
    config: { dim: 4, layers: 2, name: 'v1' },
    tensors: { 'item.emb': { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }, ids: { shape: [3], data: new Int32Array([7, 8, 9]) } },
    files: { 'vocab.json': '{"a":1}', 'sub/raw.bin': Buffer.from([0, 1, 2]) },
  };

  it('round-trips config, tensors and files with a manifest of sizes and checksums', async () => {
    const manifest = await writeArtifact(dir, v1);
    expect(fs.readdirSync(root)).toEqual(['sasrec']);
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'manifest.json', 'sub', 'vocab.json', 'weights.safetensors']);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(onDisk).toEqual(manifest);
    expect(onDisk.format).toBe('allmrec-artifact');
    expect(onDisk.version).toBe(1);
    expect(Object.keys(onDisk.files).sort()).toEqual(['config.json', 'sub/raw.bin', 'vocab.json', 'weights.safetensors']);
    expect(onDisk.files['vocab.json']).toEqual({ bytes: 7, sha256: sha256Hex('{"a":1}') });
    expect(isArtifact(dir)).toBe(true);

    const a = await readArtifact(dir, { expectKind: 'sasrec' });
    expect(a.kind).toBe('sasrec');
    expect(a.config).toEqual(v1.config);
    expect(a.tensors.get('item.emb')!.data).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(a.tensors.get('ids')!.data).toEqual(new Int32Array([7, 8, 9]));
    expect(a.files['vocab.json'].toString()).toBe('{"a":1}');
    expect([...a.files['sub/raw.bin']]).toEqual([0, 1, 2]);
  });

  it('writes an artifact without tensors', async () => {
    await writeArtifact(dir, { kind: 'cfg', config: { x: 1 } });
    const a = await readArtifact(dir);
    expect(a.tensors.size).toBe(0);
    expect(fs.existsSync(path.join(dir, 'weights.safetensors'))).toBe(false);
  });

  it('replaces an existing artifact and leaves no temporary or backup directories', async () => {
    await writeArtifact(dir, v1);
    await writeArtifact(dir, { ...v1, config: { name: 'v2' } });
    expect((await readArtifact(dir)).config).toEqual({ name: 'v2' });
    expect(fs.readdirSync(root)).toEqual(['sasrec']);
  });

  it('keeps the previous artifact loadable when a write fails midway', async () => {
    await writeArtifact(dir, v1);
    await expect(
      writeArtifact(dir, { ...v1, config: { name: 'v2' } }, {
        afterFile: (name) => {
          if (name === 'weights.safetensors') throw new Error('disk full (injected)');
        },
      }),
    ).rejects.toThrow(`cannot write artifact ${dir}: disk full (injected)`);
    expect((await readArtifact(dir)).config).toEqual(v1.config);
    expect(fs.readdirSync(root)).toEqual(['sasrec']);
  });

  it('restores the old artifact when the swap fails after the backup rename', async () => {
    await writeArtifact(dir, v1);
    await expect(
      writeArtifact(dir, { ...v1, config: { name: 'v2' } }, { beforeSwap: () => { throw new Error('crash (injected)'); } }),
    ).rejects.toThrow(/crash \(injected\)/);
    expect((await readArtifact(dir)).config).toEqual(v1.config);
    expect(fs.readdirSync(root)).toEqual(['sasrec']);
  });

  it('recovers from a writer killed between its two renames (only a backup exists)', async () => {
    await writeArtifact(dir, v1);
    // What a crash leaves: old artifact renamed to its backup, new temp dir half-written, no `dir`.
    fs.renameSync(dir, path.join(root, '.sasrec.bak-999999-abcd'));
    fs.mkdirSync(path.join(root, '.sasrec.tmp-999999-abcd'));
    fs.writeFileSync(path.join(root, '.sasrec.tmp-999999-abcd', 'config.json'), '{"half":');
    expect((await readArtifact(dir)).config).toEqual(v1.config);
    // The next write restores the backup first, then replaces it, and cleans the dead writer's temp dir.
    await writeArtifact(dir, { ...v1, config: { name: 'v3' } });
    expect((await readArtifact(dir)).config).toEqual({ name: 'v3' });
    expect(fs.readdirSync(root)).toEqual(['sasrec']);
  });

  it('does not treat a half-written directory (no manifest) as an artifact', async () => {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    expect(isArtifact(dir)).toBe(false);
    await expect(readArtifact(dir)).rejects.toThrow(`artifact ${dir}: manifest.json is missing`);
    await expect(readArtifact(path.join(root, 'nothing'))).rejects.toThrow(/does not exist/);
  });

  it('detects tampering, truncation, missing files and the wrong kind, naming the file', async () => {
    await writeArtifact(dir, v1);
    await expect(readArtifact(dir, { expectKind: 'stage1' })).rejects.toThrow(`artifact ${dir} is a "sasrec" artifact, expected "stage1"`);

    const vocab = path.join(dir, 'vocab.json');
    fs.writeFileSync(vocab, '{"b":1}'); // same size, different bytes
    await expect(readArtifact(dir)).rejects.toThrow(`artifact ${dir}: file vocab.json fails its checksum`);
    await expect(readArtifact(dir, { skipChecksums: true })).resolves.toBeDefined();
    fs.writeFileSync(vocab, '{"a":1}');

    const weights = path.join(dir, 'weights.safetensors');
    const bytes = fs.readFileSync(weights);
    fs.writeFileSync(weights, bytes.subarray(0, bytes.length - 1));
    await expect(readArtifact(dir)).rejects.toThrow(/file weights\.safetensors has \d+ bytes, the manifest says \d+/);
    fs.rmSync(weights);
    await expect(readArtifact(dir)).rejects.toThrow(`artifact ${dir}: file weights.safetensors is missing`);

    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"format":');
    expect(isArtifact(dir)).toBe(false);
    await expect(readArtifact(dir)).rejects.toThrow(/manifest\.json is not valid JSON/);
  });

  it('rejects unsafe or reserved extra file names and a manifest pointing outside', async () => {
    await expect(writeArtifact(dir, { kind: 'k', config: {}, files: { '../evil': 'x' } })).rejects.toThrow(/plain relative path/);
    await expect(writeArtifact(dir, { kind: 'k', config: {}, files: { 'config.json': 'x' } })).rejects.toThrow(/reserved/);
    await writeArtifact(dir, { kind: 'k', config: {} });
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    m.files['../../etc/passwd'] = { bytes: 1, sha256: 'x' };
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    await expect(readArtifact(dir)).rejects.toThrow(/invalid file name "\.\.\/\.\.\/etc\/passwd"/);
  });
});
