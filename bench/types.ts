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
  /** Latency percentiles of the figure and of its baseline (medians over rounds), where measured. */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly baselineP50Ms?: number;
  readonly baselineP99Ms?: number;
  /** p90 and p99.9 of the figure and of its baseline, where the load client records every latency. */
  readonly p90Ms?: number;
  readonly p999Ms?: number;
  readonly baselineP90Ms?: number;
  readonly baselineP999Ms?: number;
  /**
   * A target for the ratio (value / baselineValue) from the issue the row was
   * made for: at least this when `better` is higher, at most when lower.
   */
  readonly target?: number;
  /** Set when the figure could not be measured in this run (value is NaN): why. */
  readonly skipped?: string;
  /** HTTP figures: responses outside 2xx/3xx and socket errors (connect, read, write, timeout) over the figure's rounds. */
  readonly non2xx?: number;
  readonly socketErrors?: number;
}

/** One line of a chart: (x, y) points in x order. */
export interface ChartSeries {
  readonly label: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

/** A small line chart the runner writes as SVG (bench/lib/svg.ts). */
export interface LineChart {
  /** File name without extension, e.g. `scale-workers-throughput`. */
  readonly name: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Logarithmic x axis (1, 10, 100, 1000 spread evenly). */
  readonly xLog?: boolean;
  /** Logarithmic y axis over whole powers of ten (latencies whose tail is 100 times their median). */
  readonly yLog?: boolean;
  /** Ticks at these x values with these labels, instead of one at every measured x labelled with its value. */
  readonly xTicks?: ReadonlyArray<readonly [number, string]>;
  /** Leave the points unlabelled (many series, many points). */
  readonly hidePointLabels?: boolean;
  /** Vertical marks with a label, e.g. when a fault was injected. */
  readonly marks?: ReadonlyArray<{ readonly x: number; readonly label: string }>;
  /** The runner also prints the chart as a table: one row per series, its y at each of these x (column headings as given). */
  readonly tableAt?: ReadonlyArray<readonly [number, string]>;
  readonly series: readonly ChartSeries[];
}

export interface BenchOptions {
  /** Rounds per figure; the median is reported. */
  readonly rounds: number;
  /** Shorter runs (CI smoke, `npm run bench -- --quick`). */
  readonly quick: boolean;
  /**
   * When set, suites that start a broker start it under `node --cpu-prof`
   * writing into this directory (`npm run bench -- --profile`).
   */
  readonly profileDir?: string;
  /**
   * Hands a chart to the runner, which writes it as SVG under bench/results/
   * (and docs/bench/ with --docs). Charts of the same name from several
   * suites become one chart with all their series.
   */
  readonly addChart?: (chart: LineChart) => void;
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
