/**
 * steward's client, broker and worker beside what Node users would pick
 * instead, each used well: NATS request/reply (Debian's nats-server, npm
 * `nats` with callback subscriptions) and Moleculer 0.14 over NATS (its NATS
 * transporter, JSON serializer). All three alike: the server is its own
 * process (`steward --role broker`; a nats-server each for NATS and
 * Moleculer), each worker its own process (`steward --role worker
 * --concurrency 100`; a nats.js queue-group subscriber; a Moleculer
 * echo-service node), all answering with the request body, and the client
 * its own process (bench/peers/load-client.ts: steward's Client; nats.js; a
 * Moleculer caller node) keeping 1 or 100 requests in flight. One and four
 * workers, 16-byte and 16-KiB bodies; the three systems take turns within
 * each round and the order is reversed every other round; medians over
 * rounds. CPU per request is each process's utime + stime (/proc/PID/stat)
 * over the run / requests.
 *
 * The issue's targets (13) compare steward with the faster of NATS and
 * Moleculer at each shape: that is each row's baseline.
 *
 *   npm run bench -- --only compare [--quick] [--rounds N] [--profile]
 */
import { fileURLToPath } from 'node:url';
import { latencyChart, latencySeries } from './lib/latency-chart.js';
import { LoadClient } from './lib/load-client.js';
import { PERCENTILES, type TailResult } from './lib/load.js';
import { startNatsServer } from './lib/nats-server.js';
import { startProc, type Proc } from './lib/proc.js';
import { startBroker, startWorker } from './lib/steward.js';
import { cpuSeconds } from './lib/system.js';
import { CASES, caseKey, shapeName, type Case } from './lib/shapes.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const NATS_WORKER = fileURLToPath(new URL('./peers/nats-worker.js', import.meta.url));
const MOLECULER_ECHO = fileURLToPath(new URL('./peers/moleculer-echo.js', import.meta.url));
const LOAD_CLIENT = fileURLToPath(new URL('./peers/load-client.js', import.meta.url));
const WORKER_CONCURRENCY = 100;
const QUEUE = 'workers';

const SYSTEMS = ['nats', 'moleculer', 'steward'] as const;
type System = (typeof SYSTEMS)[number];
const LABEL: Record<System, string> = { steward: 'steward', nats: 'NATS', moleculer: 'Moleculer over NATS' };

/** A service / subject per worker count; Moleculer calls its `echo` action. */
const target = (workers: number) => `echo.w${workers}`;

interface Side {
  readonly server: number;
  /** Worker processes per worker count (1 or 4). */
  readonly workers: Record<1 | 4, number[]>;
  readonly client: LoadClient;
}

/** CPU microseconds per request, by process role, over one run. */
interface CpuPerRequest {
  readonly server: number;
  readonly workers: number;
  readonly client: number;
}

interface Measured {
  readonly load: TailResult;
  readonly cpu: CpuPerRequest;
}

/** Runs one closed loop in the side's client process and charges each process's CPU time to the requests it served. */
async function measure(side: Side, c: Case, durationMs: number): Promise<Measured> {
  const workerCpu = () => side.workers[c.workers].reduce((n, pid) => n + cpuSeconds(pid), 0);
  const server0 = cpuSeconds(side.server);
  const workers0 = workerCpu();
  const client0 = cpuSeconds(side.client.pid);
  const load = await side.client.run(target(c.workers), c.inFlight, durationMs, c.bytes);
  const per = (seconds: number) => (seconds * 1e6) / load.requests;
  return {
    load,
    cpu: { server: per(cpuSeconds(side.server) - server0), workers: per(workerCpu() - workers0), client: per(cpuSeconds(side.client.pid) - client0) },
  };
}

