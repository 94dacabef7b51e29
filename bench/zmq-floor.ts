/**
 * What zeromq.js I/O alone costs per message, by message parts: an echo
 * ROUTER (its own process) answering a DEALER with 1, 2 and 3 body parts at
 * 100 in flight; the ROUTER's CPU per round trip from /proc/PID/stat. A
 * broker's floor is twice this (it reads and writes each request on two
 * sockets), with as many parts as its wire puts in a message.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/zmq-floor.js [--seconds N]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FifoDealer } from './lib/fifo-dealer.js';
import { closedLoop } from './lib/load.js';
import { startProc } from './lib/proc.js';
import { cpuSeconds, loadAverage } from './lib/system.js';
import { median } from './types.js';

const ECHO_ROUTER = fileURLToPath(new URL('./peers/echo-router.js', import.meta.url));
const { values } = parseArgs({ options: { seconds: { type: 'string' }, rounds: { type: 'string' } } });
const durationMs = Number(values.seconds ?? 2) * 1000;
const rounds = Number(values.rounds ?? 3);

const echo = await startProc([ECHO_ROUTER, 'tcp://127.0.0.1:*'], (l) => l.startsWith('tcp://'));
const dealer = new FifoDealer(echo.lines[0]!);
const results: Record<number, { rate: number[]; cpu: number[] }> = {};
try {
  const shapes = [1, 2, 3].map((parts) => ({ parts, frames: Array.from({ length: parts }, (_, i) => Buffer.alloc(i === parts - 1 ? 16 : 8, 'x')) }));
  for (const { frames } of shapes) await closedLoop(() => dealer.request(frames), 100, 300);
  for (let round = 0; round < rounds; round++) {
    for (const { parts, frames } of shapes) {
      const before = cpuSeconds(echo.pid);
      const r = await closedLoop(() => dealer.request(frames), 100, durationMs);
      const entry = (results[parts] ??= { rate: [], cpu: [] });
      entry.rate.push(r.rate);
      entry.cpu.push(((cpuSeconds(echo.pid) - before) * 1e6) / r.requests);
    }
  }
} finally {
  dealer.close();
  await echo.stop();
}
process.stdout.write(`echo ROUTER, 100 in flight, ${rounds} rounds of ${durationMs} ms, medians; load average ${loadAverage().join(' ')}\n`);
for (const [parts, r] of Object.entries(results)) {
  process.stdout.write(
    `  ${parts} part(s) from the DEALER (${Number(parts) + 1} at the ROUTER): ${Math.round(median(r.rate))} round trips/s, ROUTER CPU ${median(r.cpu).toFixed(1)} us per round trip\n`,
  );
}
