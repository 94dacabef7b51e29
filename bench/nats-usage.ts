/**
 * Why the compare suite's NATS baseline is nats.js used for speed: the same
 * nats-server and shape (one worker process, 16-byte bodies, the client in
 * this process, 100 in flight), with nats.js as its examples use it
 * (`nc.request()`, a worker reading with `for await`) and as the suite uses
 * it (one callback subscription for replies, a callback worker;
 * bench/peers/callers/nats.ts). Interleaved, order reversed every other
 * round, medians.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/nats-usage.js [--seconds N] [--rounds N]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import { natsCaller } from './peers/callers/nats.js';
import { closedLoop } from './lib/load.js';
import { startNatsServer } from './lib/nats-server.js';
import { startProc } from './lib/proc.js';
import { loadAverage } from './lib/system.js';
import { median } from './types.js';

const NATS_WORKER = fileURLToPath(new URL('./peers/nats-worker.js', import.meta.url));
const { values } = parseArgs({ options: { seconds: { type: 'string' }, rounds: { type: 'string' } } });
const durationMs = Number(values.seconds ?? 1.5) * 1000;
const rounds = Number(values.rounds ?? 3);

const server = await startNatsServer();
const workers = [
  await startProc([NATS_WORKER, server.url, 'echo.iterator', 'q', '--iterator'], (l) => l === 'ready'),
  await startProc([NATS_WORKER, server.url, 'echo.callback', 'q'], (l) => l === 'ready'),
];
const nc = await connect({ servers: server.url });
const mux = await natsCaller(server.url);
const body = Buffer.alloc(16, 'x');
const ways = {
  'nc.request() and a for-await worker': () => nc.request('echo.iterator', body, { timeout: 10_000 }),
  'one reply subscription and a callback worker': mux.prepare('echo.callback', 16),
};
const rates: Record<string, number[]> = {};
try {
  for (const call of Object.values(ways)) await closedLoop(call, 100, 500);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? Object.entries(ways) : Object.entries(ways).reverse();
    for (const [name, call] of order) (rates[name] ??= []).push((await closedLoop(call, 100, durationMs)).rate);
  }
} finally {
  await nc.close();
  await mux.close();
  await Promise.all([...workers, server.proc].map((p) => p.stop()));
}
process.stdout.write(`nats.js, 1 worker, 100 in flight, 16-byte body, ${rounds} rounds of ${durationMs} ms, medians; load average ${loadAverage().join(' ')}\n`);
for (const [name, r] of Object.entries(rates)) process.stdout.write(`  ${name}: ${Math.round(median(r)).toLocaleString('en-US')} req/s\n`);
