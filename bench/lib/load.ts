import { performance } from 'node:perf_hooks';
import { median, type BenchRow } from '../types.js';

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * The latency percentiles every load client reports, in this order (nearest
 * rank). bench/peers/mdp-client.c prints the same points.
 */
export const PERCENTILES = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100] as const;

/** A load result with its latency distribution: the latency at each of PERCENTILES. */
export interface TailResult extends LoadResult {
  readonly p90Ms: number;
  readonly p999Ms: number;
  readonly percentilesMs: readonly number[];
  /** Requests never answered (load clients in their own process give up on them after a drain timeout). */
  readonly lost: number;
}

/** The value at percentile `p` of ascending `sorted` values, nearest rank; NaN when empty. */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // 99.9 / 100 * 1000 is 999.0000000000001 in floating point: the epsilon keeps the rank at 999.
  const k = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, k)) - 1] as number;
}

export function tailResult(requests: number, seconds: number, percentilesMs: readonly number[], lost = 0): TailResult {
  const at = (p: number) => percentilesMs[PERCENTILES.indexOf(p as (typeof PERCENTILES)[number])] ?? Number.NaN;
  return { requests, seconds, rate: seconds > 0 ? requests / seconds : 0, p50Ms: at(50), p90Ms: at(90), p99Ms: at(99), p999Ms: at(99.9), percentilesMs, lost };
}

/**
 * Keeps `inFlight` calls outstanding for `durationMs` (bounded) and reports the
 * rate and latency percentiles. `call` is whatever is measured.
 */
export function closedLoop(call: () => Promise<unknown>, inFlight: number, durationMs: number): Promise<TailResult> {
  return lanesLoop(Array.from({ length: inFlight }, () => call), durationMs);
}

/**
 * One lane per entry of `calls`, each keeping one call outstanding until
 * `durationMs` has passed (a lane finishes the call it is in, so the run ends
 * when the slowest lane's last reply arrives). With many clients, give each
 * its own lane.
 */
export async function lanesLoop(calls: ReadonlyArray<() => Promise<unknown>>, durationMs: number): Promise<TailResult> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + durationMs;
  let last = start;
  const lane = async (call: () => Promise<unknown>) => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await call();
      last = performance.now();
      latencies.push(last - t0);
    }
  };
  await Promise.all(calls.map(lane));
  latencies.sort((a, b) => a - b);
  return tailResult(
    latencies.length,
    (last - start) / 1000,
    PERCENTILES.map((p) => nearestRank(latencies, p)),
  );
}

/** A row's latency fields: the median over rounds of each percentile of the subject's runs and of the baseline's. */
export function latencyFields(
  subject: ReadonlyArray<{ readonly load: TailResult }>,
  baseline: ReadonlyArray<{ readonly load: TailResult }>,
): Required<Pick<BenchRow, 'p50Ms' | 'p90Ms' | 'p99Ms' | 'p999Ms' | 'baselineP50Ms' | 'baselineP90Ms' | 'baselineP99Ms' | 'baselineP999Ms'>> {
  const at = (list: ReadonlyArray<{ readonly load: TailResult }>, f: (t: TailResult) => number) => median(list.map((m) => f(m.load)));
  return {
    p50Ms: at(subject, (t) => t.p50Ms),
    p90Ms: at(subject, (t) => t.p90Ms),
    p99Ms: at(subject, (t) => t.p99Ms),
    p999Ms: at(subject, (t) => t.p999Ms),
    baselineP50Ms: at(baseline, (t) => t.p50Ms),
    baselineP90Ms: at(baseline, (t) => t.p90Ms),
    baselineP99Ms: at(baseline, (t) => t.p99Ms),
    baselineP999Ms: at(baseline, (t) => t.p999Ms),
  };
}
