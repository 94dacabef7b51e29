/**
 * Scale curves of the broker (`steward --role broker`, its own process, a
 * fresh one per step): throughput and resident memory (VmRSS) as workers
 * grow (1, 10, 100, 1,000 echo workers with credit 1, spread over up to four
 * processes; load: one Client in the bench process with 100 in flight) and
 * as clients grow (1, 100, 10,000 Clients, one call in flight each, spread
 * over up to four processes; two worker processes with --concurrency 100
 * serve them). Ratios are against the first step of the same curve.
 * Writes two charts (throughput, memory).
 *
 * And the spread over brokers: 1, 2 and 3 broker processes sharing the same
 * two workers (each registered with every broker, --concurrency 100), one
 * Client given every broker with 100 in flight; then 3 brokers with one
 * SIGKILLed a third of the way into the run, requests per second over time
 * as a chart.
 *
 *   npm run bench -- --only scale [--quick] [--rounds N]
 *   STEWARD_SCALE_ONLY=brokers npm run bench -- --only scale     (the spread over brokers alone)
 *   STEWARD_SCALE_ONLY=clients npm run bench -- --only scale     (the clients curve alone)
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '../src/api/client.js';
import { closedLoop, type LoadResult } from './lib/load.js';
import { MAIN, logLine, startProc, type Proc } from './lib/proc.js';
import { registeredWorkers, startBroker, startWorker, warm, type BrokerProc } from './lib/steward.js';
import { cpuSeconds, rssBytes, sleep, until } from './lib/system.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite, type ChartSeries } from './types.js';

const PEERS = new URL('./peers/', import.meta.url);
const SCALE_WORKERS = fileURLToPath(new URL('scale-workers.js', PEERS));
const SCALE_CLIENTS = fileURLToPath(new URL('scale-clients.js', PEERS));
const SERVICE = 'echo';
const IN_FLIGHT = 100;
const MiB = 1024 * 1024;

interface Step {
  readonly count: number;
  readonly load: LoadResult[];
  readonly rssIdleBytes: number;
  readonly rssConnectedBytes: number;
  readonly rssAfterBytes: number;
}

/** COUNT split over at most four processes: [per process...]. */
function spread(count: number): number[] {
  const procs = count <= 10 ? 1 : count <= 100 ? 2 : 4;
  return Array.from({ length: procs }, (_, i) => Math.floor(count / procs) + (i < count % procs ? 1 : 0));
}

async function withBroker<T>(fn: (broker: BrokerProc, procs: Proc[]) => Promise<T>): Promise<T> {
  const broker = await startBroker({ metrics: true });
  const procs: Proc[] = [];
  try {
    return await fn(broker, procs);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await broker.proc.stop();
  }
}

async function workersStep(count: number, options: BenchOptions, durationMs: number): Promise<Step> {
  return withBroker(async (broker, procs) => {
    await sleep(200);
    const rssIdleBytes = rssBytes(broker.proc.pid);
    for (const n of spread(count)) procs.push(await startProc([SCALE_WORKERS, broker.backend, SERVICE, String(n), '1'], (l) => l === 'ready', 60_000));
    await until(`${count} workers registered`, async () => (await registeredWorkers(broker.metricsUrl!, SERVICE)) >= count, 120_000, 200);
    const client = new Client({ broker: broker.frontend, timeout: 30_000, retries: 0 });
    try {
      const body = [Buffer.alloc(16, 'w')];
      await warm(client, SERVICE);
      await closedLoop(() => client.call(SERVICE, body), IN_FLIGHT, 300);
      const rssConnectedBytes = rssBytes(broker.proc.pid);
      const load: LoadResult[] = [];
      for (let round = 0; round < options.rounds; round++) load.push(await closedLoop(() => client.call(SERVICE, body), IN_FLIGHT, durationMs));
      return { count, load, rssIdleBytes, rssConnectedBytes, rssAfterBytes: rssBytes(broker.proc.pid) };
    } finally {
      client.close();
    }
  });
}

/** Sums the client processes' results of one `go`: total rate; p50 the median of theirs, p99 the worst. */
function combine(results: LoadResult[]): LoadResult {
  const requests = results.reduce((n, r) => n + r.requests, 0);
  const seconds = Math.max(...results.map((r) => r.seconds));
  return { requests, seconds, rate: results.reduce((n, r) => n + r.rate, 0), p50Ms: median(results.map((r) => r.p50Ms)), p99Ms: Math.max(...results.map((r) => r.p99Ms)) };
}

