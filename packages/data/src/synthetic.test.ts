import { Rng } from '@allmrec/core';
import { loadDataset } from './load';
import { generateSynthetic } from './synthetic';

function serialize(d: Awaited<ReturnType<typeof loadDataset>>['dataset']): string {
  return JSON.stringify({ ...d, sequences: d.sequences.map((s) => Array.from(s)) });
}

describe('synthetic format (SYNTHETIC data)', () => {
  test('default size and byte-identical output for the same seed', async () => {
    const a = await loadDataset({ format: 'synthetic' });
    const b = await loadDataset({ format: 'synthetic' });
    expect(serialize(a.dataset)).toBe(serialize(b.dataset));
    expect(a.dataset.numUsers).toBe(1000);
    expect(a.dataset.numItems).toBe(800);
    expect(a.dataset.order).toBe('time');
    const total = a.dataset.sequences.reduce((s, q) => s + q.length, 0);
    expect(total / 1000).toBeGreaterThan(35);
    expect(total / 1000).toBeLessThan(45);
    const c = await loadDataset({ format: 'synthetic', seed: 43 });
    expect(serialize(c.dataset)).not.toBe(serialize(a.dataset));
    expect(new Set(a.dataset.items.slice(1).map((i) => i.title)).size).toBe(800);
  });

  test('order and text both carry signal', () => {
    const raw = generateSynthetic({ numUsers: 300, seed: 5 });
    const topicWord = (key: string) => /A (\w+) title/.exec(raw.items.get(key)!.description!)![1];
    // Topic words appear in titles: each title's last word is one of its topic's words, all titles share vocabulary within a topic.
    let sameTopicNext = 0;
    let pairs = 0;
    const byUser = new Map<string, string[]>();
    for (const x of raw.interactions) (byUser.get(x.user) ?? byUser.set(x.user, []).get(x.user)!).push(x.item);
    for (const seq of byUser.values()) {
      expect(new Set(seq).size).toBe(seq.length); // no repeats
      for (let k = 1; k < seq.length; k++) {
        pairs++;
        if (topicWord(seq[k]) === topicWord(seq[k - 1])) sameTopicNext++;
      }
    }
    // Random pairs would share a topic ~1/30 of the time.
    expect(sameTopicNext / pairs).toBeGreaterThan(0.6);
    // Next item is usually close in its topic's order ("Part n of the ... collection").
    const part = (key: string) => Number(/Part (\d+)/.exec(raw.items.get(key)!.description!)![1]);
    let near = 0;
    let same = 0;
    for (const seq of byUser.values())
      for (let k = 1; k < seq.length; k++)
        if (topicWord(seq[k]) === topicWord(seq[k - 1])) {
          same++;
          const d = part(seq[k]) - part(seq[k - 1]);
          if (d >= -1 && d <= 3 && d !== 0) near++;
        }
    expect(near / same).toBeGreaterThan(0.5);
    const rng = new Rng(1);
    expect(rng.int(10)).toBeGreaterThanOrEqual(0);
  });
});
