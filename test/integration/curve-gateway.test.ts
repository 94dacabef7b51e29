import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayBackendOptions } from '../../src/api/gateway-backend.js';
import { GatewayBackend } from '../../src/api/gateway-backend.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { AUTH_REFUSED_METRIC } from '../../src/security/refusals.js';
import { Cleanup, startBackend, startGateway, type TestGateway } from '../helpers/gateway.js';
import { captureLogs, type CapturedLog } from '../helpers/logs.js';
import { eventually } from '../helpers/zmq.js';

const server = zmq.curveKeyPair();
const nodeKeys = zmq.curveKeyPair();
const stranger = zmq.curveKeyPair();

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface CurveGateway extends TestGateway {
  readonly metrics: Metrics;
  readonly lines: CapturedLog[];
}

/** A gateway whose ROUTER runs CURVE and lets in `nodeKeys` only; vhost `127.0.0.1` is served by n1. */
async function curveGateway(): Promise<CurveGateway> {
  const metrics = new Metrics('gateway');
  const { logger, lines } = captureLogs();
  const gw = await startGateway(cleanup, {
    metrics,
    logger,
    curve: { secretKey: server.secretKey, allow: [nodeKeys.publicKey] },
  });
  return { ...gw, metrics, lines };
}

/** A node that says who it is, so a test can tell which process answered. */
function node(gw: TestGateway, name: string, says: string, extra: Partial<GatewayBackendOptions> = {}) {
  const seen: string[] = [];
  const backend = GatewayBackend.start({
    endpoint: gw.zmq,
    node: name,
    onRequest: (req) => {
      seen.push(req.path);
      return { headers: { 'Content-Type': 'text/plain' }, body: says };
    },
    ...extra,
  });
  cleanup.add(() => backend.close());
  return { backend, seen };
}

const refused = (gw: CurveGateway, reason: string) => gw.metrics.value(AUTH_REFUSED_METRIC, { server: 'gateway', reason });

async function get(gw: TestGateway, path = '/'): Promise<{ status: number; body: string }> {
  const res = await fetch(`${gw.http}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('a gateway with CURVE on its backend socket', () => {
  it('should serve HTTP through a node whose key is allowed', async () => {
    const gw = await curveGateway();
    await startBackend(cleanup, gw, {
      node: 'n1',
      curve: { serverKey: server.publicKey, secretKey: nodeKeys.secretKey },
      onRequest: (req) => ({ body: `allowed node saw ${req.path}` }),
    });
    expect(await get(gw, '/hi')).toEqual({ status: 200, body: 'allowed node saw /hi' });
    expect(gw.lines.some((l) => l.msg === 'ZAP handler ready')).toBe(true);
  });

  it('should let nothing through from a node with an unknown key, and log and count the refusal', async () => {
    const gw = await curveGateway();
    const intruder = node(gw, 'n1', 'intruder', { curve: { serverKey: server.publicKey, secretKey: stranger.secretKey } });
    await eventually(async () => (await refused(gw, 'unknown_key')) >= 1);
    const line = gw.lines.find((l) => l.msg === 'peer refused' && l['key'] === stranger.publicKey);
    expect(line).toMatchObject({ server: 'gateway', reason: 'unknown_key', address: '127.0.0.1', mechanism: 'CURVE' });
    // The handshake failed before the node's announcing pong could pass: it never becomes available.
    expect(gw.gateway.availableNodes()).toEqual([]);
    const res = await get(gw);
    expect(res.status).toBe(503);
    expect(res.body).toContain('no node of "127.0.0.1" is available');
    expect(intruder.seen).toEqual([]);
  });

  it('should keep a refused node from taking the name of an allowed one', async () => {
    const gw = await curveGateway();
    await startBackend(cleanup, gw, {
      node: 'n1',
      curve: { serverKey: server.publicKey, secretKey: nodeKeys.secretKey },
      onRequest: () => ({ body: 'the real n1' }),
    });
    // The ROUTER has handover on: were the intruder let in, its connection would take the name n1.
    const intruder = node(gw, 'n1', 'intruder', { curve: { serverKey: server.publicKey, secretKey: stranger.secretKey } });
    await eventually(async () => (await refused(gw, 'unknown_key')) >= 1);
    for (let i = 0; i < 5; i++) expect(await get(gw, `/${i}`)).toEqual({ status: 200, body: 'the real n1' });
    expect(intruder.seen).toEqual([]);
  });

  it('should let nothing through from a plain-TCP node, and count the failed handshake', async () => {
    const gw = await curveGateway();
    const plain = node(gw, 'n1', 'plain');
    await eventually(async () => (await refused(gw, 'handshake')) >= 1);
    expect(gw.lines.some((l) => l.msg === 'handshake refused' && l['server'] === 'gateway')).toBe(true);
    expect(gw.gateway.availableNodes()).toEqual([]);
    expect((await get(gw)).status).toBe(503);
    expect(plain.seen).toEqual([]);
  });
});

describe('a gateway without CURVE (the default)', () => {
  it('should serve a plain node, and refuse a node that insists on CURVE', async () => {
    const metrics = new Metrics('gateway');
    const gw = await startGateway(cleanup, { metrics, vhosts: [{ name: '127.0.0.1', nodes: ['n1', 'n2'] }] });
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'plain' }) });
    expect(await get(gw)).toEqual({ status: 200, body: 'plain' });
    const { logger, lines } = captureLogs('warn');
    const curveNode = node(gw, 'n2', 'curve', { curve: { serverKey: server.publicKey, secretKey: nodeKeys.secretKey }, logger });
    // The node's own log says why nothing gets through; the plain gateway has no ZAP handler to count it.
    await eventually(() => lines.some((l) => String(l.msg).startsWith('CURVE handshake failed')));
    expect(gw.gateway.availableNodes()).toEqual(['n1']);
    expect(curveNode.seen).toEqual([]);
    expect(await metrics.value(AUTH_REFUSED_METRIC)).toBe(0);
  });
});