async function startSides(options: BenchOptions, procs: Proc[], clients: LoadClient[]): Promise<Record<System, Side>> {
  const client = async (args: string[]) => {
    const c = await LoadClient.start(process.execPath, [LOAD_CLIENT, ...args], 60_000);
    clients.push(c);
    return c;
  };
  const workerPids = async (start: (workers: number) => Promise<Proc>) => {
    const pids: Record<1 | 4, number[]> = { 1: [], 4: [] };
    for (const workers of [1, 4] as const) {
      for (let i = 0; i < workers; i++) {
        const p = await start(workers);
        procs.push(p);
        pids[workers].push(p.pid);
      }
    }
    return pids;
  };

  const nats = await startNatsServer();
  procs.push(nats.proc);
  const natsWorkers = await workerPids((w) => startProc([NATS_WORKER, nats.url, target(w), QUEUE], (l) => l === 'ready'));

  const molNats = await startNatsServer();
  procs.push(molNats.proc);
  const molWorkers = await workerPids((w) => startProc([MOLECULER_ECHO, molNats.url, target(w)], (l) => l === 'ready', 60_000));

  const broker = await startBroker(options.profileDir ? { profileDir: options.profileDir } : {});
  procs.push(broker.proc);
  const stewardWorkers = await workerPids((w) => startWorker(broker.backend, target(w), WORKER_CONCURRENCY));

  return {
    nats: { server: nats.proc.pid, workers: natsWorkers, client: await client(['nats', nats.url]) },
    moleculer: { server: molNats.proc.pid, workers: molWorkers, client: await client(['moleculer', molNats.url, '5']) },
    steward: { server: broker.proc.pid, workers: stewardWorkers, client: await client(['steward', broker.frontend]) },
  };
}

export const suite: BenchSuite = {
  name: 'compare',
  description:
    'request/reply: steward broker + Client + Worker processes vs nats-server + nats.js client and queue-group subscribers vs Moleculer 0.14 nodes over NATS',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    // Enough requests at 1 in flight for a p99.9 worth printing in a full run.
    const durationMs = (c: Case) => (options.quick ? 400 : c.inFlight === 1 ? 3_000 : 1_500);
    const procs: Proc[] = [];
    const clients: LoadClient[] = [];
    const results: Record<string, Record<System, Measured[]>> = {};
    try {
      const sides = await startSides(options, procs, clients);
      // Warm every code path (JIT, connections, every worker registered and known) before measuring.
      for (const system of SYSTEMS) for (const workers of [1, 4]) await sides[system].client.run(target(workers), 100, options.quick ? 300 : 1_000, 16);
      for (let round = 0; round < options.rounds; round++) {
        // The order is reversed every other round, so drift in the machine's load hits all three alike.
        const order = round % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse();
        for (const c of CASES) {
          const r = (results[caseKey(c)] ??= { nats: [], moleculer: [], steward: [] });
          for (const system of order) r[system].push(await measure(sides[system], c, durationMs(c)));
        }
      }
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
      await Promise.all(procs.reverse().map((p) => p.stop()));
    }
    return rows(results, options);
  },
};

