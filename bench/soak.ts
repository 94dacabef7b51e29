/**
 * `npm run soak [-- --workers 1000 --clients 10000 --soak 180 ...]`: the long
 * form of the load and soak run (test/load/soak.test.ts is the short form).
 * One broker process; workers and clients in child processes, each on its
 * own socket; the broker's maximum rate, p50/p99 latency and memory under a
 * closed loop; then a paced soak at half that rate, in windows, with the
 * broker's memory and event-loop delay sampled in each.
 *
 * Exit code 1 when a request went unanswered or was answered wrongly, or
 * when the broker's memory at the end of the soak is twice or more what it
 * was after its first soak window. Speed is reported, never judged.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { mb, runLoadAndSoak, type LoadOptions, type Totals } from './load/driver.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1000' },
    clients: { type: 'string', default: '10000' },
    'worker-hosts': { type: 'string', default: '2' },
    'client-hosts': { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '1' },
    heartbeat: { type: 'string', default: '2500' },
    warmup: { type: 'string', default: '10' },
    load: { type: 'string', default: '30' },
    // Long enough for the broker's memory to level off: libzmq's per-peer pipes grow to their
    // working size over the first few hundred messages each, which with 11,000 peers takes minutes.
    soak: { type: 'string', default: '360' },
    window: { type: 'string', default: '30' },
    timeout: { type: 'string', default: '120000' },
  },
});

const int = (name: keyof typeof values) => {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${String(values[name])}`);
  return n;
};

const options: LoadOptions = {
  workers: int('workers'),
  clients: int('clients'),
  workerHosts: int('worker-hosts'),
  clientHosts: int('client-hosts'),
  concurrency: Math.max(1, int('concurrency')),
  heartbeatMs: int('heartbeat'),
  warmupSeconds: int('warmup'),
  loadSeconds: int('load'),
  soakSeconds: int('soak'),
  windowSeconds: Math.max(1, int('window')),
  clientTimeoutMs: int('timeout'),
  clientRetries: 0,
  log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
};

const unanswered = (t: Totals) => t.failed + t.wrong;

async function main(): Promise<number> {
  options.log(`soak: ${options.workers} workers in ${options.workerHosts} processes, ${options.clients} clients in ${options.clientHosts} processes, ${cpus().length} cores`);
  const report = await runLoadAndSoak(options);
  const first = report.soak[0];
  const last = report.soak.at(-1);
  const soakTotals = report.soak.reduce((n, w) => n + unanswered(w), 0);
  const bad = unanswered(report.warmup) + unanswered(report.load) + soakTotals;
  const growth = first && last ? last.brokerRss / first.brokerRss : Number.NaN;
  const secondHalf = report.soak.slice(Math.floor(report.soak.length / 2));
  const rssLow = Math.min(...secondHalf.map((w) => w.brokerRss));
  const rssHigh = Math.max(...secondHalf.map((w) => w.brokerRss));
  const summary = {
    options: { ...options, log: undefined },
    load: { rate: Math.round(report.load.rate), p50Ms: report.load.p50Ms, p99Ms: report.load.p99Ms, brokerRssMaxMB: report.load.brokerRssMax / 2 ** 20, answered: report.load.answered, sent: report.load.sent },
    soak: {
      rate: Math.round(report.soakRate),
      seconds: last?.at,
      brokerRssAfterWarmupMB: report.rssAfterWarmup / 2 ** 20,
      brokerRssStartMB: (first?.brokerRss ?? Number.NaN) / 2 ** 20,
      brokerRssEndMB: (last?.brokerRss ?? Number.NaN) / 2 ** 20,
      brokerRssSecondHalfMB: [rssLow / 2 ** 20, rssHigh / 2 ** 20],
      loopP99StartMs: first?.loopP99Ms,
      loopP99EndMs: last?.loopP99Ms,
      p99StartMs: first?.p99Ms,
      p99EndMs: last?.p99Ms,
      windows: report.soak.map((w) => ({ at: w.at, rate: Math.round(w.rate), p99Ms: w.p99Ms, rssMB: w.brokerRss / 2 ** 20, heapMB: w.brokerHeap / 2 ** 20, externalMB: w.brokerExternal / 2 ** 20, loopP99Ms: w.loopP99Ms, loopMaxMs: w.loopMaxMs, unanswered: unanswered(w) })),
    },
    unanswered: bad,
  };
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(summary, null, 2));
  options.log(
    `load: ${Math.round(report.load.rate)} req/s, p50 ${report.load.p50Ms.toFixed(1)} ms, p99 ${report.load.p99Ms.toFixed(1)} ms, broker RSS max ${mb(report.load.brokerRssMax)}`,
  );
  options.log(
    `soak at ${Math.round(report.soakRate)} req/s for ${last?.at.toFixed(0)} s: broker RSS ${mb(first?.brokerRss ?? Number.NaN)} -> ${mb(last?.brokerRss ?? Number.NaN)} (x${growth.toFixed(2)}), event-loop p99 ${first?.loopP99Ms} ms -> ${last?.loopP99Ms} ms`,
  );
  options.log(`broker RSS over the second half of the soak: ${mb(rssLow)} to ${mb(rssHigh)}`);
  options.log(`results in ${file}`);
  if (bad > 0) {
    options.log(`FAIL: ${bad} requests unanswered or answered wrongly`);
    return 1;
  }
  if (!(growth < 2)) {
    options.log(`FAIL: broker memory grew x${growth.toFixed(2)} during the soak`);
    return 1;
  }
  options.log('ok: every request answered with its own reply; broker memory bounded');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
