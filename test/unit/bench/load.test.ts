import { describe, expect, it } from 'vitest';
import { latencyChart, latencySeries } from '../../../bench/lib/latency-chart.js';
import { PERCENTILES, closedLoop, nearestRank, tailResult } from '../../../bench/lib/load.js';

describe('load results', () => {
  it('should pick percentiles by nearest rank', () => {
    const sorted = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(nearestRank(sorted, 50)).toBe(500);
    expect(nearestRank(sorted, 99)).toBe(990);
    expect(nearestRank(sorted, 99.9)).toBe(999);
    expect(nearestRank(sorted, 100)).toBe(1000);
    expect(nearestRank([7], 0)).toBe(7);
    expect(nearestRank([], 50)).toBeNaN();
  });

  it('should name p50, p90, p99 and p99.9 from the list of PERCENTILES', () => {
    const r = tailResult(200, 2, PERCENTILES.map((p) => p * 10), 3);
    expect(r).toMatchObject({ rate: 100, p50Ms: 500, p90Ms: 900, p99Ms: 990, p999Ms: 999, lost: 3 });
    expect(tailResult(0, 0, []).rate).toBe(0);
  });

  it('should count every call the lanes made and report ascending percentiles', async () => {
    let calls = 0;
    const r = await closedLoop(async () => void (calls += 1), 3, 20);
    expect(r.requests).toBe(calls);
    expect(r.percentilesMs).toHaveLength(PERCENTILES.length);
    expect([...r.percentilesMs].sort((a, b) => a - b)).toEqual(r.percentilesMs);
  });
});

describe('latency chart', () => {
  it('should place p50, p90, p99 and p99.9 at 2, 10, 100 and 1000 and chart nothing beyond p99.9', () => {
    const s = latencySeries('x', PERCENTILES.map((p) => p));
    expect(s.points.map(([, y]) => y)).toEqual(PERCENTILES.filter((p) => p <= 99.9));
    const at = new Map(s.points.map(([x, y]) => [Math.round(x), y]));
    expect([at.get(2), at.get(10), at.get(100), at.get(1000)]).toEqual([50, 90, 99, 99.9]);
    const chart = latencyChart([s]);
    expect(chart.tableAt?.map(([, label]) => label)).toEqual(['p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms']);
    expect(chart.xTicks?.[0]?.[1]).toBe('p50');
  });
});
