import { fileURLToPath } from 'node:url';
import { Client } from '../src/api/client.js';
import { closedLoop, type LoadResult } from './lib/load.js';
import { FifoDealer } from './lib/fifo-dealer.js';
import { startProc } from './lib/proc.js';
import { startBroker, startWorker, warm } from './lib/steward.js';
import { cpuSeconds } from './lib/system.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const ECHO_ROUTER = fileURLToPath(new URL('./peers/echo-router.js', import.meta.url));

export const suite: BenchSuite = {
  name: 'broker',
  description: 'request/reply through the broker (client, broker, worker in separate processes) vs a direct DEALER-to-ROUTER echo',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    const durationMs = options.quick ? 500 : 2_000;
    const body = [Buffer.alloc(16, 'x')];
    const echo = await startProc([ECHO_ROUTER, 'tcp://127.0.0.1:*'], (l) => l.startsWith('tcp://'));
    const echoEndpoint = echo.lines[0]!;
    const { proc: broker, frontend, backend } = await startBroker();
    const brokerPid = broker.pid;
    const credit1 = await startWorker(backend, 'echo.credit1', 1);
    const credit100 = await startWorker(backend, 'echo.credit100', 100);
    const direct = new FifoDealer(echoEndpoint);
    const client = new Client({ broker: frontend, timeout: 10_000, retries: 0 });
    await warm(client, 'echo.credit1');
    await warm(client, 'echo.credit100');
    await direct.request(body);
    // Warm every path (JIT, connections) before measuring.
    await closedLoop(() => direct.request(body), 100, 300);
    await closedLoop(() => client.call('echo.credit1', body), 100, 300);
    await closedLoop(() => client.call('echo.credit100', body), 100, 300);

    const series: Record<string, number[]> = {};
    const p50: Record<string, number[]> = {};
    const p99: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    const record = (key: string, r: LoadResult) => {
      (series[key] ??= []).push(r.rate);
      (p50[key] ??= []).push(r.p50Ms);
      (p99[key] ??= []).push(r.p99Ms);
    };
    /** Runs one loop and records the server process's CPU microseconds per request (echo ROUTER or broker). */
    const timed = async (key: string, serverPid: number, call: () => Promise<unknown>, inFlight: number) => {
      const before = cpuSeconds(serverPid);
      const r = await closedLoop(call, inFlight, durationMs);
      (cpu[key] ??= []).push(((cpuSeconds(serverPid) - before) * 1e6) / r.requests);
      record(key, r);
    };
    try {
      for (let round = 0; round < options.rounds; round++) {
        // Interleave baseline and subject in each round so drift hits both alike.
        for (const inFlight of [1, 100]) {
          await timed(`direct.${inFlight}`, echo.pid, () => direct.request(body), inFlight);
          await timed(`credit1.${inFlight}`, brokerPid, () => client.call('echo.credit1', body), inFlight);
          if (inFlight > 1) await timed(`credit100.${inFlight}`, brokerPid, () => client.call('echo.credit100', body), inFlight);
        }
      }
    } finally {
      client.close();
      direct.close();
      await Promise.all([credit1.stop(), credit100.stop()]);
      await broker.stop();
      await echo.stop();
    }
    const row = (name: string, key: string, baselineKey: string, note: string): BenchRow => ({
      suite: 'broker',
      name,
      value: median(series[key]!),
      unit: 'req/s',
      better: 'higher',
      baseline: `direct DEALER-ROUTER echo, ${baselineKey.split('.')[1]} in flight`,
      baselineValue: median(series[baselineKey]!),
      rounds: options.rounds,
      p50Ms: median(p50[key]!),
      p99Ms: median(p99[key]!),
      baselineP50Ms: median(p50[baselineKey]!),
      baselineP99Ms: median(p99[baselineKey]!),
      note,
    });
    return [
      row('broker, 1 in flight (sequential)', 'credit1.1', 'direct.1', 'steward client, worker credit 1'),
      row('broker, 100 in flight, worker credit 1 (MDP rule)', 'credit1.100', 'direct.100', 'one request per worker at a time'),
      row('broker, 100 in flight, worker credit 100', 'credit100.100', 'direct.100', 'steward credit extension'),
      {
        suite: 'broker',
        name: 'broker CPU per request, 100 in flight, worker credit 100',
        value: median(cpu['credit100.100']!),
        unit: 'us/req',
        better: 'lower',
        baseline: 'twice the echo ROUTER CPU per request, 100 in flight',
        baselineValue: 2 * median(cpu['direct.100']!),
        rounds: options.rounds,
        note: 'whole process, /proc/PID/stat; the broker reads and writes each request twice (client side, worker side), the echo once: the baseline is what zeromq.js I/O alone costs a broker',
      },
    ];
  },
};
