import * as net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { ZmtpDealerSocket, parseConnectEndpoint, type ZmtpDealerOptions } from '../../src/actors/zmtp-dealer-socket.js';
import { encodeCommand, encodeReady, readCommand } from '../../src/protocol/zmtp/commands.js';
import { encodeGreeting, GREETING_SIZE } from '../../src/protocol/zmtp/greeting.js';
import { encodeMessage, FrameReader } from '../../src/protocol/zmtp/frames.js';
import { peer, PYTHON } from '../helpers/python.js';
import { ANY, eventually, receiveWithin, strings } from '../helpers/zmq.js';

const cleanup: Array<() => void | Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const b = (s: string) => Buffer.from(s);

/** steward's DEALER recording what it is handed: messages, bursts, ups, downs and drops. */
function dealer(endpoint: string, options: Partial<ZmtpDealerOptions> = {}) {
  const messages: Buffer[][] = [];
  const bursts: number[] = [];
  const events: string[] = [];
  const drops: string[] = [];
  const socket = new ZmtpDealerSocket({
    endpoint,
    onMessages: (burst) => {
      bursts.push(burst.length);
      messages.push(...burst.map((m) => m.map((f) => Buffer.from(f))));
    },
    onUp: () => events.push('up'),
    onDown: (reason) => events.push(`down ${reason}`),
    onDrop: (reason) => drops.push(reason),
    ...options,
  });
  cleanup.push(() => socket.close());
  return { socket, messages, bursts, events, drops };
}

async function router(options: ConstructorParameters<typeof zmq.Router>[0] = {}, at = ANY): Promise<{ socket: zmq.Router; endpoint: string }> {
  const socket = new zmq.Router({ linger: 0, ...options });
  await socket.bind(at);
  cleanup.push(() => socket.close());
  return { socket, endpoint: socket.lastEndpoint! };
}

