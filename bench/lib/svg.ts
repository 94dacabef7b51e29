/**
 * Hand-written SVG line charts from benchmark numbers: axes from zero to a
 * round maximum, ticks at the x values measured, one coloured line per series
 * with its points marked and labelled. No dependency.
 */
import type { LineChart } from '../types.js';

const WIDTH = 640;
const HEIGHT = 380;
const MARGIN = { left: 78, right: 40, top: 44, bottom: 78 };
/** Legend entries per line under the plot; more series add lines (and height). */
const LEGEND_PER_LINE = 2;
const LEGEND_LINE = 18;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round number at or above `max` (1, 2, 2.5 or 5 times a power of ten). */
export function niceCeiling(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** Compact tick labels: 1,000 -> 1k, 2,500,000 -> 2.5M. */
export function shortNumber(n: number): string {
  const abs = Math.abs(n);
  const trim = (x: number) => String(Number(x.toFixed(1)));
  if (abs >= 1e6) return `${trim(n / 1e6)}M`;
  if (abs >= 1e3) return `${trim(n / 1e3)}k`;
  return trim(n);
}

function f(n: number): string {
  return n.toFixed(1);
}

export function renderLineChart(chart: LineChart): string {
  const legendLines = Math.max(1, Math.ceil(chart.series.length / LEGEND_PER_LINE));
  const height = HEIGHT + (legendLines - 1) * LEGEND_LINE;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const points = chart.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const measured = [...new Set(points.map(([x]) => x))].sort((a, b) => a - b);
  const ticks: ReadonlyArray<readonly [number, string]> = chart.xTicks ?? measured.map((x) => [x, x.toLocaleString('en-US')] as const);
  const xs = [...new Set([...measured, ...ticks.map(([x]) => x)])].sort((a, b) => a - b);
  const ys = points.map(([, y]) => y);
  // A log y axis spans whole powers of ten around the positive values; a linear one runs from zero.
  const positive = ys.filter((y) => y > 0);
  const yLogMin = positive.length ? Math.floor(Math.log10(Math.min(...positive))) : 0;
  const yLogMax = positive.length ? Math.max(yLogMin + 1, Math.ceil(Math.log10(Math.max(...positive)))) : 1;
  const yMax = niceCeiling(Math.max(0, ...ys));
  const xt = (x: number) => (chart.xLog ? Math.log10(Math.max(x, 1e-9)) : x);
  const xMin = xs.length ? xt(xs[0] as number) : 0;
  const xMax = xs.length ? xt(xs[xs.length - 1] as number) : 1;
  const xSpan = xMax - xMin || 1;
  const px = (x: number) => MARGIN.left + (xs.length > 1 ? ((xt(x) - xMin) / xSpan) * plotW : plotW / 2);
  const yFraction = (y: number) => (chart.yLog ? (Math.log10(Math.max(y, 10 ** yLogMin)) - yLogMin) / (yLogMax - yLogMin) : y / yMax);
  const py = (y: number) => MARGIN.top + plotH - yFraction(y) * plotH;
  const yTicks = chart.yLog ? Array.from({ length: yLogMax - yLogMin + 1 }, (_, i) => 10 ** (yLogMin + i)) : Array.from({ length: 6 }, (_, i) => (yMax * i) / 5);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`);
  // y grid and ticks
  for (const y of yTicks) {
    out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${f(py(y))}" y2="${f(py(y))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${f(py(y) + 4)}" text-anchor="end">${escapeXml(shortNumber(y))}</text>`);
  }
  // x ticks at measured values (or where the chart asks)
  for (const [x, label] of ticks) {
    out.push(`<line x1="${f(px(x))}" x2="${f(px(x))}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${f(px(x))}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${escapeXml(label)}</text>`);
  }
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#333"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 36}" text-anchor="middle">${escapeXml(chart.xLabel)}${chart.xLog ? ' (log scale)' : ''}</text>`);
  out.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}${chart.yLog ? ' (log scale)' : ''}</text>`);
  for (const mark of chart.marks ?? []) {
    out.push(`<line x1="${f(px(mark.x))}" x2="${f(px(mark.x))}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#d62728" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${f(px(mark.x) + 4)}" y="${MARGIN.top + 12}" fill="#d62728">${escapeXml(mark.label)}</text>`);
  }
  // series
  chart.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const valid = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (valid.length > 1) {
      const d = valid.map(([x, y], j) => `${j ? 'L' : 'M'}${f(px(x))} ${f(py(y))}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const [x, y] of valid) {
      out.push(`<circle cx="${f(px(x))}" cy="${f(py(y))}" r="3.5" fill="${color}"/>`);
      if (chart.hidePointLabels) continue;
      // Odd series label below their points, so coinciding points stay readable.
      const ly = i % 2 === 0 ? py(y) - 8 : py(y) + 16;
      out.push(`<text x="${f(px(x))}" y="${f(ly)}" text-anchor="middle" font-size="10" fill="${color}">${escapeXml(shortNumber(y))}</text>`);
    }
    const lx = 16 + (i % LEGEND_PER_LINE) * 304;
    const ly = HEIGHT - 14 + Math.floor(i / LEGEND_PER_LINE) * LEGEND_LINE;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="4" fill="${color}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly - 3}">${escapeXml(series.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
