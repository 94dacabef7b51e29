import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PlainHistogram } from '../../../src/metrics/plain-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('PlainHistogram', () => {
  it("should print exactly what prom-client's own histogram prints for the same values", async () => {
    const values = [0, 0.0005, 0.001, 0.002, 0.05, 0.1, 0.5, 3, 7.25];
    const plainRegistry = new Registry();
    const plain = new PlainHistogram('latency_seconds', 'Time taken', BUCKETS, plainRegistry);
    const reference = new Registry();
    const observed = new Histogram({ name: 'latency_seconds', help: 'Time taken', buckets: BUCKETS, registers: [reference] });
    for (const v of values) {
      plain.record(v);
      observed.observe(v);
    }
    expect(await plainRegistry.metrics()).toBe(await reference.metrics());
  });

  it('should print zero counts before anything is recorded', async () => {
    const registry = new Registry();
    new PlainHistogram('idle_seconds', 'Nothing yet', BUCKETS, registry);
    const text = await registry.metrics();
    expect(text).toContain('idle_seconds_bucket{le="+Inf"} 0');
    expect(text).toContain('idle_seconds_count 0');
  });
});
