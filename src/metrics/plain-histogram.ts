import { Histogram, type Registry } from 'prom-client';

/**
 * A label-less Prometheus histogram for the hot path: `record` is a bucket
 * search and three additions on plain numbers, where prom-client's
 * `observe` hashes labels and walks objects (about a microsecond a call,
 * once per broker reply). It is still a prom-client Histogram, registered
 * and scraped like one; only its values come from these counts.
 */
export class PlainHistogram extends Histogram<string> {
  private readonly bounds: Float64Array;
  /** Per bucket (not cumulative); the last one is +Inf. */
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;

  constructor(
    private readonly metricName: string,
    private readonly metricHelp: string,
    buckets: readonly number[],
    registry: Registry,
  ) {
    super({ name: metricName, help: metricHelp, buckets: [...buckets], registers: [registry] });
    this.bounds = Float64Array.from([...buckets].sort((a, b) => a - b));
    this.counts = new Float64Array(this.bounds.length + 1);
  }

  record(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.total += 1;
    this.sum += value;
  }

  /**
   * What prom-client's registry reads to print a metric (it prefers this to
   * `get()`): the same shape its Histogram gives, from these counts.
   */
  async getForPromString(): Promise<HistogramExport> {
    const name = this.metricName;
    const values: HistogramExport['values'] = [];
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i] as number;
      values.push({ value: acc, labels: { le: this.bounds[i] as number }, metricName: `${name}_bucket` });
    }
    values.push(
      { value: this.total, labels: { le: '+Inf' }, metricName: `${name}_bucket` },
      { value: this.sum, labels: {}, metricName: `${name}_sum` },
      { value: this.total, labels: {}, metricName: `${name}_count` },
    );
    return { name, help: this.metricHelp, type: 'histogram', values, aggregator: 'sum' };
  }

  override async get(): ReturnType<Histogram<string>['get']> {
    return (await this.getForPromString()) as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
  }
}

interface HistogramExport {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }>;
  readonly aggregator: 'sum';
}
