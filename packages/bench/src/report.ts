/**
 * Benchmark reports: one JSON object, a markdown table and a self-contained HTML page (inline
 * SVG charts, no scripts or external assets), written atomically into the run's directory.
 */
import * as path from 'node:path';
import { writeFileAtomicSync } from '@allmrec/core';
import { aggregateCells, type BenchRow } from './aggregate';
import type { BenchCell } from './grid';

/** Everything a report shows. */
export interface BenchReport {
  title: string;
  dataset: string;
  /** Users, items, interactions of the dataset. */
  data: Record<string, number | string>;
  /** Settings of the run (epochs, patience, loss, seeds, ...). */
  settings: Record<string, unknown>;
  /** Machine and runtime (backend, cpu, cores, node). */
  machine: Record<string, unknown>;
  date: string;
  rows: BenchRow[];
  cells: BenchCell[];
  /** Paths of the files written (filled by {@link writeReports}). */
  files?: { json: string; markdown: string; html: string };
}

/** Builds the report object from finished cells. */
export function buildReport(opts: Omit<BenchReport, 'rows' | 'files'>): BenchReport {
  return { ...opts, rows: aggregateCells(opts.cells) };
}

const fmt = (v: unknown, std?: unknown): string => {
  if (v === null || v === undefined) return 'n/a';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) && !(typeof std === 'number' && std > 0)) return String(v);
  const s = typeof std === 'number' && std > 0 ? ` ± ${std.toFixed(4)}` : '';
  return `${v.toFixed(4)}${s}`;
};

const TABLE: [string, string][] = [
  ['full_hr10', 'HR@10'], ['full_ndcg10', 'NDCG@10'], ['full_mrr10', 'MRR@10'], ['full_ndcg20', 'NDCG@20'],
  ['test_hit1_20', 'Hit@1 /20'], ['valid_ndcg10_101', 'valid NDCG@10 /101'], ['s_per_epoch', 's/epoch'], ['epochs', 'epochs'],
];

