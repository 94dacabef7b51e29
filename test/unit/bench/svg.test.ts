import { describe, expect, it } from 'vitest';
import { escapeXml, niceCeiling, renderLineChart, shortNumber } from '../../../bench/lib/svg.js';

describe('renderLineChart', () => {
  const chart = {
    name: 't',
    title: 'Throughput <as> workers & clients grow',
    xLabel: 'workers',
    yLabel: 'req/s',
    xLog: true,
    series: [
      { label: 'workers', points: [[1, 2_000], [10, 9_000], [100, 12_000]] as const },
      { label: 'clients', points: [[1, 1_500], [10_000, Number.NaN]] as const },
    ],
  };

  it('should write a standalone SVG document', () => {
    const svg = renderLineChart(chart);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('should escape text', () => {
    expect(renderLineChart(chart)).toContain('Throughput &lt;as&gt; workers &amp; clients grow');
  });

  it('should draw one path per series with two or more finite points, and mark each point', () => {
    const svg = renderLineChart(chart);
    expect(svg.match(/<path /g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(4);
  });

  it('should put ticks where the chart asks, with its labels, and leave points unlabelled when asked', () => {
    const svg = renderLineChart({ ...chart, xTicks: [[1, 'one'], [1_000, 'a thousand']], hidePointLabels: true, series: [chart.series[0]!] });
    expect(svg).toContain('>one</text>');
    expect(svg).toContain('>a thousand</text>');
    expect(svg).not.toContain('>10</text>');
    expect(svg).not.toContain('>9k</text>');
  });

  it('should grow to fit a legend of many series', () => {
    const many = { ...chart, series: Array.from({ length: 5 }, (_, i) => ({ label: `s${i}`, points: [[1, i]] as const })) };
    const height = (svg: string) => Number(/height="(\d+)"/.exec(svg)?.[1]);
    expect(height(renderLineChart(many))).toBeGreaterThan(height(renderLineChart(chart)));
    expect(renderLineChart(many)).toContain('>s4</text>');
  });

  it('should tick a log y axis at powers of ten around the values', () => {
    const svg = renderLineChart({ ...chart, yLog: true, series: [{ label: 'ms', points: [[1, 0.3], [10, 4], [100, 25]] as const }] });
    const ticks = [...svg.matchAll(/text-anchor="end">([^<]+)</g)].map((m) => m[1]);
    expect(ticks).toEqual(['0.1', '1', '10', '100']);
    expect(svg).toContain('req/s (log scale)');
  });

  it('should spread log x values evenly', () => {
    const svg = renderLineChart({ ...chart, series: [chart.series[0]!] });
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[2]! - xs[1]!, 1);
  });
});

describe('renderLineChart, marks', () => {
  it('should draw each mark as a labelled dashed line', () => {
    const points = Array.from({ length: 12 }, (_, i) => [(i + 0.5) * 0.25, 1_000 + i] as const);
    const svg = renderLineChart({
      name: 'k',
      title: 'rate',
      xLabel: 's',
      yLabel: 'req/s',
      series: [{ label: 'r', points }],
      xTicks: [
        [1, '1'],
        [2, '2'],
      ],
      hidePointLabels: true,
      marks: [{ x: 1.5, label: 'SIGKILL' }],
    });
    expect(svg).toContain('>SIGKILL</text>');
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(1);
  });
});

describe('axis helpers', () => {
  it('should round a maximum up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect([niceCeiling(12_056), niceCeiling(0.7), niceCeiling(3), niceCeiling(0)]).toEqual([20_000, 1, 5, 1]);
  });

  it('should shorten tick labels', () => {
    expect([shortNumber(2_500_000), shortNumber(12_000), shortNumber(7.25)]).toEqual(['2.5M', '12k', '7.3']);
  });

  it('should escape quotes', () => {
    expect(escapeXml('"a"')).toBe('&quot;a&quot;');
  });
});
