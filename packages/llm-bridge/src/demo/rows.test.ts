/** Training rows: the length curriculum's pool of the shortest rows. */
import { curriculumPool } from './rows';

test('length curriculum: batches start from the shortest tenth of the rows and reach all of them at the set share', () => {
  const pools = [0, 100, 250, 450, 500, 900].map((step) => curriculumPool(step, 1000, 0.5, 400, 16));
  expect(pools).toEqual([40, 112, 220, 364, 400, 400]);
  expect(curriculumPool(0, 1000, 0, 400, 16)).toBe(400);
  expect(curriculumPool(0, 1000, 0.5, 40, 16)).toBe(16); // never fewer than one batch
  expect(curriculumPool(0, 1000, 0.5, 8, 16)).toBe(8);
});
