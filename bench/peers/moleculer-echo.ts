/**
 * A Moleculer 0.14 echo-service node over NATS (JSON serializer), one per
 * process: `node moleculer-echo.js NATS_URL SERVICE`; its action `echo`
 * answers with the `body` it was sent. Prints `ready` once started.
 */
import { ServiceBroker, type Context } from 'moleculer';

const [url = 'nats://127.0.0.1:4222', service = 'echo'] = process.argv.slice(2);
const broker = new ServiceBroker({
  nodeID: `bench-echo-${process.pid}`,
  transporter: url,
  serializer: 'JSON',
  logger: { type: 'Console', options: { level: 'warn' } },
});
broker.createService({
  name: service,
  actions: {
    echo: (ctx: Context<{ body: string }>) => ctx.params.body,
  },
});
await broker.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void broker.stop().then(() => process.exit(0));
});
