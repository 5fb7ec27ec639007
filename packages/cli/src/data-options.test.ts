import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './testing/run-cli';

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
});
