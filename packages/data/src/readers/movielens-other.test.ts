import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../load';
import { tempDir } from '../testing/paths';
import { readMovieLens1m } from './movielens-1m';
import { readMovieLensLatest } from './movielens-latest';

describe('MovieLens 1M format (fixture in the exact real format)', () => {
  test('"::"-separated latin-1 files', async () => {
    const dir = tempDir('ml1m');
    fs.writeFileSync(path.join(dir, 'ratings.dat'), '1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n');
    fs.writeFileSync(
      path.join(dir, 'movies.dat'),
      Buffer.from("1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::Animation|Children's|Musical\n10::Cité des enfants perdus, La (1995)::Adventure|Sci-Fi\n", 'latin1'),
    );
    const raw = await readMovieLens1m(dir);
    expect(raw.interactions[0]).toEqual({ user: '1', item: '1193', rating: 5, time: 978300760, order: 0 });
    expect(raw.items.get('661')).toEqual({ title: 'James and the Giant Peach (1996)', description: "Genres: Animation, Children's, Musical" });
    expect(raw.items.get('10')!.title).toBe('Cité des enfants perdus, La (1995)');
    const { dataset } = await loadDataset({ format: 'movielens-1m', path: path.join(dir, 'ratings.dat'), minUser: 0, minItem: 0 });
    expect(dataset.order).toBe('time');
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(['1193', '661']);
    expect(dataset.domain).toBe('movies');
  });

  test('non-numeric rating names file, line and field', async () => {
    const dir = tempDir('ml1m-bad');
    fs.writeFileSync(path.join(dir, 'ratings.dat'), '1::1193::5::978300760\n1::661::x::978302109\n');
    await expect(readMovieLens1m(dir)).rejects.toMatchObject({ name: 'DataFormatError', line: 2, field: 'rating', file: path.join(dir, 'ratings.dat') });
  });
});

describe('MovieLens latest format (fixture in the exact real format)', () => {
  test('header, RFC-4180 quoted titles with commas and doubled quotes, UTF-8', async () => {
    const dir = tempDir('mllatest');
    fs.writeFileSync(path.join(dir, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.0,964981247\n1,6,4.5,964982224\n2,3,3.5,1445714835\n');
    fs.writeFileSync(
      path.join(dir, 'movies.csv'),
      'movieId,title,genres\n' +
        '1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n' +
        '3,"American President, The (1995)",Comedy|Drama|Romance\n' +
        '6,"""Great Performances"" Cats (1998)",(no genres listed)\n' +
        '7,"Amélie (Fabuleux destin d\'Amélie Poulain, Le) (2001)",Comedy|Romance\n',
    );
    const raw = await readMovieLensLatest(dir);
    expect(raw.interactions[2]).toEqual({ user: '1', item: '6', rating: 4.5, time: 964982224, order: 2 });
    expect(raw.items.get('3')).toEqual({ title: 'American President, The (1995)', description: 'Genres: Comedy, Drama, Romance' });
    expect(raw.items.get('6')).toEqual({ title: '"Great Performances" Cats (1998)', description: undefined });
    expect(raw.items.get('7')!.title).toBe("Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)");
    const { dataset } = await loadDataset({ format: 'movielens-latest', path: dir, minUser: 0, minItem: 0 });
    expect(dataset.order).toBe('time');
    // user 1 sorted by time: 3 (964981247), 6 (964982224), 1 (964982703)
    expect(Array.from(dataset.sequences[1], (i) => dataset.itemKeys[i])).toEqual(['3', '6', '1']);
  });

  test('missing column is reported with its name', async () => {
    const dir = tempDir('mllatest-bad');
    fs.writeFileSync(path.join(dir, 'ratings.csv'), 'userId,movieId,timestamp\n1,1,964982703\n');
    await expect(readMovieLensLatest(dir)).rejects.toMatchObject({ name: 'DataFormatError', field: 'rating' });
  });
});
