/**
 * `allmrec lm generate`: greedy text from any checkpoint in one line, as transformers'
 * `generate(do_sample=False)` gives it (the prompt encoded with the tokenizer's special tokens).
 */
import { performance } from 'node:perf_hooks';
import { generateText, loadCausalLM, type LMRuntime } from '@allmrec/llm-bridge';
import { choiceOption, intOption, parse, positiveNumber, UsageError } from '../args';
import { makeOutput } from '../output';
import { environmentInfo } from '../pipeline';

export const LM_GENERATE_HELP = `allmrec lm generate --llm DIR|hub-name --prompt TEXT [--max-new-tokens 30]
                    [--repetition-penalty 1] [--runtime tfjs|onnx] [--offline] [--json]
  Greedy continuation of TEXT by a Hugging Face checkpoint (gpt2, opt, llama, mistral, qwen2, qwen3,
  gemma, gemma2, phi3, gpt_neox): a directory, or a hub name downloaded once into the hub cache
  (--offline: from the cache only). Repetition penalty 1 (none) unless given; it counts the prompt's
  tokens too, as transformers does. --runtime tfjs (default) or onnx (onnxruntime, exported once into
  $ALLMREC_HOME/onnx, default ~/.cache/allmrec). --json prints { "model_type", "prompt_ids", "new_ids", "text" }.`;

export async function lmGenerateCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    llm: { type: 'string' }, prompt: { type: 'string' }, 'max-new-tokens': { type: 'string', default: '30' },
    'repetition-penalty': { type: 'string' }, runtime: { type: 'string', default: 'tfjs' }, offline: { type: 'boolean', default: false },
  });
  if (values.help) {
    process.stdout.write(LM_GENERATE_HELP + '\n');
    return 0;
  }
  if (typeof values.llm !== 'string') throw new UsageError('--llm DIR|hub-name is required');
  if (typeof values.prompt !== 'string') throw new UsageError('--prompt TEXT is required');
  const maxNewTokens = intOption(values, 'max-new-tokens')!;
  if (maxNewTokens < 1) throw new UsageError(`--max-new-tokens must be at least 1, got ${maxNewTokens}`);
  const repetitionPenalty = positiveNumber(values, 'repetition-penalty', 1)!;
  const runtime = choiceOption(values, 'runtime', ['tfjs', 'onnx']) as LMRuntime;
  const out = makeOutput(values);
  await environmentInfo(values.backend as string | undefined);
  const t0 = performance.now();
  const lm = await loadCausalLM(values.llm, { runtime, offline: values.offline ? true : undefined, onProgress: out.progress });
  try {
    const r = await generateText(lm, values.prompt, { maxNewTokens, repetitionPenalty });
    const seconds = Math.round((performance.now() - t0) / 10) / 100;
    out.result({ model_type: lm.config.modelType, prompt_ids: r.promptIds, new_ids: r.newIds, text: r.text }, () => {
      process.stdout.write(`${values.prompt}${r.text}\n`);
      process.stderr.write(`${lm.config.modelType}: ${r.promptIds.length} prompt tokens, ${r.newIds.length} new, ${seconds} s (${runtime})\n`);
    });
  } finally {
    await lm.dispose();
  }
  return 0;
}
