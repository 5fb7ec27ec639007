/**
 * The `allmrec` command line. `main(argv)` runs one command and resolves to the exit code.
 */
import { UsageError } from './args';
import { backboneCommand, BACKBONE_HELP } from './commands/backbone';
import { benchCommand, BENCH_HELP } from './commands/bench';
import { dataCommand, DATA_HELP } from './commands/data';
import { runCommand, RUN_HELP } from './commands/run';
import { alignCommand, ALIGN_HELP } from './commands/align';
import { encodeCommand, ENCODE_HELP } from './commands/encode';
import { lmCommand, LM_HELP } from './commands/lm';
import { trainCommand, TRAIN_HELP } from './commands/train';
import { evalCommand, EVAL_HELP } from './commands/eval';
import { recommendCommand, RECOMMEND_HELP } from './commands/recommend';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  run: { run: runCommand, help: RUN_HELP },
  data: { run: dataCommand, help: DATA_HELP },
  backbone: { run: backboneCommand, help: BACKBONE_HELP },
  bench: { run: benchCommand, help: BENCH_HELP },
  align: { run: alignCommand, help: ALIGN_HELP },
  encode: { run: encodeCommand, help: ENCODE_HELP },
  lm: { run: lmCommand, help: LM_HELP },
  train: { run: trainCommand, help: TRAIN_HELP },
  eval: { run: evalCommand, help: EVAL_HELP },
  recommend: { run: recommendCommand, help: RECOMMEND_HELP },
};

const USAGE = `allmrec: A-LLMRec in TypeScript

usage: allmrec <command> [options]

commands:
  run        the whole pipeline on a dataset (default: built-in synthetic data)
  data       prepare | stats | download datasets
  backbone   train | eval a CF backbone (Stage 0)
  encode     embed texts or a catalogue with a frozen text encoder
  align      train | eval Stage 1 (collaborative-text alignment, cold items)
  lm         pretrain a small causal LM in the Hugging Face layout
  train      all stages (backbone, Stage 1, LM, Stage 2) into one directory; resumable
  eval       Stage 2 Hit@1 (generation and likelihood ranking) next to the backbone, same users
  recommend  one recommendation: generated answer, chosen title, candidates ranked
  bench      backbones (the cross-backbone benchmark, reports) | backbone | align

common options: --json (one JSON object on stdout), --backend wasm|cpu|tensorflow, --quiet
"allmrec <command> --help" for details.`;

/** Runs the CLI with `argv` (without node and script); resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return cmd ? 0 : 2;
  }
  if (cmd === '--version') {
    process.stdout.write('0.1.0\n');
    return 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    process.stderr.write(`allmrec: unknown command "${cmd}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`allmrec ${cmd}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