/** A bare TCP server speaking as much ZMTP as a test needs: `greet` sends a ROUTER's greeting and READY. */
async function rawServer(greet: boolean) {
  const connections: net.Socket[] = [];
  const received: Buffer[] = [];
  const server = net.createServer((s) => {
    connections.push(s);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => received.push(d));
    if (greet) s.write(Buffer.concat([encodeGreeting(), encodeReady('ROUTER')]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    for (const s of connections) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as net.AddressInfo).port;
  return { endpoint: `tcp://127.0.0.1:${port}`, connections, received };
}

/** A port nothing listens on (bound and closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe("steward's ZMTP DEALER: endpoints", () => {
  it('should take tcp (names, IPv4, bracketed IPv6) and ipc endpoints, and leave the rest to libzmq', () => {
    expect(parseConnectEndpoint('tcp://127.0.0.1:5555')).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 5555 });
    expect(parseConnectEndpoint('tcp://broker.internal:5555')).toMatchObject({ kind: 'tcp', host: 'broker.internal', port: 5555 });
    expect(parseConnectEndpoint('tcp://[::1]:5555')).toMatchObject({ kind: 'tcp', host: '::1', port: 5555 });
    expect(parseConnectEndpoint('ipc:///tmp/b.sock')).toMatchObject({ kind: 'ipc', path: '/tmp/b.sock' });
    expect(parseConnectEndpoint('ipc://@abstract')).toMatchObject({ kind: 'ipc', path: '\0abstract' });
    for (const other of ['tcp://127.0.0.1:*', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:70000', 'tcp://eth0;10.0.0.1:5555', 'inproc://x', 'pgm://eth0;239.1.1.1:5555', 'ipc://', 'bogus']) {
      expect(parseConnectEndpoint(other)).toBeUndefined();
    }
    expect(() => new ZmtpDealerSocket({ endpoint: 'inproc://x', onMessages: () => undefined })).toThrow(/tcp:\/\/HOST:PORT or ipc:\/\/PATH, not inproc:\/\/x/);
  });
});

describe("steward's ZMTP DEALER with libzmq ROUTERs (zeromq.js)", () => {
  it('should complete the handshake under its Identity, and be answered by that routing id', async () => {
    const r = await router();
    const d = dealer(r.endpoint, { routingId: b('worker-1') });
    await eventually(() => d.events.includes('up'));
    d.socket.send([[b('hello'), b('world')]]);
    const got = await receiveWithin(r.socket, 2000);
    expect(strings(got)).toEqual(['worker-1', 'hello', 'world']);
    await r.socket.send([b('worker-1'), b('reply')]);
    await eventually(() => d.messages.length === 1);
    expect(strings(d.messages[0]!)).toEqual(['reply']);
  });

  it('should be given an id of the ROUTER\'s making (zero byte first) when it has no Identity', async () => {
    const r = await router();
    const d = dealer(r.endpoint);
    d.socket.send([[b('anon')]]);
    const [id, body] = await receiveWithin(r.socket, 2000);
    expect(id!.length).toBe(5);
    expect(id![0]).toBe(0);
    expect(body!.toString()).toBe('anon');
  });

  it('should keep the order of bursts both ways, hand a read\'s messages on together, and carry 16 MiB frames', async () => {
    const r = await router();
    const d = dealer(r.endpoint, { routingId: b('burst') });
    const count = 5_000;
    const echo = (async () => {
      for (let i = 0; i < count + 1; i++) await r.socket.send(await r.socket.receive());
    })();
    // Sent before the connection is up: they wait, in order, for the handshake.
    for (let i = 0; i < count; i += 500) d.socket.send(Array.from({ length: 500 }, (_, k) => [b(String(i + k))]));
    const big = Buffer.alloc(16 * 1024 * 1024, 7);
    big[big.length - 1] = 9;
    d.socket.send([[big, b('end')]]);
    await echo;
    await eventually(() => d.messages.length === count + 1, 15_000);
    expect(d.messages.slice(0, count).map((m) => m[0]!.toString())).toEqual(Array.from({ length: count }, (_, i) => String(i)));
    const last = d.messages[count]!;
    expect(last[0]!.equals(big)).toBe(true);
    expect(last[1]!.toString()).toBe('end');
    // Several messages per read were handed on together.
    expect(d.bursts.length).toBeLessThan(count);
  }, 30_000);

  it('should queue what is sent while the peer is away and deliver it once the ROUTER is back on its port', async () => {
    const r1 = await router();
    const endpoint = r1.endpoint;
    const d = dealer(endpoint, { routingId: b('again'), reconnectIntervalMs: 20 });
    d.socket.send([[b('first')]]);
    expect(strings(await receiveWithin(r1.socket, 2000))).toEqual(['again', 'first']);
    r1.socket.close();
    await eventually(() => d.events.some((e) => e.startsWith('down')));
    d.socket.send([[b('while away')]]);
    expect(d.socket.backlog).toBe(1);
    const r2 = await router({}, endpoint);
    expect(strings(await receiveWithin(r2.socket, 5000))).toEqual(['again', 'while away']);
    expect(d.events.filter((e) => e === 'up').length).toBe(2);
    expect(d.socket.backlog).toBe(0);
  });

  it('should answer the ROUTER\'s PINGs, so a libzmq peer with heartbeats keeps the connection', async () => {
    const r = await router({ heartbeatInterval: 50, heartbeatTimeout: 150 });
    const disconnects: string[] = [];
    r.socket.events.on('disconnect', () => disconnects.push('disconnect'));
    const d = dealer(r.endpoint, { routingId: b('alive') });
    await eventually(() => d.events.includes('up'));
    // Many heartbeat timeouts' worth of silence from the application.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(disconnects).toEqual([]);
    expect(d.events).toEqual(['up']);
    d.socket.send([[b('still')]]);
    expect(strings(await receiveWithin(r.socket, 2000))).toEqual(['alive', 'still']);
  });

  it('should look a host name up when it connects', async () => {
    const r = await router();
    const port = r.endpoint.slice(r.endpoint.lastIndexOf(':') + 1);
    const d = dealer(`tcp://localhost:${port}`, { routingId: b('named-host') });
    d.socket.send([[b('by name')]]);
    expect(strings(await receiveWithin(r.socket, 2000))).toEqual(['named-host', 'by name']);
  });

  it('should connect over ipc', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'steward-dealer-')), 'r.sock');
    const r = await router({}, `ipc://${path}`);
    const d = dealer(`ipc://${path}`, { routingId: b('ipc') });
    d.socket.send([[b('over ipc')]]);
    expect(strings(await receiveWithin(r.socket, 2000))).toEqual(['ipc', 'over ipc']);
  });
});

describe("steward's ZMTP DEALER with a libzmq ROUTER in another process (pyzmq)", () => {
  async function pythonRouter(heartbeatMs?: number): Promise<string> {
    const child = spawn(PYTHON, [peer('zmq_echo_router.py'), ...(heartbeatMs ? [String(heartbeatMs)] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(() => {
      child.kill('SIGKILL');
    });
    let endpoint = '';
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line.startsWith('ENDPOINT ')) endpoint = line.slice('ENDPOINT '.length);
      if (line === 'READY') break;
    }
    return endpoint;
  }

  it('should talk to a pyzmq ROUTER under its Identity, both ways, with heartbeats on its side', async () => {
    const endpoint = await pythonRouter(50);
    const d = dealer(endpoint, { routingId: b('py-peer') });
    d.socket.send([[b('a'), b('who')], [b('b')]]);
    await eventually(() => d.messages.length === 2);
    expect(d.messages.map(strings)).toEqual([['a', 'who', 'id:py-peer'], ['b']]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(d.events).toEqual(['up']);
  });
});

describe("steward's ZMTP DEALER against peers that fail", () => {
  it('should keep a send for a refused connection, and deliver it to a listener that comes later', async () => {
    const port = await closedPort();
    const d = dealer(`tcp://127.0.0.1:${port}`, { routingId: b('late'), reconnectIntervalMs: 20, reconnectMaxIntervalMs: 200 });
    d.socket.send([[b('waiting')]]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(d.socket.connected).toBe(false);
    expect(d.socket.backlog).toBe(1);
    const r = await router({}, `tcp://127.0.0.1:${port}`);
    expect(strings(await receiveWithin(r.socket, 5000))).toEqual(['late', 'waiting']);
  });

  it('should close a connection that falls silent (ZMTP heartbeat timeout) and connect again', async () => {
    const server = await rawServer(true);
    const d = dealer(server.endpoint, { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 150, reconnectIntervalMs: 20 });
    await eventually(() => d.events.some((e) => e.startsWith('down')), 5000);
    expect(d.events[0]).toBe('up');
    expect(d.events[1]).toMatch(/^down nothing heard for 150 ms \(ZMTP heartbeat timeout\)/);
    // The silent peer was sent PINGs, and the DEALER came back for another connection.
    const frames = new FrameReader({ message: () => undefined, command: (c) => pings.push(readCommand(c)), skipped: () => undefined });
    const pings: unknown[] = [];
    frames.push(Buffer.concat(server.received).subarray(GREETING_SIZE));
    expect(pings).toContainEqual(expect.objectContaining({ name: 'PING' }));
    await eventually(() => server.connections.length >= 2);
  });

  it('should send no PING over a connection busy both ways, and PING again once it goes quiet', async () => {
    const server = await rawServer(true);
    const d = dealer(server.endpoint, { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 2_000 });
    await eventually(() => d.events.includes('up'));
    const pingsSince = (at: number): number => {
      let n = 0;
      const reader = new FrameReader({ message: () => undefined, command: (c) => (n += (readCommand(c) as { name?: string }).name === 'PING' ? 1 : 0), skipped: () => undefined });
      reader.push(Buffer.concat(server.received).subarray(at));
      return n;
    };
    // Reads and writes every 10 ms for at least twelve intervals: the connection needs no heartbeat (a
    // PING per interval would be twelve or more; a loaded machine may leave an interval without traffic).
    const busyFrom = Buffer.concat(server.received).length;
    for (let i = 0; i < 60; i++) {
      d.socket.send([[b(`m${i}`)]]);
      server.connections[0]!.write(encodeMessage([b(`r${i}`)]));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await eventually(() => d.messages.length === 60);
    expect(pingsSince(busyFrom)).toBeLessThanOrEqual(2);
    // Quiet for a few intervals: the PINGs come back.
    const quietFrom = Buffer.concat(server.received).length;
    await eventually(() => pingsSince(quietFrom) >= 2, 2_000);
  });

  it('should close (and count) a connection whose peer never completes the handshake, and try again', async () => {
    const server = await rawServer(false);
    const d = dealer(server.endpoint, { handshakeTimeoutMs: 100, reconnectIntervalMs: 20 });
    d.socket.send([[b('held')]]);
    await eventually(() => server.connections.length >= 2);
    expect(d.drops).toContain('zmtp_handshake_timeout');
    expect(d.events).toEqual([]);
    expect(d.socket.backlog).toBe(1);
  });

  it('should answer a PING with a PONG carrying its context', async () => {
    const server = await rawServer(true);
    const d = dealer(server.endpoint);
    await eventually(() => d.events.includes('up'));
    const at = Buffer.concat(server.received).length;
    server.connections[0]!.write(encodeCommand('PING', Buffer.concat([Buffer.from([0, 0]), b('ctx-1')])));
    await eventually(() => Buffer.concat(server.received).length > at);
    const commands: unknown[] = [];
    new FrameReader({ message: () => undefined, command: (c) => commands.push(readCommand(c)), skipped: () => undefined }).push(Buffer.concat(server.received).subarray(at));
    expect(commands).toEqual([{ type: 'zmtp.command', name: 'PONG', data: b('ctx-1') }]);
  });

  it('should count and close a peer that is not ZMTP, and try again', async () => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.resume();
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    let accepted = 0;
    server.on('connection', () => (accepted += 1));
    const d = dealer(`tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`, { reconnectIntervalMs: 20 });
    await eventually(() => accepted >= 2);
    expect(d.drops).toContain('zmtp_bad_signature');
    expect(d.events).toEqual([]);
  });

  it('should cut a connection whose peer sends a frame over maxMessageSize, never handing it on', async () => {
    const r = await router();
    const d = dealer(r.endpoint, { routingId: b('small'), maxMessageSize: 1024, reconnectIntervalMs: 20 });
    d.socket.send([[b('hi')]]);
    await receiveWithin(r.socket, 2000);
    await r.socket.send([b('small'), Buffer.alloc(4096)]);
    await eventually(() => d.drops.includes('zmtp_frame_too_large'));
    await eventually(() => d.events.filter((e) => e === 'up').length === 2);
    expect(d.messages).toEqual([]);
  });

  it('should drop (and count) what would pass maxQueuedBytes while no connection is up', async () => {
    const port = await closedPort();
    const d = dealer(`tcp://127.0.0.1:${port}`, { maxQueuedBytes: 1000 });
    expect(d.socket.send([[Buffer.alloc(600)], [Buffer.alloc(600)], [Buffer.alloc(100)]])).toBe(2);
    expect(d.drops).toEqual(['send_queue_full']);
    expect(d.socket.backlog).toBe(2);
  });
});

describe("steward's ZMTP DEALER closing", () => {
  it('should let queued messages leave within the linger, to a peer that comes up meanwhile', async () => {
    const port = await closedPort();
    const d = dealer(`tcp://127.0.0.1:${port}`, { routingId: b('linger'), reconnectIntervalMs: 20 });
    d.socket.send([[b('last words')]]);
    const closed = d.socket.close(5_000);
    const r = await router({}, `tcp://127.0.0.1:${port}`);
    expect(strings(await receiveWithin(r.socket, 5000))).toEqual(['linger', 'last words']);
    await closed;
    expect(d.drops).toEqual([]);
  });

  it('should drop (and count) what never left when closed without linger, and take no more', async () => {
    const port = await closedPort();
    const d = dealer(`tcp://127.0.0.1:${port}`);
    d.socket.send([[b('never')]]);
    await d.socket.close();
    expect(d.drops).toEqual(['closed']);
    expect(d.socket.send([[b('after')]])).toBe(0);
    expect(d.drops).toEqual(['closed', 'closed']);
  });

  it('should stop reading while paused, and hand on what waited once resumed', async () => {
    const r = await router();
    const d = dealer(r.endpoint, { routingId: b('p') });
    d.socket.send([[b('hi')]]);
    await receiveWithin(r.socket, 2000);
    d.socket.pause();
    await r.socket.send([b('p'), b('held')]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(d.messages).toEqual([]);
    d.socket.resume();
    await eventually(() => d.messages.length === 1);
    expect(strings(d.messages[0]!)).toEqual(['held']);
  });

  it('should write a burst of big and small frames as the peer reads them', async () => {
    const r = await router();
    const d = dealer(r.endpoint, { routingId: b('mixed') });
    const big = Buffer.alloc(100_000, 3);
    d.socket.send([[b('s1'), big, b('s2')], [b('s3')], [big]]);
    const got = [await receiveWithin(r.socket, 2000), await receiveWithin(r.socket, 2000), await receiveWithin(r.socket, 2000)];
    expect(got.map((m) => m.slice(1).map((f) => (f.length > 10 ? `big:${f.equals(big)}` : f.toString())))).toEqual([['s1', 'big:true', 's2'], ['s3'], ['big:true']]);
  });
});
