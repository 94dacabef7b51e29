import { describe, expect, it } from 'vitest';
import { mb, runLoadAndSoak, type Totals } from '../../bench/load/driver.js';

/**
 * The short form of `npm run soak`: a real broker process, a small fleet in
 * this process, a closed-loop load phase and a short paced soak at half the
 * measured rate. Correctness and bounded growth are asserted; speed is
 * printed, never judged.
 */
describe('load and soak (short form; npm run soak is the long one)', () => {
  it('should answer every request under load and through a soak at half the maximum rate, with bounded broker memory', async () => {
    const report = await runLoadAndSoak({
      workers: 20,
      clients: 200,
      workerHosts: 0,
      clientHosts: 0,
      concurrency: 1,
      heartbeatMs: 1_000,
      warmupSeconds: 2,
      loadSeconds: 3,
      soakSeconds: 9,
      windowSeconds: 3,
      clientTimeoutMs: 30_000,
      clientRetries: 0,
      log: (line) => console.log(line),
    });
    const unanswered = (t: Totals) => ({ failed: t.failed, wrong: t.wrong, errors: t.errors });
    const none = { failed: 0, wrong: 0, errors: {} };
    expect(unanswered(report.warmup)).toEqual(none);
    expect(unanswered(report.load)).toEqual(none);
    expect(report.load.answered).toBeGreaterThan(0);
    for (const w of report.soak) {
      expect(unanswered(w)).toEqual(none);
      expect(w.answered).toBe(w.sent);
    }
    const first = report.soak[0]!;
    const last = report.soak.at(-1)!;
    console.log(
      `short soak: ${Math.round(report.load.rate)} req/s max (p99 ${report.load.p99Ms.toFixed(1)} ms), soak at ${Math.round(report.soakRate)} req/s: broker RSS ${mb(first.brokerRss)} -> ${mb(last.brokerRss)}, event-loop p99 ${first.loopP99Ms} -> ${last.loopP99Ms} ms`,
    );
    // Generous: flat memory means no growth with time, not an exact figure.
    expect(last.brokerRss).toBeLessThan(2 * first.brokerRss);
  }, 120_000);
});
