/**
 * The gateway's side of the front-door benchmarks: the gateway in its own
 * process (bench/peers/gateway-host.ts, importing the build by path at run
 * time), the nodes behind it (a GatewayBackend, bench/peers/gateway-node.ts;
 * a plain-wire BlastBeat node in C on libzmq, bench/peers/gateway-plain-node.c,
 * compiled with gcc by bench/lib/c-peers.ts), each stopped by its pid.
 *
 * STEWARD_GATEWAY_DIST=DIR points at another build (a `dist/` with api/gateway.js).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileCPeer } from './c-peers.js';
import { probeMemory, type MemorySample } from './memory-probe.js';
import { startCommand, startProc, type Proc } from './proc.js';

const PEERS = new URL('../peers/', import.meta.url);
const GATEWAY_HOST = fileURLToPath(new URL('gateway-host.js', PEERS));
const GATEWAY_NODE = fileURLToPath(new URL('gateway-node.js', PEERS));
/** The node name the benchmark's virtual host routes to. */
export const GATEWAY_NODE_NAME = 'bench1';
export const PLAIN_NODE_NAME = 'plain';

export function gatewayDist(): string {
  return process.env['STEWARD_GATEWAY_DIST'] ?? fileURLToPath(new URL('../../../dist/', import.meta.url));
}

/** Why the gateway cannot be measured in this checkout, or undefined when it can. */
export function gatewayMissing(): string | undefined {
  const dist = gatewayDist();
  for (const file of ['api/gateway.js', 'api/gateway-backend.js']) {
    if (!existsSync(`${dist.replace(/\/?$/, '/')}${file}`)) return `gateway not built (no ${file} in ${dist}; npm run build)`;
  }
  return undefined;
}

export interface GatewayProcess {
  readonly proc: Proc;
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly zmq: string;
  memory(): Promise<MemorySample>;
}

/**
 * The gateway in its own process (with `--expose-gc`, for the memory probe),
 * one virtual host per `host -> node` pair; `profileDir` runs it under
 * `node --cpu-prof` writing there (the profile is written when it stops).
 */
export async function startGatewayProcess(vhosts: Readonly<Record<string, string>>, profileDir?: string): Promise<GatewayProcess> {
  const profile = profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const pairs = Object.entries(vhosts).map(([host, node]) => `${host}=${node}`);
  const proc = await startProc(['--expose-gc', ...profile, GATEWAY_HOST, gatewayDist(), ...pairs], (l) => l.startsWith('{"http"'), 15_000, { stdin: true });
  const { http, zmq } = JSON.parse(proc.lines.find((l) => l.startsWith('{"http"')) as string) as { http: string; zmq: string };
  return { proc, url: http.endsWith('/') ? http : `${http}/`, zmq, memory: () => probeMemory(proc) };
}

/** A GatewayBackend node (bench/peers/gateway-node.ts) in its own process. */
export function startGatewayNode(zmq: string, name = GATEWAY_NODE_NAME): Promise<Proc> {
  return startProc([GATEWAY_NODE, gatewayDist(), zmq, name], (l) => l === 'ready');
}

/** Compiles the C plain node (once; again when its source changes); throws with what is missing. */
export function compilePlainNode(): string {
  return compileCPeer('gateway-plain-node', [], 'the gateway suite compiles its plain-wire node');
}

/** The C plain-wire node (bench/peers/gateway-plain-node.c) in its own process. */
export async function startPlainNode(zmq: string, name = PLAIN_NODE_NAME): Promise<Proc> {
  return startCommand(compilePlainNode(), [zmq, name], (l) => l === 'ready');
}

/** The node is available after its first pong: wait until a request with this Host is answered 200. */
export async function waitServed(url: string, host?: string): Promise<void> {
  const end = Date.now() + 10_000;
  let last = '';
  while (Date.now() < end) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000), ...(host !== undefined ? { headers: { Host: host } } : {}) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway at ${url} never answered 200${host !== undefined ? ` for Host ${host}` : ''} (${last})`);
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
 * The gateway in its own process, one virtual host `127.0.0.1` served by a
 * GatewayBackend node in another, echoing WebSocket messages.
 */
export async function startGateway(): Promise<FrontDoor> {
  const procs: Proc[] = [];
  const stop = async () => {
    await Promise.all(procs.splice(0).reverse().map((p) => p.stop()));
  };
  try {
    const gateway = await startGatewayProcess({ '127.0.0.1': GATEWAY_NODE_NAME });
    procs.push(gateway.proc);
    procs.push(await startGatewayNode(gateway.zmq));
    await waitServed(gateway.url);
    return { url: gateway.url, pid: gateway.proc.pid, memory: gateway.memory, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
