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

interface Systems {
  nats(c: Case, body: Buffer): Promise<unknown>;
  steward(c: Case, body: Buffer): Promise<unknown>;
  stop(): Promise<void>;
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
    for (const workers of [1, 4]) {
      for (let i = 0; i < workers; i++) {
        procs.push(await startProc([NATS_WORKER, nats.url, subject(workers), QUEUE], (l) => l === 'ready'));
        procs.push(await startWorker(broker.backend, subject(workers), WORKER_CONCURRENCY));
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
    const results: Record<string, { nats: LoadResult[]; steward: LoadResult[] }> = {};
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
          for (const system of order) r[system].push(await closedLoop(() => systems[system](c, body), c.inFlight, durationMs));
        }
      }
    } finally {
      await systems.stop();
    }
    return CASES.map((c): BenchRow => {
      const r = results[caseKey(c)]!;
      const m = (list: LoadResult[], pick: (x: LoadResult) => number) => median(list.map(pick));
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
        note: `worker processes: ${c.workers}, each steward worker --concurrency ${WORKER_CONCURRENCY}, NATS queue group${options.profileDir ? '; broker under --cpu-prof' : ''}`,
      };
    });
  },
};
