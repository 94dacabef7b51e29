/**
 * The gateway under test, in its own process: `node gateway-host.js DIST NODE`
 * imports DIST/api/gateway.js at run time (see bench/lib/gateway-plug.ts),
 * starts one virtual host `127.0.0.1` (any port) served by NODE, and prints
 * `{"http": URL, "zmq": ENDPOINT}`. A `mem` line on stdin is answered with
 * its memory after a forced GC (bench/lib/memory-probe.ts).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { answerMemoryProbes } from '../lib/memory-probe.js';

/** The part of `Gateway` (src/api/gateway.ts on the gateway branch) this uses. */
interface GatewayLike {
  endpoints(): Promise<{ readonly http: readonly string[]; readonly zmq: string }>;
  stop(): Promise<void>;
}
interface GatewayModule {
  readonly Gateway: {
    start(options: {
      bind: string[];
      zmq: string;
      vhosts: Array<{ name: string; nodes: string[] }>;
      maxSessions: number;
      idleTimeoutMs: number;
    }): Promise<GatewayLike>;
  };
}

const [dist = 'dist', node = 'bench1'] = process.argv.slice(2);
const mod = (await import(pathToFileURL(join(dist, 'api/gateway.js')).href)) as GatewayModule;
const gateway = await mod.Gateway.start({
  bind: ['127.0.0.1:0'],
  zmq: 'tcp://127.0.0.1:*',
  vhosts: [{ name: '127.0.0.1', nodes: [node] }],
  maxSessions: 100_000,
  idleTimeoutMs: 600_000,
});
const endpoints = await gateway.endpoints();
process.stdout.write(`${JSON.stringify({ http: endpoints.http[0], zmq: endpoints.zmq })}\n`);
answerMemoryProbes();
process.on('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
