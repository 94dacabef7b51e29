/**
 * steward's Client and Worker on steward's own ZMTP DEALER (`--transport
 * auto`, the default) against the same on libzmq through zeromq.js
 * (`--transport libzmq`), A/B: one broker process (its default transport),
 * two sets of worker processes (`--role worker --concurrency 100`, one and
 * four per service) and two load-client processes (bench/peers/load-client.ts,
 * steward's Client), one set on each transport, each on services of its own.
 * The compare suite's shapes (1 and 4 workers, 1 and 100 in flight, 16-byte
 * and 16-KiB bodies); the two sides take turns within each round and the
 * order is reversed every other round; medians over rounds. CPU per request is
 * each process's utime + stime (/proc/PID/stat) over the run / requests; the
 * broker serves one side at a time, so its CPU is charged to that side's run.
 *
 *   npm run bench -- --only dealer [--quick] [--rounds N]
 */
import { fileURLToPath } from 'node:url';
import { LoadClient } from './lib/load-client.js';
import { latencyFields, type TailResult } from './lib/load.js';
import type { Proc } from './lib/proc.js';
import { startBroker, startWorker } from './lib/steward.js';
import { cpuSeconds } from './lib/system.js';
import { CASES, caseKey, shapeName, type Case } from './lib/shapes.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const LOAD_CLIENT = fileURLToPath(new URL('./peers/load-client.js', import.meta.url));
const WORKER_CONCURRENCY = 100;

const TRANSPORTS = ['libzmq', 'auto'] as const;
type Transport = (typeof TRANSPORTS)[number];
const LABEL: Record<Transport, string> = { auto: "steward's ZMTP DEALER", libzmq: 'libzmq (zeromq.js)' };

const service = (t: Transport, workers: number) => `echo.${t}.w${workers}`;

interface Side {
  readonly workers: Record<1 | 4, number[]>;
  readonly client: LoadClient;
}

interface Cpu {
  readonly broker: number;
  readonly workers: number;
  readonly client: number;
}

interface Measured {
  readonly load: TailResult;
  readonly cpu: Cpu;
}

async function measure(broker: number, side: Side, t: Transport, c: Case, durationMs: number): Promise<Measured> {
  const workerCpu = () => side.workers[c.workers].reduce((n, pid) => n + cpuSeconds(pid), 0);
  const [b0, w0, c0] = [cpuSeconds(broker), workerCpu(), cpuSeconds(side.client.pid)];
  const load = await side.client.run(service(t, c.workers), c.inFlight, durationMs, c.bytes);
  const per = (seconds: number) => (seconds * 1e6) / load.requests;
  return { load, cpu: { broker: per(cpuSeconds(broker) - b0), workers: per(workerCpu() - w0), client: per(cpuSeconds(side.client.pid) - c0) } };
}

export const suite: BenchSuite = {
  name: 'dealer',
  description: "steward Client + Worker processes on steward's ZMTP DEALER vs on libzmq (zeromq.js), through one steward broker, A/B interleaved",
  async run(options: BenchOptions): Promise<BenchRow[]> {
    const durationMs = (c: Case) => (options.quick ? 400 : c.inFlight === 1 ? 2_000 : 1_500);
    const procs: Proc[] = [];
    const clients: LoadClient[] = [];
    const results: Record<string, Record<Transport, Measured[]>> = {};
    try {
      const broker = await startBroker();
      procs.push(broker.proc);
      const sides = {} as Record<Transport, Side>;
      for (const t of TRANSPORTS) {
        const workers: Record<1 | 4, number[]> = { 1: [], 4: [] };
        for (const n of [1, 4] as const) {
          for (let i = 0; i < n; i++) {
            const p = await startWorker(broker.backend, service(t, n), WORKER_CONCURRENCY, undefined, t);
            procs.push(p);
            workers[n].push(p.pid);
          }
        }
        const client = await LoadClient.start(process.execPath, [LOAD_CLIENT, 'steward', broker.frontend, t], 60_000);
        clients.push(client);
        sides[t] = { workers, client };
      }
      // Warm every code path (JIT, connections, every worker registered) before measuring.
      for (const t of TRANSPORTS) for (const n of [1, 4]) await sides[t].client.run(service(t, n), 100, options.quick ? 300 : 1_000, 16);
      for (let round = 0; round < options.rounds; round++) {
        const order = round % 2 === 0 ? TRANSPORTS : [...TRANSPORTS].reverse();
        for (const c of CASES) {
          const r = (results[caseKey(c)] ??= { auto: [], libzmq: [] });
          for (const t of order) r[t].push(await measure(broker.proc.pid, sides[t], t, c, durationMs(c)));
        }
      }
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
      await Promise.all(procs.reverse().map((p) => p.stop()));
    }
    return rows(results, options);
  },
};

function rows(results: Record<string, Record<Transport, Measured[]>>, options: BenchOptions): BenchRow[] {
  const pick = (list: Measured[], f: (m: Measured) => number) => median(list.map(f));
  const cpu = (list: Measured[]): Cpu => ({ broker: pick(list, (m) => m.cpu.broker), workers: pick(list, (m) => m.cpu.workers), client: pick(list, (m) => m.cpu.client) });
  const cpuText = (x: Cpu) => `${x.broker.toFixed(0)}/${x.workers.toFixed(0)}/${x.client.toFixed(0)}`;
  const common = { suite: 'dealer', rounds: options.rounds };
  const out: BenchRow[] = [];
  for (const c of CASES) {
    const r = results[caseKey(c)]!;
    const lost = TRANSPORTS.reduce((n, t) => n + r[t].reduce((k, m) => k + m.load.lost, 0), 0);
    out.push({
      ...common,
      name: `Client + Worker on ${LABEL.auto}, ${shapeName(c)}`,
      value: pick(r.auto, (m) => m.load.rate),
      unit: 'req/s',
      better: 'higher',
      baseline: `the same on ${LABEL.libzmq}, same broker, same shape`,
      baselineValue: pick(r.libzmq, (m) => m.load.rate),
      ...latencyFields(r.auto, r.libzmq),
      note: `CPU us/req broker/workers/client: ZMTP DEALER ${cpuText(cpu(r.auto))}, libzmq ${cpuText(cpu(r.libzmq))}${lost ? `; ${lost} LOST` : ''}`,
    });
  }
  // Where the cost per request is purest: the client's and the worker's own CPU, each stack beside the other.
  const cpuRows: Array<{ c: Case; role: keyof Cpu; name: string }> = [];
  for (const c of [
    { workers: 1, inFlight: 1, bytes: 16 },
    { workers: 1, inFlight: 100, bytes: 16 },
    { workers: 1, inFlight: 100, bytes: 16 * 1024 },
  ] as const) {
    cpuRows.push(
      { c, role: 'client', name: 'Client CPU per request on the ZMTP DEALER' },
      { c, role: 'workers', name: 'Worker CPU per request on the ZMTP DEALER' },
      { c, role: 'broker', name: 'broker CPU per request, its client and worker on the ZMTP DEALER' },
    );
  }
  for (const { c, role, name } of cpuRows) {
    const r = results[caseKey(c)]!;
    out.push({
      ...common,
      name: `${name}, ${shapeName(c)}`,
      value: cpu(r.auto)[role],
      unit: 'us/req',
      better: 'lower',
      baseline: `the same with the client and worker on ${LABEL.libzmq}`,
      baselineValue: cpu(r.libzmq)[role],
      note: 'whole process, user + system, /proc/PID/stat',
    });
  }
  return out;
}
