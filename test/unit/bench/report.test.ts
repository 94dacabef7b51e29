import { describe, expect, it } from 'vitest';
import { markdownTable, progressLine, ratio, replaceSection, textTable } from '../../../bench/lib/report.js';
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
});
