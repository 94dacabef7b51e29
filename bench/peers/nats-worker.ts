/**
 * A NATS request/reply worker: one subscriber in a queue group that answers
 * every request with its own body, with a callback subscription (no async
 * iterator, no promise per message) as nats.js is used for speed.
 * `node nats-worker.js URL SUBJECT QUEUE`; prints `ready` once subscribed.
 */
import { connect } from 'nats';

const [url = 'nats://127.0.0.1:4222', subject = 'echo', queue = 'workers'] = process.argv.slice(2);
const nc = await connect({ servers: url, name: `bench-worker-${process.pid}` });
nc.subscribe(subject, {
  queue,
  callback: (error, msg) => {
    if (!error) msg.respond(msg.data);
  },
});
await nc.flush();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void nc.close().then(() => process.exit(0));
});
