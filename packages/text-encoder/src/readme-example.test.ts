import { UseLiteEncoder, cosineSimilarity, row } from './index';

test('README example: USE-lite on three titles', async () => {
  const titles = ['Die Hard (1988)', 'Die Hard 2 (1990)', 'Sense and Sensibility (1995)'];
  const encoder = await UseLiteEncoder.load();
  const vectors = await encoder.encode(titles);
  const sim = (i: number, j: number) => cosineSimilarity(row(vectors, 512, i), row(vectors, 512, j));
  expect(sim(0, 1)).toBeGreaterThan(sim(0, 2) + 0.1);
  encoder.dispose();
});
