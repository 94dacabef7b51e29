/**
 * The HTTP front door beside what users would pick instead, each figure
 * beside its baseline from the same run (wrk, 2 threads, 50 keep-alive
 * connections, every process a child of this one on 127.0.0.1):
 *
 *   nginx -> node http        Debian's nginx (one process, keep-alive upstream
 *                             connections) proxying to a Node `http` server,
 *                             beside that server answering directly.
 *   gateway -> plain node     steward's gateway in front of a minimal
 *                             plain-wire BlastBeat node (C on libzmq, no batch
 *                             extension: one ZeroMQ message each way per
 *                             request), beside nginx.
 *   gateway -> GatewayBackend the same gateway in front of steward's
 *                             TypeScript node helper (batch extension).
 *   CPU per request           of each front door (utime + stime of its
 *                             process from /proc over the measured window,
 *                             divided by the requests), nginx's beside.
 *   64 KiB chunked, 1 MiB     a 64 KiB response in four chunks and a 1 MiB
 *   upload                    POST, through the gateway (GatewayBackend) and
 *                             through nginx (node http).
 *   WebSocket echo            through the gateway beside a plain `ws` server.
 *   idle WebSocket memory     RSS and live heap per idle session of the
 *                             gateway's process beside a plain `ws` server's,
 *                             at 4,000 and at 40,000 sessions (or as many as
 *                             this machine's open-file limit allows).
 *
 * Rounds alternate the order of the HTTP targets. Every HTTP figure carries
 * its non-2xx responses and socket errors. `--profile` runs the gateway under
 * `node --cpu-prof` (the runner summarises the profile).
 *
 *   npm run bench -- --only gateway [--quick] [--rounds N] [--profile]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GATEWAY_NODE_NAME,
  PLAIN_NODE_NAME,
  gatewayMissing,
  startGateway,
  startGatewayNode,
  startGatewayProcess,
  startPlainNode,
  waitServed,
  type FrontDoor,
} from './lib/gateway-plug.js';
import { probeMemory } from './lib/memory-probe.js';
import { startNginx } from './lib/nginx.js';
import { startProc, type Proc } from './lib/proc.js';
import { cpuSeconds } from './lib/system.js';
import { runWrk, uploadScript, type WrkResult } from './lib/wrk.js';
import { measureEcho } from './lib/ws-echo.js';
import { maxIdleSessions, memoryPerSession, openFileLimit, type SessionMemory } from './lib/ws-sessions.js';
import { CHUNK, CHUNKS, UPLOAD_BYTES } from './peers/gateway-bodies.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const PEERS = new URL('./peers/', import.meta.url);
const HTTP_BACKEND = fileURLToPath(new URL('http-backend.js', PEERS));
const WS_SERVER = fileURLToPath(new URL('ws-server.js', PEERS));
const CONNECTIONS = 50;
const WS_CONNECTIONS = 20;
const WS_IN_FLIGHT = 10;
/** The plain node's virtual host; the GatewayBackend's is `127.0.0.1`, what wrk sends by default. */
const PLAIN_HOST = 'plain.bench';
const KiB = 1024;
const MiB = 1024 * 1024;

type Target = 'direct' | 'nginx' | 'plain' | 'backend' | 'nginxChunked' | 'gatewayChunked' | 'nginxUpload' | 'gatewayUpload';

interface HttpTarget {
  readonly url: string;
  readonly host?: string;
  readonly script?: string;
  /** The front door's process (its CPU per request is reported). */
  readonly front: number;
  /** The server behind it, when there is one. */
  readonly behind?: number;
}

interface Sample {
  readonly wrk: WrkResult;
  /** CPU per request, microseconds, of the front door and of what is behind it. */
  readonly frontUs: number;
  readonly behindUs: number;
}

const usPerRequest = (seconds: number, requests: number) => (seconds * 1e6) / Math.max(1, requests);

