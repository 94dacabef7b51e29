import { ServiceBroker } from 'moleculer';
import type { Caller } from './caller.js';

/**
 * A Moleculer 0.14 node over NATS with the JSON serializer, calling
 * `TARGET.echo` with `{ body }` (a string of BYTES characters: JSON carries
 * strings, not bytes). Defaults otherwise (round-robin balancing by the
 * caller, no request timeout, metrics and tracing off). Ready once
 * `echoNodes` other nodes are known, so every echo node takes its share.
 */
export async function moleculerCaller(url: string, echoNodes: number): Promise<Caller> {
  const broker = new ServiceBroker({
    nodeID: `bench-caller-${process.pid}`,
    transporter: url,
    serializer: 'JSON',
    logger: { type: 'Console', options: { level: 'warn' } },
  });
  await broker.start();
  for (let i = 0; ; i++) {
    const nodes = (await broker.call('$node.list', { onlyAvailable: true })) as Array<{ id: string }>;
    if (nodes.filter((n) => n.id !== broker.nodeID).length >= echoNodes) break;
    if (i >= 300) throw new Error(`only ${nodes.length - 1} of ${echoNodes} Moleculer echo nodes seen in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    prepare(target, bytes) {
      const action = `${target}.echo`;
      const params = { body: 'x'.repeat(bytes) };
      return () => broker.call(action, params);
    },
    close: () => broker.stop(),
  };
}
