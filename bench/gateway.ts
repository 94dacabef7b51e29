/**
 * The HTTP front door beside what users would pick instead: Debian's nginx
 * (one process, keep-alive upstream connections) proxying to a Node `http`
 * backend, beside that backend served directly, and steward's gateway
 * forwarding to a TypeScript backend over ZeroMQ (skipped, with the reason,
 * until the gateway is built: bench/lib/gateway-plug.ts). Load: wrk, 2
 * threads, 50 keep-alive connections. Then memory per idle WebSocket
 * session: the gateway's process beside a plain `ws` server's.
 *
 *   npm run bench -- --only gateway [--quick] [--rounds N]
 */
import { fileURLToPath } from 'node:url';
import { gatewayMissing, startGateway, type FrontDoor } from './lib/gateway-plug.js';
import { startNginx } from './lib/nginx.js';
import { startProc, type Proc } from './lib/proc.js';
import { runWrk, type WrkResult } from './lib/wrk.js';
import { probeMemory } from './lib/memory-probe.js';
import { memoryPerSession, type SessionMemory } from './lib/ws-sessions.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const PEERS = new URL('./peers/', import.meta.url);
const HTTP_BACKEND = fileURLToPath(new URL('http-backend.js', PEERS));
const WS_SERVER = fileURLToPath(new URL('ws-server.js', PEERS));
const CONNECTIONS = 50;
const MiB = 1024 * 1024;

type Target = 'direct' | 'nginx' | 'gateway';

