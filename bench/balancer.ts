/**
 * Balancer decisions per second with 100 backends.
 *
 * Through the socket: one DEALER keeps 100 requests in flight against a
 * running balancer (Weighted over 100 Base backends), beside a bare ROUTER
 * that echoes each frame back, measured in the same run: the socket ceiling
 * any balancer in Node is held against. In process: the balancer's whole
 * decision (pool lookup, live list, Weighted, bookkeeping) beside the bare
 * Weighted function over the same 100 candidates.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { Balancer } from '../src/api/balancer.js';
import { parseBalancerConfig } from '../src/config/balancer-config.js';
import { seededRandom, weighted, type Candidate } from '../src/machines/balancer/algorithms.js';
import { BalancerTable } from '../src/machines/balancer/balancer-table.js';
import { STIRR_DEFAULTS } from '../src/protocol/stirr.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const BACKENDS = 100;
const IN_FLIGHT = 100;
const REQUEST = Buffer.from(JSON.stringify({ group: 'default', type: 'Base', algorithm: 'Weighted', args: [] }));

function backends(): unknown[] {
  return Array.from({ length: BACKENDS }, (_, i) => ({
    type: 'Base',
    weight: 1 + (i % 7),
    configuration: { host: `10.0.${i >> 8}.${i & 255}`, port: 3306, name: `db-${i}` },
  }));
}

/** Round trips per second from one DEALER keeping `inFlight` requests outstanding. */
async function drive(endpoint: string, total: number, inFlight: number): Promise<number> {
  const socket = new zmq.Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
  socket.connect(endpoint);
  try {
    // One round trip first, so connecting is not timed.
    await socket.send(REQUEST);
    await socket.receive();
    let sent = 0;
    let received = 0;
    const started = performance.now();
    for (; sent < Math.min(inFlight, total); sent++) await socket.send(REQUEST);
    while (received < total) {
      await socket.receive();
      received += 1;
      if (sent < total) {
        await socket.send(REQUEST);
        sent += 1;
      }
    }
    return total / ((performance.now() - started) / 1000);
  } finally {
    socket.close();
  }
}

/** The baseline: a ROUTER that sends every message straight back, one send at a time. */
async function echoRouter(): Promise<{ endpoint: string; close: () => void }> {
  const router = new zmq.Router({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
  await router.bind('tcp://127.0.0.1:*');
  void (async () => {
    try {
      for await (const frames of router) await router.send(frames);
    } catch {
      // closed
    }
  })();
  return { endpoint: router.lastEndpoint as string, close: () => router.close() };
}

function rate(calls: number, run: () => void): number {
  const started = performance.now();
  for (let i = 0; i < calls; i++) run();
  return calls / ((performance.now() - started) / 1000);
}

async function socketRows(options: BenchOptions): Promise<BenchRow[]> {
  const total = options.quick ? 20_000 : 100_000;
  const dir = await mkdtemp(join(tmpdir(), 'steward-bench-balancer-'));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ backends: backends() }));
  const balancer = await Balancer.start({ configFile: file, bind: 'tcp://127.0.0.1:*', watch: false, random: seededRandom(1) });
  const echo = await echoRouter();
  const viaBalancer: number[] = [];
  const viaEcho: number[] = [];
  try {
    const endpoint = await balancer.endpoint();
    for (let round = 0; round < options.rounds; round++) {
      // Interleaved, the order reversed every other round, so both see the same machine load.
      if (round % 2 === 0) {
        viaEcho.push(await drive(echo.endpoint, total, IN_FLIGHT));
        viaBalancer.push(await drive(endpoint, total, IN_FLIGHT));
      } else {
        viaBalancer.push(await drive(endpoint, total, IN_FLIGHT));
        viaEcho.push(await drive(echo.endpoint, total, IN_FLIGHT));
      }
    }
  } finally {
    echo.close();
    await balancer.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return [
    {
      suite: 'balancer',
      name: `decisions/s through the socket, ${BACKENDS} backends, Weighted, ${IN_FLIGHT} in flight`,
      value: median(viaBalancer),
      unit: 'decisions/s',
      better: 'higher',
      baseline: `bare ROUTER echo, ${IN_FLIGHT} in flight`,
      baselineValue: median(viaEcho),
      rounds: options.rounds,
      note: `${total} requests per round from one DEALER`,
    },
  ];
}

function inProcessRows(options: BenchOptions): BenchRow[] {
  const calls = options.quick ? 200_000 : 2_000_000;
  const table = new BalancerTable({ random: seededRandom(2) });
  table.apply(parseBalancerConfig(JSON.stringify({ backends: backends() }), 'bench.json'));
  const request = { ...STIRR_DEFAULTS, algorithm: 'Weighted' };
  const candidates: Candidate[] = backends().map((_, i) => ({ position: i, weight: 1 + (i % 7), lastHanded: -1 }));
  const env = { random: seededRandom(3), cursor: { position: -1 } };
  const decide: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // The order reversed every other round, like the socket rows.
    if (round % 2 === 0) {
      bare.push(rate(calls, () => weighted(candidates, env)));
      decide.push(rate(calls, () => table.decide(request)));
    } else {
      decide.push(rate(calls, () => table.decide(request)));
      bare.push(rate(calls, () => weighted(candidates, env)));
    }
  }
  return [
    {
      suite: 'balancer',
      name: `decisions/s in process, ${BACKENDS} backends, Weighted`,
      value: median(decide),
      unit: 'decisions/s',
      better: 'higher',
      baseline: 'bare Weighted function over the same candidates',
      baselineValue: median(bare),
      rounds: options.rounds,
    },
  ];
}

export const suite: BenchSuite = {
  name: 'balancer',
  description: `stirr balancer: decisions per second with ${BACKENDS} backends, through the socket and in process`,
  async run(options) {
    return [...(await socketRows(options)), ...inProcessRows(options)];
  },
};