function rows(results: Record<string, Record<System, Measured[]>>, options: BenchOptions): BenchRow[] {
  const pick = (list: Measured[], f: (m: Measured) => number) => median(list.map(f));
  const cpu = (list: Measured[]): CpuPerRequest => ({
    server: pick(list, (m) => m.cpu.server),
    workers: pick(list, (m) => m.cpu.workers),
    client: pick(list, (m) => m.cpu.client),
  });
  const cpuText = (x: CpuPerRequest) => `${x.server.toFixed(0)}/${x.workers.toFixed(0)}/${x.client.toFixed(0)}`;
  const curve = (list: Measured[]) => PERCENTILES.map((_, i) => pick(list, (m) => m.load.percentilesMs[i] ?? Number.NaN));
  /** The faster of NATS and Moleculer at this shape (by median rate): the issue's baseline. */
  const faster = (r: Record<System, Measured[]>): 'nats' | 'moleculer' =>
    pick(r.moleculer, (m) => m.load.rate) > pick(r.nats, (m) => m.load.rate) ? 'moleculer' : 'nats';

  const one = results[caseKey({ workers: 1, inFlight: 1, bytes: 16 })]!;
  options.addChart?.(
    latencyChart([
      latencySeries('steward Client, broker, Worker', curve(one.steward)),
      latencySeries('NATS (nats-server, nats.js)', curve(one.nats)),
      latencySeries('Moleculer 0.14 over NATS', curve(one.moleculer)),
    ]),
  );

  const out: BenchRow[] = [];
  for (const c of CASES) {
    const r = results[caseKey(c)]!;
    const base = faster(r);
    const tail = (s: System) => ({
      p50: pick(r[s], (m) => m.load.p50Ms),
      p90: pick(r[s], (m) => m.load.p90Ms),
      p99: pick(r[s], (m) => m.load.p99Ms),
      p999: pick(r[s], (m) => m.load.p999Ms),
    });
    const [st, bl] = [tail('steward'), tail(base)];
    const rate = (s: System) => pick(r[s], (m) => m.load.rate);
    const other = base === 'nats' ? 'moleculer' : 'nats';
    const lost = SYSTEMS.reduce((n, s) => n + r[s].reduce((k, m) => k + m.load.lost, 0), 0);
    const note =
      `${LABEL[other]}: ${Math.round(rate(other)).toLocaleString('en-US')} req/s, p99 ${tail(other).p99.toFixed(2)} ms; ` +
      `CPU us/req server/workers/client: steward ${cpuText(cpu(r.steward))}, NATS ${cpuText(cpu(r.nats))}, Moleculer ${cpuText(cpu(r.moleculer))}` +
      `${lost ? `; ${lost} LOST` : ''}${options.profileDir ? '; broker under --cpu-prof' : ''}`;
    // The issue's targets: 16 B at 100 in flight >= 1.5x; 16 KiB >= 1.0x; 1 in flight >= 1.0x with p99 <= the baseline's.
    const rateTarget = c.bytes > 16 ? 1 : c.inFlight === 100 ? 1.5 : 1;
    const common = { suite: 'compare', rounds: options.rounds, baseline: `${LABEL[base]} (the faster of NATS and Moleculer), same shape` };
    out.push({
      ...common,
      name: `steward, ${shapeName(c)}`,
      value: rate('steward'),
      unit: 'req/s',
      better: 'higher',
      baselineValue: rate(base),
      p50Ms: st.p50,
      p90Ms: st.p90,
      p99Ms: st.p99,
      p999Ms: st.p999,
      baselineP50Ms: bl.p50,
      baselineP90Ms: bl.p90,
      baselineP99Ms: bl.p99,
      baselineP999Ms: bl.p999,
      target: rateTarget,
      note,
    });
    if (c.inFlight === 1 && c.bytes === 16) {
      out.push({ ...common, name: `steward p99 latency, ${shapeName(c)}`, value: st.p99, unit: 'ms', better: 'lower', baselineValue: bl.p99, target: 1, note });
    }
  }

  // The client, the broker and the worker beside nats.js's and nats-server's (the issue's item 3), where the cost per request is purest.
  const cpuRows: Array<{ c: Case; role: keyof CpuPerRequest; name: string; baseline: string }> = [
    { c: { workers: 1, inFlight: 1, bytes: 16 }, role: 'server', name: 'broker', baseline: 'nats-server' },
    { c: { workers: 1, inFlight: 100, bytes: 16 }, role: 'server', name: 'broker', baseline: 'nats-server' },
    { c: { workers: 4, inFlight: 100, bytes: 16 }, role: 'server', name: 'broker', baseline: 'nats-server' },
    { c: { workers: 1, inFlight: 1, bytes: 16 }, role: 'client', name: 'Client', baseline: 'nats.js client' },
    { c: { workers: 1, inFlight: 100, bytes: 16 }, role: 'client', name: 'Client', baseline: 'nats.js client' },
    { c: { workers: 1, inFlight: 1, bytes: 16 }, role: 'workers', name: 'Worker', baseline: 'nats.js subscriber' },
    { c: { workers: 1, inFlight: 100, bytes: 16 }, role: 'workers', name: 'Worker', baseline: 'nats.js subscriber' },
  ];
  for (const { c, role, name, baseline } of cpuRows) {
    const r = results[caseKey(c)]!;
    const total = (s: System) => Object.values(cpu(r[s])).reduce((n, x) => n + x, 0).toFixed(0);
    out.push({
      suite: 'compare',
      name: `${name} CPU per request, ${shapeName(c)}`,
      value: cpu(r.steward)[role],
      unit: 'us/req',
      better: 'lower',
      baseline: `${baseline} CPU per request, same shape`,
      baselineValue: cpu(r.nats)[role],
      rounds: options.rounds,
      note: `whole process, user + system, /proc/PID/stat; Moleculer's: ${cpu(r.moleculer)[role].toFixed(0)} us; total over server, workers and client: steward ${total('steward')} us, NATS ${total('nats')} us, Moleculer ${total('moleculer')} us`,
    });
  }
  return out;
}
