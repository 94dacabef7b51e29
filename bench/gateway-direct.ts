/**
 * The gateway against what a user would run instead, in the same run on the
 * same machine:
 *
 *   http   wrk, 50 keep-alive connections, GET / -> 13 bytes, through
 *          `steward --role gateway` and a GatewayBackend node (each its own
 *          process), next to a plain node:http server answering directly;
 *          and again with a minimal node (a raw DEALER sending a prebuilt
 *          response, as the seed's Python example would), which shows the
 *          gateway's own capacity apart from the helper's cost.
 *   ws     WebSocket echo messages/s, 20 connections x 10 in flight, through
 *          the gateway and a node, next to a plain `ws` server echoing directly.
 *
 * Every process is a child of this one, on 127.0.0.1, stopped by its pid.
 * The ratio is gateway / direct: BlastBeat, in C, reached about 30-45% of the
 * direct server on this kind of machine; the gateway aims for 40%.
 * `--profile` writes the gateway's CPU profile to bench/results/.
 *
 * Run: npm run build && npx tsc -p tsconfig.bench.json && node dist-bench/bench/gateway.js [--quick] [--profile]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const WRK = '/usr/bin/wrk';
const CONNECTIONS = 50;
const WS_CONNECTIONS = 20;
const WS_IN_FLIGHT = 10;
const BODY = 'Hello, World!';

/** The repository root: the nearest folder up from here with steward's package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'steward') return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the steward repository root');
}

class Child {
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  readonly exited: Promise<void>;

  constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const w of this.waiters) w();
    });
    proc.stderr!.on('data', (d: Buffer) => this.lines.push(d.toString()));
    this.exited = new Promise((resolve) => proc.on('exit', () => resolve()));
  }

  waitFor(predicate: (line: string) => boolean, ms = 15_000): Promise<string> {
    return new Promise((resolve, rejectWait) => {
      const check = () => {
        const found = this.lines.find(predicate);
        if (found !== undefined) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve(found);
        }
      };
      const timer = setTimeout(() => rejectWait(new Error(`no expected output within ${ms} ms:\n${this.lines.join('\n')}`)), ms);
      this.waiters.push(check);
      check();
    });
  }

  /** CPU seconds the process has used, from /proc (user + system). */
  cpuSeconds(): number {
    try {
      const fields = readFileSync(`/proc/${this.proc.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return Number.NaN;
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

function node(root: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  return new Child(spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STEWARD_LOG_FORMAT: 'json', ...env } }));
}

function script(root: string, source: string): Child {
  return node(root, ['--input-type=module', '-e', source]);
}

const plainHttpSource = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': ${BODY.length} });
  res.end(${JSON.stringify(BODY)});
});
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
process.on('SIGTERM', () => process.exit(0));`;

const plainWsSource = `
import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
wss.on('listening', () => console.log('port ' + wss.address().port));
process.on('SIGTERM', () => process.exit(0));`;

/** A node as small as BlastBeat's README example: raw DEALER, prebuilt response, pong on ping. */
function minimalNodeSource(root: string, zmq: string): string {
  const zmqLib = pathToFileURL(join(root, 'node_modules/zeromq/lib/index.js')).href;
  return `
import * as zmq from ${JSON.stringify(zmqLib)};
const socket = new zmq.Dealer({ routingId: 'bench2', linger: 0 });
socket.connect(${JSON.stringify(zmq)});
const EMPTY = Buffer.alloc(0), PONG = Buffer.from('pong'), HEADERS = Buffer.from('headers');
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: ${BODY.length}\\r\\n\\r\\n${BODY}');
const queue = [[EMPTY, PONG, EMPTY]];
let writing = false;
async function pump() { writing = true; while (queue.length) await socket.send(queue.shift()); writing = false; }
pump();
console.log('ready');
process.on('SIGTERM', () => process.exit(0));
for (;;) {
  const [sid, type] = await socket.receive();
  const t = type.toString();
  if (t === 'ping') queue.push([EMPTY, PONG, EMPTY]);
  else if (t === 'uwsgi') queue.push([sid, HEADERS, RESPONSE]);
  else continue;
  if (!writing) pump();
}`;
}

function backendSource(root: string, zmq: string): string {
  const api = pathToFileURL(join(root, 'dist/api/gateway-backend.js')).href;
  return `
import { GatewayBackend } from ${JSON.stringify(api)};
GatewayBackend.start({
  endpoint: ${JSON.stringify(zmq)},
  node: 'bench1',
  onRequest: () => ({ headers: { 'Content-Type': 'text/plain' }, body: ${JSON.stringify(BODY)} }),
  onWebSocket: (ws) => { ws.onMessage = (data) => ws.send(data); },
});
console.log('ready');
process.on('SIGTERM', () => process.exit(0));`;
}

interface WrkResult {
  readonly rps: number;
  readonly requests: number;
  readonly errors: number;
}

function wrk(url: string, seconds: number, host?: string): Promise<WrkResult> {
  return new Promise((resolve, rejectWrk) => {
    const header = host === undefined ? [] : ['-H', `Host: ${host}`];
    const p = spawn(WRK, ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, ...header, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', rejectWrk);
    p.on('exit', () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
      if (!Number.isFinite(rps)) rejectWrk(new Error(`wrk gave no rate:\n${out}`));
      else resolve({ rps, requests, errors });
    });
  });
}

/** Measures a rate under wrk, with the server's CPU per request. */
async function measureHttp(url: string, seconds: number, server: Child, host?: string): Promise<WrkResult & { cpuUsPerRequest: number }> {
  const before = server.cpuSeconds();
  const result = await wrk(url, seconds, host);
  const cpu = server.cpuSeconds() - before;
  return { ...result, cpuUsPerRequest: (cpu * 1e6) / Math.max(1, result.requests) };
}

/** Echo round trips per second over several connections with messages in flight. */
async function measureWs(url: string, seconds: number, headers: Record<string, string> = {}): Promise<number> {
  const sockets = await Promise.all(
    Array.from({ length: WS_CONNECTIONS }, () => new Promise<WebSocket>((resolve, rejectOpen) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      ws.once('open', () => resolve(ws));
      ws.once('error', rejectOpen);
    })),
  );
  const payload = 'x'.repeat(32);
  let count = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on('message', () => {
      count += 1;
      if (running) ws.send(payload);
    });
  }
  // Warm up, then count.
  for (const ws of sockets) for (let i = 0; i < WS_IN_FLIGHT; i++) ws.send(payload);
  await new Promise((r) => setTimeout(r, 500));
  const start = count;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rate = ((count - start) * 1000) / (performance.now() - t0);
  running = false;
  for (const ws of sockets) ws.terminate();
  return rate;
}

async function waitServed(url: string, host: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(url, { headers: { Host: host } }).catch(() => undefined);
    if (res?.status === 200) {
      await res.text();
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the gateway never served ${host} at ${url}`);
}

async function startGateway(root: string, profileDir: string | undefined): Promise<{ gateway: Child; backend: Child; minimal: Child; http: string; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-gw-'));
  const ini = join(dir, 'gateway.ini');
  // Two virtual hosts on one gateway: 127.0.0.1 goes to the helper node, localhost to the minimal one.
  writeFileSync(ini, '[blastbeat]\nbind = 127.0.0.1:0\nzmq = tcp://127.0.0.1:*\nping-freq = 1\n\n[blastbeat:127.0.0.1]\nnode = bench1\n\n[blastbeat:localhost]\nnode = bench2\n');
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const gateway = node(root, [...profile, join(root, 'dist/main.js'), '--role', 'gateway', '-c', ini, '--log-level', 'info']);
  const line = await gateway.waitFor((l) => l.includes('"gateway listening"'));
  const listening = JSON.parse(line) as { http: string[]; zmq: string[] };
  const http = listening.http[0]!;
  const backend = script(root, backendSource(root, listening.zmq[0]!));
  const minimal = script(root, minimalNodeSource(root, listening.zmq[0]!));
  await backend.waitFor((l) => l === 'ready');
  await minimal.waitFor((l) => l === 'ready');
  // Nodes announce themselves with a pong; wait until the gateway routes to both.
  const port = Number(new URL(http).port);
  await waitServed(`${http}/`, `127.0.0.1:${port}`);
  await waitServed(`${http}/`, `localhost:${port}`);
  return { gateway, backend, minimal, http, port };
}

async function portOf(child: Child): Promise<number> {
  return Number((await child.waitFor((l) => l.startsWith('port '))).slice(5));
}

export const suite: BenchSuite = {
  name: 'gateway-direct',
  description: 'HTTP requests/s (wrk, 50 keep-alive connections) and WebSocket echo messages/s through the gateway, next to node:http and ws servers answering directly',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    const root = repoRoot();
    if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` first');
    if (!existsSync(WRK)) throw new Error(`${WRK} is missing: apt-get install wrk`);
    const seconds = options.quick ? 2 : 5;
    const profileDir = process.argv.includes('--profile') ? join(root, 'bench/results', `gateway-${Date.now()}`) : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });

    const direct: WrkResult[] = [];
    const through: WrkResult[] = [];
    const minimal: WrkResult[] = [];
    const directCpu: number[] = [];
    const throughCpu: number[] = [];
    const minimalCpu: number[] = [];
    const wsDirect: number[] = [];
    const wsThrough: number[] = [];
    const children: Child[] = [];
    try {
      const plain = script(root, plainHttpSource);
      children.push(plain);
      const plainPort = await portOf(plain);
      const plainWs = script(root, plainWsSource);
      children.push(plainWs);
      const plainWsPort = await portOf(plainWs);
      const gw = await startGateway(root, profileDir);
      children.push(gw.minimal, gw.backend, gw.gateway);

      // Warm both up, then alternate so drift in the machine's load hits both alike.
      await wrk(`http://127.0.0.1:${plainPort}/`, 1);
      await wrk(`${gw.http}/`, 1);
      for (let round = 0; round < options.rounds; round++) {
        const d = await measureHttp(`http://127.0.0.1:${plainPort}/`, seconds, plain);
        const g = await measureHttp(`${gw.http}/`, seconds, gw.gateway);
        const m = await measureHttp(`${gw.http}/`, seconds, gw.gateway, `localhost:${gw.port}`);
        direct.push(d);
        through.push(g);
        minimal.push(m);
        directCpu.push(d.cpuUsPerRequest);
        throughCpu.push(g.cpuUsPerRequest);
        minimalCpu.push(m.cpuUsPerRequest);
        wsDirect.push(await measureWs(`ws://127.0.0.1:${plainWsPort}/`, seconds));
        wsThrough.push(await measureWs(`ws://127.0.0.1:${gw.port}/`, seconds));
      }
    } finally {
      for (const c of children.reverse()) await c.stop();
    }

    const d = median(direct.map((r) => r.rps));
    const g = median(through.map((r) => r.rps));
    const m = median(minimal.map((r) => r.rps));
    const wd = median(wsDirect);
    const wg = median(wsThrough);
    const errors = [...through, ...direct, ...minimal].reduce((a, r) => a + r.errors, 0);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    return [
      {
        suite: 'gateway',
        name: `http GET through the gateway, ${CONNECTIONS} keep-alive connections (wrk)`,
        value: Math.round(g),
        unit: 'req/s',
        better: 'higher',
        baseline: 'node:http server answering directly',
        baselineValue: Math.round(d),
        rounds: options.rounds,
        note:
          `gateway at ${pct(g / d)} of direct (goal 40%); ` +
          `CPU per request: gateway process ${median(throughCpu).toFixed(1)} us, direct server ${median(directCpu).toFixed(1)} us; ` +
          `non-2xx and socket errors: ${errors}`,
      },
      {
        suite: 'gateway',
        name: `http GET through the gateway to a minimal node (raw DEALER), ${CONNECTIONS} keep-alive connections (wrk)`,
        value: Math.round(m),
        unit: 'req/s',
        better: 'higher',
        baseline: 'node:http server answering directly',
        baselineValue: Math.round(d),
        rounds: options.rounds,
        note: `gateway at ${pct(m / d)} of direct; CPU per request: gateway process ${median(minimalCpu).toFixed(1)} us`,
      },
      {
        suite: 'gateway',
        name: `websocket echo through the gateway, ${WS_CONNECTIONS} connections x ${WS_IN_FLIGHT} in flight`,
        value: Math.round(wg),
        unit: 'msg/s',
        better: 'higher',
        baseline: 'ws server echoing directly',
        baselineValue: Math.round(wd),
        rounds: options.rounds,
        note: `gateway at ${pct(wg / wd)} of direct`,
      },
    ];
  },
};

/** Run on its own: `node dist-bench/bench/gateway.js [--quick] [--profile]`. */
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  suite.run({ rounds: quick ? 1 : 3, quick }).then(
    (rows) => {
      for (const row of rows) {
        process.stdout.write(
          `${row.name}\n  ${row.value} ${row.unit}  vs  ${row.baselineValue} ${row.unit} (${row.baseline})\n  ${row.note ?? ''}\n`,
        );
      }
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
