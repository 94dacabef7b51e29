import { describe, expect, it } from 'vitest';
import { assertEndpoint, assertResolvable, endpointError } from '../../../src/actors/endpoint-error.js';

describe('endpoint errors', () => {
  it('should refuse a name under .invalid at once (RFC 6761), whatever the resolver would answer', async () => {
    for (const endpoint of ['tcp://nohost.invalid:5555', 'tcp://INVALID:1', 'tcp://a.b.invalid.:7']) {
      await expect(assertResolvable('worker.link.0.socket', endpoint)).rejects.toMatchObject({
        name: 'EndpointError',
        where: 'worker.link.0.socket',
        op: 'connect',
        endpoint,
        code: 'ENOTFOUND',
      });
    }
  });

  it('should pass addresses, localhost and ipc paths without a lookup', async () => {
    for (const endpoint of ['tcp://127.0.0.1:5555', 'tcp://[::1]:5555', 'tcp://localhost:5555', 'ipc:///tmp/x']) {
      await expect(assertResolvable('client.broker', endpoint)).resolves.toBeUndefined();
    }
  });

  it('should name the socket, the endpoint and the cause in words an operator can act on', () => {
    expect(() => assertEndpoint('broker.frontend', 'bind', 'bogus://x')).toThrow('broker.frontend: cannot bind bogus://x: protocol "bogus" not supported');
    const inUse = endpointError('gateway.http', 'listen', '127.0.0.1:8080', Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }));
    expect(inUse.message).toBe('gateway.http: cannot listen on 127.0.0.1:8080: address already in use (another process listens there: stop it or choose another port)');
  });
});
