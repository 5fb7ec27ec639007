import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './testing/run-cli';

const TINY = ['--synthetic-users', '80', '--synthetic-items', '300'];

/** A backbone from outside the repository, as a plain CommonJS module: it scores items by training popularity. */
const MODULE = `
exports.register = function register({ registerBackbone }) {
  registerBackbone('outside-pop', {
    description: 'popularity, registered from a module',
    create: (numItems) => {
      let counts;
      const m = {
        name: 'outside-pop', dim: 1, numItems, frozen: false, usesOrder: false,
        async fit(split) {
          counts = new Float32Array(numItems + 1);
          for (const s of split.train) for (const i of s ?? []) counts[i]++;
          m.frozen = true;
          return { epochs: 0, stepsPerEpoch: 0, msPerStep: 0, trainSeconds: 0, finalLoss: 0, resumedFrom: 0 };
        },
        itemEmbeddings: (ids) => Float32Array.from(ids, (i) => counts[i]),
        userRepresentations: (hs) => new Float32Array(hs.length).fill(1),
        score: (hs, cs) => cs.map((c) => Float32Array.from(c, (i) => counts[i])),
        scoreAll: (hs) => { const o = new Float32Array(hs.length * (numItems + 1)); hs.forEach((_, b) => o.set(counts, b * (numItems + 1))); return o; },
        async save() { throw new Error('not saved'); },
        dispose() {},
      };
      return m;
    },
    load: async () => { throw new Error('not loadable'); },
  });
};
`;

describe('allmrec bench backbones', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-bench-cli-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('one JSON object with per-backbone rows, report files, a module-registered backbone, and resume', async () => {
    const mod = path.join(tmp, 'outside.cjs');
    fs.writeFileSync(mod, MODULE);
    const out = path.join(tmp, 'run');
    const args = ['bench', 'backbones', ...TINY, '--backbones', 'sasrec,outside-pop', '--seeds', '1,2', '--epochs', '2', '--module', mod, '--out', out, '--json'];
    const r = await runCli(args);
    if (r.code !== 0) throw new Error(r.stderr.slice(-800));
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    expect(j.rows.map((x: { backbone: string }) => x.backbone)).toEqual(['sasrec', 'outside-pop']);
    for (const row of j.rows) {
      for (const k of ['full_hr10', 'full_ndcg10', 'full_mrr10', 'test_hit1_20', 'valid_ndcg10_101', 's_per_epoch']) {
        expect(typeof row[k]).toBe('number');
        expect(typeof row[`${k}_std`]).toBe('number');
      }
      expect(row.seeds).toEqual([1, 2]);
    }
    // Popularity does not depend on the seed: no spread.
    expect(j.rows[1].full_ndcg10_std).toBe(0);
    for (const f of Object.values(j.files) as string[]) expect(fs.existsSync(f)).toBe(true);
    expect(fs.readFileSync(j.files.html, 'utf8')).toContain('outside-pop');
    // A second run reuses every cell.
    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/cell sasrec seed 1: done before, reused/);
    expect(JSON.parse(again.stdout).rows).toEqual(j.rows);
  });

  test('clear usage errors', async () => {
    const e1 = await runCli(['bench', 'backbones', ...TINY, '--backbones', 'nope']);
    expect(e1.code).toBe(2);
    expect(e1.stderr).toMatch(/unknown backbone "nope" \(registered: .*sasrec/);
    const e2 = await runCli(['bench', 'backbones', ...TINY, '--backbones', 'sasrec', '--config', 'sasrec.nodim=3', '--epochs', '1', '--out', path.join(tmp, 'e2')]);
    expect(e2.code).toBe(2);
    expect(e2.stderr + e2.stdout).toMatch(/no config key "nodim"/);
    const e3 = await runCli(['bench', 'backbones', ...TINY, '--module', path.join(tmp, 'missing.mjs')]);
    expect(e3.code).toBe(2);
    expect(e3.stderr).toMatch(/no such file, and no installed package/);
    const e4 = await runCli(['bench', 'backbones', ...TINY, '--loss', 'mse']);
    expect(e4.stderr).toMatch(/--loss must be bce or ce/);
  });
});
