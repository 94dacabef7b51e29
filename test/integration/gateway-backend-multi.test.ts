import { afterEach, describe, expect, it } from 'vitest';
import { GatewayBackend } from '../../src/api/gateway-backend.js';
import { Cleanup, startGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/zmq.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('a GatewayBackend node on several gateways', () => {
  // 'auto' is steward's own ZMTP DEALER to each gateway; 'libzmq' is zeromq.js's, as with CURVE.
  it.each(['auto', 'libzmq'] as const)('should be available on each gateway under one name and answer every request through the gateway it came from (transport %s)', async (transport) => {
    const one = await startGateway(cleanup);
    const two = await startGateway(cleanup);
    let served = 0;
    const node = GatewayBackend.start({
      endpoint: [one.zmq, two.zmq],
      node: 'n1',
      transport,
      onRequest: async (r) => {
        served += 1;
        // Answers finish out of order across gateways: each must still reach its own client.
        await new Promise((resolve) => setTimeout(resolve, Number(r.query.split('=')[1] ?? 0) % 7));
        return { body: `${r.path} ${r.vars['SERVER_PORT']}` };
      },
    });
    cleanup.add(() => node.close());
    await eventually(() => one.gateway.availableNodes().includes('n1') && two.gateway.availableNodes().includes('n1'), 5_000);
    const answers = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const gw = i % 2 === 0 ? one : two;
        const res = await fetch(`${gw.http}/item/${i}?d=${i}`);
        return `${res.status} ${await res.text()}`;
      }),
    );
    expect(answers).toEqual(Array.from({ length: 100 }, (_, i) => `200 /item/${i} ${(i % 2 === 0 ? one : two).port}`));
    expect(served).toBe(100);
  });

  it('should keep serving through one gateway while the other is gone', async () => {
    const one = await startGateway(cleanup);
    const two = await startGateway(cleanup);
    const node = GatewayBackend.start({ endpoint: [one.zmq, two.zmq], node: 'n1', onRequest: (r) => ({ body: r.path }) });
    cleanup.add(() => node.close());
    await eventually(() => one.gateway.availableNodes().includes('n1') && two.gateway.availableNodes().includes('n1'), 5_000);
    await two.gateway.stop();
    const res = await fetch(`${one.http}/still`);
    expect([res.status, await res.text()]).toEqual([200, '/still']);
  });
});
