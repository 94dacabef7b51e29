import * as net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { createActor, fromCallback, type AnyActorRef } from 'xstate';
import { rawCodec, type ZmqOwnerEvent } from '../../src/actors/zmq-socket.js';
import { zmtpRouter, type ZmtpRouterConfig } from '../../src/actors/zmtp-router.js';
import { supervisor } from '../../src/supervisor/index.js';
import { Metrics } from '../../src/metrics/registry.js';
import { ANY, eventually, receiveWithin, strings } from '../helpers/zmq.js';

type Frames = { type: 'frames'; frames: Buffer[] };

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/**
 * steward's ZMTP ROUTER (actors/zmtp-router.ts) under a supervisor, with an
 * owner that records what it is given; `echo` sends every message back.
 */
async function start(options: Partial<ZmtpRouterConfig<Frames, Buffer[]>> & { echo?: boolean } = {}) {
  const seen: Frames[] = [];
  const metrics = new Metrics('test');
  let endpoint: string | undefined;
  const owner = fromCallback<ZmqOwnerEvent<Frames>>(({ receive, system }) => {
    receive((event) => {
      if (event.type === 'zmq.ready') endpoint = event.endpoints[0];
      if (event.type !== 'zmq.batch') return;
      seen.push(...event.messages);
      if (options.echo) (system.get('sock') as AnyActorRef).send({ type: 'zmq.send', messages: event.messages.map((m) => m.frames) });
    });
  });
  const { echo: _echo, ...config } = options;
  const root = createActor(
    supervisor({
      name: 'root',
      children: [
        { id: 'owner', systemId: 'owner', logic: owner },
        { id: 'sock', systemId: 'sock', logic: zmtpRouter({ name: 'zmtp', bind: [ANY], owner: 'owner', codec: rawCodec, metrics, ...config }) },
      ],
    }),
  ).start();
  cleanup.push(() => {
    root.stop();
  });
  await eventually(() => endpoint !== undefined);
  const send = (...messages: Buffer[][]) => (root.system.get('sock') as AnyActorRef).send({ type: 'zmq.send', messages });
  const drops = (reason: string) => metrics.value('steward_dropped_total', { socket: 'zmtp', reason });
  return { endpoint: endpoint!, seen, send, drops, root };
}

function dealer(endpoint: string, routingId?: string): zmq.Dealer {
  const socket = new zmq.Dealer({ linger: 0, ...(routingId !== undefined ? { routingId } : {}) });
  socket.connect(endpoint);
  cleanup.push(() => socket.close());
  return socket;
}

