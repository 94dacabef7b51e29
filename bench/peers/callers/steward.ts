import { Client } from '../../../src/api/client.js';
import type { Caller } from './caller.js';

/** steward's `Client` on a broker's frontend, as an application would use it (no retries; 10 s timeout). */
export function stewardCaller(frontend: string): Caller {
  const client = new Client({ broker: frontend, timeout: 10_000, retries: 0 });
  return {
    prepare(service, bytes) {
      const body = Buffer.alloc(bytes, 'x');
      return () => client.call(service, body);
    },
    close: async () => client.close(),
  };
}
