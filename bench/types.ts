/**
 * One figure of a benchmark, beside the baseline measured in the same run.
 * `value` and `baselineValue` are medians over the rounds; the ratio is
 * value / baselineValue (higher is better for rates, lower for latencies and
 * memory: say which in `better`).
 */
export interface BenchRow {
  readonly suite: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly baseline?: string;
  readonly baselineValue?: number;
  readonly rounds: number;
  readonly note?: string;
}

export interface BenchOptions {
  /** Rounds per figure; the median is reported. */
  readonly rounds: number;
  /** Shorter runs (CI smoke, `npm run bench -- --quick`). */
  readonly quick: boolean;
}

export interface BenchSuite {
  readonly name: string;
  readonly description: string;
  run(options: BenchOptions): Promise<BenchRow[]>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