async function clientsStep(count: number, options: BenchOptions, durationMs: number): Promise<Step> {
  return withBroker(async (broker, procs) => {
    for (let i = 0; i < 2; i++) procs.push(await startWorker(broker.backend, SERVICE, 100));
    await until('2 workers registered', async () => (await registeredWorkers(broker.metricsUrl!, SERVICE)) >= 2, 30_000, 100);
    await sleep(200);
    const rssIdleBytes = rssBytes(broker.proc.pid);
    const clientProcs: Proc[] = [];
    for (const n of spread(count)) {
      const p = await startProc([SCALE_CLIENTS, broker.frontend, SERVICE, String(n)], (l) => l === 'ready', 120_000, { stdin: true });
      procs.push(p);
      clientProcs.push(p);
    }
    const rssConnectedBytes = rssBytes(broker.proc.pid);
    const load: LoadResult[] = [];
    // One warm-up go, then the measured rounds.
    for (let round = -1; round < options.rounds; round++) {
      const pending = clientProcs.map((p) => p.nextLine((l) => l.startsWith('{"result"'), durationMs + 90_000));
      for (const p of clientProcs) p.send(`go ${round < 0 ? 300 : durationMs}`);
      const lines = await Promise.all(pending);
      if (round >= 0) load.push(combine(lines.map((l) => (JSON.parse(l) as { result: LoadResult }).result)));
    }
    for (const p of clientProcs) p.send('quit');
    return { count, load, rssIdleBytes, rssConnectedBytes, rssAfterBytes: rssBytes(broker.proc.pid) };
  });
}

/** Two echo workers, each registered with every broker given, sharing --concurrency between them. */
function startSharedWorker(backends: readonly string[], concurrency: number): Promise<Proc> {
  return startProc(
    [MAIN, '--role', 'worker', '--service', SERVICE, ...backends.flatMap((b) => ['--broker', b]), '--concurrency', String(concurrency), '--log-level', 'info'],
    (line) => logLine(line)?.['msg'] === 'worker started',
  );
}

async function withSpread<T>(brokerCount: number, fn: (brokers: BrokerProc[], workers: Proc[]) => Promise<T>): Promise<T> {
  const brokers: BrokerProc[] = [];
  const workers: Proc[] = [];
  try {
    for (let i = 0; i < brokerCount; i++) brokers.push(await startBroker({ metrics: true }));
    for (let i = 0; i < 2; i++) workers.push(await startSharedWorker(brokers.map((b) => b.backend), 100));
    for (const b of brokers) await until('2 workers on every broker', async () => (await registeredWorkers(b.metricsUrl!, SERVICE)) >= 2, 30_000, 100);
    return await fn(brokers, workers);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(brokers.map((b) => b.proc.stop()));
  }
}

/** A spread step: the load, and the CPU the brokers and workers spent per request in each round (us). */
interface SpreadStep extends Step {
  readonly cpuUs: number[];
}

async function spreadStep(brokerCount: number, options: BenchOptions, durationMs: number): Promise<SpreadStep> {
  return withSpread(brokerCount, async (brokers, workers) => {
    const client = new Client({ broker: brokers.map((b) => b.frontend), timeout: 30_000, retries: 0 });
    try {
      const body = [Buffer.alloc(16, 's')];
      await warm(client, SERVICE);
      await closedLoop(() => client.call(SERVICE, body), IN_FLIGHT, 300);
      const load: LoadResult[] = [];
      const cpuUs: number[] = [];
      // CPU per request is steadier than a rate on a shared machine: brokers and workers, not the client.
      const cpu = () => [...brokers.map((b) => b.proc.pid), ...workers.map((w) => w.pid)].reduce((n, pid) => n + cpuSeconds(pid), 0);
      for (let round = 0; round < options.rounds; round++) {
        const before = cpu();
        const result = await closedLoop(() => client.call(SERVICE, body), IN_FLIGHT, durationMs);
        load.push(result);
        cpuUs.push(((cpu() - before) * 1e6) / result.requests);
      }
      const rss = brokers.reduce((n, b) => n + rssBytes(b.proc.pid), 0);
      return { count: brokerCount, load, rssIdleBytes: rss, rssConnectedBytes: rss, rssAfterBytes: rss, cpuUs };
    } finally {
      client.close();
    }
  });
}

interface KillRun {
  /** Requests per second per bucket, [seconds since start, rate]. */
  readonly series: ReadonlyArray<readonly [number, number]>;
  readonly killedAtS: number;
  readonly before: number;
  readonly after: number;
  /** From the kill to the first bucket back at 80% of the rate before it, in seconds (NaN if never). */
  readonly recoveryS: number;
  readonly requests: number;
  readonly failed: number;
}

const BUCKET_MS = 250;

