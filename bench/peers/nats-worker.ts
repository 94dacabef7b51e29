/**
 * A NATS request/reply worker: one subscriber in a queue group that answers
 * every request with its own body, with a callback subscription (no async
 * iterator, no promise per message) as nats.js is used for speed.
 * `node nats-worker.js URL SUBJECT QUEUE [--iterator]`; prints `ready` once
 * subscribed. `--iterator` reads with `for await` instead, as nats.js's
 * examples do (bench/nats-usage.ts measures what that costs).
 */
import { connect } from 'nats';

const [url = 'nats://127.0.0.1:4222', subject = 'echo', queue = 'workers', mode] = process.argv.slice(2);
const nc = await connect({ servers: url, name: `bench-worker-${process.pid}` });
if (mode === '--iterator') {
  const sub = nc.subscribe(subject, { queue });
  void (async () => {
    for await (const msg of sub) msg.respond(msg.data);
  })();
} else {
  nc.subscribe(subject, {
    queue,
    callback: (error, msg) => {
      if (!error) msg.respond(msg.data);
    },
  });
}
await nc.flush();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void nc.close().then(() => process.exit(0));
});
