/**
 * The ceiling a broker is measured against: a ROUTER that echoes every
 * message straight back, no broker in between. Runs in its own process and
 * prints its endpoint on stdout.
 */
import * as zmq from 'zeromq';
import { SocketWriter } from '../../src/util/socket-writer.js';

const router = new zmq.Router({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
await router.bind(process.argv[2] ?? 'tcp://127.0.0.1:*');
process.stdout.write(`${router.lastEndpoint}\n`);
const writer = new SocketWriter(router, () => undefined);
process.on('SIGTERM', () => {
  router.close();
  process.exit(0);
});
for await (const frames of router) writer.write(frames);
