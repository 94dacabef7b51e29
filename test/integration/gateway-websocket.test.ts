import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { BackendWebSocket } from '../../src/api/gateway-backend.js';
import { eventually, withTimeout } from '../helpers/zmq.js';
import { Cleanup, startBackend, startGateway, startPythonBackend } from '../helpers/gateway.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function connect(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  cleanup.add(() => {
    ws.on('error', () => undefined);
    ws.terminate();
  });
  await withTimeout(new Promise<void>((resolve, rejectOpen) => {
    ws.once('open', () => resolve());
    ws.once('error', rejectOpen);
  }), 5_000, 'the WebSocket to open');
  return ws;
}

function next(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return withTimeout(new Promise((resolve) => ws.once('message', (data: Buffer, binary: boolean) => resolve({ data, binary }))), 5_000, 'a WebSocket message');
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return withTimeout(new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))), 5_000, 'the WebSocket to close');
}

/** A TypeScript echo node that records its sockets. */
async function echoNode(gw: Awaited<ReturnType<typeof startGateway>>, sockets: BackendWebSocket[] = []) {
  await startBackend(cleanup, gw, {
    node: 'n1',
    onWebSocket: (socket) => {
      sockets.push(socket);
      socket.onMessage = (data) => socket.send(typeof data === 'string' ? `echo: ${data}` : Buffer.concat([Buffer.from([0xff]), data]));
    },
  });
  return sockets;
}

describe('gateway WebSocket', () => {
  it('should do the handshake and keep text and binary messages apart, both ways', async () => {
    const gw = await startGateway(cleanup);
    const sockets = await echoNode(gw);
    const ws = await connect(`ws://127.0.0.1:${gw.port}/chat?room=1`);
    ws.send('héllo');
    const text = await next(ws);
    expect(text).toEqual({ data: Buffer.from('echo: héllo'), binary: false });
    ws.send(Buffer.from([1, 2, 3]));
    const binary = await next(ws);
    expect(binary).toEqual({ data: Buffer.from([0xff, 1, 2, 3]), binary: true });
    expect(sockets[0]!.request.path).toBe('/chat');
    expect(sockets[0]!.request.query).toBe('room=1');
  });

  it('should answer a ping with a pong carrying its payload', async () => {
    const gw = await startGateway(cleanup);
    await echoNode(gw);
    const ws = await connect(`ws://127.0.0.1:${gw.port}/`);
    const pong = withTimeout(new Promise<Buffer>((resolve) => ws.once('pong', (data: Buffer) => resolve(data))), 5_000, 'a pong');
    ws.ping(Buffer.from('are you there'));
    expect((await pong).toString()).toBe('are you there');
  });

  it('should complete a close the client starts, and tell the node', async () => {
    const gw = await startGateway(cleanup);
    const sockets = await echoNode(gw);
    const ws = await connect(`ws://127.0.0.1:${gw.port}/`);
    let nodeSawClose = false;
    await eventually(() => sockets.length === 1);
    sockets[0]!.onClose = () => {
      nodeSawClose = true;
    };
    const done = closed(ws);
    ws.close(1000, 'bye');
    expect(await done).toEqual({ code: 1000, reason: '' });
    await eventually(() => nodeSawClose);
  });

  it('should close the client with a close handshake when the node ends the session', async () => {
    const gw = await startGateway(cleanup);
    const sockets = await echoNode(gw);
    const ws = await connect(`ws://127.0.0.1:${gw.port}/`);
    await eventually(() => sockets.length === 1);
    const done = closed(ws);
    sockets[0]!.close();
    expect((await done).code).toBe(1000);
  });

  it('should close with 1009 a message over the size limit', async () => {
    const gw = await startGateway(cleanup, { maxWebSocketMessage: 1024 });
    await echoNode(gw);
    const ws = await connect(`ws://127.0.0.1:${gw.port}/`);
    const done = closed(ws);
    ws.send(Buffer.alloc(2048));
    expect((await done).code).toBe(1009);
  });

  it('should echo through the Python backend too', async () => {
    const gw = await startGateway(cleanup);
    await startPythonBackend(cleanup, gw, 'n1');
    const ws = await connect(`ws://127.0.0.1:${gw.port}/py`);
    ws.send('from node');
    expect(await next(ws)).toEqual({ data: Buffer.from('from node'), binary: false });
    ws.send(Buffer.from([0, 159, 146, 150]));
    expect(await next(ws)).toEqual({ data: Buffer.from([0, 159, 146, 150]), binary: true });
  });

  it('should refuse an upgrade to an unknown host like any request', async () => {
    const gw = await startGateway(cleanup);
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/`, { headers: { Host: 'nowhere' } });
    ws.on('error', () => undefined);
    cleanup.add(() => ws.terminate());
    const status = await withTimeout(new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))), 5_000, 'the refusal');
    expect(status).toBe(404);
  });
});
