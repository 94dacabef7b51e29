import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/zmq.js';
import { Cleanup, rawExchange, startBackend, startGateway, statuses } from '../helpers/gateway.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('gateway lifecycle', () => {
  it('should restart its router and what depends on it after a crash, and serve again', async () => {
    const port = await freePort();
    const gw = await startGateway(cleanup, { bind: [`127.0.0.1:${port}`], vhosts: [{ name: '127.0.0.1', nodes: ['n1', 'n2'] }] });
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'alive' }) });
    expect(await (await fetch(`${gw.http}/`)).text()).toBe('alive');
    // A one-shot faulty session bound to n2: the router's dispatch throws once, and the router crashes.
    const sid = Buffer.alloc(16, 9);
    const key = sid.toString('latin1');
    let crashed = false;
    gw.gateway.tables.sessions.set(key, {
      sid,
      send: () => undefined,
      backend: () => {
        gw.gateway.tables.sessions.delete(key);
        crashed = true;
        throw new Error('injected fault');
      },
      deadline: () => 0,
      node: () => 'n2',
    });
    const zmq = await import('zeromq');
    const n2 = new zmq.Dealer({ routingId: 'n2', linger: 0 });
    cleanup.add(() => n2.close());
    n2.connect(gw.zmq);
    await n2.send([sid, Buffer.from('body'), Buffer.from('x')]);
    await eventually(() => crashed);
    // rest_for_one: router, sweep, sessions and the listener come back; the port is bound again.
    await eventually(async () => {
      const res = await fetch(`${gw.http}/`).catch(() => undefined);
      return res !== undefined && (await res.text()) === 'alive';
    }, 10_000, 50);
  });

  it('should let an exchange in flight finish on a graceful stop, and stop accepting', async () => {
    const gw = await startGateway(cleanup, { drainTimeoutMs: 3_000 });
    let release: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (release = resolve));
    let atNode = false;
    await startBackend(cleanup, gw, {
      node: 'n1',
      onRequest: async () => {
        atNode = true;
        await answered;
        return { body: 'finished' };
      },
    });
    const inFlight = rawExchange(gw.port, ['GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], { timeoutMs: 5_000 });
    // In flight means at the node: a session exists from the connection on, before its request is read,
    // and a connection with no request yet is idle, which a stop closes (the next test).
    await eventually(() => atNode);
    const stopped = gw.gateway.stop();
    await eventually(() => refused(gw.port));
    release();
    const { text, closed } = await inFlight;
    expect(statuses(text)).toEqual([200]);
    expect(text.endsWith('finished')).toBe(true);
    expect(closed).toBe(true);
    await stopped;
    expect(gw.gateway.actor.getSnapshot().status).toBe('done');
  });

  it('should close idle keep-alive connections when it stops', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'ok' }) });
    const idle = rawExchange(gw.port, ['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], { timeoutMs: 5_000 });
    await eventually(() => gw.gateway.tables.sessions.size === 1);
    await new Promise((r) => setTimeout(r, 50));
    await gw.gateway.stop();
    const { text, closed } = await idle;
    expect(statuses(text)).toEqual([200]);
    expect(closed).toBe(true);
  });

  it('should close idle connections after the keep-alive timeout', async () => {
    const gw = await startGateway(cleanup, { idleTimeoutMs: 200 });
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'ok' }) });
    const { closed } = await rawExchange(gw.port, ['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], { timeoutMs: 5_000 });
    expect(closed).toBe(true);
    await eventually(() => gw.gateway.tables.sessions.size === 0);
  });
});
