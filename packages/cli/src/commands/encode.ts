import * as path from 'node:path';
import { encodeSafetensors, writeFileAtomic } from '@allmrec/core';
import { listTextEncoders } from '@allmrec/text-encoder';
import { DATA_OPTIONS, parse, UsageError, DATA_OPTIONS_HELP } from '../args';
import { datasetFromOptions } from '../dataset-source';
import { makeOutput } from '../output';
import { environmentInfo } from '../pipeline';
import { encodeCatalog, makeEncoder } from '../stage1-pipeline';

export const ENCODE_HELP = `allmrec encode [--encoder use-lite|tfidf|onnx] [--model-dir DIR] [--no-cache]
               (--text "a title" [--text ...] | --data PATH --format FORMAT) [--out FILE.safetensors] [--json]
  Embeds texts, or every item of a catalogue (title + first description line; row 0 = padding),
  with a frozen text encoder. Writes a safetensors file with tensor "embeddings" when --out is
  given. Vectors are cached on disk (ALLMREC_HOME/embeddings) so re-runs skip encoding.

${DATA_OPTIONS_HELP}`;

export async function encodeCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...DATA_OPTIONS, encoder: { type: 'string', default: 'use-lite' }, 'model-dir': { type: 'string' },
    text: { type: 'string', multiple: true }, out: { type: 'string' }, 'no-cache': { type: 'boolean', default: false },
  });
  if (values.help) { process.stdout.write(ENCODE_HELP + '\n'); return 0; }
  const out = makeOutput(values);
  const env = await environmentInfo(values.backend as string | undefined);
  const name = values.encoder as string;
  if (!listTextEncoders().includes(name)) throw new UsageError(`--encoder ${name}: unknown (one of ${listTextEncoders().join(', ')})`);
  const encoder = await makeEncoder(name, { modelDir: values['model-dir'] as string | undefined, cache: !values['no-cache'] });
  const texts = values.text as unknown as string[] | undefined;
  let embeddings: Float32Array;
  let rows: number;
  let textsPerSecond: number;
  if (texts && texts.length) {
    const t0 = performance.now();
    embeddings = await encoder.encode(texts, { onProgress: out.progress });
    textsPerSecond = texts.length / ((performance.now() - t0) / 1000);
    rows = texts.length;
  } else {
    const { dataset } = await datasetFromOptions(values);
    const r = await encodeCatalog(dataset, encoder, out.progress);
    embeddings = r.embeddings;
    rows = dataset.numItems + 1;
    textsPerSecond = r.textsPerSecond;
  }
  if (values.out) {
    await writeFileAtomic(values.out as string, encodeSafetensors(
      { embeddings: { shape: [rows, encoder.dim], data: embeddings } }, { encoder: encoder.id },
    ));
  }
  const result = {
    encoder: encoder.name, id: encoder.id, dim: encoder.dim, rows, texts_per_s: Math.round(textsPerSecond), backend: env.backend,
    out: values.out ? path.resolve(values.out as string) : undefined,
    ...(texts && texts.length && !values.out ? { embeddings: Array.from({ length: rows }, (_, i) => Array.from(embeddings.subarray(i * encoder.dim, (i + 1) * encoder.dim))) } : {}),
  };
  out.result(result, () => process.stdout.write(`${rows} rows x ${encoder.dim} (${encoder.id}), ${result.texts_per_s} texts/s${values.out ? ` -> ${result.out}` : ''}\n`));
  encoder.dispose();
  return 0;
}
