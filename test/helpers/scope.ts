import { afterEach } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { ANY } from './zmq.js';

/**
 * What a test file's tests start, stopped after each test, last started
 * first. Call once at the top of a file; `defer` registers a stop, `broker`
 * starts an in-process broker on ephemeral loopback ports and defers its stop.
 */
export function testScope() {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  const defer = (cleanup: () => unknown): void => {
    cleanups.push(cleanup);
  };
  return {
    defer,
    async broker(options: Parameters<typeof Broker.start>[0] = {}) {
      const b = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200, ...options });
      defer(() => b.stop());
      return { b, ...(await b.endpoints()) };
    },
  };
}
