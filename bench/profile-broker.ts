/**
 * A focused profile of the hot case: steward's broker (and its one worker)
 * under `node --cpu-prof` while the bench process's Client keeps 100 16-byte
 * requests in flight, then the top self-time functions and modules of each
 * profile and the CPU each process spent per request. With `--mdp` the
 * peers are the broker suite's C MDP client and echo worker instead (only
 * the broker is profiled; try `--mdp --in-flight 1`).
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/profile-broker.js [--seconds 10] [--in-flight 100] [--bytes 16] [--mdp]
 *
 * Profiles go to bench/results/<time>-profile-broker/.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '../src/api/client.js';
import { buildCPeers } from './lib/c-peers.js';
import { formatSummary, isCpuProfile, summarizeProfile } from './lib/cpuprofile.js';
import { LoadClient } from './lib/load-client.js';
import { closedLoop, type LoadResult } from './lib/load.js';
import { startCommand, type Proc } from './lib/proc.js';
import { startBroker, startWorker, warm } from './lib/steward.js';
import { cpuSeconds, loadAverage } from './lib/system.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string' }, 'in-flight': { type: 'string' }, bytes: { type: 'string' }, top: { type: 'string' }, mdp: { type: 'boolean' } },
});
const seconds = Number(values.seconds ?? 10);
const inFlight = Number(values['in-flight'] ?? 100);
const body = [Buffer.alloc(Number(values.bytes ?? 16), 'p')];
const dir = fileURLToPath(new URL(`../../bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}-profile-broker/`, import.meta.url));
mkdirSync(dir, { recursive: true });

const broker = await startBroker({ profileDir: dir });
let line = '';
/** One line: the rate, the latency and what each process spent per request. */
const report = (r: LoadResult, cpu: Record<string, number>) =>
  `${Math.round(r.rate)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${inFlight} in flight, ${body[0]!.length}-byte body, ${seconds} s (under the profiler); ` +
  `CPU us/req: ${Object.entries(cpu)
    .map(([who, s]) => `${who} ${((s * 1e6) / r.requests).toFixed(1)}`)
    .join(', ')}; load average ${loadAverage().join(' ')}`;

if (values.mdp) {
  const peers = buildCPeers();
  const worker: Proc = await startCommand(peers.worker, [broker.backend, 'echo'], (l) => l === 'ready');
  const client = await LoadClient.start(peers.client, [broker.frontend]);
  try {
    await client.run('echo', inFlight, 1_000, body[0]!.length);
    const b0 = cpuSeconds(broker.proc.pid);
    const r = await client.run('echo', inFlight, seconds * 1000, body[0]!.length);
    line = `C MDP peers: ${report(r, { broker: cpuSeconds(broker.proc.pid) - b0 })}`;
  } finally {
    await client.stop();
    await worker.stop();
    await broker.proc.stop();
  }
} else {
  const worker = await startWorker(broker.backend, 'echo', 100, dir);
  const client = new Client({ broker: broker.frontend, timeout: 10_000, retries: 0 });
  try {
    await warm(client, 'echo');
    await closedLoop(() => client.call('echo', body), inFlight, 1_000);
    const b0 = cpuSeconds(broker.proc.pid);
    const w0 = cpuSeconds(worker.pid);
    const c0 = process.cpuUsage();
    const r = await closedLoop(() => client.call('echo', body), inFlight, seconds * 1000);
    const c = process.cpuUsage(c0);
    line = report(r, { broker: cpuSeconds(broker.proc.pid) - b0, worker: cpuSeconds(worker.pid) - w0, client: (c.user + c.system) / 1e6 });
  } finally {
    client.close();
    await worker.stop();
    await broker.proc.stop();
  }
}
process.stdout.write(`${line}\n\n`);
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const parsed: unknown = JSON.parse(readFileSync(`${dir}${file}`, 'utf8'));
  if (isCpuProfile(parsed)) process.stdout.write(`${formatSummary(summarizeProfile(parsed, Number(values.top ?? 15)), file)}\n\n`);
}
