import { performance } from 'node:perf_hooks';

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Keeps `inFlight` calls outstanding for `durationMs` (bounded) and reports the
 * rate and latency percentiles. `call` is whatever is measured.
 */
export function closedLoop(call: () => Promise<unknown>, inFlight: number, durationMs: number): Promise<LoadResult> {
  return lanesLoop(Array.from({ length: inFlight }, () => call), durationMs);
}

/**
 * One lane per entry of `calls`, each keeping one call outstanding until
 * `durationMs` has passed (a lane finishes the call it is in, so the run ends
 * when the slowest lane's last reply arrives). With many clients, give each
 * its own lane.
 */
export async function lanesLoop(calls: ReadonlyArray<() => Promise<unknown>>, durationMs: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let done = 0;
  const start = performance.now();
  const end = start + durationMs;
  const lane = async (call: () => Promise<unknown>) => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
      done += 1;
    }
  };
  await Promise.all(calls.map(lane));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
  return { requests: done, seconds, rate: done / seconds, p50Ms: at(50), p99Ms: at(99) };
}
