import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { registerBackbone, type CFBackbone } from '@allmrec/cf-backbones';
import { runCli } from './testing/run-cli';

/** An order-free test backbone (popularity, no tensors): what the order check lets through. */
function fakeOrderFree(numItems: number): CFBackbone {
  let frozen = false;
  return {
    name: 'test-order-free', dim: 1, numItems, usesOrder: false,
    get frozen() { return frozen; },
    async fit() { frozen = true; return { epochs: 1, stepsPerEpoch: 1, msPerStep: 0, trainSeconds: 0, finalLoss: 0, resumedFrom: 0 }; },
    itemEmbeddings: (ids) => new Float32Array(ids.length),
    userRepresentations: (h) => new Float32Array(h.length),
    score: (h, c) => c.map((x) => new Float32Array(x.length)),
    async save(dir) { fs.mkdirSync(dir, { recursive: true }); },
    dispose() {},
  };
}
registerBackbone('test-order-free', { create: (n) => fakeOrderFree(n), load: async () => fakeOrderFree(1) });

/** Data users bring: csv column names, files without timestamps, the stats table. Fast (tiny files). */
describe('data options', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-data-options-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A Last.fm-style user_artists file: tab-separated, headers userID / artistID / weight, no time. */
  function lastfm(): string {
    const file = path.join(tmp, 'user_artists.dat');
    const rows = ['userID\tartistID\tweight'];
    for (let u = 2; u < 12; u++) for (let a = 0; a < 6; a++) rows.push(`${u}\t${50 + ((u + a) % 9)}\t${100 * u + a}`);
    fs.writeFileSync(file, rows.join('\n') + '\n');
    return file;
  }
  const NO_FILTER = ['--min-user', '0', '--min-item', '0'];

  test('--columns reads Last.fm headers; without it the error lists the header and names --columns', async () => {
    const file = lastfm();
    const ok = await runCli(['data', 'stats', '--data', file, '--format', 'csv', '--columns', 'user=userID,item=artistID,rating=weight', ...NO_FILTER, '--json']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const j = JSON.parse(ok.stdout);
    expect(j.users).toBe(10);
    expect(j.items).toBe(9);
    expect(j.interactions).toBe(60);

    const without = await runCli(['data', 'stats', '--data', file, '--format', 'csv', ...NO_FILTER]);
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/no item column \(looked for item_id, .*header: userID, artistID, weight\); name the columns with --columns user=COL,item=COL/);

    const absent = await runCli(['data', 'stats', '--data', file, '--format', 'csv', '--columns', 'user=userID,item=artist', ...NO_FILTER]);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toMatch(/--columns item=artist: .*user_artists\.dat:1: field "artist": no column "artist" for the item \(header: userID, artistID, weight\)/);
  });

  test('--columns: missing "=", unknown or repeated keys and other formats are usage errors', async () => {
    const file = lastfm();
    const bad = async (columns: string, re: RegExp, format = 'csv') => {
      const r = await runCli(['data', 'stats', '--data', file, '--format', format, '--columns', columns, ...NO_FILTER]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(re);
    };
    await bad('user=userID,artistID', /--columns: "artistID" has no "=".*user, item, rating, time/);
    await bad('user=userID,artist=artistID', /--columns: unknown key "artist" \(keys: user, item, rating, time\)/);
    await bad('user=userID,user=artistID', /--columns: key "user" is given twice/);
    await bad('user=userID,item=userID', /--columns: column "userID" is named for both user and item/);
    await bad('user=userID,item=artistID', /--columns .*needs --format csv \(got --format recbole\)/, 'recbole');
  });

  test('the help of commands that read data documents --columns', async () => {
    for (const cmd of [['data', 'stats'], ['backbone', 'train'], ['train'], ['run'], ['bench', 'backbone']]) {
      const r = await runCli([...cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('--columns user=COL,item=COL[,rating=COL][,time=COL]');
    }
  });

  test('a file without timestamps: sasrec refuses it, --order file or an order-free backbone trains', async () => {
    const file = lastfm();
    const data = ['--data', file, '--format', 'csv', '--columns', 'user=userID,item=artistID,rating=weight', ...NO_FILTER];
    const stats = await runCli(['data', 'stats', ...data]);
    expect(stats.stdout).toMatch(/order\s+file \(no timestamps: sequences follow file order/);
    expect(JSON.parse((await runCli(['data', 'stats', ...data, '--json'])).stdout).order).toBe('file');

    const refused = await runCli(['backbone', 'train', ...data, '--epochs', '1', '--out', path.join(tmp, 'refused'), '--quiet']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `backbone "sasrec" reads the order of each history, but ${path.resolve(file)} has no timestamps (sequences would follow file order). ` +
        `Use an order-free backbone (pop, bpr, lightgcn, ncf) or pass --order file if the file's order is chronological.`,
    );
    expect(fs.existsSync(path.join(tmp, 'refused'))).toBe(false);
    // allmrec train refuses before anything else (its LM would train first).
    const train = await runCli(['train', ...data, '--out', path.join(tmp, 'train-refused'), '--quiet']);
    expect(train.code).toBe(2);
    expect(train.stderr).toMatch(/backbone "sasrec" reads the order of each history/);

    const accepted = await runCli(['backbone', 'train', ...data, '--order', 'file', '--epochs', '1', '--out', path.join(tmp, 'sasrec'), '--json']);
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout).epochs).toBe(1);

    const free = await runCli(['backbone', 'train', ...data, '--backbone', 'test-order-free', '--out', path.join(tmp, 'free'), '--json']);
    expect(free.stderr).not.toMatch(/order/);
    expect(free.code).toBe(0);
  });

  test('--order: only "file", and only for data ordered by file alone', async () => {
    const file = lastfm();
    const data = ['--data', file, '--format', 'csv', '--columns', 'user=userID,item=artistID', ...NO_FILTER];
    const other = await runCli(['data', 'stats', ...data, '--order', 'time']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/--order must be "file"/);
    const timed = await runCli(['data', 'stats', '--synthetic-users', '20', '--synthetic-items', '30', '--order', 'file']);
    expect(timed.code).toBe(2);
    expect(timed.stderr).toMatch(/--order file: built-in synthetic is ordered by time \(sorted by timestamps\), not by file order alone; drop --order/);
  });

  test('data stats prints the sequence lengths as min / median / mean / max; --json keeps the object', async () => {
    const file = path.join(tmp, 'lengths.csv');
    const rows = ['user_id,item_id,timestamp'];
    [1, 2, 3, 6].forEach((n, u) => { for (let k = 0; k < n; k++) rows.push(`u${u},i${k},${k}`); });
    fs.writeFileSync(file, rows.join('\n') + '\n');
    const data = ['--data', file, '--format', 'csv', ...NO_FILTER];
    const r = await runCli(['data', 'stats', ...data]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('[object Object]');
    expect(r.stdout).toMatch(/sequenceLength \(min \/ median \/ mean \/ max\)\s+1 \/ 2\.5 \/ 3\.00 \/ 6\n/);
    expect(r.stdout).toMatch(/order\s+time \(sorted by timestamps\)/);
    const j = JSON.parse((await runCli(['data', 'stats', ...data, '--json'])).stdout);
    expect(j.sequenceLength).toEqual({ min: 1, median: 2.5, mean: 3, max: 6 });
    expect(j.order).toBe('time');
  });
});
