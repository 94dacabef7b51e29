import { it, expect } from 'vitest';
import { Gateway } from '../../src/api/gateway.js';
import { GatewayBackend } from '../../src/api/gateway-backend.js';
import { eventually } from '../helpers/zmq.js';
import { createLogger } from '../../src/log.js';

it('smoke', async () => {
  const gw = await Gateway.start({ bind: ['127.0.0.1:0'], zmq: 'tcp://127.0.0.1:*', vhosts: [{ name: '127.0.0.1', nodes: ['n1'] }], pingFreqMs: 100, logger: createLogger({ level: 'debug', pretty: false }) });
  const ep = await gw.endpoints();
  console.log(ep);
  const be = GatewayBackend.start({ endpoint: ep.zmq, node: 'n1', onRequest: (req) => ({ body: `hello ${req.path}` }) });
  await eventually(() => gw.availableNodes().includes('n1'));
  const r = await fetch(`${ep.http[0]}/x`);
  expect(await r.text()).toBe('hello /x');
  const r2 = await fetch(`${ep.http[0]}/y`);
  expect(await r2.text()).toBe('hello /y');
  be.close();
  await gw.stop();
});