/** Three brokers, 100 in flight from one Client with all three; one broker SIGKILLed a third of the way in. */
async function killRun(durationMs: number): Promise<KillRun> {
  return withSpread(3, async (brokers) => {
    const client = new Client({ broker: brokers.map((b) => b.frontend), timeout: 1_000, retries: 3 });
    try {
      const body = [Buffer.alloc(16, 'k')];
      await warm(client, SERVICE);
      // Long enough for the JIT: the rate before the kill is a steady one.
      await closedLoop(() => client.call(SERVICE, body), IN_FLIGHT, 1_500);
      const done: number[] = [];
      let failed = 0;
      const start = performance.now();
      const end = start + durationMs;
      const killAt = durationMs / 3;
      const killer = setTimeout(() => process.kill(brokers[1]!.proc.pid, 'SIGKILL'), killAt);
      const lane = async () => {
        while (performance.now() < end) {
          try {
            await client.call(SERVICE, body);
            done.push(performance.now() - start);
          } catch {
            failed += 1;
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      clearTimeout(killer);
      const buckets = Math.floor(durationMs / BUCKET_MS);
      const counts = new Array<number>(buckets).fill(0);
      for (const t of done) if (t < buckets * BUCKET_MS) counts[Math.floor(t / BUCKET_MS)]! += 1;
      const rates = counts.map((c) => c / (BUCKET_MS / 1000));
      const killBucket = Math.floor(killAt / BUCKET_MS);
      const before = median(rates.slice(1, killBucket));
      const after = median(rates.slice(killBucket + Math.ceil(2_000 / BUCKET_MS)));
      const back = rates.findIndex((r, i) => i > killBucket && r >= 0.8 * before);
      return {
        series: rates.map((r, i) => [((i + 0.5) * BUCKET_MS) / 1000, r] as const),
        killedAtS: killAt / 1000,
        before,
        after,
        recoveryS: back < 0 ? Number.NaN : ((back + 1) * BUCKET_MS - killAt) / 1000,
        requests: done.length,
        failed,
      };
    } finally {
      client.close();
    }
  });
}

/** The spread rows: 1, 2 and 3 brokers against 1, and the run with a broker killed (after against before). */
export async function brokerSpread(options: BenchOptions): Promise<BenchRow[]> {
  const durationMs = options.quick ? 1_000 : 3_000;
  const steps: SpreadStep[] = [];
  for (const n of [1, 2, 3]) steps.push(await spreadStep(n, options, durationMs));
  const kill = await killRun(options.quick ? 4_500 : 9_000);
  const rate = (s: Step) => median(s.load.map((l) => l.rate));
  const first = steps[0]!;
  options.addChart?.({
    name: 'scale-brokers-kill',
    title: `Requests per second, 3 brokers, one SIGKILLed at ${kill.killedAtS.toFixed(1)} s`,
    xLabel: 'seconds',
    yLabel: 'requests per second',
    series: [{ label: `${IN_FLIGHT} in flight, 2 workers on every broker`, points: kill.series }],
    xTicks: Array.from({ length: Math.floor(kill.series.at(-1)?.[0] ?? 0) }, (_, i) => [i + 1, String(i + 1)] as const),
    hidePointLabels: true,
    marks: [{ x: kill.killedAtS, label: 'SIGKILL' }],
  });
  return [
    ...steps.map(
      (s): BenchRow => ({
        suite: 'scale',
        name: `throughput, ${s.count} broker${s.count === 1 ? '' : 's'} sharing 2 workers`,
        value: rate(s),
        unit: 'req/s',
        better: 'higher',
        baseline: '1 broker, same run',
        baselineValue: rate(first),
        rounds: options.rounds,
        p50Ms: median(s.load.map((l) => l.p50Ms)),
        p99Ms: median(s.load.map((l) => l.p99Ms)),
        baselineP50Ms: median(first.load.map((l) => l.p50Ms)),
        baselineP99Ms: median(first.load.map((l) => l.p99Ms)),
        note: `${IN_FLIGHT} in flight from one Client given every broker; 2 workers (--concurrency 100) registered with every broker; ${(s.rssAfterBytes / MiB).toFixed(0)} MiB RSS over the brokers`,
      }),
    ),
    ...steps.map(
      (s): BenchRow => ({
        suite: 'scale',
        name: `CPU per request, brokers and workers, ${s.count} broker${s.count === 1 ? '' : 's'}`,
        value: median(s.cpuUs),
        unit: 'us',
        better: 'lower',
        baseline: '1 broker, same run',
        baselineValue: median(first.cpuUs),
        rounds: options.rounds,
        note: 'user + system CPU of every broker and worker process over a round, per answered request (the client excluded)',
      }),
    ),
    {
      suite: 'scale',
      name: 'throughput after one of 3 brokers is SIGKILLed mid-run',
      value: kill.after,
      unit: 'req/s',
      better: 'higher',
      baseline: 'the same run before the kill',
      baselineValue: kill.before,
      rounds: 1,
      note: `medians of ${BUCKET_MS} ms buckets, before the kill and from 2 s after it; back to 80% of the rate before ${Number.isNaN(kill.recoveryS) ? 'never' : `${kill.recoveryS.toFixed(2)} s after the kill`}; ${kill.requests} answered, ${kill.failed} failed; client timeout 1000 ms, heartbeat 1000 ms; chart scale-brokers-kill`,
    },
  ];
}

function rows(curve: 'workers' | 'clients', steps: Step[], rounds: number): BenchRow[] {
  const first = steps[0]!;
  const rate = (s: Step) => median(s.load.map((l) => l.rate));
  const shape = curve === 'workers' ? `${IN_FLIGHT} in flight from one Client, workers credit 1` : 'one call in flight per Client, 2 workers --concurrency 100';
  const unitName = (n: number) => `${n.toLocaleString('en-US')} ${n === 1 ? curve.slice(0, -1) : curve}`;
  return steps.flatMap((s): BenchRow[] => [
    {
      suite: 'scale',
      name: `broker throughput, ${unitName(s.count)}`,
      value: rate(s),
      unit: 'req/s',
      better: 'higher',
      baseline: `${unitName(first.count)}, same run`,
      baselineValue: rate(first),
      rounds,
      p50Ms: median(s.load.map((l) => l.p50Ms)),
      p99Ms: median(s.load.map((l) => l.p99Ms)),
      baselineP50Ms: median(first.load.map((l) => l.p50Ms)),
      baselineP99Ms: median(first.load.map((l) => l.p99Ms)),
      note: shape,
    },
    {
      suite: 'scale',
      name: `broker RSS, ${unitName(s.count)}`,
      value: s.rssAfterBytes / MiB,
      unit: 'MiB',
      better: 'lower',
      baseline: `${unitName(first.count)}, same run`,
      baselineValue: first.rssAfterBytes / MiB,
      rounds: 1,
      note: `after the load; before it: idle broker ${(s.rssIdleBytes / MiB).toFixed(1)} MiB, all connected ${(s.rssConnectedBytes / MiB).toFixed(1)} MiB (${((s.rssConnectedBytes - s.rssIdleBytes) / s.count / 1024).toFixed(1)} KiB per ${curve.slice(0, -1)}, noisy below 1,000)`,
    },
  ]);
}

export const suite: BenchSuite = {
  name: 'scale',
  description:
    'broker throughput and RSS as workers grow (1, 10, 100, 1,000) and as clients grow (1, 100, 10,000), each step a fresh broker process; throughput over 1, 2 and 3 brokers sharing the same workers, and with one of 3 killed mid-run',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    // STEWARD_SCALE_ONLY=brokers or =clients: one part alone (the whole suite takes minutes).
    const only = process.env['STEWARD_SCALE_ONLY'];
    if (only === 'brokers') return brokerSpread(options);
    const durationMs = options.quick ? 1_000 : 3_000;
    if (only === 'clients') {
      const steps: Step[] = [];
      for (const count of [1, 100, 10_000]) steps.push(await clientsStep(count, options, durationMs));
      return rows('clients', steps, options.rounds);
    }
    const workerSteps: Step[] = [];
    for (const count of [1, 10, 100, 1_000]) workerSteps.push(await workersStep(count, options, durationMs));
    const clientSteps: Step[] = [];
    for (const count of [1, 100, 10_000]) clientSteps.push(await clientsStep(count, options, durationMs));
    const series = (label: string, steps: Step[], y: (s: Step) => number): ChartSeries => ({ label, points: steps.map((s) => [s.count, y(s)] as const) });
    const rate = (s: Step) => median(s.load.map((l) => l.rate));
    options.addChart?.({
      name: 'scale-throughput',
      title: 'Broker throughput as workers and clients grow',
      xLabel: 'workers or clients',
      yLabel: 'requests per second',
      xLog: true,
      series: [series(`workers (${IN_FLIGHT} in flight)`, workerSteps, rate), series('clients (1 in flight each)', clientSteps, rate)],
    });
    options.addChart?.({
      name: 'scale-memory',
      title: 'Broker resident memory (VmRSS) as workers and clients grow',
      xLabel: 'workers or clients',
      yLabel: 'MiB',
      xLog: true,
      series: [series('workers', workerSteps, (s) => s.rssAfterBytes / MiB), series('clients', clientSteps, (s) => s.rssAfterBytes / MiB)],
    });
    return [...rows('workers', workerSteps, options.rounds), ...rows('clients', clientSteps, options.rounds), ...(await brokerSpread(options))];
  },
};
