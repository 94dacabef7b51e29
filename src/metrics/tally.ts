import type { Counter } from 'prom-client';
import type { Metrics } from './metrics.js';

type Labels<L extends string> = Partial<Record<L, string>>;

/**
 * A counter for the hot path: counted in plain numbers and handed to
 * prom-client before each scrape (`Metrics.beforeScrape`). A prom-client
 * call with labels costs about a microsecond, which per message was a
 * measurable share of the broker's and the gateway's time.
 */
export class Tally<L extends string> {
  private count = 0;
  private published = 0;
  private readonly byValue = new Map<string, { labels: Labels<L>; count: number; published: number }>();
  private readonly unsubscribe: () => void;

  constructor(
    metrics: Metrics,
    private readonly counter: Counter<L>,
    /** Labels every count carries (a socket's name). */
    private readonly fixed: Labels<L> = {},
  ) {
    this.unsubscribe = metrics.beforeScrape(() => this.publish());
  }

  inc(): void {
    this.count += 1;
  }

  add(n: number): void {
    this.count += n;
  }

  /** One more under a value of one more label (a message type). */
  incBy(label: L, value: string): void {
    let entry = this.byValue.get(value);
    if (entry === undefined) {
      entry = { labels: { ...this.fixed, [label]: value }, count: 0, published: 0 };
      this.byValue.set(value, entry);
    }
    entry.count += 1;
  }

  /** Hands what was counted to prom-client now (also before every scrape). */
  publish(): void {
    if (this.count > this.published) {
      this.counter.inc(this.fixed, this.count - this.published);
      this.published = this.count;
    }
    for (const entry of this.byValue.values()) {
      if (entry.count === entry.published) continue;
      this.counter.inc(entry.labels, entry.count - entry.published);
      entry.published = entry.count;
    }
  }

  /** Publishes the rest and stops publishing (the counter's owner is going away). */
  close(): void {
    this.publish();
    this.unsubscribe();
  }
}
