import { createProgressRenderer, type ProgressListener } from '@allmrec/core';

/** Where human-readable output and progress go; `--json` keeps stdout for one JSON object. */
export interface Output {
  json: boolean;
  /** Progress sink (stderr: a bar on a terminal, plain lines otherwise). */
  progress: ProgressListener;
  /** A line for humans (stdout, or stderr in --json mode). */
  log(line: string): void;
  /** The command's result: printed as JSON with --json, else by `human`. */
  result(value: unknown, human?: () => void): void;
}

export function makeOutput(values: Record<string, unknown>): Output {
  const json = !!values.json;
  const quiet = !!values.quiet;
  const render = createProgressRenderer({ stream: process.stderr });
  return {
    json,
    progress: quiet ? () => {} : render,
    log: (line) => {
      if (quiet) return;
      (json ? process.stderr : process.stdout).write(line + '\n');
    },
    result: (value, human) => {
      if (json) process.stdout.write(JSON.stringify(value) + '\n');
      else if (human) human();
      else process.stdout.write(JSON.stringify(value, null, 2) + '\n');
    },
  };
}

/** A plain text table. */
export function table(rows: (string | number)[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const cells = all.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : String(c))));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = cells.map(line);
  if (header) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}

function fmt(x: number): string {
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(4);
}
