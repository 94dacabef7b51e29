import { Client } from '../../../src/api/client.js';
import type { SocketTransport } from '../../../src/actors/socket-transport.js';
import type { Caller } from './caller.js';

/** steward's `Client` on a broker's frontend, as an application would use it (no retries; 10 s timeout). */
export function stewardCaller(frontend: string, transport: SocketTransport = 'auto'): Caller {
  const client = new Client({ broker: frontend, timeout: 10_000, retries: 0, transport });
  return {
    prepare(service, bytes) {
      const body = Buffer.alloc(bytes, 'x');
      return () => client.call(service, body);
    },
    close: async () => client.close(),
  };
}
