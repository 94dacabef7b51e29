/**
 * Many steward `Client`s in one process, for the scale curves:
 * `node scale-clients.js FRONTEND SERVICE COUNT` connects COUNT clients (one
 * socket each), makes one call on each, and prints `ready`. Then each stdin
 * line `go MS` runs every client with one call in flight for MS ms and prints
 * `{"result": LoadResult}`; `quit` closes them and exits.
 */
import { createInterface } from 'node:readline';
import * as zmq from 'zeromq';
import { Client } from '../../src/api/client.js';
import { lanesLoop } from '../lib/load.js';

const [frontend = 'tcp://127.0.0.1:5555', service = 'echo', countText = '1'] = process.argv.slice(2);
const count = Number(countText);
zmq.context.maxSockets = Math.max(zmq.context.maxSockets, count + 64);
const body = [Buffer.alloc(16, 'c')];
const clients = Array.from({ length: count }, () => new Client({ broker: frontend, timeout: 60_000, retries: 0 }));
for (let i = 0; i < count; i += 500) {
  await Promise.all(clients.slice(i, i + 500).map((c) => c.call(service, body, { timeout: 30_000, retries: 3 })));
}
process.stdout.write('ready\n');

const quit = () => {
  for (const c of clients) c.close();
  process.exit(0);
};
process.on('SIGTERM', quit);
for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.trim().split(/\s+/);
  if (command === 'quit') quit();
  if (command !== 'go') continue;
  const result = await lanesLoop(
    clients.map((c) => () => c.call(service, body)),
    Number(arg ?? 1000),
  );
  process.stdout.write(`${JSON.stringify({ result })}\n`);
}
quit();
