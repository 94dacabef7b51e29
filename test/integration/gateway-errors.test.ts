import * as net from 'node:net';
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.js';
import { decodeGatewayFrames, EMPTY, KIND_FRAME, type GatewayMessage } from '../../src/protocol/blastbeat/message.js';
import { eventually, withTimeout } from '../helpers/zmq.js';
import { Cleanup, rawExchange, startBackend, startGateway, startPythonBackend, statuses } from '../helpers/gateway.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const GET = (path = '/', host = '127.0.0.1') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
const untilBody = (t: string) => /\r\n\r\n[\s\S]*\n$/.test(t);

/** A node written against the wire by hand, answering pings and never a request: records what it is sent. */
async function silentNode(name: string, gw: { zmq: string; gateway: { availableNodes(): string[] } }) {
  const socket = new zmq.Dealer({ routingId: name, linger: 0 });
  cleanup.add(() => socket.close());
  socket.connect(gw.zmq);
  const received: GatewayMessage[] = [];
  void (async () => {
    for await (const frames of socket) {
      const decoded = decodeGatewayFrames(frames);
      for (const m of Array.isArray(decoded) ? (decoded as readonly GatewayMessage[]) : [decoded as GatewayMessage]) {
        if (m.type !== 'gateway.message') continue;
        if (m.kind === 'ping') await socket.send([EMPTY, KIND_FRAME.pong, EMPTY]);
        else received.push(m);
      }
    }
  })().catch(() => undefined);
  // An empty pong body offers no batches: the gateway sends this node plain messages.
  await socket.send([EMPTY, KIND_FRAME.pong, EMPTY]);
  await eventually(() => gw.gateway.availableNodes().includes(name));
  return received;
}

