/**
 * steward's broker beside a floor, with MDP/0.1 peers that are not the
 * bottleneck: an echo worker and a load client written in C from RFC 7
 * (bench/peers/mdp-*.c, compiled at bench time). The floor is a minimal
 * MDP broker on zeromq.js (bench/peers/mdp-floor-broker.ts: one ROUTER, a
 * queue and an idle list per service, nothing else); steward's is the real
 * `node dist/main.js --role broker` process with default flags. Each broker
 * has its own C client and 1 + 4 C workers (services echo.w1 and echo.w4),
 * every one its own process. 1 and 100 requests in flight, 16-byte bodies;
 * the two brokers alternate within each round and the order is reversed
 * every other round; medians over rounds. Broker CPU per request is the
 * broker process's utime + stime (/proc/PID/stat) over the run / requests.
 *
 *   npm run bench -- --only broker [--quick] [--rounds N] [--profile]
 */
import { fileURLToPath } from 'node:url';
import { buildCPeers } from './lib/c-peers.js';
import { latencyChart, latencySeries } from './lib/latency-chart.js';
import { LoadClient } from './lib/load-client.js';
import { latencyFields, PERCENTILES, type TailResult } from './lib/load.js';
import { startCommand, startProc, type Proc } from './lib/proc.js';
import { startBroker } from './lib/steward.js';
import { cpuSeconds } from './lib/system.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const FLOOR_BROKER = fileURLToPath(new URL('./peers/mdp-floor-broker.js', import.meta.url));
const BYTES = 16;

type System = 'floor' | 'steward';

interface Case {
  readonly workers: 1 | 4;
  readonly inFlight: 1 | 100;
}

const CASES: readonly Case[] = [
  { workers: 1, inFlight: 1 },
  { workers: 1, inFlight: 100 },
  { workers: 4, inFlight: 1 },
  { workers: 4, inFlight: 100 },
];

const service = (workers: number) => `echo.w${workers}`;
const caseKey = (c: Case) => `${c.workers}w.${c.inFlight}`;

interface Side {
  readonly brokerPid: number;
  readonly client: LoadClient;
}

interface Measured {
  readonly load: TailResult;
  /** Broker CPU microseconds per request. */
  readonly cpuUs: number;
}

async function startSides(options: BenchOptions, procs: Proc[], clients: LoadClient[]): Promise<Record<System, Side>> {
  const peers = buildCPeers();
  const floor = await startProc([FLOOR_BROKER, 'tcp://127.0.0.1:*'], (l) => l.startsWith('tcp://'));
  procs.push(floor);
  const steward = await startBroker(options.profileDir ? { profileDir: options.profileDir } : {});
  procs.push(steward.proc);
  const endpoints: Record<System, { frontend: string; backend: string; pid: number }> = {
    floor: { frontend: floor.lines[0]!, backend: floor.lines[0]!, pid: floor.pid },
    steward: { frontend: steward.frontend, backend: steward.backend, pid: steward.proc.pid },
  };
  const sides = {} as Record<System, Side>;
  for (const system of ['floor', 'steward'] as const) {
    const { frontend, backend, pid } = endpoints[system];
    for (const workers of [1, 4]) {
      for (let i = 0; i < workers; i++) procs.push(await startCommand(peers.worker, [backend, service(workers)], (l) => l === 'ready'));
    }
    const client = await LoadClient.start(peers.client, [frontend]);
    clients.push(client);
    sides[system] = { brokerPid: pid, client };
  }
  return sides;
}

async function measure(side: Side, c: Case, durationMs: number): Promise<Measured> {
  const before = cpuSeconds(side.brokerPid);
  const load = await side.client.run(service(c.workers), c.inFlight, durationMs, BYTES);
  return { load, cpuUs: ((cpuSeconds(side.brokerPid) - before) * 1e6) / load.requests };
}

