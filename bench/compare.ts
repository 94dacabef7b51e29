/**
 * steward's broker beside what users would pick instead: NATS request/reply
 * with a queue group. Both sides alike: the server is its own process
 * (Debian's nats-server on a free 127.0.0.1 port / `steward --role broker`),
 * each worker its own process (a NATS queue-group subscriber / `steward
 * --role worker --concurrency 100`, both answering with the request body),
 * and the client lives in the bench process (the npm `nats` client /
 * steward's `Client`). One and four workers, 1 and 100 requests in flight,
 * 16-byte and 16-KiB bodies; the two systems alternate within each round.
 *
 *   npm run bench -- --only compare [--quick] [--rounds N] [--profile]
 */
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from 'nats';
import { Client } from '../src/api/client.js';
import { closedLoop, type LoadResult } from './lib/load.js';
import { startNatsServer } from './lib/nats-server.js';
import { startProc, type Proc } from './lib/proc.js';
import { startBroker, startWorker, warm } from './lib/steward.js';
import { cpuSeconds } from './lib/system.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const NATS_WORKER = fileURLToPath(new URL('./peers/nats-worker.js', import.meta.url));
const WORKER_CONCURRENCY = 100;
const QUEUE = 'workers';

interface Case {
  readonly workers: 1 | 4;
  readonly inFlight: number;
  readonly bytes: number;
}

const CASES: readonly Case[] = [1, 4].flatMap((workers) =>
  [1, 100].flatMap((inFlight) => [16, 16 * 1024].map((bytes) => ({ workers: workers as 1 | 4, inFlight, bytes }))),
);

const subject = (workers: number) => `echo.w${workers}`;
const caseKey = (c: Case) => `${c.workers}w.${c.inFlight}.${c.bytes}`;
const sizeName = (bytes: number) => (bytes >= 1024 ? `${bytes / 1024}-KiB` : `${bytes}-byte`);

type System = 'nats' | 'steward';

interface Pids {
  readonly server: number;
  /** Worker processes per worker count (1 or 4). */
  readonly workers: Record<1 | 4, number[]>;
}

interface Systems {
  nats(c: Case, body: Buffer): Promise<unknown>;
  steward(c: Case, body: Buffer): Promise<unknown>;
  readonly pids: Record<System, Pids>;
  stop(): Promise<void>;
}

/** CPU microseconds per request, by process role, over one measurement. */
interface CpuPerRequest {
  readonly server: number;
  readonly workers: number;
  readonly client: number;
}

interface Measured {
  readonly load: LoadResult;
  readonly cpu: CpuPerRequest;
}

/** Runs one closed loop and charges each process's CPU time to the requests it served. */
async function measure(systems: Systems, system: System, c: Case, body: Buffer, durationMs: number): Promise<Measured> {
  const pids = systems.pids[system];
  const workerCpu = () => pids.workers[c.workers].reduce((n, pid) => n + cpuSeconds(pid), 0);
  const server0 = cpuSeconds(pids.server);
  const workers0 = workerCpu();
  const client0 = process.cpuUsage();
  const load = await closedLoop(() => systems[system](c, body), c.inFlight, durationMs);
  const client = process.cpuUsage(client0);
  const per = (seconds: number) => (seconds * 1e6) / load.requests;
  return {
    load,
    cpu: { server: per(cpuSeconds(pids.server) - server0), workers: per(workerCpu() - workers0), client: per((client.user + client.system) / 1e6) },
  };
}