describe('errors a user can read', () => {
  it('should answer 400 to a request without Host, and close', async () => {
    const gw = await startGateway(cleanup);
    const { text, closed } = await rawExchange(gw.port, ['GET / HTTP/1.1\r\nAccept: */*\r\n\r\n']);
    expect(statuses(text)).toEqual([400]);
    expect(text).toContain('missing host');
    expect(closed).toBe(true);
  });

  it('should answer 400 to a malformed request, and close', async () => {
    const gw = await startGateway(cleanup);
    const { text, closed } = await rawExchange(gw.port, ['this is not http\r\n\r\n']);
    expect(statuses(text)).toEqual([400]);
    expect(closed).toBe(true);
  });

  it('should answer 404 to an unknown host and serve the next request on the same connection', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'found' }) });
    const { text } = await rawExchange(gw.port, [GET('/', 'nowhere.example'), GET('/')], { done: (t) => t.endsWith('found') });
    expect(statuses(text)).toEqual([404, 200]);
    expect(text).toContain('no virtual host "nowhere.example"');
  });

  it('should answer 503 when no node of the host is available', async () => {
    const gw = await startGateway(cleanup);
    const { text } = await rawExchange(gw.port, [GET()], { done: untilBody });
    expect(statuses(text)).toEqual([503]);
    expect(text).toContain('no node of "127.0.0.1" is available');
  });

  it('should answer 504 when the node does not answer within the timeout', async () => {
    const gw = await startGateway(cleanup, { vhosts: [{ name: '127.0.0.1', nodes: ['n1'], timeoutMs: 300 }] });
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => new Promise(() => undefined) });
    const { text, closed } = await rawExchange(gw.port, [GET('/slow')], { timeoutMs: 5_000 });
    expect(statuses(text)).toEqual([504]);
    expect(text).toContain('did not answer within 300 ms');
    expect(closed).toBe(true);
  });

  it('should answer 502 when the node goes away before it answers', async () => {
    const gw = await startGateway(cleanup);
    await startPythonBackend(cleanup, gw, 'n1');
    const { text } = await rawExchange(gw.port, [GET('/die-first')], { timeoutMs: 5_000 });
    expect(statuses(text)).toEqual([502]);
    expect(text).toContain('went away before it answered');
  });

  it('should cut the response short when the node is killed mid-response', async () => {
    const gw = await startGateway(cleanup);
    await startPythonBackend(cleanup, gw, 'n1');
    const { text, closed } = await rawExchange(gw.port, [GET('/die')], { timeoutMs: 5_000 });
    expect(statuses(text)).toEqual([200]);
    expect(text).toContain('Content-Length: 100');
    expect(text.endsWith('only part of it')).toBe(true);
    expect(closed).toBe(true);
  });

  it('should cut off a client that sends its head a byte at a time, with 408', async () => {
    const gw = await startGateway(cleanup, { headerTimeoutMs: 300 });
    const bytes = [...'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(100)];
    const { text, closed } = await rawExchange(gw.port, bytes, { gapMs: 20, timeoutMs: 5_000 });
    expect(statuses(text)).toEqual([408]);
    expect(closed).toBe(true);
  });

  it('should answer 408 to a client that stalls mid-body, Content-Length or chunked, tell the node end, and free the session', async () => {
    const metrics = new Metrics('gateway');
    // The node's timeout is far longer than the body's: the stall used to wait for it and be answered 504, counted against the node.
    const gw = await startGateway(cleanup, { metrics, bodyTimeoutMs: 300, vhosts: [{ name: '127.0.0.1', nodes: ['n1'], timeoutMs: 30_000 }] });
    const received = await silentNode('n1', gw);
    const stalled = [
      'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly half of it',
      'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nhalf',
    ];
    for (const [i, request] of stalled.entries()) {
      // The connection stays open: only the body timeout can end it.
      const { text, closed } = await rawExchange(gw.port, [request], { timeoutMs: 5_000 });
      expect(statuses(text)).toEqual([408]);
      expect(text).toContain('request body stalled: no bytes for 300 ms');
      expect(closed).toBe(true);
      const heads = received.filter((m) => m.kind === 'uwsgi');
      expect(heads).toHaveLength(i + 1);
      const sid = heads[i]!.sid;
      await eventually(() => received.some((m) => m.kind === 'end' && m.sid.equals(sid)));
      const kinds = received.filter((m) => m.sid.equals(sid)).map((m) => m.kind);
      expect(kinds[0]).toBe('uwsgi');
      expect(kinds.at(-1)).toBe('end');
      expect(kinds.slice(1, -1).every((k) => k === 'body')).toBe(true);
      await eventually(() => gw.gateway.tables.sessions.size === 0);
      expect(gw.gateway.tables.nodes.get('n1')?.sessions).toBe(0);
    }
    expect(await metrics.value('steward_gateway_errors_total', { status: '408', reason: 'body_timeout' })).toBe(2);
    expect(await metrics.value('steward_gateway_errors_total', { status: '504', reason: 'backend_timeout' })).toBe(0);
  });

  it('should answer 431 to a head over max-head-size and to too many headers', async () => {
    const gw = await startGateway(cleanup, { maxHeadSize: 1024, maxHeaders: 10 });
    const long = await rawExchange(gw.port, [`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ${'a'.repeat(2000)}\r\n\r\n`]);
    expect(statuses(long.text)).toEqual([431]);
    const many = Array.from({ length: 12 }, (_, i) => `X-${i}: v\r\n`).join('');
    const crowd = await rawExchange(gw.port, [`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${many}\r\n`]);
    expect(statuses(crowd.text)).toEqual([431]);
  });

  it('should answer 413 to a body over max-body-size', async () => {
    const gw = await startGateway(cleanup, { maxBodySize: 1000 });
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'never' }) });
    const { text } = await rawExchange(gw.port, ['POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1001\r\n\r\n']);
    expect(statuses(text)).toEqual([413]);
  });

  it('should answer 400 to Upgrade: websocket without Connection: upgrade instead of leaving the node to guess (found by fuzzing)', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'plain' }), onWebSocket: () => undefined });
    // Forwarded as plain HTTP, GatewayBackend read HTTP_UPGRADE, opened a WebSocket and answered nothing: 504.
    const { text, closed } = await rawExchange(gw.port, [
      'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    ]);
    expect(statuses(text)).toEqual([400]);
    expect(closed).toBe(true);
  });

  it('should let go of a request at once when its client ends in the middle of the body (found by fuzzing)', async () => {
    const metrics = new Metrics('gateway');
    const gw = await startGateway(cleanup, { metrics, vhosts: [{ name: '127.0.0.1', nodes: ['n1'], timeoutMs: 30_000 }] });
    const node = await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'never' }) });
    const socket = net.connect(gw.port, '127.0.0.1');
    socket.on('error', () => undefined);
    cleanup.add(() => {
      socket.destroy();
    });
    let read = '';
    socket.on('data', (d: Buffer) => {
      read += d.toString('latin1');
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.end('POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly part of it');
    // It used to hold the session, the socket and the node's half request for the node's whole timeout, then answer 504.
    await withTimeout(closed, 5_000, 'the gateway to close');
    expect(read).toBe('');
    await eventually(() => gw.gateway.tables.sessions.size === 0 && node.sessionCount === 0);
    expect(await metrics.value('steward_gateway_errors_total')).toBe(0);
  });

  it('should refuse connections beyond the session limit with 503', async () => {
    const metrics = new Metrics('gateway');
    const gw = await startGateway(cleanup, { maxSessions: 1, metrics });
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'ok' }) });
    const holder = rawExchange(gw.port, ['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'], { timeoutMs: 1_000 }).catch(() => undefined);
    await eventually(() => gw.gateway.tables.sessions.size === 1);
    const { text } = await rawExchange(gw.port, [GET()]);
    expect(statuses(text)).toEqual([503]);
    expect(text).toContain('maximum of connections');
    await holder;
  });

  it('should count gateway answers in its metrics', async () => {
    const metrics = new Metrics('gateway');
    const gw = await startGateway(cleanup, { metrics });
    await rawExchange(gw.port, [GET('/', 'nowhere')], { done: untilBody });
    await eventually(async () => (await metrics.value('steward_gateway_errors_total', { status: '404' })) === 1);
  });
});
