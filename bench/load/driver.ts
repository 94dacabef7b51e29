/**
 * The load and soak run: one real broker process (`node dist/main.js --role
 * broker`, measured by the probe preload), a fleet of workers and clients
 * spread over hosts, then three phases:
 *   warm-up  a low paced rate, until every worker is registered and warm;
 *   load     a closed loop (every client one request outstanding): the
 *            broker's maximum rate, its latency percentiles and memory;
 *   soak     a paced rate at half that maximum, in windows, sampling the
 *            broker's memory and event-loop delay in each.
 * Every request is checked (answered with its own id). Nothing here judges
 * speed; the caller prints the figures and checks correctness and bounded
 * growth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PhaseResult } from './fleet.js';
import { ChildHost, InProcessHost, type FleetHost } from './hosts.js';
import { createProbe, type Probe, type ProbeSample } from './probe.js';

export interface LoadOptions {
  readonly workers: number;
  readonly clients: number;
  /** Child processes for workers and for clients; 0 keeps that part of the fleet in this process. */
  readonly workerHosts: number;
  readonly clientHosts: number;
  /** Credit per worker. */
  readonly concurrency: number;
  readonly heartbeatMs: number;
  readonly warmupSeconds: number;
  readonly loadSeconds: number;
  readonly soakSeconds: number;
  readonly windowSeconds: number;
  readonly clientTimeoutMs: number;
  readonly clientRetries: number;
  readonly log: (line: string) => void;
}

export interface Totals {
  readonly sent: number;
  readonly answered: number;
  readonly failed: number;
  readonly wrong: number;
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: Readonly<Record<string, number>>;
}

export interface SoakWindow extends Totals {
  /** Seconds since the soak began, at the end of the window. */
  readonly at: number;
  readonly brokerRss: number;
  readonly brokerHeap: number;
  readonly brokerExternal: number;
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
}

export interface LoadReport {
  readonly warmup: Totals;
  readonly load: Totals & { readonly brokerRssMax: number };
  readonly soakRate: number;
  readonly soak: readonly SoakWindow[];
  /** Broker RSS right after the warm-up, before any load. */
  readonly rssAfterWarmup: number;
}

/** The package root, from the sources (tests) or from dist-bench (npm run soak). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'steward') return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the steward package root');
}

const MAIN = join(packageRoot(), 'dist', 'main.js');
const HOST_MAIN = fileURLToPath(new URL('./host-main.js', import.meta.url));

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function total(results: readonly PhaseResult[]): Totals {
  const latencies = new Float64Array(results.reduce((n, r) => n + r.latenciesMs.length, 0));
  let at = 0;
  for (const r of results) {
    latencies.set(r.latenciesMs, at);
    at += r.latenciesMs.length;
  }
  latencies.sort();
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const seconds = Math.max(...results.map((r) => r.seconds));
  const answered = results.reduce((n, r) => n + r.answered, 0);
  return {
    sent: results.reduce((n, r) => n + r.sent, 0),
    answered,
    failed: results.reduce((n, r) => n + r.failed, 0),
    wrong: results.reduce((n, r) => n + r.wrong, 0),
    rate: answered / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
  };
}

class BrokerProcess {
  readonly child: ChildProcess;
  registered = 0;
  private endpoints: Promise<{ frontend: string; backend: string }>;

  constructor(heartbeatMs: number, probe: Probe) {
    const args = [MAIN, '--role', 'broker', '--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:*'];
    args.push('--heartbeat', String(heartbeatMs), '--max-queue', '1000000');
    this.child = spawn(process.execPath, args, { env: { ...process.env, ...probe.env, STEWARD_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'inherit'] });
    this.endpoints = new Promise((resolve, rejectStart) => {
      this.child.once('exit', (code) => rejectStart(new Error(`broker exited with ${code}`)));
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        if (!line.startsWith('{')) return;
        const l = JSON.parse(line) as { msg?: string; endpoints?: Record<string, string[]> };
        if (l.msg === 'worker registered') this.registered += 1;
        else if (l.msg === 'worker left') this.registered -= 1;
        else if (l.msg === 'broker listening' && l.endpoints) {
          resolve({ frontend: l.endpoints['broker.frontend']?.[0] ?? '', backend: l.endpoints['broker.backend']?.[0] ?? '' });
        }
      });
    });
  }

  listening(): Promise<{ frontend: string; backend: string }> {
    return this.endpoints;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The probe samples taken in [from, to] (Unix ms). */
const within = (samples: readonly ProbeSample[], from: number, to: number) => samples.filter((s) => s.t >= from && s.t <= to);

