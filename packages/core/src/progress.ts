/**
 * Rendering of {@link ProgressEvent}s: a single in-place progress line on a terminal, throttled
 * plain log lines elsewhere (CI logs), or JSON lines for machines.
 */
import type { ProgressEvent, ProgressListener } from './types';

/** Where and how progress is rendered. */
export interface ProgressRendererOptions {
  /** Output stream (default `process.stderr`). */
  stream?: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  /** Force the terminal mode on or off (default: `stream.isTTY`). */
  isTTY?: boolean;
  /** Write one JSON object per line instead of text (throttled like plain lines). */
  json?: boolean;
  /** Minimum milliseconds between two plain/JSON lines of the same task (default 5000). */
  intervalMs?: number;
  /** Minimum milliseconds between two terminal redraws (default 100). */
  redrawMs?: number;
  /** Clock in milliseconds (default `Date.now`); injectable for tests. */
  now?: () => number;
}

interface TaskState {
  start: number;
  startCurrent: number;
  lastEmit: number;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

function formatBytes(n: number): string {
  let i = 0;
  while (Math.abs(n) >= 1024 && i < BYTE_UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${BYTE_UNITS[i]}`;
}

/** Formats a count in the event's unit ("12.5 MiB" for bytes, "45" otherwise). */
function formatAmount(n: number, unit?: string): string {
  if (unit === 'bytes') return formatBytes(n);
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** Formats a duration in seconds as "45s", "3m05s" or "2h03m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toPrecision(4);
}

function formatRate(rate: number, unit?: string): string {
  if (unit === 'bytes') return `${formatBytes(rate)}/s`;
  const r = rate >= 100 ? rate.toFixed(0) : rate >= 1 ? rate.toFixed(1) : rate.toFixed(3);
  return `${r} ${unit ?? 'it'}/s`;
}

/**
 * Creates a {@link ProgressListener} that renders events on `stream`.
 * - Terminal: one line per task redrawn in place (`\r`): task, bar, current/total unit, rate,
 *   ETA and values; a newline after the task's `done` event.
 * - Otherwise: a plain line on a task's first event, then at most one every `intervalMs` per
 *   task, plus the final `done` line, e.g.
 *   `[sasrec:train] 3/10 epoch (30%) 0.500 epoch/s eta 14s loss=0.6931`.
 * - `json`: the same throttling, each line `{"time":...,"task":...,"current":...,...}`.
 */
export function createProgressRenderer(options: ProgressRendererOptions = {}): ProgressListener {
  const stream = options.stream ?? process.stderr;
  const tty = options.json ? false : options.isTTY ?? Boolean(stream.isTTY);
  const intervalMs = options.intervalMs ?? 5000;
  const redrawMs = options.redrawMs ?? 100;
  const now = options.now ?? Date.now;
  const tasks = new Map<string, TaskState>();

  const describe = (e: ProgressEvent, st: TaskState, t: number) => {
    const elapsed = (t - st.start) / 1000;
    const rate = elapsed > 0 ? (e.current - st.startCurrent) / elapsed : undefined;
    const eta = e.total !== undefined && rate && rate > 0 ? (e.total - e.current) / rate : undefined;
    const amount =
      e.total !== undefined
        ? `${formatAmount(e.current, e.unit)}/${formatAmount(e.total, e.unit)}`
        : formatAmount(e.current, e.unit);
    const unit = e.unit && e.unit !== 'bytes' ? ` ${e.unit}` : '';
    const pct = e.total ? ` (${Math.floor((100 * e.current) / e.total)}%)` : '';
    const values = Object.entries(e.values ?? {}).map(([k, v]) => ` ${k}=${formatValue(v)}`).join('');
    return { elapsed, rate, eta, amount: amount + unit, pct, values };
  };

  return (e: ProgressEvent) => {
    const t = now();
    let st = tasks.get(e.task);
    const first = !st;
    if (!st) {
      st = { start: t, startCurrent: e.current, lastEmit: -Infinity };
      tasks.set(e.task, st);
    }
    const d = describe(e, st, t);

    if (options.json) {
      if (!(first || e.done || t - st.lastEmit >= intervalMs)) return;
      st.lastEmit = t;
      const rec: Record<string, unknown> = { time: new Date(t).toISOString(), task: e.task, current: e.current };
      if (e.total !== undefined) rec.total = e.total;
      if (e.unit) rec.unit = e.unit;
      if (d.rate !== undefined) rec.rate = d.rate;
      if (d.eta !== undefined) rec.eta = d.eta;
      if (e.values) rec.values = e.values;
      if (e.done) rec.done = true;
      stream.write(JSON.stringify(rec) + '\n');
      if (e.done) tasks.delete(e.task);
      return;
    }

    if (!tty) {
      if (!(first || e.done || t - st.lastEmit >= intervalMs)) return;
      st.lastEmit = t;
      let line: string;
      if (e.done) {
        line = `[${e.task}] done ${d.amount} in ${formatDuration(d.elapsed)}${d.values}`;
      } else {
        const rate = d.rate !== undefined && !first ? ` ${formatRate(d.rate, e.unit)}` : '';
        const eta = d.eta !== undefined && !first ? ` eta ${formatDuration(d.eta)}` : '';
        line = `[${e.task}] ${d.amount}${d.pct}${rate}${eta}${d.values}`;
      }
      stream.write(line + '\n');
      if (e.done) tasks.delete(e.task);
      return;
    }

    // Terminal: redraw in place.
    if (!(first || e.done || t - st.lastEmit >= redrawMs)) return;
    st.lastEmit = t;
    const columns = stream.columns && stream.columns > 20 ? stream.columns : 80;
    const rate = d.rate !== undefined && d.elapsed > 0 ? ` ${formatRate(d.rate, e.unit)}` : '';
    const tail = e.done
      ? ` ${d.amount} in ${formatDuration(d.elapsed)}${d.values}`
      : ` ${d.amount}${rate}${d.eta !== undefined ? ` eta ${formatDuration(d.eta)}` : ''}${d.values}`;
    let bar = '';
    if (e.total) {
      const width = Math.max(10, Math.min(30, columns - e.task.length - tail.length - 12));
      const filled = Math.max(0, Math.min(width, Math.round((width * e.current) / e.total)));
      bar = ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${d.pct}`;
    }
    let line = `${e.task}${bar}${tail}`;
    if (line.length > columns - 1) line = line.slice(0, columns - 1);
    stream.write(`\r\x1b[2K${line}${e.done ? '\n' : ''}`);
    if (e.done) tasks.delete(e.task);
  };
}
