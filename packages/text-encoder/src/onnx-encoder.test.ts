import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OnnxSentenceEncoder } from './onnx-encoder';
import { WordPieceTokenizer } from './wordpiece';
import { tinyEmbeddingModel } from './testing/tiny-onnx';
import { fixtureTokenizerJson, fixtureVocab } from './testing/bert-tokenizer';
import { row } from './vector';

const V = fixtureVocab().length;
const H = 6;
// Small integers: sums are exact in float32, so the pooled means can be compared exactly.
const table = Float32Array.from({ length: V * H }, (_, i) => ((i * 7919) % 23) - 11);

function makeModelDir(opts: { tokenTypeIds?: boolean; vocabTxt?: boolean } = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-onnx-'));
  const sub = path.join(dir, 'tiny-bert');
  fs.mkdirSync(sub);
  fs.writeFileSync(path.join(sub, 'model.onnx'), tinyEmbeddingModel({ table, vocab: V, hidden: H, tokenTypeIds: opts.tokenTypeIds }));
  if (opts.vocabTxt) fs.writeFileSync(path.join(sub, 'vocab.txt'), fixtureVocab().join('\n'));
  else fs.writeFileSync(path.join(sub, 'tokenizer.json'), JSON.stringify(fixtureTokenizerJson()));
  return sub;
}

/** Mean of the embedding rows of the text's tokens ([CLS] and [SEP] included), by hand. */
function expected(text: string, normalize: boolean): Float32Array {
  const ids = WordPieceTokenizer.fromTokenizerJson(fixtureTokenizerJson()).encode(text).ids;
  const acc = new Float64Array(H);
  for (const id of ids) for (let j = 0; j < H; j++) acc[j] += table[id * H + j];
  const mean = Array.from(acc, (x) => x / ids.length);
  const norm = normalize ? Math.hypot(...mean) : 1;
  return Float32Array.from(mean, (x) => x / norm);
}

describe('OnnxSentenceEncoder on a Gather-only ONNX graph', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) fs.rmSync(path.dirname(d), { recursive: true, force: true }); });
  const texts = ['Star Wars (1977)', 'Jaws', 'Die Hard', 'Café Unaffable!', 'Batman Returns', 'Jaws'];

  it('mean-pools the non-padding token states exactly', async () => {
    const dir = makeModelDir(); dirs.push(dir);
    const enc = await OnnxSentenceEncoder.load(dir, { normalize: false, batchSize: 2 });
    try {
      expect(enc.name).toBe('onnx:tiny-bert');
      expect(enc.id).toMatch(/^onnx:tiny-bert@[0-9a-f]{12}$/);
      expect(enc.dim).toBe(H);
      const v = await enc.encode(texts);
      texts.forEach((t, i) => {
        expect(row(v, H, i)).toEqual(expected(t, false));
      });
      // Batch-independent, bit for bit.
      for (let i = 0; i < texts.length; i++) expect(await enc.encode([texts[i]])).toEqual(row(v, H, i));
    } finally {
      enc.dispose();
    }
  });

  it('L2-normalises by default and feeds token_type_ids when the graph declares it', async () => {
    const dir = makeModelDir({ tokenTypeIds: true }); dirs.push(dir);
    const enc = await OnnxSentenceEncoder.load(dir);
    try {
      const v = await enc.encode(texts.slice(0, 3));
      for (let i = 0; i < 3; i++) {
        const want = expected(texts[i], true);
        row(v, H, i).forEach((x, j) => expect(x).toBeCloseTo(want[j], 6));
        expect(Math.hypot(...row(v, H, i))).toBeCloseTo(1, 6);
      }
    } finally {
      enc.dispose();
    }
  });

  it('supports cls pooling and a vocab.txt-only directory', async () => {
    const dir = makeModelDir({ vocabTxt: true }); dirs.push(dir);
    const enc = await OnnxSentenceEncoder.load(dir, { pooling: 'cls', normalize: false });
    try {
      const v = await enc.encode(['Jaws']);
      expect(Array.from(v)).toEqual(Array.from(table.subarray(101 * H, 102 * H)));
    } finally {
      enc.dispose();
    }
  });

  it('truncates to sentence_bert_config.json max_seq_length', async () => {
    const dir = makeModelDir(); dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 4, do_lower_case: false }));
    const enc = await OnnxSentenceEncoder.load(dir, { normalize: false });
    try {
      expect(enc.tokenizer.config.maxLength).toBe(4);
      // [CLS] die hard [SEP]: "returns" is cut.
      expect(await enc.encode(['Die Hard Returns'])).toEqual(expected('Die Hard', false));
    } finally {
      enc.dispose();
    }
  });

  it('fails clearly when files are missing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allmrec-onnx-empty-'));
    try {
      await expect(OnnxSentenceEncoder.load(dir)).rejects.toThrow(/no ONNX model/);
      fs.writeFileSync(path.join(dir, 'model.onnx'), tinyEmbeddingModel({ table, vocab: V, hidden: H }));
      await expect(OnnxSentenceEncoder.load(dir)).rejects.toThrow(/no tokenizer\.json or vocab\.txt/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
