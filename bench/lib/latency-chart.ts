/**
 * The latency-by-percentile chart: one line per system at 1 request in
 * flight, latency against percentile on a log scale of 1 / (1 - p), so the
 * tail (p99, p99.9, p99.99) gets as much room as the median. The broker suite
 * adds its MDP series and the compare suite its Client/NATS/Moleculer series
 * to the same chart; the runner prints it as a table too (p50/p90/p99/p99.9).
 */
import type { ChartSeries, LineChart } from '../types.js';
import { PERCENTILES } from './load.js';

export const LATENCY_CHART = 'latency-1-in-flight';

/** x position of percentile p: 2 for p50, 10 for p90, 100 for p99, 1000 for p99.9. */
const x = (p: number) => 100 / (100 - p);

/**
 * The points up to p99.9 (from a latency at each of PERCENTILES): a few
 * thousand requests at 1 in flight put p99.95 and beyond on a handful of
 * samples, and the maximum has no place on this axis.
 */
const CHARTED = PERCENTILES.filter((p) => p <= 99.9);

export function latencySeries(label: string, percentilesMs: readonly number[]): ChartSeries {
  return { label, points: CHARTED.map((p) => [x(p), percentilesMs[PERCENTILES.indexOf(p)] ?? Number.NaN] as const) };
}

export function latencyChart(series: readonly ChartSeries[]): LineChart {
  return {
    name: LATENCY_CHART,
    title: 'Latency by percentile, 1 request in flight, 16-byte body, 1 worker',
    xLabel: 'percentile',
    yLabel: 'latency (ms)',
    xLog: true,
    yLog: true,
    xTicks: CHARTED.map((p) => [x(p), `p${p}`] as const),
    hidePointLabels: true,
    tableAt: [50, 90, 99, 99.9].map((p) => [x(p), `p${p} ms`] as const),
    series,
  };
}
