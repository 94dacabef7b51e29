import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { Worker } from '../../src/api/worker.js';
import { ANY, withTimeout } from '../helpers/zmq.js';

// The CLI turns these into one line and exit code 2 (test/cli/startup-failures.test.ts); a program that
// uses the library gets the same EndpointError from the call that started the role.
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('library start failures', () => {
  it('should reject Broker.start on a taken port with an EndpointError naming the socket, the endpoint and the cause', async () => {
    const first = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 100 });
    cleanups.push(() => first.stop());
    const { frontend } = await first.endpoints();
    const second = Broker.start({ frontend, backend: ANY, drainTimeoutMs: 100 });
    await expect(withTimeout(second, 5000, 'the start to fail')).rejects.toMatchObject({
      name: 'EndpointError',
      where: 'broker.frontend',
      endpoint: frontend,
      code: 'EADDRINUSE',
    });
  });

  it("should reject a worker's registered() at once when its broker endpoint cannot work, instead of after its timeout", async () => {
    const worker = Worker.start({ broker: 'bogus://nowhere', service: 'echo', handler: (r) => r.body });
    cleanups.push(() => worker.stop());
    await expect(worker.registered(1, 60_000)).rejects.toMatchObject({ name: 'EndpointError', endpoint: 'bogus://nowhere' });
  });

  it('should throw from new Client for a broker endpoint libzmq would not take, instead of timing out each call', () => {
    expect(() => new Client({ broker: ['tcp://127.0.0.1:5555', 'bogus://nowhere'] })).toThrow(
      expect.objectContaining({ name: 'EndpointError', where: 'client.broker', endpoint: 'bogus://nowhere', code: 'EPROTONOSUPPORT' }),
    );
    expect(() => new Client({ broker: 'tcp://127.0.0.1:99999' })).toThrow(/client\.broker: cannot connect tcp:\/\/127\.0\.0\.1:99999/);
  });
});