async function measure(target: HttpTarget, seconds: number): Promise<Sample> {
  const front0 = cpuSeconds(target.front);
  const behind0 = target.behind !== undefined ? cpuSeconds(target.behind) : Number.NaN;
  const wrk = await runWrk(target.url, {
    threads: 2,
    connections: CONNECTIONS,
    seconds,
    ...(target.host !== undefined ? { headers: { Host: target.host } } : {}),
    ...(target.script !== undefined ? { script: target.script, timeoutSeconds: 10 } : {}),
  });
  const front = cpuSeconds(target.front) - front0;
  const behind = target.behind !== undefined ? cpuSeconds(target.behind) - behind0 : Number.NaN;
  return { wrk, frontUs: usPerRequest(front, wrk.requests), behindUs: usPerRequest(behind, wrk.requests) };
}

const us = (x: number) => `${x.toFixed(1)} us`;

async function httpRows(options: BenchOptions): Promise<BenchRow[]> {
  const seconds = options.quick ? 2 : 5;
  const missing = gatewayMissing();
  const procs: Array<{ stop(): Promise<void> }> = [];
  const samples: Partial<Record<Target, Sample[]>> = {};
  let gatewayError: string | undefined;
  let plainError: string | undefined;
  const echo = { gateway: [] as number[], direct: [] as number[] };
  try {
    const backend: Proc = await startProc([HTTP_BACKEND], (l) => l.startsWith('http://'));
    procs.push(backend);
    const backendUrl = backend.lines[0] as string;
    const nginx = await startNginx(Number(new URL(backendUrl).port));
    procs.push(nginx);
    const ws = await startProc([WS_SERVER], (l) => l.startsWith('ws://'));
    procs.push(ws);
    const upload = join(mkdtempSync(join(tmpdir(), 'steward-bench-wrk-')), 'upload.lua');
    writeFileSync(upload, uploadScript(UPLOAD_BYTES));
    const targets: Partial<Record<Target, HttpTarget>> = {
      direct: { url: backendUrl, front: backend.pid },
      nginx: { url: nginx.url, front: nginx.proc.pid, behind: backend.pid },
      nginxChunked: { url: `${nginx.url}chunked`, front: nginx.proc.pid, behind: backend.pid },
      nginxUpload: { url: `${nginx.url}upload`, script: upload, front: nginx.proc.pid, behind: backend.pid },
    };
    let gatewayWs: string | undefined;
    if (missing === undefined) {
      try {
        const gateway = await startGatewayProcess({ '127.0.0.1': GATEWAY_NODE_NAME, [PLAIN_HOST]: PLAIN_NODE_NAME }, options.profileDir);
        procs.push(gateway.proc);
        const node = await startGatewayNode(gateway.zmq);
        procs.push(node);
        await waitServed(gateway.url);
        const front = gateway.proc.pid;
        targets.backend = { url: gateway.url, front, behind: node.pid };
        targets.gatewayChunked = { url: `${gateway.url}chunked`, front, behind: node.pid };
        targets.gatewayUpload = { url: `${gateway.url}upload`, script: upload, front, behind: node.pid };
        gatewayWs = gateway.url.replace(/^http/, 'ws');
        try {
          const plain = await startPlainNode(gateway.zmq);
          procs.push(plain);
          await waitServed(gateway.url, PLAIN_HOST);
          targets.plain = { url: gateway.url, host: PLAIN_HOST, front, behind: plain.pid };
        } catch (error) {
          plainError = error instanceof Error ? error.message : String(error);
        }
      } catch (error) {
        gatewayError = `gateway failed to start: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    const order = (Object.keys(targets) as Target[]).filter((t) => targets[t] !== undefined);
    for (const t of order) await measure(targets[t] as HttpTarget, 1); // warm-up: JIT, upstream connections
    for (let round = 0; round < options.rounds; round++) {
      // Alternate the order between rounds, so drift in the machine's load falls on every target alike.
      for (const t of round % 2 === 0 ? order : [...order].reverse()) (samples[t] ??= []).push(await measure(targets[t] as HttpTarget, seconds));
      const wsTargets: Array<['direct' | 'gateway', string]> = [['direct', ws.lines[0] as string]];
      if (gatewayWs !== undefined) wsTargets.push(['gateway', gatewayWs]);
      for (const [key, url] of round % 2 === 0 ? wsTargets : [...wsTargets].reverse()) {
        echo[key].push(await measureEcho(url, { connections: WS_CONNECTIONS, inFlight: WS_IN_FLIGHT, seconds }));
      }
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
  }

  const shape = `wrk -t2 -c${CONNECTIONS} -d${seconds}s`;
  const rate = (t: Target) => median((samples[t] ?? []).map((s) => s.wrk.rate));
  const pick = (t: Target, f: (s: Sample) => number) => median((samples[t] ?? []).map(f));
  const bad = (t: Target) => {
    const list = samples[t] ?? [];
    return { non2xx: list.reduce((n, s) => n + s.wrk.non2xx, 0), socketErrors: list.reduce((n, s) => n + s.wrk.socketErrors, 0) };
  };
  const latency = (t: Target) => ({ p50Ms: pick(t, (s) => s.wrk.p50Ms), p99Ms: pick(t, (s) => s.wrk.p99Ms) });
  const baselineLatency = (t: Target) => ({ baselineP50Ms: pick(t, (s) => s.wrk.p50Ms), baselineP99Ms: pick(t, (s) => s.wrk.p99Ms) });
  const front = (t: Target) => pick(t, (s) => s.frontUs);
  const behind = (t: Target) => pick(t, (s) => s.behindUs);
  const rows: BenchRow[] = [];
  const base = { suite: 'gateway', rounds: options.rounds } as const;
  const gatewaySkip = missing ?? gatewayError;

  rows.push({
    ...base,
    name: `nginx -> node http, ${CONNECTIONS} keep-alive connections`,
    value: rate('nginx'),
    unit: 'req/s',
    better: 'higher',
    baseline: 'node http served directly',
    baselineValue: rate('direct'),
    ...latency('nginx'),
    ...baselineLatency('direct'),
    ...bad('nginx'),
    note:
      `${shape}; one nginx process (master_process off), upstream keepalive 64; CPU per request: nginx ${us(front('nginx'))}, ` +
      `node http behind it ${us(behind('nginx'))}, node http alone ${us(front('direct'))}; node http alone: ` +
      `${bad('direct').non2xx} non-2xx, ${bad('direct').socketErrors} socket errors`,
  });

  const plainSkip = gatewaySkip ?? plainError;
  rows.push({
    ...base,
    name: `gateway -> plain BlastBeat node (C, libzmq, no batch), ${CONNECTIONS} keep-alive connections`,
    value: plainSkip ? Number.NaN : rate('plain'),
    unit: 'req/s',
    better: 'higher',
    target: 1.5,
    baseline: 'nginx -> node http, same run',
    baselineValue: rate('nginx'),
    ...baselineLatency('nginx'),
    ...(plainSkip
      ? { skipped: plainSkip }
      : {
          ...latency('plain'),
          ...bad('plain'),
          note: `${shape}; CPU per request: gateway ${us(front('plain'))}, the C node ${us(behind('plain'))}; vs node http alone ${(rate('plain') / rate('direct')).toFixed(2)}x`,
        }),
  });
  rows.push({
    ...base,
    name: 'gateway CPU per request, plain BlastBeat node (C, libzmq, no batch)',
    value: plainSkip ? Number.NaN : front('plain'),
    unit: 'us/req',
    better: 'lower',
    baseline: 'nginx CPU per request, proxying to node http',
    baselineValue: front('nginx'),
    ...(plainSkip
      ? { skipped: plainSkip }
      : { note: `front-door process utime + stime (/proc) over the measured window / requests; target <= 18 us; node http alone ${us(front('direct'))}` }),
  });

  rows.push({
    ...base,
    name: `gateway -> GatewayBackend node (batch extension), ${CONNECTIONS} keep-alive connections`,
    value: gatewaySkip ? Number.NaN : rate('backend'),
    unit: 'req/s',
    better: 'higher',
    target: 2,
    baseline: 'nginx -> node http, same run',
    baselineValue: rate('nginx'),
    ...baselineLatency('nginx'),
    ...(gatewaySkip
      ? { skipped: gatewaySkip }
      : {
          ...latency('backend'),
          ...bad('backend'),
          note: `${shape}; CPU per request: gateway ${us(front('backend'))}, GatewayBackend node ${us(behind('backend'))}; vs node http alone ${(rate('backend') / rate('direct')).toFixed(2)}x`,
        }),
  });
  rows.push({
    ...base,
    name: 'gateway CPU per request, GatewayBackend node (batch extension)',
    value: gatewaySkip ? Number.NaN : front('backend'),
    unit: 'us/req',
    better: 'lower',
    baseline: 'nginx CPU per request, proxying to node http',
    baselineValue: front('nginx'),
    ...(gatewaySkip ? { skipped: gatewaySkip } : { note: 'front-door process utime + stime (/proc) over the measured window / requests' }),
  });

  const chunkedBytes = CHUNKS * CHUNK.length;
  const mibps = (t: Target, bytes: number) => `${((rate(t) * bytes) / MiB).toFixed(0)} MiB/s`;
  rows.push({
    ...base,
    name: `${chunkedBytes / KiB} KiB chunked response (${CHUNKS} chunks), gateway -> GatewayBackend node`,
    value: gatewaySkip ? Number.NaN : rate('gatewayChunked'),
    unit: 'req/s',
    better: 'higher',
    baseline: 'nginx -> node http, the same response',
    baselineValue: rate('nginxChunked'),
    ...baselineLatency('nginxChunked'),
    ...(gatewaySkip
      ? { skipped: gatewaySkip }
      : {
          ...latency('gatewayChunked'),
          ...bad('gatewayChunked'),
          note:
            `${shape}; ${mibps('gatewayChunked', chunkedBytes)} vs ${mibps('nginxChunked', chunkedBytes)}; CPU per request: gateway ${us(front('gatewayChunked'))}, ` +
            `nginx ${us(front('nginxChunked'))}; nginx's own: ${bad('nginxChunked').non2xx} non-2xx, ${bad('nginxChunked').socketErrors} socket errors`,
        }),
  });
  rows.push({
    ...base,
    name: `${UPLOAD_BYTES / MiB} MiB upload (POST), gateway -> GatewayBackend node`,
    value: gatewaySkip ? Number.NaN : rate('gatewayUpload'),
    unit: 'req/s',
    better: 'higher',
    baseline: 'nginx -> node http (request buffering off), the same upload',
    baselineValue: rate('nginxUpload'),
    ...baselineLatency('nginxUpload'),
    ...(gatewaySkip
      ? { skipped: gatewaySkip }
      : {
          ...latency('gatewayUpload'),
          ...bad('gatewayUpload'),
          note:
            `${shape}, wrk Lua POST; ${mibps('gatewayUpload', UPLOAD_BYTES)} vs ${mibps('nginxUpload', UPLOAD_BYTES)}; CPU per request: gateway ${us(front('gatewayUpload'))}, ` +
            `nginx ${us(front('nginxUpload'))}; nginx's own: ${bad('nginxUpload').non2xx} non-2xx, ${bad('nginxUpload').socketErrors} socket errors`,
        }),
  });
  rows.push({
    ...base,
    name: `WebSocket echo, ${WS_CONNECTIONS} connections x ${WS_IN_FLIGHT} in flight, gateway -> GatewayBackend node`,
    value: gatewaySkip ? Number.NaN : median(echo.gateway),
    unit: 'msg/s',
    better: 'higher',
    baseline: 'a plain ws server echoing directly',
    baselineValue: median(echo.direct),
    ...(gatewaySkip ? { skipped: gatewaySkip } : { note: `32-byte text messages, ${seconds} s after 0.5 s of warm-up` }),
  });
  return rows;
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);

