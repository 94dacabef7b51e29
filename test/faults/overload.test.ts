import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { BrokerError } from '../../src/api/errors.js';
import { Worker } from '../../src/api/worker.js';
import { Metrics } from '../../src/metrics/registry.js';
import { captureLogs } from '../helpers/logs.js';
import { runPython } from '../helpers/python.js';
import { ANY, eventually } from '../helpers/zmq.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('overload: a service queue past its limit', () => {
  it('should refuse what does not fit with 503 at once (counted as queue_full), keep what fits, and serve it when a worker comes', async () => {
    const metrics = new Metrics('broker');
    const broker = await Broker.start({ frontend: ANY, backend: ANY, maxQueuePerService: 5, metrics, drainTimeoutMs: 100 });
    cleanup.push(() => broker.stop());
    const { frontend, backend } = await broker.endpoints();
    const client = new Client({ broker: frontend, timeout: 10_000, retries: 0, waitForWorker: true });
    cleanup.push(() => client.close());

    const calls = Array.from({ length: 12 }, (_, i) =>
      client.call('swamped', `r${i}`).then(
        (frames) => ({ ok: true as const, body: String(frames[0]) }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    );
    // The refusals come back while the queued requests still wait: nobody serves the service yet.
    const refused = await Promise.all(calls.slice(5));
    for (const r of refused) {
      expect(r.ok).toBe(false);
      expect((r as { error: unknown }).error).toBeInstanceOf(BrokerError);
      expect((r as { error: BrokerError }).error.status).toBe(503);
    }
    expect(await metrics.value('steward_dropped_total', { socket: 'broker', reason: 'queue_full' })).toBe(7);

    const worker = Worker.start({ broker: backend, service: 'swamped', handler: (req) => req.body as Buffer[] });
    cleanup.push(() => worker.stop());
    const served = await Promise.all(calls.slice(0, 5));
    expect(served).toEqual(Array.from({ length: 5 }, (_, i) => ({ ok: true, body: `r${i}` })));
  });
});

describe('overload: a burst of MDP requests sent at once (the zguide mdclient2 shape)', () => {
  async function echo(options: Parameters<typeof Broker.start>[0]) {
    const broker = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 100, ...options });
    cleanup.push(() => broker.stop());
    return { broker, ...(await broker.endpoints()) };
  }
  const burst = (frontend: string, count: number) =>
    runPython('mdp_burst_client.py', [frontend, 'echo', String(count)], 240_000, { IDLE_MS: '30000' });

  it('should answer every one of 100,000 MDP requests sent at once, under the default limits', async () => {
    const metrics = new Metrics('broker');
    const { frontend, backend } = await echo({ metrics });
    const worker = Worker.start({ broker: backend, service: 'echo', concurrency: 64, handler: (req) => req.body as Buffer[] });
    cleanup.push(() => worker.stop());
    const result = await burst(frontend, 100_000);
    expect(result.stdout).toContain('answered 100000');
    expect(result.code).toBe(0);
    expect(await metrics.value('steward_dropped_total', { socket: 'broker', reason: 'queue_memory_full' })).toBe(0);
  }, 240_000);

  it('should push back on the client instead of refusing when the queues fill, and log when it starts and stops', async () => {
    const metrics = new Metrics('broker');
    const { logger, lines } = captureLogs('warn');
    // Room for about 4,000 small requests: the client sends 20,000 (10 MB of the broker's estimate) before any
    // worker is there. A burst the broker reads at once is up to 512 messages, so the limit is kept well above that.
    const { frontend, backend } = await echo({ metrics, logger, maxQueueBytes: 2 * 1024 * 1024 });
    const client = burst(frontend, 20_000);
    await eventually(() => lines.some((l) => l.msg.includes('not reading clients until they drain')), 20_000);
    const worker = Worker.start({ broker: backend, service: 'echo', concurrency: 16, handler: (req) => req.body as Buffer[] });
    cleanup.push(() => worker.stop());
    const result = await client;
    expect(result.stdout).toContain('answered 20000');
    expect(await metrics.value('steward_dropped_total', { socket: 'broker', reason: 'queue_memory_full' })).toBe(0);
    expect(lines.some((l) => l.msg.includes('reading clients again'))).toBe(true);
  }, 120_000);
});
