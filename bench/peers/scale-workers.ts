/**
 * Many steward `Worker`s in one process, for the scale curves:
 * `node scale-workers.js BACKEND SERVICE COUNT [CONCURRENCY]` starts COUNT
 * echo workers (each its own socket and supervision tree) and prints `ready`.
 */
import * as zmq from 'zeromq';
import { Worker } from '../../src/api/worker.js';

const [backend = 'tcp://127.0.0.1:5556', service = 'echo', countText = '1', concurrencyText = '1'] = process.argv.slice(2);
const count = Number(countText);
zmq.context.maxSockets = Math.max(zmq.context.maxSockets, count * 2 + 64);
const workers = Array.from({ length: count }, () =>
  Worker.start({ broker: backend, service, concurrency: Number(concurrencyText), handler: (request) => request.body as Buffer[] }),
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  const timer = setTimeout(() => process.exit(0), 3_000);
  void Promise.all(workers.map((w) => w.stop())).then(() => {
    clearTimeout(timer);
    process.exit(0);
  });
});
