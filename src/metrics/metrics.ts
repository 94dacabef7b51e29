import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LIMIT_HITS_METRIC } from './limits.js';
import { PlainHistogram } from './plain-histogram.js';
import { Tally } from './tally.js';

/**
 * The metrics of one steward role instance. One prom-client registry per instance rather
 * than prom-client's global one, so several roles (the local mesh, or tests)
 * can live in one process without clashing.
 */
export class Metrics {
  readonly registry: Registry;
  readonly messagesReceived: Counter<'socket'>;
  readonly messagesSent: Counter<'socket'>;
  readonly dropped: Counter<'socket' | 'reason'>;

  private readonly counters = new Map<string, Counter<string>>();
  private readonly gauges = new Map<string, Gauge<string>>();
  private readonly histograms = new Map<string, Histogram<string>>();
  private readonly collectors = new Set<() => void>();

  constructor(readonly role: string) {
    this.registry = new Registry();
    this.registry.setDefaultLabels({ role });
    this.messagesReceived = this.counter('steward_messages_received_total', 'Messages read from a socket', ['socket']);
    this.messagesSent = this.counter('steward_messages_sent_total', 'Messages written to a socket', ['socket']);
    this.dropped = this.counter(
      'steward_dropped_total',
      'Messages refused or lost, by socket and reason (malformed, unroutable, queue full...)',
      ['socket', 'reason'],
    );
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const existing = this.counters.get(name);
    if (existing) return existing as Counter<L>;
    const c = new Counter<L>({ name, help, labelNames: [...labelNames], registers: [this.registry] });
    this.counters.set(name, c as Counter<string>);
    return c;
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    const existing = this.gauges.get(name);
    if (existing) return existing as Gauge<L>;
    const g = new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [this.registry] });
    this.gauges.set(name, g as Gauge<string>);
    return g;
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    const existing = this.histograms.get(name);
    if (existing) return existing as Histogram<L>;
    const h = new Histogram<L>({
      name,
      help,
      labelNames: [...labelNames],
      registers: [this.registry],
      ...(buckets ? { buckets } : {}),
    });
    this.histograms.set(name, h as Histogram<string>);
    return h;
  }

  /** A label-less histogram recorded in plain numbers, for values taken once per message (see PlainHistogram). */
  plainHistogram(name: string, help: string, buckets: readonly number[]): PlainHistogram {
    const existing = this.histograms.get(name);
    if (existing instanceof PlainHistogram) return existing;
    if (existing) throw new Error(`${name} is already an ordinary histogram`);
    const h = new PlainHistogram(name, help, buckets, this.registry);
    this.histograms.set(name, h);
    return h;
  }

  /** `steward_limit_hits_total`: what was refused because a configured limit was reached, by limit (`LimitName`). */
  limitHits(): Counter<'limit'> {
    return this.counter(LIMIT_HITS_METRIC, 'Messages or peers refused because a configured limit was reached, by limit', ['limit']);
  }

  /** A hot-path view of `counter`: counted in plain numbers, handed to prom-client before each scrape (see Tally). */
  tally<L extends string>(counter: Counter<L>, fixed: Partial<Record<L, string>> = {}): Tally<L> {
    return new Tally(this, counter, fixed);
  }

  /**
   * Runs `publish` before every scrape: counts kept in plain numbers on the
   * hot path are handed to prom-client here (and on ticks), never per message.
   * Returns a function that removes it.
   */
  beforeScrape(publish: () => void): () => void {
    this.collectors.add(publish);
    return () => this.collectors.delete(publish);
  }

  /** The registry as Prometheus text, fresh. */
  async scrape(): Promise<string> {
    this.collect();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private collect(): void {
    for (const publish of this.collectors) {
      try {
        publish();
      } catch {
        // A collector that fails must not take the endpoint down; its metrics just stay stale.
      }
    }
  }

  /** Current value of a counter or gauge with these labels (for tests and the inspector). */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    this.collect();
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return 0;
    const data = await metric.get();
    let sum = 0;
    for (const v of data.values) {
      if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
    }
    return sum;
  }
}
