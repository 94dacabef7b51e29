/**
 * The gateway under test, in its own process:
 * `node gateway-host.js DIST HOST=NODE [HOST=NODE...]` imports
 * DIST/api/gateway.js at run time (see bench/lib/gateway-plug.ts), starts a
 * virtual host per pair (any port) served by its node, and prints
 * `{"http": URL, "zmq": ENDPOINT}`. A `mem` line on stdin is answered with
 * its memory after a forced GC (bench/lib/memory-probe.ts).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { answerMemoryProbes } from '../lib/memory-probe.js';

/** The part of `Gateway` (src/api/gateway.ts) this uses. */
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
      maxNodeSessions: number;
      idleTimeoutMs: number;
      maxBodySize: number;
    }): Promise<GatewayLike>;
  };
}

const [dist = 'dist', ...pairs] = process.argv.slice(2);
const vhosts = (pairs.length > 0 ? pairs : ['127.0.0.1=bench1']).map((pair) => {
  const [name = '', node = ''] = pair.split('=');
  return { name, nodes: [node] };
});
const mod = (await import(pathToFileURL(join(dist, 'api/gateway.js')).href)) as GatewayModule;
const gateway = await mod.Gateway.start({
  bind: ['127.0.0.1:0'],
  zmq: 'tcp://127.0.0.1:*',
  vhosts,
  maxSessions: 100_000,
  maxNodeSessions: 100_000,
  idleTimeoutMs: 600_000,
  maxBodySize: 16 * 1024 * 1024,
});
const endpoints = await gateway.endpoints();
process.stdout.write(`${JSON.stringify({ http: endpoints.http[0], zmq: endpoints.zmq })}\n`);
answerMemoryProbes();
process.on('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
