/**
 * Streamed replies through steward's broker: one 1,000-part stream of 1 KiB
 * parts (`client.stream`, the worker an async generator heeding the window),
 * at three windows, beside a plain loop of 1,000 calls with 1 KiB replies, one at a time: the
 * same bytes, as parts of one call or as replies to many. The broker is the
 * real `--role broker` process and the worker a `--role worker` process
 * (bench/peers/stream-parts.ts); the client is this process. Per round,
 * STREAMS streams and as many loops, alternating, the order reversed every
 * other round; medians over rounds. Broker CPU is its utime + stime
 * (/proc/PID/stat) over the run, per part or per call; broker memory is its
 * resident set (VmRSS) sampled every 2 ms, the peak above where it started.
 *
 *   npm run bench -- --only streams [--quick] [--rounds N]
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, DEFAULT_STREAM_WINDOW } from '../src/api/client.js';
import { startProc, logLine, MAIN, type Proc } from './lib/proc.js';
import { startBroker } from './lib/steward.js';
import { cpuSeconds, rssBytes } from './lib/system.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const HANDLER = fileURLToPath(new URL('./peers/stream-parts.js', import.meta.url));
const PARTS = 1_000;
const SERVICE = 'bench.parts';
const WINDOWS = [16, DEFAULT_STREAM_WINDOW, 256] as const;

interface Run {
  /** Parts (or calls) per second. */
  readonly rate: number;
  /** Broker CPU microseconds per part (or call). */
  readonly cpuUs: number;
  /** Peak broker RSS above where the run started, in bytes. */
  readonly rssGrowth: number;
}

/** Runs `times` jobs of `PARTS` items back to back, watching the broker. */
async function watched(brokerPid: number, times: number, job: () => Promise<number>): Promise<Run> {
  const rss0 = rssBytes(brokerPid);
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(brokerPid))), 2);
  const cpu0 = cpuSeconds(brokerPid);
  const t0 = process.hrtime.bigint();
  let items = 0;
  for (let i = 0; i < times; i++) items += await job();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(brokerPid) - cpu0;
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(brokerPid));
  return { rate: items / seconds, cpuUs: (cpu * 1e6) / items, rssGrowth: peak - rss0 };
}

async function stream(client: Client, window: number): Promise<number> {
  let parts = 0;
  for await (const part of client.stream(SERVICE, String(PARTS), { window })) if (!part.final) parts += 1;
  if (parts !== PARTS) throw new Error(`a stream gave ${parts} parts, not ${PARTS}`);
  return parts;
}

async function loop(client: Client): Promise<number> {
  for (let i = 0; i < PARTS; i++) {
    const [reply] = await client.call(SERVICE, 'x');
    if (reply?.length !== 1024) throw new Error(`a call answered ${reply?.length} bytes`);
  }
  return PARTS;
}

export const suite: BenchSuite = {
  name: 'streams',
  description: 'a 1,000-part stream of 1 KiB parts (windows 16, 64 and 256) against a loop of 1,000 one-at-a-time calls with 1 KiB replies, through the broker process',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    const times = options.quick ? 3 : 10;
    const procs: Proc[] = [];
    const broker = await startBroker();
    procs.push(broker.proc);
    const client = new Client({ broker: broker.frontend, timeout: 10_000, retries: 0, waitForWorker: true });
    try {
      procs.push(
        await startProc([MAIN, '--role', 'worker', '--service', SERVICE, '--broker', broker.backend, '--handler', HANDLER, '--log-level', 'info'], (line) => logLine(line)?.['msg'] === 'worker started'),
      );
      // Registered, and every path warm.
      await loop(client);
      for (const w of WINDOWS) await stream(client, w);
      const streams = new Map<number, Run[]>(WINDOWS.map((w) => [w, []]));
      const loops: Run[] = [];
      for (let round = 0; round < options.rounds; round++) {
        const jobs = [
          ...WINDOWS.map((w) => async () => (streams.get(w) as Run[]).push(await watched(broker.proc.pid, times, () => stream(client, w)))),
          async () => loops.push(await watched(broker.proc.pid, times, () => loop(client))),
        ];
        if (round % 2 === 1) jobs.reverse();
        for (const job of jobs) await job();
      }
      const base = { rate: median(loops.map((r) => r.rate)), cpuUs: median(loops.map((r) => r.cpuUs)), rss: median(loops.map((r) => r.rssGrowth)) };
      const note = `${times} x ${PARTS} items per round`;
      const label = (w: number) => `stream of ${PARTS.toLocaleString('en')} x 1 KiB parts, window ${w}${w === DEFAULT_STREAM_WINDOW ? ' (the default)' : ''}`;
      const rows: BenchRow[] = WINDOWS.map((w) => ({
        suite: 'streams',
        name: `${label(w)}: parts/s`,
        value: Math.round(median((streams.get(w) as Run[]).map((r) => r.rate))),
        unit: 'parts/s',
        better: 'higher',
        baseline: `loop of ${PARTS.toLocaleString('en')} calls, 1 KiB replies, one at a time: calls/s`,
        baselineValue: Math.round(base.rate),
        rounds: options.rounds,
        note,
      }));
      const runs = streams.get(DEFAULT_STREAM_WINDOW) as Run[];
      rows.push(
        {
          suite: 'streams',
          name: `${label(DEFAULT_STREAM_WINDOW)}: broker CPU per part`,
          value: Math.round(median(runs.map((r) => r.cpuUs)) * 10) / 10,
          unit: 'us',
          better: 'lower',
          baseline: 'loop: broker CPU per call',
          baselineValue: Math.round(base.cpuUs * 10) / 10,
          rounds: options.rounds,
          note,
        },
        {
          suite: 'streams',
          name: `${label(DEFAULT_STREAM_WINDOW)}: broker peak RSS above its start`,
          value: Math.round(median(runs.map((r) => r.rssGrowth)) / 1024),
          unit: 'KiB',
          better: 'lower',
          baseline: 'loop: broker peak RSS above its start',
          baselineValue: Math.round(base.rss / 1024),
          rounds: options.rounds,
          note: `${note}; VmRSS every 2 ms`,
        },
      );
      return rows;
    } finally {
      client.close();
      for (const p of procs.reverse()) await p.stop();
    }
  },
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : quick ? 1 : 3;
  const rows = await suite.run({ rounds, quick });
  for (const r of rows) {
    const ratio = r.baselineValue ? (r.value / r.baselineValue).toFixed(2) : '-';
    process.stdout.write(`${r.name}: ${r.value} ${r.unit} | ${r.baseline}: ${r.baselineValue} ${r.unit} | ratio ${ratio} | ${r.note ?? ''}\n`);
  }
}
