/** The runner's table, as text for the terminal and as Markdown for docs/benchmarks.md. */
import type { BenchRow } from '../types.js';

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly node: string;
}

export function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '-';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(2);
}

/** value / baseline, with the direction: for "lower is better" figures the ratio still reads value / baseline. */
export function ratio(row: BenchRow): string {
  if (row.skipped !== undefined || !row.baselineValue || !Number.isFinite(row.value)) return '-';
  return `${(row.value / row.baselineValue).toFixed(2)}x`;
}

function latency(p50: number | undefined, p99: number | undefined): string {
  if (p50 === undefined && p99 === undefined) return '-';
  return `${fmt(p50)} / ${fmt(p99)}`;
}

const HEADER = ['suite', 'figure', 'value', 'unit', 'p50 / p99 ms', 'baseline', 'baseline value', 'baseline p50 / p99 ms', 'ratio', 'better', 'rounds', 'non-2xx / socket errors'];

/** HTTP figures carry their error counts; others show '-'. */
function errors(r: BenchRow): string {
  if (r.non2xx === undefined && r.socketErrors === undefined) return '-';
  return `${r.non2xx ?? 0} / ${r.socketErrors ?? 0}`;
}

function cells(r: BenchRow): string[] {
  return [
    r.suite,
    r.name,
    r.skipped !== undefined ? 'skipped' : fmt(r.value),
    r.unit,
    latency(r.p50Ms, r.p99Ms),
    r.baseline ?? '-',
    fmt(r.baselineValue),
    latency(r.baselineP50Ms, r.baselineP99Ms),
    ratio(r),
    r.better,
    String(r.rounds),
    errors(r),
  ];
}

export function textTable(rows: readonly BenchRow[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i] as number)).join('  ').trimEnd();
  const skipped = rows.filter((r) => r.skipped !== undefined).map((r) => `skipped: ${r.suite} / ${r.name}: ${r.skipped}`);
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), ...skipped].join('\n');
}

export function markdownTable(rows: readonly BenchRow[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`| ${HEADER.join(' | ')} |`, `| ${HEADER.map((_, i) => (i === 2 || i === 6 || i === 8 ? '---:' : '---')).join(' | ')} |`];
  for (const r of rows) lines.push(`| ${cells(r).map(esc).join(' | ')} |`);
  const skipped = rows.filter((r) => r.skipped !== undefined);
  if (skipped.length) lines.push('', ...skipped.map((r) => `- skipped: ${r.suite} / ${r.name}: ${r.skipped}`));
  return lines.join('\n');
}

/** The one-line progress report a suite's row gets as soon as it is measured. */
export function progressLine(r: BenchRow): string {
  if (r.skipped !== undefined) return `  ${r.name}: skipped (${r.skipped})`;
  const base = r.baselineValue ? ` vs ${fmt(r.baselineValue)} (${ratio(r)})` : '';
  const lat = r.p99Ms !== undefined ? `, p50/p99 ${latency(r.p50Ms, r.p99Ms)} ms${r.baselineP99Ms !== undefined ? ` vs ${latency(r.baselineP50Ms, r.baselineP99Ms)}` : ''}` : '';
  const bad = errors(r) === '-' ? '' : `, non-2xx / socket errors ${errors(r)}`;
  return `  ${r.name}: ${fmt(r.value)} ${r.unit}${base}${lat}${bad}${r.note ? ` [${r.note}]` : ''}`;
}

/** Replaces the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in a document. */
export function replaceSection(doc: string, name: string, content: string): string {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const a = doc.indexOf(open);
  const b = doc.indexOf(close);
  if (a < 0 || b < a) return doc;
  return `${doc.slice(0, a + open.length)}\n${content}\n${doc.slice(b)}`;
}
