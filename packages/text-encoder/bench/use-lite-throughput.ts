/**
 * USE-lite throughput on the first 1,000 ml-100k titles.
 * Run: cd packages/text-encoder && npx tsx bench/use-lite-throughput.ts [/path/to/u.item]
 */
import * as fs from 'node:fs';
import { currentBackend } from '@allmrec/core';
import { UseLiteEncoder } from '../src/use-lite';

async function main(): Promise<void> {
  const file = process.argv[2] ?? '/work/shared/datasets/ml-100k/u.item';
  const titles = fs.readFileSync(file, 'latin1').split('\n').filter(Boolean).map((l) => l.split('|')[1]).slice(0, 1000);
  const t0 = performance.now();
  const enc = await UseLiteEncoder.load();
  const loadMs = performance.now() - t0;
  await enc.encode(titles.slice(0, 32)); // warm-up (kernel compilation)
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    await enc.encode(titles);
    runs.push((titles.length * 1000) / (performance.now() - t));
  }
  enc.dispose();
  console.log(JSON.stringify({
    backend: currentBackend()?.name, texts: titles.length, loadMs: Math.round(loadMs),
    textsPerSecond: runs.map((x) => Math.round(x)),
  }));
}

void main();
