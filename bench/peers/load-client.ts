/**
 * A load client in its own process: `node load-client.js SYSTEM ENDPOINT
 * [ECHO_NODES | TRANSPORT]`, SYSTEM one of `steward` (steward's Client on a
 * broker frontend, on TRANSPORT `auto` (default) or `libzmq`), `nats` (nats.js
 * on a nats-server URL) or `moleculer` (a Moleculer node over that
 * nats-server, ready once ECHO_NODES echo nodes are known). Prints `ready`, then answers each `run TARGET IN_FLIGHT
 * DURATION_MS BYTES` line with `result {json}` (bench/lib/load-client.ts),
 * like the C MDP client; exits on `quit` or end of input.
 */
import { createInterface } from 'node:readline';
import type { Caller } from './callers/caller.js';
import { moleculerCaller } from './callers/moleculer.js';
import { natsCaller } from './callers/nats.js';
import { stewardCaller } from './callers/steward.js';
import { closedLoop } from '../lib/load.js';
import { transportFlag } from '../../src/cli/transport-flag.js';

const [system, endpoint, extra] = process.argv.slice(2);
if (!endpoint) throw new Error('usage: load-client.js steward|nats|moleculer ENDPOINT [ECHO_NODES | TRANSPORT]');
const callers: Record<string, () => Caller | Promise<Caller>> = {
  steward: () => stewardCaller(endpoint, transportFlag(extra)),
  nats: () => natsCaller(endpoint),
  moleculer: () => moleculerCaller(endpoint, Number(extra ?? '1')),
};
const make = callers[system ?? ''];
if (!make) throw new Error(`unknown system ${system}: steward, nats or moleculer`);
const caller = await make();
process.stdout.write('ready\n');

const RUN = /^run (\S+) (\d+) (\d+) (\d+)$/;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'quit') break;
  const m = RUN.exec(line);
  const [inFlight, durationMs, bytes] = [Number(m?.[2]), Number(m?.[3]), Number(m?.[4])];
  if (!m || inFlight < 1 || inFlight > 100_000 || durationMs < 1 || bytes > 64 * 1024 * 1024) {
    process.stdout.write(`error expected 'run TARGET IN_FLIGHT DURATION_MS BYTES' (IN_FLIGHT 1..100000, BYTES up to 64 MiB), got ${JSON.stringify(line.slice(0, 100))}\n`);
    continue;
  }
  try {
    const result = await closedLoop(caller.prepare(m[1]!, bytes), inFlight, durationMs);
    process.stdout.write(`result ${JSON.stringify({ ...result, bad: 0 })}\n`);
  } catch (error) {
    process.stdout.write(`error ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
await caller.close();
process.exit(0);
