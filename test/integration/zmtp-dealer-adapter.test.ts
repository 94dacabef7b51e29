import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { createActor, fromCallback, type AnyActorRef } from 'xstate';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { Worker } from '../../src/api/worker.js';
import { rawCodec, type SocketPort, type ZmqOwnerEvent } from '../../src/actors/zmq-socket.js';
import { zmtpDealer, type ZmtpDealerConfig } from '../../src/actors/zmtp-dealer.js';
import { ZmtpDealerSocket } from '../../src/actors/zmtp-dealer-socket.js';
import type { SocketTransport } from '../../src/actors/socket-transport.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { supervisor } from '../../src/supervisor/index.js';
import { ANY, eventually, receiveWithin, strings } from '../helpers/zmq.js';

type Frames = { type: 'frames'; frames: Buffer[] };

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** The adapter under a supervisor with an owner that records what it is handed and keeps the port. */
async function start(connect: string, options: Partial<ZmtpDealerConfig<Frames, Buffer[]>> = {}) {
  const seen: Frames[] = [];
  const metrics = new Metrics('test');
  let port: SocketPort<Buffer[]> | undefined;
  const owner = fromCallback<ZmqOwnerEvent<Frames, Buffer[]>>(({ receive }) => {
    receive((event) => {
      if (event.type === 'zmq.ready') port = event.port;
      else seen.push(...event.messages);
    });
  });
  const root = createActor(
    supervisor({
      name: 'root',
      children: [
        { id: 'owner', systemId: 'owner', logic: owner },
        { id: 'sock', systemId: 'sock', shutdown: 3_000, logic: zmtpDealer({ name: 'dealer', connect, owner: 'owner', codec: rawCodec, metrics, ...options }) },
      ],
    }),
  ).start();
  cleanup.push(() => root.stop());
  await eventually(() => port !== undefined);
  const drops = (reason: string) => metrics.value('steward_dropped_total', { socket: 'dealer', reason });
  return { root, seen, port: port!, drops, sock: () => root.system.get('sock') as AnyActorRef };
}

async function router(at = ANY) {
  const socket = new zmq.Router({ linger: 0 });
  await socket.bind(at);
  cleanup.push(() => socket.close());
  return { socket, endpoint: socket.lastEndpoint! };
}

/** Start errors of the adapter alone (no supervisor): what a tree's start would fail with. */
async function startError(connect: string): Promise<unknown> {
  const errors: unknown[] = [];
  const actor = createActor(zmtpDealer({ name: 'dealer', connect, owner: 'owner', codec: rawCodec }));
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  cleanup.push(() => actor.stop());
  await eventually(() => errors.length === 1, 10_000);
  return errors[0];
}

