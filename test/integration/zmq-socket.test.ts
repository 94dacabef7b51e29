import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { createActor, fromCallback, type AnyActorRef, type EventObject } from 'xstate';
import { zmqSocket, rawCodec, reject, type Codec, type ZmqOwnerEvent } from '../../src/actors/zmq-socket.js';
import { supervisor } from '../../src/supervisor/index.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { ANY, eventually, freeEndpoint, receiveWithin, strings } from '../helpers/zmq.js';

type Frames = { type: 'frames'; frames: Buffer[] };

/** An owner that echoes every batch back through the adapter and records what it saw. */
function echoOwner(seen: ZmqOwnerEvent<Frames>[]) {
  return fromCallback<ZmqOwnerEvent<Frames>>(({ receive, system }) => {
    receive((event) => {
      seen.push(event);
      if (event.type === 'zmq.batch') {
        (system.get('sock') as AnyActorRef).send({ type: 'zmq.send', messages: event.messages.map((m) => m.frames) });
      }
    });
  });
}

const cleanup: Array<() => void> = [];
afterEach(() => {
  while (cleanup.length) cleanup.pop()!();
});

function endpointOf(seen: ZmqOwnerEvent<Frames>[]): string | undefined {
  const ready = seen.findLast((e) => e.type === 'zmq.ready');
  return ready?.type === 'zmq.ready' ? ready.endpoints[0] : undefined;
}

describe('zmq socket adapter', () => {
  it('should deliver received frames to its owner and send commands as frames', async () => {
    const seen: ZmqOwnerEvent<Frames>[] = [];
    const root = createActor(
      supervisor({
        name: 'root',
        children: [
          { id: 'owner', systemId: 'owner', logic: echoOwner(seen) },
          { id: 'sock', systemId: 'sock', logic: zmqSocket({ name: 'test', kind: 'router', bind: [ANY], owner: 'owner', codec: rawCodec }) },
        ],
      }),
    ).start();
    cleanup.push(() => root.stop());
    await eventually(() => endpointOf(seen) !== undefined);
    const dealer = new zmq.Dealer({ linger: 0 });
    cleanup.push(() => dealer.close());
    dealer.connect(endpointOf(seen)!);
    await dealer.send(['hello', 'world']);
    expect(strings(await receiveWithin(dealer, 2000))).toEqual(['hello', 'world']);
  });

  it('should count frames its codec rejects and keep serving', async () => {
    const seen: ZmqOwnerEvent<Frames>[] = [];
    const metrics = new Metrics('test');
    const picky: Codec<Frames, Buffer[]> = {
      decode: (frames) => (frames[1]?.toString() === 'ok' ? { type: 'frames', frames } : reject('wrong_frame_count')),
      encode: (frames) => frames,
    };
    const root = createActor(
      supervisor({
        name: 'root',
        children: [
          { id: 'owner', systemId: 'owner', logic: echoOwner(seen) },
          { id: 'sock', systemId: 'sock', logic: zmqSocket({ name: 'picky', kind: 'router', bind: [ANY], owner: 'owner', codec: picky, metrics }) },
        ],
      }),
    ).start();
    cleanup.push(() => root.stop());
    await eventually(() => endpointOf(seen) !== undefined);
    const dealer = new zmq.Dealer({ linger: 0 });
    cleanup.push(() => dealer.close());
    dealer.connect(endpointOf(seen)!);
    for (let i = 0; i < 10; i++) await dealer.send(['bad']);
    await dealer.send(['ok']);
    expect(strings(await receiveWithin(dealer, 2000))).toEqual(['ok']);
    expect(await metrics.value('steward_dropped_total', { socket: 'picky', reason: 'wrong_frame_count' })).toBe(10);
  });

  it('should count sends to unknown peers as drops instead of hanging', async () => {
    const seen: ZmqOwnerEvent<Frames>[] = [];
    const metrics = new Metrics('test');
    const root = createActor(
      supervisor({
        name: 'root',
        children: [
          { id: 'owner', systemId: 'owner', logic: echoOwner(seen) },
          { id: 'sock', systemId: 'sock', logic: zmqSocket({ name: 'r', kind: 'router', bind: [ANY], owner: 'owner', codec: rawCodec, metrics }) },
        ],
      }),
    ).start();
    cleanup.push(() => root.stop());
    await eventually(() => endpointOf(seen) !== undefined);
    const sock = root.system.get('sock') as AnyActorRef;
    sock.send({ type: 'zmq.send', messages: [[Buffer.from('nobody'), Buffer.from('x')]] });
    await eventually(async () => (await metrics.value('steward_dropped_total', { reason: 'unroutable' })) === 1);
  });

  it('should close its socket when it crashes so the restarted adapter binds the same port', async () => {
    const seen: ZmqOwnerEvent<Frames>[] = [];
    // Find a free port first, then have the adapter bind it explicitly (a restart re-binds it).
    const endpoint = await freeEndpoint();
    const logic = zmqSocket({ name: 'c', kind: 'router', bind: [endpoint], owner: 'owner', codec: rawCodec });
    const root = createActor(
      supervisor({
        name: 'root',
        backoff: { initial: 0, max: 0 },
        children: [
          { id: 'owner', systemId: 'owner', logic: echoOwner(seen) },
          { id: 'sock', systemId: 'sock', logic },
        ],
      }),
    ).start();
    cleanup.push(() => root.stop());
    await eventually(() => seen.filter((e) => e.type === 'zmq.ready').length === 1);
    // An injected crash: subscribing a ROUTER throws inside the adapter's handler.
    (root.system.get('sock') as AnyActorRef).send({ type: 'zmq.subscribe', topic: 'x' } as EventObject);
    await eventually(() => seen.filter((e) => e.type === 'zmq.ready').length === 2, 10_000);
    expect(endpointOf(seen)).toBe(endpoint);
    const dealer = new zmq.Dealer({ linger: 0 });
    cleanup.push(() => dealer.close());
    dealer.connect(endpoint);
    await dealer.send(['after restart']);
    expect(strings(await receiveWithin(dealer, 2000))).toEqual(['after restart']);
  });
});