async function httpRows(options: BenchOptions): Promise<BenchRow[]> {
  const seconds = options.quick ? 2 : 5;
  const missing = gatewayMissing();
  const procs: Array<{ stop(): Promise<void> }> = [];
  const results: Record<Target, WrkResult[]> = { direct: [], nginx: [], gateway: [] };
  let gatewayError: string | undefined;
  try {
    const backend: Proc = await startProc([HTTP_BACKEND], (l) => l.startsWith('http://'));
    procs.push(backend);
    const backendUrl = backend.lines[0] as string;
    const nginx = await startNginx(Number(new URL(backendUrl).port));
    procs.push(nginx);
    let gateway: FrontDoor | undefined;
    if (missing === undefined) {
      try {
        gateway = await startGateway();
        procs.push(gateway);
      } catch (error) {
        gatewayError = `gateway failed to start: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    const urls: Partial<Record<Target, string>> = { direct: backendUrl, nginx: nginx.url, ...(gateway ? { gateway: gateway.url } : {}) };
    const targets = (Object.keys(urls) as Target[]).filter((t) => urls[t] !== undefined);
    const wrk = (t: Target, s: number) => runWrk(urls[t] as string, { threads: 2, connections: CONNECTIONS, seconds: s });
    for (const t of targets) await wrk(t, 1); // warm-up: JIT, upstream connections
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) results[t].push(await wrk(t, seconds));
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
  }
  const m = (list: WrkResult[], pick: (r: WrkResult) => number) => median(list.map(pick));
  const errors = (list: WrkResult[]) => {
    const bad = list.reduce((n, r) => n + r.non2xx + r.socketErrors, 0);
    return bad ? `; ${bad} non-2xx responses or socket errors` : '';
  };
  const shape = `wrk -t2 -c${CONNECTIONS} -d${seconds}s`;
  const nginxRow: BenchRow = {
    suite: 'gateway',
    name: `nginx -> node http, ${CONNECTIONS} keep-alive connections`,
    value: m(results.nginx, (r) => r.rate),
    unit: 'req/s',
    better: 'higher',
    baseline: 'node http served directly',
    baselineValue: m(results.direct, (r) => r.rate),
    rounds: options.rounds,
    p50Ms: m(results.nginx, (r) => r.p50Ms),
    p99Ms: m(results.nginx, (r) => r.p99Ms),
    baselineP50Ms: m(results.direct, (r) => r.p50Ms),
    baselineP99Ms: m(results.direct, (r) => r.p99Ms),
    note: `${shape}; one nginx process (master_process off), upstream keepalive 64${errors([...results.nginx, ...results.direct])}`,
  };
  const skipped = missing ?? gatewayError;
  const gatewayRow: BenchRow = {
    suite: 'gateway',
    name: `gateway -> TypeScript backend, ${CONNECTIONS} keep-alive connections`,
    value: skipped ? Number.NaN : m(results.gateway, (r) => r.rate),
    unit: 'req/s',
    better: 'higher',
    baseline: 'nginx -> node http, same run',
    baselineValue: nginxRow.value,
    rounds: options.rounds,
    ...(skipped
      ? { skipped }
      : {
          p50Ms: m(results.gateway, (r) => r.p50Ms),
          p99Ms: m(results.gateway, (r) => r.p99Ms),
          note: `${shape}; gateway and backend node each one process; vs direct: ${(m(results.gateway, (r) => r.rate) / nginxRow.baselineValue!).toFixed(2)}x${errors(results.gateway)}`,
        }),
    baselineP50Ms: nginxRow.p50Ms,
    baselineP99Ms: nginxRow.p99Ms,
  };
  return [nginxRow, gatewayRow];
}

const KiB = (bytes: number) => (bytes / 1024).toFixed(1);

async function memoryRows(options: BenchOptions): Promise<BenchRow[]> {
  const steps = options.quick ? [100, 250, 500] : [500, 1_000, 2_000, 4_000];
  const sessions = steps[steps.length - 1] as number;
  const missing = gatewayMissing();
  const rounds = Math.min(options.rounds, 2);
  const baseline: SessionMemory[] = [];
  const gatewayRuns: SessionMemory[] = [];
  let gatewayError: string | undefined;
  for (let round = 0; round < rounds; round++) {
    // --expose-gc and a stdin pipe: the peer answers `mem` with its live heap (bench/lib/memory-probe.ts).
    const ws = await startProc(['--expose-gc', WS_SERVER], (l) => l.startsWith('ws://'), 15_000, { stdin: true });
    try {
      baseline.push(await memoryPerSession(ws.lines[0] as string, ws.pid, steps, 100, () => probeMemory(ws)));
    } finally {
      await ws.stop();
    }
    if (missing !== undefined || gatewayError !== undefined) continue;
    let gateway: FrontDoor | undefined;
    try {
      gateway = await startGateway();
      const front = gateway;
      gatewayRuns.push(await memoryPerSession(front.url.replace(/^http/, 'ws'), front.pid, steps, 100, () => front.memory()));
    } catch (error) {
      gatewayError = `gateway WebSocket sessions failed: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      await gateway?.stop();
    }
  }
  const skipped = missing ?? gatewayError;
  const curve = (label: string, runs: SessionMemory[]) => ({
    label,
    points: steps.map((n, i) => [n, median(runs.map((r) => (r.points[i]?.[1] ?? Number.NaN) / MiB))] as const),
  });
  options.addChart?.({
    name: 'gateway-websocket-memory',
    title: 'Front door memory growth with idle WebSocket sessions',
    xLabel: 'idle WebSocket sessions',
    yLabel: 'RSS growth, MiB',
    series: [curve('plain ws server (node http)', baseline), ...(skipped ? [] : [curve('steward gateway', gatewayRuns)])],
  });
  const heap = (runs: SessionMemory[]) => median(runs.map((r) => r.heapBytesPerSession ?? Number.NaN));
  const heapTotal = (runs: SessionMemory[]) => median(runs.map((r) => r.heapTotalBytesPerSession ?? Number.NaN));
  const heapNote = skipped
    ? ''
    : `; live heap after gc(): ${KiB(heap(gatewayRuns))} KiB/session vs ${KiB(heap(baseline))}, heapTotal ${KiB(heapTotal(gatewayRuns))} vs ${KiB(heapTotal(baseline))}`;
  const rssRow: BenchRow = {
    suite: 'gateway',
    name: `gateway memory per idle WebSocket session (${sessions.toLocaleString('en-US')} sessions)`,
    value: skipped ? Number.NaN : median(gatewayRuns.map((r) => r.bytesPerSession)) / 1024,
    unit: 'KiB/session',
    better: 'lower',
    baseline: 'plain ws server on node http',
    baselineValue: median(baseline.map((r) => r.bytesPerSession)) / 1024,
    rounds,
    ...(skipped ? { skipped } : { note: `growth of the front door process RSS (VmRSS) divided by the sessions${heapNote}` }),
  };
  const heapRow: BenchRow = {
    suite: 'gateway',
    name: `gateway live heap per idle WebSocket session (${sessions.toLocaleString('en-US')} sessions)`,
    value: skipped ? Number.NaN : heap(gatewayRuns) / 1024,
    unit: 'KiB/session',
    better: 'lower',
    baseline: 'plain ws server on node http',
    baselineValue: heap(baseline) / 1024,
    rounds,
    ...(skipped
      ? { skipped }
      : {
          note: `heapUsed growth of the front door process after two forced collections (node --expose-gc), divided by the sessions; heapTotal ${KiB(heapTotal(gatewayRuns))} KiB/session vs ${KiB(heapTotal(baseline))}`,
        }),
  };
  return [rssRow, heapRow];
}

export const suite: BenchSuite = {
  name: 'gateway',
  description: 'HTTP front door: nginx proxying to node http vs node http alone, steward gateway vs nginx (wrk, 50 keep-alive connections); memory per idle WebSocket',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    return [...(await httpRows(options)), ...(await memoryRows(options))];
  },
};