export const suite: BenchSuite = {
  name: 'broker',
  description:
    "steward's broker process vs a minimal zeromq.js MDP broker (the floor), both driven by MDP/0.1 peers written in C (load client, echo workers), 1 and 4 workers, 1 and 100 in flight",
  async run(options: BenchOptions): Promise<BenchRow[]> {
    // Enough requests at 1 in flight for a p99.9 worth printing in a full run.
    const durationMs = (c: Case) => (options.quick ? 500 : c.inFlight === 1 ? 4_000 : 2_000);
    const procs: Proc[] = [];
    const clients: LoadClient[] = [];
    const results: Record<string, Record<System, Measured[]>> = {};
    try {
      const sides = await startSides(options, procs, clients);
      // Every worker registered and the code paths warm before measuring: 100 in flight reaches all four workers.
      for (const side of Object.values(sides)) for (const workers of [1, 4]) await side.client.run(service(workers), 100, options.quick ? 300 : 1_000, BYTES);
      for (let round = 0; round < options.rounds; round++) {
        // The order is reversed every other round, so drift in the machine's load hits both alike.
        const order: readonly System[] = round % 2 === 0 ? ['floor', 'steward'] : ['steward', 'floor'];
        for (const c of CASES) {
          const r = (results[caseKey(c)] ??= { floor: [], steward: [] });
          for (const system of order) r[system].push(await measure(sides[system], c, durationMs(c)));
        }
      }
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
      await Promise.all(procs.reverse().map((p) => p.stop()));
    }

    const pick = (list: Measured[], f: (m: Measured) => number) => median(list.map(f));
    const curve = (list: Measured[]) => PERCENTILES.map((_, i) => pick(list, (m) => m.load.percentilesMs[i] ?? Number.NaN));
    const one = results[caseKey({ workers: 1, inFlight: 1 })]!;
    options.addChart?.(
      latencyChart([
        latencySeries("steward's broker, C MDP peers", curve(one.steward)),
        latencySeries('floor: minimal zeromq.js MDP broker, C MDP peers', curve(one.floor)),
      ]),
    );

    return CASES.flatMap((c): BenchRow[] => {
      const r = results[caseKey(c)]!;
      const shape = `${c.workers} worker${c.workers > 1 ? 's' : ''}, ${c.inFlight} in flight`;
      const latency = latencyFields(r.steward, r.floor);
      const lost = [...r.steward, ...r.floor].reduce((n, m) => n + m.load.lost, 0);
      const common = {
        suite: 'broker',
        rounds: options.rounds,
        note: `${Math.round(pick(r.steward, (m) => m.load.requests))} / ${Math.round(pick(r.floor, (m) => m.load.requests))} requests per round (steward / floor)${lost ? `; ${lost} LOST` : ''}${options.profileDir ? '; steward under --cpu-prof' : ''}`,
      };
      return [
        {
          ...common,
          ...latency,
          name: `MDP peers through steward's broker, ${shape}: rate`,
          value: pick(r.steward, (m) => m.load.rate),
          unit: 'req/s',
          better: 'higher',
          baseline: 'floor MDP broker, same peers',
          baselineValue: pick(r.floor, (m) => m.load.rate),
          target: 0.95,
        },
        {
          ...common,
          name: `MDP peers through steward's broker, ${shape}: p99 latency`,
          value: latency.p99Ms,
          unit: 'ms',
          better: 'lower',
          baseline: 'floor MDP broker, same peers',
          baselineValue: latency.baselineP99Ms,
          target: 1.3,
        },
        {
          ...common,
          name: `MDP peers through steward's broker, ${shape}: broker CPU per request`,
          value: pick(r.steward, (m) => m.cpuUs),
          unit: 'us/req',
          better: 'lower',
          baseline: 'floor MDP broker, same peers',
          baselineValue: pick(r.floor, (m) => m.cpuUs),
          target: 1.1,
        },
      ];
    });
  },
};
