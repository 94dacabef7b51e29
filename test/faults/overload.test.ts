import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { BrokerError } from '../../src/api/errors.js';
import { Worker } from '../../src/api/worker.js';
import { Metrics } from '../../src/metrics/registry.js';
import { ANY } from '../helpers/zmq.js';

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
      expect((r as { error: BrokerError }).error.status).toBe('503');
    }
    expect(await metrics.value('steward_dropped_total', { socket: 'broker', reason: 'queue_full' })).toBe(7);

    const worker = Worker.start({ broker: backend, service: 'swamped', handler: (req) => req.body as Buffer[] });
    cleanup.push(() => worker.stop());
    const served = await Promise.all(calls.slice(0, 5));
    expect(served).toEqual(Array.from({ length: 5 }, (_, i) => ({ ok: true, body: `r${i}` })));
  });
});