export async function runLoadAndSoak(o: LoadOptions): Promise<LoadReport> {
  const probe = createProbe(Math.max(250, Math.min(1_000, (o.windowSeconds * 1000) / 2)));
  const broker = new BrokerProcess(o.heartbeatMs, probe);
  const hosts: FleetHost[] = [];
  const workerHosts: FleetHost[] = [];
  const clientHosts: FleetHost[] = [];
  try {
    const { frontend, backend } = await broker.listening();
    o.log(`broker pid ${broker.child.pid} on ${frontend} / ${backend}`);
    const local = new InProcessHost('local');
    const make = (name: string, children: number): FleetHost[] =>
      children === 0 ? [local] : Array.from({ length: children }, (_, i) => new ChildHost(`${name}${i}`, HOST_MAIN));
    workerHosts.push(...make('w', o.workerHosts));
    clientHosts.push(...make('c', o.clientHosts));
    for (const h of [...workerHosts, ...clientHosts]) if (!hosts.includes(h)) hosts.push(h);

    const share = (n: number, parts: number, i: number) => Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    await Promise.all(
      workerHosts.map((h, i) => h.startWorkers({ backend, count: share(o.workers, workerHosts.length, i), concurrency: o.concurrency, heartbeatMs: o.heartbeatMs })),
    );
    for (let waited = 0; broker.registered < o.workers; waited += 100) {
      if (waited > 120_000) throw new Error(`only ${broker.registered} of ${o.workers} workers registered`);
      await sleep(100);
    }
    o.log(`${o.workers} workers registered`);
    await Promise.all(
      clientHosts.map((h, i) => h.startClients({ frontend, count: share(o.clients, clientHosts.length, i), timeoutMs: o.clientTimeoutMs, retries: o.clientRetries })),
    );
    o.log(`${o.clients} clients started`);

    const runAll = async (phase: (h: FleetHost) => Parameters<FleetHost['run']>[0]) => total(await Promise.all(clientHosts.map((h) => h.run(phase(h)))));
    const warmRate = Math.max(100, Math.min(2_000, o.clients));
    const warmup = await runAll((h) => ({ mode: 'paced', ratePerSec: (warmRate * h.clientCount) / o.clients, durationMs: o.warmupSeconds * 1000, tag: 'warm' }));
    await sleep(1_500);
    const rssAfterWarmup = probe.samples().at(-1)?.rss ?? Number.NaN;
    o.log(`warm-up: ${warmup.answered}/${warmup.sent} answered; broker RSS ${mb(rssAfterWarmup)}`);

    const loadStart = Date.now();
    const load = await runAll(() => ({ mode: 'closed', durationMs: o.loadSeconds * 1000, tag: 'load' }));
    const loadSamples = within(probe.samples(), loadStart, Date.now());
    const brokerRssMax = Math.max(...loadSamples.map((s) => s.rss));
    o.log(`load: ${load.answered}/${load.sent} answered at ${Math.round(load.rate)}/s, p50 ${load.p50Ms.toFixed(1)} ms, p99 ${load.p99Ms.toFixed(1)} ms; broker RSS max ${mb(brokerRssMax)}`);

    const soakRate = load.rate / 2;
    const soak: SoakWindow[] = [];
    const soakStart = Date.now();
    for (let at = o.windowSeconds; at <= o.soakSeconds + 1e-9; at += o.windowSeconds) {
      const from = Date.now();
      const t = await runAll((h) => ({ mode: 'paced', ratePerSec: (soakRate * h.clientCount) / o.clients, durationMs: o.windowSeconds * 1000, tag: `soak${soak.length}` }));
      const samples = within(probe.samples(), from, Date.now());
      const last = samples.at(-1) ?? probe.samples().at(-1);
      const window: SoakWindow = {
        ...t,
        at: (Date.now() - soakStart) / 1000,
        brokerRss: last?.rss ?? Number.NaN,
        brokerHeap: last?.heapUsed ?? Number.NaN,
        brokerExternal: last?.external ?? Number.NaN,
        loopP99Ms: Math.max(...samples.map((s) => s.p99)),
        loopMaxMs: Math.max(...samples.map((s) => s.max)),
      };
      soak.push(window);
      o.log(
        `soak ${window.at.toFixed(0)} s: ${t.answered}/${t.sent} answered at ${Math.round(t.rate)}/s, p99 ${t.p99Ms.toFixed(1)} ms; broker RSS ${mb(window.brokerRss)}, heap ${mb(window.brokerHeap)}, external ${mb(window.brokerExternal)}, event-loop p99 ${window.loopP99Ms} ms (max ${window.loopMaxMs} ms)`,
      );
    }
    return { warmup, load: { ...load, brokerRssMax }, soakRate, soak, rssAfterWarmup };
  } finally {
    await Promise.all(hosts.map((h) => h.stop().catch(() => undefined)));
    await broker.stop();
    probe.dispose();
  }
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