describe("steward's ZMTP ROUTER with libzmq DEALERs (zeromq.js)", () => {
  it('should hand a named peer messages to its owner with the routing id first, and route replies by that id', async () => {
    const r = await start();
    const d = dealer(r.endpoint, 'node-1');
    await d.send(['sid', 'uwsgi', 'body']);
    await eventually(() => r.seen.length === 1);
    expect(strings(r.seen[0]!.frames)).toEqual(['node-1', 'sid', 'uwsgi', 'body']);
    r.send([Buffer.from('node-1'), Buffer.from('sid'), Buffer.from('headers'), Buffer.from('HTTP/1.1 200 OK\r\n\r\n')]);
    expect(strings(await receiveWithin(d, 2000))).toEqual(['sid', 'headers', 'HTTP/1.1 200 OK\r\n\r\n']);
  });

  it('should give a peer without a name an id of its own (zero byte first) and answer it by that id', async () => {
    const r = await start({ echo: true });
    const d = dealer(r.endpoint);
    await d.send(['hi']);
    expect(strings(await receiveWithin(d, 2000))).toEqual(['hi']);
    const id = r.seen[0]!.frames[0]!;
    expect(id.length).toBe(5);
    expect(id[0]).toBe(0);
  });

  it('should keep the order of a burst both ways, and carry big frames', async () => {
    const r = await start({ echo: true });
    const d = dealer(r.endpoint, 'n');
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const count = 5_000;
    for (let i = 0; i < count; i++) await d.send([String(i)]);
    await d.send([big, 'end']);
    const got: string[] = [];
    for (let i = 0; i < count; i++) got.push((await receiveWithin(d, 5000))[0]!.toString());
    expect(got).toEqual(Array.from({ length: count }, (_, i) => String(i)));
    const last = await receiveWithin(d, 5000);
    expect(last[0]!.equals(big)).toBe(true);
    expect(last[1]!.toString()).toBe('end');
  });

  it('should count a message to an unknown peer as a drop, never wait for it', async () => {
    const r = await start();
    r.send([Buffer.from('nobody'), Buffer.from('x')]);
    await eventually(async () => (await r.drops('unroutable')) === 1);
  });

  it('should hand a name over to a new connection at once; the old one is heard under an anonymous id', async () => {
    const r = await start();
    const first = dealer(r.endpoint, 'web1');
    await first.send(['from first']);
    await eventually(() => r.seen.length === 1);
    const second = dealer(r.endpoint, 'web1');
    await second.send(['from second']);
    await eventually(() => r.seen.length === 2);
    r.send([Buffer.from('web1'), Buffer.from('to the newest')]);
    expect(strings(await receiveWithin(second, 2000))).toEqual(['to the newest']);
    await first.send(['first again']);
    await eventually(() => r.seen.length === 3);
    const [id, body] = r.seen[2]!.frames;
    expect(body!.toString()).toBe('first again');
    expect(id![0]).toBe(0);
  });

  it('should refuse a newcomer under a name in use when handover is off', async () => {
    const r = await start({ handover: false });
    const first = dealer(r.endpoint, 'web1');
    await first.send(['one']);
    await eventually(() => r.seen.length === 1);
    const second = dealer(r.endpoint, 'web1');
    void second.send(['two']).catch(() => undefined);
    r.send([Buffer.from('web1'), Buffer.from('still the first')]);
    expect(strings(await receiveWithin(first, 2000))).toEqual(['still the first']);
  });

  it('should close a connection that speaks something else, count why, and keep serving ZMTP peers', async () => {
    const r = await start({ echo: true });
    const port = Number(new URL(r.endpoint.replace('tcp://', 'http://')).port);
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.resume();
      s.on('error', () => undefined);
      s.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 3000);
    });
    expect(closed).toBe(true);
    expect(await r.drops('zmtp_bad_signature')).toBe(1);
    const d = dealer(r.endpoint, 'ok');
    await d.send(['still here']);
    expect(strings(await receiveWithin(d, 2000))).toEqual(['still here']);
  });

  it('should close a connection whose handshake does not finish in time', async () => {
    const r = await start({ handshakeTimeoutMs: 100 });
    const port = Number(new URL(r.endpoint.replace('tcp://', 'http://')).port);
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.resume();
      s.on('error', () => undefined);
      s.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 3000);
    });
    expect(closed).toBe(true);
    expect(await r.drops('zmtp_handshake_timeout')).toBe(1);
  });

  it('should cut off a peer that sends a frame over the size limit', async () => {
    const r = await start({ maxMessageSize: 1024 });
    const d = dealer(r.endpoint, 'big');
    await d.send([Buffer.alloc(4096)]);
    await eventually(async () => (await r.drops('zmtp_frame_too_large')) === 1);
    expect(r.seen).toEqual([]);
  });

  it('should bind an ipc endpoint', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'steward-zmtp-')), 'gw.sock');
    const r = await start({ bind: [`ipc://${path}`], echo: true });
    expect(r.endpoint).toBe(`ipc://${path}`);
    const d = dealer(r.endpoint, 'ipc-node');
    await d.send(['over ipc']);
    expect(strings(await receiveWithin(d, 2000))).toEqual(['over ipc']);
  });

  it('should fail to start with a message naming an endpoint it cannot bind', async () => {
    const errors: unknown[] = [];
    const logic = zmtpRouter({ name: 'zmtp', bind: ['pgm://eth0;239.192.1.1:5555'], owner: 'owner', codec: rawCodec });
    const actor = createActor(logic);
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    await eventually(() => errors.length === 1);
    expect(String(errors[0])).toMatch(/zmtp: cannot bind pgm:\/\/eth0;239\.192\.1\.1:5555: steward's ZMTP ROUTER binds tcp:\/\/HOST:PORT or ipc:\/\/PATH/);
  });

  it('should fail its start, naming the endpoint and the cause, when the port is taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as net.AddressInfo).port;
    const errors: unknown[] = [];
    const actor = createActor(zmtpRouter({ name: 'zmtp', bind: [`tcp://127.0.0.1:${port}`], owner: 'owner', codec: rawCodec }));
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    await eventually(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ name: 'EndpointError', code: 'EADDRINUSE', endpoint: `tcp://127.0.0.1:${port}` });
    expect(String(errors[0])).toContain('address already in use');
  });
});