describe("steward's ZMTP DEALER as a socket adapter (actors/zmtp-dealer.ts)", () => {
  it('should announce its port, send bursts through it under its routing id, and hand replies to its owner', async () => {
    const r = await router();
    const a = await start(r.endpoint, { options: { routingId: 'adapter-1' } });
    a.port.send([[Buffer.from('one')], [Buffer.from('two'), Buffer.from('frames')]]);
    expect(strings(await receiveWithin(r.socket, 2000))).toEqual(['adapter-1', 'one']);
    expect(strings(await receiveWithin(r.socket, 2000))).toEqual(['adapter-1', 'two', 'frames']);
    await r.socket.send(['adapter-1', 'back']);
    await eventually(() => a.seen.length === 1);
    expect(strings(a.seen[0]!.frames)).toEqual(['back']);
  });

  it('should take zmq.send events too, and drop (counted) a message over its frame limit', async () => {
    const r = await router();
    const a = await start(r.endpoint, { options: { routingId: 'f' }, maxFrames: 3 });
    a.sock().send({ type: 'zmq.send', messages: [[Buffer.from('evt')]] });
    expect(strings(await receiveWithin(r.socket, 2000))).toEqual(['f', 'evt']);
    await r.socket.send(['f', '1', '2', '3', '4']);
    await r.socket.send(['f', 'ok']);
    await eventually(() => a.seen.length === 1);
    expect(strings(a.seen[0]!.frames)).toEqual(['ok']);
    expect(await a.drops('too_many_frames')).toBe(1);
  });

  it('should hold what it read while its owner has paused it, and hand it over on resume', async () => {
    const r = await router();
    const a = await start(r.endpoint, { options: { routingId: 'p' } });
    a.port.send([[Buffer.from('hi')]]);
    await receiveWithin(r.socket, 2000);
    a.sock().send({ type: 'zmq.pause' });
    await r.socket.send(['p', 'waited']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(a.seen).toEqual([]);
    a.sock().send({ type: 'zmq.resume' });
    await eventually(() => a.seen.length === 1);
    expect(strings(a.seen[0]!.frames)).toEqual(['waited']);
  });

  it('should let what its owner sent leave within the linger on shutdown, even to a peer that is not up yet', async () => {
    const spare = net.createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const port = (spare.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const a = await start(`tcp://127.0.0.1:${port}`, { options: { routingId: 'bye', reconnectInterval: 20 }, closeLingerMs: 3_000 });
    a.port.send([[Buffer.from('goodbye')]]);
    a.sock().send({ type: 'lifecycle.shutdown' });
    const r = await router(`tcp://127.0.0.1:${port}`);
    expect(strings(await receiveWithin(r.socket, 3000))).toEqual(['bye', 'goodbye']);
  });

  it('should fail its start with an EndpointError naming an endpoint it cannot use', async () => {
    expect(await startError('pgm://eth0;239.192.1.1:5555')).toMatchObject({ name: 'EndpointError', code: 'EPROTONOSUPPORT' });
    expect(String(await startError('pgm://eth0;239.192.1.1:5555'))).toContain("dealer: cannot connect pgm://eth0;239.192.1.1:5555: steward's ZMTP DEALER connects to tcp://HOST:PORT or ipc://PATH");
    expect(await startError('tcp://127.0.0.1:99999')).toMatchObject({ name: 'EndpointError', code: 'EINVAL' });
    const unknown = await startError('tcp://no-such-host.invalid:5555');
    expect(unknown).toMatchObject({ name: 'EndpointError', endpoint: 'tcp://no-such-host.invalid:5555' });
    expect(String(unknown)).toContain('cannot resolve the host name "no-such-host.invalid"');
  });
});

/** Counts reads steward's ZMTP DEALER hands on in this process, to tell which stack a Client or Worker used. */
function countZmtpReads() {
  const proto = ZmtpDealerSocket.prototype as unknown as { deliver: (messages: Buffer[][]) => void };
  const original = proto.deliver;
  const counter = { reads: 0 };
  proto.deliver = function deliver(this: unknown, messages: Buffer[][]) {
    counter.reads += 1;
    original.call(this, messages);
  };
  cleanup.push(() => {
    proto.deliver = original;
  });
  return counter;
}

describe("Client and Worker on steward's ZMTP DEALER, through steward's broker on both its transports", () => {
  const cases: Array<[broker: SocketTransport, peers: SocketTransport]> = [
    ['auto', 'auto'],
    ['libzmq', 'auto'],
    ['auto', 'libzmq'],
  ];
  for (const [brokerTransport, peers] of cases) {
    it(`should carry small and 16 MiB requests both ways and many at once (broker ${brokerTransport}, client and worker ${peers})`, async () => {
      const reads = countZmtpReads();
      const b = await Broker.start({ frontend: ANY, backend: ANY, transport: brokerTransport, drainTimeoutMs: 200 });
      cleanup.push(() => b.stop());
      const { frontend, backend } = await b.endpoints();
      const w = Worker.start({ broker: backend, service: 'echo', concurrency: 50, transport: peers, identity: 'echo-1', drainTimeoutMs: 500, handler: (req) => req.body });
      cleanup.push(() => w.stop());
      await w.registered();
      const c = new Client({ broker: frontend, transport: peers, timeout: 10_000, retries: 0 });
      cleanup.push(() => c.close());
      expect(strings(await c.call('echo', ['hello', 'world']))).toEqual(['hello', 'world']);
      const big = Buffer.alloc(16 * 1024 * 1024 - 4096, 5);
      big[big.length - 1] = 6;
      const [back] = await c.call('echo', [big]);
      expect(back!.equals(big)).toBe(true);
      const many = await Promise.all(Array.from({ length: 500 }, (_, i) => c.call('echo', [String(i)])));
      expect(many.map((m) => m[0]!.toString())).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
      if (peers === 'auto') expect(reads.reads).toBeGreaterThan(0);
      else expect(reads.reads).toBe(0);
    }, 30_000);
  }

  it('should notice at once that the broker went away, and send through it again once it is back on its port', async () => {
    const b = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200 });
    const { frontend, backend } = await b.endpoints();
    const w = Worker.start({ broker: backend, service: 'echo', heartbeatIntervalMs: 100, drainTimeoutMs: 500, handler: (req) => req.body });
    cleanup.push(() => w.stop());
    await w.registered();
    // Pings every 10 s, silence for 30 s: only the closed connection can tell the client within 2 s.
    const c = new Client({ broker: frontend, timeout: 2_000, retries: 3, heartbeat: 10_000 });
    cleanup.push(() => c.close());
    expect(strings(await c.call('echo', ['before']))).toEqual(['before']);
    await b.stop();
    await eventually(() => c.brokerStates()[0]!.state === 'dead', 2_000);
    const again = await Broker.start({ frontend, backend, heartbeatIntervalMs: 100, drainTimeoutMs: 200 });
    cleanup.push(() => again.stop());
    // The worker registers again at its next heartbeat; the call waits for it in the broker's queue.
    expect(strings(await c.call('echo', ['after'], { waitForWorker: true }))).toEqual(['after']);
  }, 20_000);
});
