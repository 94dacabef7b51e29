/**
 * The gateway's side of the front-door benchmarks, plugged in at run time:
 * the gateway (BlastBeat-style HTTP front door, `src/api/gateway.ts`) is
 * built on another branch. Until `dist/api/gateway.js` exists the gateway
 * rows are skipped with the reason `gatewayMissing()` gives; once it is
 * merged and built, these functions start it as they are. The peers import
 * the build by path at run time, so this compiles without the gateway's source.
 *
 * STEWARD_GATEWAY_DIST=DIR points at another build (a `dist/` with api/gateway.js).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { probeMemory, type MemorySample } from './memory-probe.js';
import { startProc, type Proc } from './proc.js';

const PEERS = new URL('../peers/', import.meta.url);
const GATEWAY_HOST = fileURLToPath(new URL('gateway-host.js', PEERS));
const GATEWAY_NODE = fileURLToPath(new URL('gateway-node.js', PEERS));
/** The node name the benchmark's virtual host routes to. */
export const GATEWAY_NODE_NAME = 'bench1';

export function gatewayDist(): string {
  return process.env['STEWARD_GATEWAY_DIST'] ?? fileURLToPath(new URL('../../../dist/', import.meta.url));
}

/** Why the gateway cannot be measured in this checkout, or undefined when it can. */
export function gatewayMissing(): string | undefined {
  const dist = gatewayDist();
  for (const file of ['api/gateway.js', 'api/gateway-backend.js']) {
    if (!existsSync(`${dist.replace(/\/?$/, '/')}${file}`)) return `gateway not built yet (no ${file} in ${dist}; merge the gateway branch, npm run build)`;
  }
  return undefined;
}

export interface FrontDoor {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  /** The front door's own process (for RSS). */
  readonly pid: number;
  /** The front door process's memory after a forced GC (it runs with `--expose-gc`). */
  memory(): Promise<MemorySample>;
  stop(): Promise<void>;
}

/**
 * The gateway in its own process (Gateway.start, one virtual host `127.0.0.1`
 * on any port, served by one node), and that node in another process: a
 * GatewayBackend answering every request like bench/peers/http-backend and
 * echoing WebSocket messages.
 */
export async function startGateway(): Promise<FrontDoor> {
  const dist = gatewayDist();
  const procs: Proc[] = [];
  const stop = async () => {
    await Promise.all(procs.splice(0).reverse().map((p) => p.stop()));
  };
  try {
    const host = await startProc(['--expose-gc', GATEWAY_HOST, dist, GATEWAY_NODE_NAME], (l) => l.startsWith('{"http"'), 15_000, { stdin: true });
    procs.push(host);
    const { http, zmq } = JSON.parse(host.lines.find((l) => l.startsWith('{"http"')) as string) as { http: string; zmq: string };
    procs.push(await startProc([GATEWAY_NODE, dist, zmq, GATEWAY_NODE_NAME], (l) => l === 'ready'));
    await waitAvailable(http);
    return { url: http.endsWith('/') ? http : `${http}/`, pid: host.pid, memory: () => probeMemory(host), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The node is available after its first pong: wait until a request is answered 200. */
async function waitAvailable(url: string): Promise<void> {
  const end = Date.now() + 10_000;
  let last = '';
  while (Date.now() < end) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway at ${url} never answered 200 (${last})`);
}
