import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.js';
import { LIMIT_HITS_METRIC } from '../../src/metrics/limits.js';
import { Cleanup, rawExchange, startBackend, startGateway, statuses, type TestGateway } from '../helpers/gateway.js';
import { eventually, withTimeout } from '../helpers/zmq.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/**
 * A keep-alive client connection: each request waits for its whole response
 * (Content-Length), and the connection stays open, so its session stays
 * bound to the node that answered.
 */
class KeepAlive {
  private readonly socket: net.Socket;
  private buffered = '';
  private waiter: (() => void) | undefined;
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.socket.on('data', (d: Buffer) => {
      this.buffered += d.toString('latin1');
      this.waiter?.();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    cleanup.add(() => this.close());
  }

  /** One request; resolves with its status and body once the whole response is in. */
  async request(path: string, extra = ''): Promise<{ status: number; body: string }> {
    this.buffered = '';
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`);
    const complete = () => {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const length = /content-length: (\d+)/i.exec(this.buffered.slice(0, end));
      return length !== null && this.buffered.length >= end + 4 + Number(length[1]);
    };
    await withTimeout(
      new Promise<void>((resolve) => {
        this.waiter = () => {
          if (complete() || this.closed) resolve();
        };
        this.waiter();
      }),
      5_000,
      `the response to ${path}`,
    );
    this.waiter = undefined;
    const end = this.buffered.indexOf('\r\n\r\n');
    return { status: statuses(this.buffered)[0] ?? 0, body: this.buffered.slice(end + 4) };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Two nodes, each answering with its name, each allowed one session. */
async function twoNodes(): Promise<TestGateway & { metrics: Metrics }> {
  const metrics = new Metrics('gateway');
  const gw = await startGateway(cleanup, { metrics, maxNodeSessions: 1, vhosts: [{ name: '127.0.0.1', nodes: ['n1', 'n2'] }] });
  for (const node of ['n1', 'n2']) await startBackend(cleanup, gw, { node, onRequest: () => ({ body: node }) });
  return { ...gw, metrics };
}

const hits = (metrics: Metrics) => metrics.value(LIMIT_HITS_METRIC, { limit: 'gateway_node_sessions' });
const UPGRADE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

describe('sessions per gateway node', () => {
  it('should fill every node before refusing, answer 503 saying why, and count the hit', async () => {
    const gw = await twoNodes();
    const first = new KeepAlive(gw.port);
    const second = new KeepAlive(gw.port);
    const a = await first.request('/');
    const b = await second.request('/');
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    // The second session went to the node the first did not take.
    expect([a.body, b.body].sort()).toEqual(['n1', 'n2']);

    const third = new KeepAlive(gw.port);
    const refused = await third.request('/');
    expect(refused.status).toBe(503);
    expect(refused.body).toContain('every available node of "127.0.0.1" has its maximum of 1 sessions');
    expect(await hits(gw.metrics)).toBe(1);
    expect(await gw.metrics.value('steward_gateway_errors_total', { status: '503', reason: 'nodes_full' })).toBe(1);

    // A session bound before the limit keeps its node.
    expect(await first.request('/again')).toEqual(a);
  });

  it('should answer a WebSocket upgrade 503 when every node is full', async () => {
    const gw = await twoNodes();
    const holders = [new KeepAlive(gw.port), new KeepAlive(gw.port)];
    for (const h of holders) expect((await h.request('/')).status).toBe(200);
    const { text } = await rawExchange(gw.port, [`GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n${UPGRADE}\r\n`]);
    expect(statuses(text)).toEqual([503]);
    expect(text).toContain('has its maximum of 1 sessions');
    expect(await hits(gw.metrics)).toBe(1);
  });

  it('should take new sessions again once a node has room', async () => {
    const gw = await twoNodes();
    const first = new KeepAlive(gw.port);
    const second = new KeepAlive(gw.port);
    const a = await first.request('/');
    await second.request('/');
    const waiting = new KeepAlive(gw.port);
    expect((await waiting.request('/')).status).toBe(503);
    first.close();
    // The refused connection is kept alive (no body to skip): its next request is routed afresh.
    await eventually(() => gw.gateway.tables.nodes.get(a.body)!.sessions === 0);
    expect(await waiting.request('/')).toEqual({ status: 200, body: a.body });
  });

  it('should count the host\'s own session limit and the gateway\'s apart from the node limit', async () => {
    const metrics = new Metrics('gateway');
    const gw = await startGateway(cleanup, { metrics, maxSessions: 2, vhosts: [{ name: '127.0.0.1', nodes: ['n1'], maxSessions: 1 }] });
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'n1' }) });
    const holder = new KeepAlive(gw.port);
    expect((await holder.request('/')).status).toBe(200);
    const hostFull = new KeepAlive(gw.port);
    const refused = await hostFull.request('/');
    expect(refused.status).toBe(503);
    expect(refused.body).toContain('"127.0.0.1" has its maximum of sessions');
    expect(await metrics.value(LIMIT_HITS_METRIC, { limit: 'gateway_vhost_sessions' })).toBe(1);
    // Two connections are open: the gateway's own limit turns the third away at the door.
    const { text } = await rawExchange(gw.port, ['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n']);
    expect(statuses(text)).toEqual([503]);
    expect(await metrics.value(LIMIT_HITS_METRIC, { limit: 'gateway_sessions' })).toBe(1);
    expect(await hits(metrics)).toBe(0);
  });
});