async function startSystems(options: BenchOptions): Promise<Systems> {
  const procs: Proc[] = [];
  let nc: NatsConnection | undefined;
  let client: Client | undefined;
  const stop = async () => {
    client?.close();
    await nc?.close();
    await Promise.all(procs.splice(0).reverse().map((p) => p.stop()));
  };
  try {
    const nats = await startNatsServer();
    procs.push(nats.proc);
    const broker = await startBroker(options.profileDir ? { profileDir: options.profileDir } : {});
    procs.push(broker.proc);
    const pids: Record<System, Pids> = {
      nats: { server: nats.proc.pid, workers: { 1: [], 4: [] } },
      steward: { server: broker.proc.pid, workers: { 1: [], 4: [] } },
    };
    for (const workers of [1, 4] as const) {
      for (let i = 0; i < workers; i++) {
        const n = await startProc([NATS_WORKER, nats.url, subject(workers), QUEUE], (l) => l === 'ready');
        const w = await startWorker(broker.backend, subject(workers), WORKER_CONCURRENCY);
        procs.push(n, w);
        pids.nats.workers[workers].push(n.pid);
        pids.steward.workers[workers].push(w.pid);
      }
    }
    nc = await connect({ servers: nats.url, name: 'bench-client' });
    client = new Client({ broker: broker.frontend, timeout: 10_000, retries: 0 });
    const conn = nc;
    const cli = client;
    for (const workers of [1, 4]) await warm(cli, subject(workers));
    return {
      nats: (c, body) => conn.request(subject(c.workers), body, { timeout: 10_000 }),
      steward: (c, body) => cli.call(subject(c.workers), [body]),
      pids,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export const suite: BenchSuite = {
  name: 'compare',
  description: 'request/reply: steward broker + Client + Worker processes vs nats-server + npm nats client + queue-group subscriber processes',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    const durationMs = options.quick ? 400 : 1_500;
    const systems = await startSystems(options);
    const results: Record<string, Record<System, Measured[]>> = {};
    try {
      // Warm both code paths (JIT, connections, every worker registered) before measuring.
      for (const workers of [1, 4] as const) {
        const c: Case = { workers, inFlight: 100, bytes: 16 };
        const body = Buffer.alloc(16, 'w');
        await closedLoop(() => systems.nats(c, body), 100, 300);
        await closedLoop(() => systems.steward(c, body), 100, 300);
      }
      for (let round = 0; round < options.rounds; round++) {
        for (const c of CASES) {
          const body = Buffer.alloc(c.bytes, 'x');
          const r = (results[caseKey(c)] ??= { nats: [], steward: [] });
          // Alternate which system goes first, so drift in the machine's load hits both alike.
          const order = round % 2 === 0 ? (['nats', 'steward'] as const) : (['steward', 'nats'] as const);
          for (const system of order) r[system].push(await measure(systems, system, c, body, durationMs));
        }
      }
    } finally {
      await systems.stop();
    }
    const cpu = (list: Measured[]): CpuPerRequest => ({
      server: median(list.map((x) => x.cpu.server)),
      workers: median(list.map((x) => x.cpu.workers)),
      client: median(list.map((x) => x.cpu.client)),
    });
    const cpuText = (x: CpuPerRequest) => `${x.server.toFixed(0)}/${x.workers.toFixed(0)}/${x.client.toFixed(0)}`;
    const rateRows = CASES.map((c): BenchRow => {
      const r = results[caseKey(c)]!;
      const m = (list: Measured[], pick: (x: LoadResult) => number) => median(list.map((x) => pick(x.load)));
      return {
        suite: 'compare',
        name: `steward, ${c.workers} worker${c.workers > 1 ? 's' : ''}, ${c.inFlight} in flight, ${sizeName(c.bytes)} body`,
        value: m(r.steward, (x) => x.rate),
        unit: 'req/s',
        better: 'higher',
        baseline: `NATS, same shape`,
        baselineValue: m(r.nats, (x) => x.rate),
        rounds: options.rounds,
        p50Ms: m(r.steward, (x) => x.p50Ms),
        p99Ms: m(r.steward, (x) => x.p99Ms),
        baselineP50Ms: m(r.nats, (x) => x.p50Ms),
        baselineP99Ms: m(r.nats, (x) => x.p99Ms),
        note: `CPU us/req server/workers/client: steward ${cpuText(cpu(r.steward))}, NATS ${cpuText(cpu(r.nats))}${options.profileDir ? '; broker under --cpu-prof' : ''}`,
      };
    });
    // The servers' own cost per request, where the gap is widest: 100 in flight, small bodies.
    const cpuRows = ([1, 4] as const).map((workers): BenchRow => {
      const r = results[caseKey({ workers, inFlight: 100, bytes: 16 })]!;
      return {
        suite: 'compare',
        name: `broker CPU per request, ${workers} worker${workers > 1 ? 's' : ''}, 100 in flight, 16-byte body`,
        value: cpu(r.steward).server,
        unit: 'us/req',
        better: 'lower',
        baseline: 'nats-server CPU per request, same shape',
        baselineValue: cpu(r.nats).server,
        rounds: options.rounds,
        note: `whole process, user + system, /proc/PID/stat; total over server, workers and client: steward ${(cpu(r.steward).server + cpu(r.steward).workers + cpu(r.steward).client).toFixed(0)} us, NATS ${(cpu(r.nats).server + cpu(r.nats).workers + cpu(r.nats).client).toFixed(0)} us`,
      };
    });
    return [...rateRows, ...cpuRows];
  },
};