async function memoryRows(options: BenchOptions): Promise<BenchRow[]> {
  const wantedBig = 40_000;
  const big = options.quick ? 2_000 : maxIdleSessions(wantedBig);
  const small = options.quick ? 500 : 4_000;
  const steps = options.quick ? [250, small, big] : [1_000, 2_000, small, 10_000, big].filter((n, i, all) => n <= big && all.indexOf(n) === i);
  const probeAt = [small, big];
  const missing = gatewayMissing();
  const rounds = Math.min(options.rounds, 2);
  const baseline: SessionMemory[] = [];
  const gatewayRuns: SessionMemory[] = [];
  let gatewayError: string | undefined;
  for (let round = 0; round < rounds; round++) {
    // --expose-gc and a stdin pipe: the peer answers `mem` with its live heap (bench/lib/memory-probe.ts).
    const ws = await startProc(['--expose-gc', WS_SERVER], (l) => l.startsWith('ws://'), 15_000, { stdin: true });
    try {
      baseline.push(await memoryPerSession(ws.lines[0] as string, ws.pid, steps, () => probeMemory(ws), probeAt));
    } finally {
      await ws.stop();
    }
    if (missing !== undefined || gatewayError !== undefined) continue;
    let gateway: FrontDoor | undefined;
    try {
      gateway = await startGateway();
      const front = gateway;
      gatewayRuns.push(await memoryPerSession(front.url.replace(/^http/, 'ws'), front.pid, steps, () => front.memory(), probeAt));
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
  const at = (runs: SessionMemory[], n: number, f: (m: { rssPerSession: number; heapPerSession: number; heapTotalPerSession: number }) => number) =>
    median(runs.map((r) => {
      const m = r.at.get(n);
      return m === undefined ? Number.NaN : f(m);
    }));
  const rows: BenchRow[] = [];
  for (const n of probeAt) {
    const count = n.toLocaleString('en-US');
    const limited = n === big && big < wantedBig && !options.quick
      ? `; ${wantedBig.toLocaleString('en-US')} sessions need that many descriptors in each process, and this machine's RLIMIT_NOFILE is ${openFileLimit().toLocaleString('en-US')} (hard; raising it needs CAP_SYS_RESOURCE)`
      : '';
    rows.push({
      suite: 'gateway',
      name: `gateway RSS per idle WebSocket session (${count} sessions)`,
      value: skipped ? Number.NaN : at(gatewayRuns, n, (m) => m.rssPerSession) / 1024,
      unit: 'KiB/session',
      better: 'lower',
      target: 1.2,
      baseline: 'a plain ws server on node http',
      baselineValue: at(baseline, n, (m) => m.rssPerSession) / 1024,
      rounds,
      ...(skipped ? { skipped } : { note: `growth of the front door process's RSS (VmRSS) divided by the sessions${limited}` }),
    });
    rows.push({
      suite: 'gateway',
      name: `gateway live heap per idle WebSocket session (${count} sessions)`,
      value: skipped ? Number.NaN : at(gatewayRuns, n, (m) => m.heapPerSession) / 1024,
      unit: 'KiB/session',
      better: 'lower',
      target: 1.2,
      baseline: 'a plain ws server on node http',
      baselineValue: at(baseline, n, (m) => m.heapPerSession) / 1024,
      rounds,
      ...(skipped
        ? { skipped }
        : {
            note: `heapUsed growth after two forced collections (node --expose-gc) divided by the sessions; heapTotal ${kib(at(gatewayRuns, n, (m) => m.heapTotalPerSession))} KiB/session vs ${kib(at(baseline, n, (m) => m.heapTotalPerSession))}${limited}`,
          }),
    });
  }
  return rows;
}

export const suite: BenchSuite = {
  name: 'gateway',
  description:
    'HTTP front door (wrk, 50 keep-alive connections): nginx -> node http vs node http; the gateway with a plain C node and with GatewayBackend vs nginx, CPU per request, 64 KiB chunked and 1 MiB uploads; WebSocket echo; idle WebSocket memory',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    return [...(await httpRows(options)), ...(await memoryRows(options))];
  },
};
