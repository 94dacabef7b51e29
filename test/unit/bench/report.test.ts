import { describe, expect, it } from 'vitest';
import { chartTable, markdownTable, meetsTarget, progressLine, ratio, ratioWithTarget, replaceSection, targetSummary, textTable } from '../../../bench/lib/report.js';
import type { BenchRow } from '../../../bench/types.js';

const row: BenchRow = { suite: 'compare', name: 'steward | 100 in flight', value: 12_500, unit: 'req/s', better: 'higher', baseline: 'NATS', baselineValue: 20_000, rounds: 3, p50Ms: 5.5, p99Ms: 31 };
const skipped: BenchRow = { suite: 'gateway', name: 'gateway', value: Number.NaN, unit: 'req/s', better: 'higher', baselineValue: 30_000, rounds: 3, skipped: 'gateway not built yet' };

describe('report', () => {
  it('should give value / baseline, or - when skipped', () => {
    expect(ratio(row)).toBe('0.63x');
    expect(ratio(skipped)).toBe('-');
  });

  it('should list skipped figures with their reason under the table', () => {
    const text = textTable([row, skipped]);
    expect(text).toContain('12,500');
    expect(text).toContain('5.50 / 31.00');
    expect(text).toContain('skipped: gateway / gateway: gateway not built yet');
  });

  it('should show an HTTP figure\'s non-2xx responses and socket errors, and - for figures without them', () => {
    const http: BenchRow = { ...row, suite: 'gateway', name: 'gateway', non2xx: 3, socketErrors: 0 };
    expect(textTable([http])).toContain('3 / 0');
    expect(markdownTable([http, row])).toMatch(/\| 3 \/ 0 \|\n.*\| - \|$/);
    expect(progressLine(http)).toContain('non-2xx / socket errors 3 / 0');
  });

  it('should escape pipes in markdown cells', () => {
    expect(markdownTable([row])).toContain('steward \\| 100 in flight');
  });

  it('should replace only the marked section', () => {
    const doc = 'a\n<!-- bench:table -->\nold\n<!-- /bench:table -->\nb';
    expect(replaceSection(doc, 'table', 'new')).toBe('a\n<!-- bench:table -->\nnew\n<!-- /bench:table -->\nb');
    expect(replaceSection('no markers', 'table', 'new')).toBe('no markers');
  });

  it('should say whether a ratio meets its target, in the direction that is better', () => {
    expect(ratioWithTarget({ ...row, target: 0.95 })).toBe('0.63x (target >= 0.95x: short)');
    expect(meetsTarget({ ...row, target: 0.5 })).toBe(true);
    const cpu: BenchRow = { ...row, unit: 'us/req', better: 'lower', value: 105, baselineValue: 100, target: 1.1 };
    expect(ratioWithTarget(cpu)).toBe('1.05x (target <= 1.10x: met)');
    expect(meetsTarget({ ...cpu, value: 120 })).toBe(false);
    expect(meetsTarget(row)).toBeUndefined();
    expect(meetsTarget({ ...skipped, target: 1 })).toBeUndefined();
    expect(textTable([{ ...row, target: 0.95 }])).toContain('target >= 0.95x: short');
  });

  it('should summarize targets met and short, and say nothing when no row has one', () => {
    const summary = targetSummary([{ ...row, target: 0.5 }, { ...row, name: 'slow', target: 0.95 }, skipped]);
    expect(summary.split('\n')[0]).toBe('targets: 1 of 2 met');
    expect(summary).toContain('short  compare / slow: 0.63x');
    expect(targetSummary([row])).toBe('');
  });

  it('should print p90 and p99.9 in the progress line where measured', () => {
    expect(progressLine({ ...row, p90Ms: 9, p999Ms: 40 })).toContain('p50/p90/p99/p99.9 5.50 / 9.00 / 31.00 / 40.00 ms');
    expect(progressLine(row)).toContain('p50/p99 5.50 / 31.00 ms');
  });

  it("should print a chart's series at its tableAt points, - where a series has no point", () => {
    const chart = {
      name: 'c',
      title: 'T',
      xLabel: 'x',
      yLabel: 'y',
      tableAt: [[2, 'p50'], [100, 'p99']] as const,
      series: [
        { label: 'a | b', points: [[2, 1.5], [100, 250]] as const },
        { label: 'c', points: [[2, 3]] as const },
      ],
    };
    const md = chartTable(chart, true).split('\n');
    expect(md[0]).toBe('| series | p50 | p99 |');
    expect(md[2]).toBe('| a \\| b | 1.50 | 250 |');
    expect(md[3]).toBe('| c | 3.00 | - |');
    expect(chartTable(chart, false)).toContain('T');
    expect(chartTable({ ...chart, tableAt: undefined }, false)).toBe('');
  });
});

