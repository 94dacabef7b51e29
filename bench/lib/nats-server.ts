import { existsSync } from 'node:fs';
import { startCommand, type Proc } from './proc.js';
import { freePort } from './system.js';

export const NATS_SERVER = '/usr/sbin/nats-server';

export interface NatsServer {
  readonly url: string;
  readonly proc: Proc;
}

/**
 * Debian's nats-server, our own instance on 127.0.0.1 and a free port (never
 * the system's one on 4222), stopped by its pid.
 */
export async function startNatsServer(): Promise<NatsServer> {
  if (!existsSync(NATS_SERVER)) throw new Error(`${NATS_SERVER} is missing: apt-get install nats-server`);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const proc = await startCommand(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port)], (l) => l.includes('Server is ready'), {
        stderrLines: true,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      });
      return { url: `nats://127.0.0.1:${port}`, proc };
    } catch (error) {
      lastError = error; // the port was taken in between: try another
    }
  }
  throw lastError;
}
