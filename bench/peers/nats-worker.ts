/**
 * A NATS request/reply worker: one subscriber in a queue group that answers
 * every request with its own body, as fast as the npm `nats` client lets it.
 * `node nats-worker.js URL SUBJECT QUEUE`; prints `ready` once subscribed.
 */
import { connect } from 'nats';

const [url = 'nats://127.0.0.1:4222', subject = 'echo', queue = 'workers'] = process.argv.slice(2);
const nc = await connect({ servers: url, name: `bench-worker-${process.pid}` });
const sub = nc.subscribe(subject, { queue });
await nc.flush();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void nc.close().then(() => process.exit(0));
});
for await (const msg of sub) msg.respond(msg.data);