function stageColumns(rows: BenchRow[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (/^stage/.test(k) && !k.endsWith('_std') && typeof r[k] === 'number') keys.add(k);
  return [...keys];
}

/** The markdown table (full ranking first, then the sampled protocols, speed, stages). */
export function markdownReport(rep: BenchReport): string {
  const stages = stageColumns(rep.rows);
  const head = ['backbone', 'seeds', ...TABLE.map(([, t]) => t), ...stages];
  const lines = [
    `## ${rep.title}`, '',
    `${rep.dataset}: ${Object.entries(rep.data).map(([k, v]) => `${v} ${k}`).join(', ')}. ${rep.date}. ` +
      `${Object.entries(rep.machine).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '',
    `Full ranking (every item outside the history) on the test item: HR/NDCG/MRR@k. Hit@1 /20 and NDCG@10 /101: the paper's sampled protocols, candidates drawn once (seed ${rep.settings.evalSeed ?? 42}) and shared by every model. Mean ± sample std over seeds.`, '',
    `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`,
  ];
  for (const r of rep.rows) {
    const cells = [r.backbone, (r.seeds as number[]).join(','), ...TABLE.map(([k]) => fmt(r[k], r[`${k}_std`])), ...stages.map((k) => fmt(r[k], r[`${k}_std`]))];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const notes = rep.rows.flatMap((r) => ((r.notes as string[] | undefined) ?? []).map((n) => `- ${r.backbone}: ${n}`));
  if (notes.length) lines.push('', ...notes);
  lines.push('', `Settings: ${Object.entries(rep.settings).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`);
  return lines.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));
const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

interface Bar { label: string; values: { name: string; v: number | null; std?: number | null }[] }

/** Grouped bar chart with error bars, as an SVG string. */
function barChart(title: string, bars: Bar[], unit = ''): string {
  const series = bars[0]?.values.map((x) => x.name) ?? [];
  const max = Math.max(1e-9, ...bars.flatMap((b) => b.values.map((x) => (x.v ?? 0) + (x.std ?? 0))));
  const W = 640;
  const H = 260;
  const left = 60;
  const bottom = 40;
  const plotW = W - left - 10;
  const plotH = H - bottom - 30;
  const groupW = plotW / Math.max(bars.length, 1);
  const barW = Math.max(4, (groupW * 0.8) / Math.max(series.length, 1));
  const y = (v: number) => 30 + plotH - (v / max) * plotH;
  const parts: string[] = [`<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    parts.push(`<line x1="${left}" x2="${W - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 4}" y="${y(v) + 4}" text-anchor="end" font-size="10">${v.toPrecision(3)}${unit}</text>`);
  }
  bars.forEach((b, i) => {
    const x0 = left + i * groupW + groupW * 0.1;
    b.values.forEach((s, j) => {
      if (s.v === null) return;
      const x = x0 + j * barW;
      parts.push(`<rect x="${x}" y="${y(s.v)}" width="${barW - 1}" height="${y(0) - y(s.v)}" fill="${COLORS[j % COLORS.length]}"><title>${esc(`${b.label} ${s.name}: ${s.v}${s.std ? ` ± ${s.std}` : ''}`)}</title></rect>`);
      if (s.std) {
        const cx = x + (barW - 1) / 2;
        parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(s.v + s.std)}" y2="${y(Math.max(0, s.v - s.std))}" stroke="#000"/>`);
      }
    });
    parts.push(`<text x="${left + i * groupW + groupW / 2}" y="${H - bottom + 16}" text-anchor="middle" font-size="11">${esc(b.label)}</text>`);
  });
  const legend = series.length > 1 ? series.map((s, j) => `<tspan fill="${COLORS[j % COLORS.length]}">■</tspan> ${esc(s)}`).join('&#160;&#160; ') : '';
  if (legend) parts.push(`<text x="${left}" y="${H - 6}" font-size="11">${legend}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** Scatter of one metric against another, one labelled point per backbone. */
function scatter(title: string, rows: BenchRow[], xKey: string, yKey: string, xLabel: string, yLabel: string): string {
  const pts = rows.filter((r) => typeof r[xKey] === 'number' && typeof r[yKey] === 'number');
  const W = 640;
  const H = 300;
  const m = { l: 60, r: 20, t: 30, b: 45 };
  const xs = pts.map((r) => r[xKey] as number);
  const ys = pts.map((r) => r[yKey] as number);
  const [x0, x1] = [Math.min(0, ...xs), Math.max(1e-9, ...xs) * 1.1];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(1e-9, ...ys) * 1.1];
  const X = (v: number) => m.l + ((v - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts = [
    `<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#000"/><line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#000"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`,
    `<text x="14" y="${H / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 14 ${H / 2})">${esc(yLabel)}</text>`,
    `<text x="${m.l}" y="${H - m.b + 14}" font-size="10" text-anchor="middle">${x0.toPrecision(2)}</text><text x="${W - m.r}" y="${H - m.b + 14}" font-size="10" text-anchor="end">${x1.toPrecision(3)}</text>`,
    `<text x="${m.l - 4}" y="${H - m.b}" font-size="10" text-anchor="end">${y0.toPrecision(2)}</text><text x="${m.l - 4}" y="${m.t + 8}" font-size="10" text-anchor="end">${y1.toPrecision(3)}</text>`,
  ];
  pts.forEach((r, i) => {
    const cx = X(r[xKey] as number);
    const cy = Y(r[yKey] as number);
    parts.push(`<circle cx="${cx}" cy="${cy}" r="5" fill="${COLORS[i % COLORS.length]}"/><text x="${cx + 7}" y="${cy + 4}" font-size="11">${esc(r.backbone)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** The self-contained HTML page. */
export function htmlReport(rep: BenchReport): string {
  const rows = rep.rows;
  const num = (r: BenchRow, k: string) => (typeof r[k] === 'number' ? (r[k] as number) : null);
  const charts = [
    barChart('Full-ranking quality on the test item (mean ± std over seeds)', rows.map((r) => ({
      label: r.backbone,
      values: [['HR@10', 'full_hr10'], ['NDCG@10', 'full_ndcg10'], ['MRR@10', 'full_mrr10']].map(([n, k]) => ({ name: n, v: num(r, k), std: num(r, `${k}_std`) })),
    }))),
    barChart('Training seconds per epoch (median epoch, validation excluded)', rows.map((r) => ({ label: r.backbone, values: [{ name: 's/epoch', v: num(r, 's_per_epoch'), std: num(r, 's_per_epoch_std') }] })), ' s'),
    scatter('Full ranking vs the sampled protocol: do they order the models alike?', rows, 'full_ndcg10', 'test_hit1_20', 'full-ranking NDCG@10 (test)', 'Hit@1 over 20 sampled candidates (test)'),
  ];
  const cold = rows.filter((r) => Object.keys(r).some((k) => /cold/.test(k) && typeof r[k] === 'number'));
  if (cold.length) {
    const keys = [...new Set(cold.flatMap((r) => Object.keys(r).filter((k) => /(cold|warm)/.test(k) && !k.endsWith('_std') && typeof r[k] === 'number')))];
    charts.push(barChart('Cold vs warm items (where measured)', cold.map((r) => ({ label: r.backbone, values: keys.map((k) => ({ name: k, v: num(r, k), std: num(r, `${k}_std`) })) }))));
  }
  const md = markdownReport(rep);
  const tableHtml = md.split('\n').filter((l) => l.startsWith('|')).map((l, i) => {
    if (i === 1) return '';
    const cells = l.split('|').slice(1, -1).map((c) => c.trim());
    const tag = i === 0 ? 'th' : 'td';
    return `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('')}</tr>`;
  }).join('\n');
  const meta = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `<li><b>${esc(k)}</b>: ${esc(typeof v === 'string' ? v : JSON.stringify(v))}</li>`).join('');
  const notes = rows.flatMap((r) => ((r.notes as string[] | undefined) ?? []).map((n) => `<li>${esc(r.backbone)}: ${esc(n)}</li>`)).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(rep.title)}</title>
<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}td:first-child,th:first-child{text-align:left}svg{display:block;margin:1.5em 0}</style>
</head><body>
<h1>${esc(rep.title)}</h1>
<p>${esc(rep.dataset)} — ${esc(Object.entries(rep.data).map(([k, v]) => `${v} ${k}`).join(', '))}. ${esc(rep.date)}.</p>
<table>${tableHtml}</table>
${notes ? `<ul>${notes}</ul>` : ''}
${charts.join('\n')}
<h2>Settings</h2><ul>${meta(rep.settings)}</ul>
<h2>Machine</h2><ul>${meta(rep.machine)}</ul>
<p>Per-seed cells are in report.json (<code>cells</code>).</p>
</body></html>
`;
}

/** Writes report.json, report.md and report.html into `dir` and returns the report with their paths. */
export function writeReports(dir: string, rep: BenchReport): BenchReport {
  const files = { json: path.join(dir, 'report.json'), markdown: path.join(dir, 'report.md'), html: path.join(dir, 'report.html') };
  const withFiles = { ...rep, files };
  writeFileAtomicSync(files.json, JSON.stringify(withFiles, null, 2) + '\n');
  writeFileAtomicSync(files.markdown, markdownReport(rep));
  writeFileAtomicSync(files.html, htmlReport(rep));
  return withFiles;
}
