/**
 * Helpers shared by the tests of the demonstration LM (test-only: nothing here is exported from
 * the package): the temporary directory of a test file, the items and at-initialisation spec the
 * tests use, and a save-then-load round trip of a {@link TrainableGPT2}.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors, selectBackend } from '@allmrec/core';
import { loadCausalLMSync, writeHFCheckpoint } from '../checkpoint';
import type { TrainedBPE } from './bpe-trainer';
import type { TrainableGPT2 } from './gpt2-trainable';

/** The tensors of a safetensors file by name, as Float32Arrays. */
export const readSafetensorsForTest = (file: string) => new Map([...readSafetensors(file).tensors].map(([k, t]) => [k, t.data as Float32Array]));

/** Selects the backend and creates a test file's temporary directory (in `beforeAll`; {@link removeTmpDir} in `afterAll`). */
export async function makeTmpDir(): Promise<string> {
  await selectBackend();
  return fs.mkdtempSync(path.join(os.tmpdir(), 'llm-pretrain-'));
}

export function removeTmpDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export const ITEMS = [
  'Toy Story (1995)', 'GoldenEye (1995)', 'Four Rooms (1995)', 'Get Shorty (1995)', 'Copycat (1995)',
  'Twelve Monkeys (1995)', 'Babe (1995)', 'Dead Man Walking (1995)', 'Richard III (1995)', 'Seven (Se7en) (1995)',
].map((title) => ({ title, description: '' }));

/** The spec of the at-initialisation tests: hidden 128, 8 heads, 2 layers, title rows started apart. */
export function atInitSpec(bpe: { vocabSize: number; eosTokenId: number }, titles: string[]) {
  return { vocabSize: bpe.vocabSize, hidden: 128, layers: 2, heads: 8, maxPositions: 256, eosTokenId: bpe.eosTokenId, mimeticInit: true, sharedInitRows: [bpe.vocabSize - titles.length, bpe.vocabSize] as [number, number], sharedInitSpread: 0.1 };
}

/** Writes `model` with `bpe`'s tokenizer as the checkpoint `dir` and loads it back as a frozen LM. */
export async function savedAndLoaded(model: TrainableGPT2, bpe: TrainedBPE, dir: string) {
  await writeHFCheckpoint(dir, { config: model.configJson(), tensors: model.toHF(), tokenizerJson: bpe.tokenizerJson, tokenizerConfig: bpe.tokenizerConfig });
  return loadCausalLMSync(dir);
}
