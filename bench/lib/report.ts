/** The runner's table, as text for the terminal and as Markdown for docs/benchmarks.md. */
import type { BenchRow, LineChart } from '../types.js';

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

/** Whether the row's ratio meets its target; undefined when it has none or was not measured. */
export function meetsTarget(row: BenchRow): boolean | undefined {
  if (row.target === undefined || row.skipped !== undefined || !row.baselineValue || !Number.isFinite(row.value)) return undefined;
  const r = row.value / row.baselineValue;
  return row.better === 'higher' ? r >= row.target : r <= row.target;
}

/** The ratio, and the target beside it when the row has one: `0.71x (target >= 0.95x: short)`. */
export function ratioWithTarget(row: BenchRow): string {
  const met = meetsTarget(row);
  if (met === undefined) return ratio(row);
  return `${ratio(row)} (target ${row.better === 'higher' ? '>=' : '<='} ${row.target!.toFixed(2)}x: ${met ? 'met' : 'short'})`;
}

/** One line per row with a target: which are met and which fall short, by how much. */
export function targetSummary(rows: readonly BenchRow[]): string {
  const withTarget = rows.filter((r) => meetsTarget(r) !== undefined);
  if (withTarget.length === 0) return '';
  const met = withTarget.filter((r) => meetsTarget(r));
  const lines = withTarget.map((r) => `  ${meetsTarget(r) ? 'met  ' : 'short'}  ${r.suite} / ${r.name}: ${ratioWithTarget(r)}`);
  return [`targets: ${met.length} of ${withTarget.length} met`, ...lines].join('\n');
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
    ratioWithTarget(r),
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

/** p50/p90/p99/p99.9 where all four were measured, else p50/p99. */
function tail(p50?: number, p90?: number, p99?: number, p999?: number): string {
  return p90 !== undefined && p999 !== undefined ? `p50/p90/p99/p99.9 ${[p50, p90, p99, p999].map(fmt).join(' / ')}` : `p50/p99 ${latency(p50, p99)}`;
}

/** The one-line progress report a suite's row gets as soon as it is measured. */
export function progressLine(r: BenchRow): string {
  if (r.skipped !== undefined) return `  ${r.name}: skipped (${r.skipped})`;
  const base = r.baselineValue ? ` vs ${fmt(r.baselineValue)} (${ratioWithTarget(r)})` : '';
  const lat =
    r.p99Ms !== undefined
      ? `, ${tail(r.p50Ms, r.p90Ms, r.p99Ms, r.p999Ms)} ms${r.baselineP99Ms !== undefined ? ` vs ${tail(r.baselineP50Ms, r.baselineP90Ms, r.baselineP99Ms, r.baselineP999Ms)}` : ''}`
      : '';
  const bad = errors(r) === '-' ? '' : `, non-2xx / socket errors ${errors(r)}`;
  return `  ${r.name}: ${fmt(r.value)} ${r.unit}${base}${lat}${bad}${r.note ? ` [${r.note}]` : ''}`;
}

/** A chart's series as a table (its `tableAt` columns), text or Markdown; empty when the chart asks for none. */
export function chartTable(chart: LineChart, markdown: boolean): string {
  const at = chart.tableAt ?? [];
  if (at.length === 0) return '';
  const header = ['series', ...at.map(([, label]) => label)];
  const body = chart.series.map((s) => [s.label, ...at.map(([x]) => fmt(s.points.find(([px]) => Math.abs(px - x) < 1e-9)?.[1]))]);
  if (markdown) {
    const esc = (c: string) => c.replace(/\|/g, '\\|');
    return [`| ${header.join(' | ')} |`, `| --- | ${at.map(() => '---:').join(' | ')} |`, ...body.map((b) => `| ${b.map(esc).join(' | ')} |`)].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i] as number) : x.padStart(widths[i] as number))).join('  ');
  return [chart.title, line(header), ...body.map(line)].join('\n');
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
