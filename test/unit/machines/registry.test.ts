import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock, type AnyActorRef } from 'xstate';
import type { ZmqCommand } from '../../../src/actors/zmq-socket.js';
import { registryMachine } from '../../../src/machines/registry/registry.machine.js';
import { PortPool } from '../../../src/machines/registry/port-pool.js';
import {
  decodeRegistryRequest,
  decodeReply,
  parseGrant,
  parseLocation,
  request,
  type Reply,
  type RegistryInbound,
} from '../../../src/protocol/keywords.js';
import { dynamicSupervisor, supervisor } from '../../../src/supervisor/index.js';

const peer = Buffer.from('peer-1');

function msg(id: string, command: string, ...args: string[]): RegistryInbound {
  const m = decodeRegistryRequest([peer, ...request(id, command as never, args.map((a) => Buffer.from(a)))]);
  if (m.type === 'rejected') throw new Error(m.reason);
  return m;
}

/** The registry machine between a fake socket (records what it is told to send) and real entry actors. */
function boot(options: { firstPort?: number; lastPort?: number } = {}) {
  const clock = new SimulatedClock();
  let t = 0;
  const sent: Buffer[][] = [];
  const fakeSocket = fromCallback<ZmqCommand<Buffer[]>>(({ receive }) => {
    receive((e) => {
      if (e.type === 'zmq.send') sent.push(...e.messages);
    });
  });
  const root = createActor(
    supervisor({
      name: 'r',
      now: () => t,
      children: [
        { id: 'socket', systemId: 'r.socket', logic: fakeSocket },
        {
          id: 'registry',
          systemId: 'r.registry',
          logic: registryMachine({
            self: 'r.registry',
            socket: 'r.socket',
            entries: 'r.entries',
            firstPort: options.firstPort ?? 7000,
            lastPort: options.lastPort ?? 7003,
            heartbeatMs: 100,
            expiryMs: 300,
            suspectAfterMs: 200,
            now: () => t,
          }),
        },
        { id: 'entries', systemId: 'r.entries', logic: dynamicSupervisor({ name: 'r.entries', shards: 2, now: () => t }) },
      ],
    }),
    { clock },
  ).start();
  const machine = () => root.system.get('r.registry') as AnyActorRef;
  /** Sends one burst and returns the replies it produced. */
  const ask = (...messages: RegistryInbound[]): Reply[] => {
    const from = sent.length;
    machine().send({ type: 'zmq.batch', socket: 'r.socket', messages });
    return sent.slice(from).map((frames) => {
      const r = decodeReply(frames.slice(1));
      if (r.type === 'rejected') throw new Error(r.reason);
      return r;
    });
  };
  const one = (m: RegistryInbound): Reply => ask(m)[0]!;
  const advance = (ms: number) => {
    t += ms;
    clock.increment(ms);
  };
  return { root, ask, one, advance, entry: (svc: string, gen: number) => root.system.get(`r.entries.${svc}.${gen}`) as AnyActorRef | undefined };
}

function grantOf(reply: Reply) {
  if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
  const g = parseGrant(reply.payload);
  if ('type' in g) throw new Error(g.reason);
  return g;
}

function locationOf(reply: Reply) {
  if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
  const l = parseLocation(reply.payload);
  if ('type' in l) throw new Error(l.reason);
  return l;
}

describe('registry machine', () => {
  it('should grant a port pair, start an entry actor, and answer lookups', () => {
    const r = boot();
    const g = grantOf(r.one(msg('1', 'register', 'svc', 'tok', '127.0.0.1')));
    expect(g).toEqual({ dispatch: 'tcp://127.0.0.1:7000', broadcast: 'tcp://127.0.0.1:7001', heartbeatMs: 100, expiryMs: 300 });
    expect(r.entry('svc', 1)).toBeDefined();
    expect(locationOf(r.one(msg('2', 'lookup', 'svc')))).toEqual({ dispatch: g.dispatch, broadcast: g.broadcast, state: 'registered' });
    expect(r.one(msg('3', 'lookup', 'nope'))).toMatchObject({ ok: false, code: 'no-such-service', id: '3' });
  });

  it('should answer an exhausted range with an error reply and keep running', () => {
    const r = boot();
    grantOf(r.one(msg('1', 'register', 'a', 't1', 'h')));
    grantOf(r.one(msg('2', 'register', 'b', 't2', 'h')));
    const refused = r.one(msg('3', 'register', 'c', 't3', 'h'));
    expect(refused).toMatchObject({ ok: false, code: 'ports-exhausted' });
    expect(refused.ok === false && refused.message).toMatch(/7000-7003.*widen first-port\/last-port/);
    expect(r.root.getSnapshot().status).toBe('active');
    expect(locationOf(r.one(msg('4', 'lookup', 'a'))).state).toBe('registered');
  });

  it('should flag a dispatcher suspect after missed heartbeats, then drop it and free its ports at the expiry', () => {
    const r = boot({ firstPort: 7000, lastPort: 7001 });
    grantOf(r.one(msg('1', 'register', 'svc', 'tok', 'h')));
    r.advance(199);
    expect(locationOf(r.one(msg('2', 'lookup', 'svc'))).state).toBe('registered');
    r.advance(1);
    expect(locationOf(r.one(msg('3', 'lookup', 'svc'))).state).toBe('suspect');
    expect(r.one(msg('4', 'register', 'other', 't2', 'h'))).toMatchObject({ ok: false, code: 'ports-exhausted' });
    r.advance(100);
    expect(r.one(msg('5', 'lookup', 'svc'))).toMatchObject({ ok: false, code: 'no-such-service' });
    expect(r.entry('svc', 1)).toBeUndefined();
    // The freed pair goes to the next dispatcher.
    expect(grantOf(r.one(msg('6', 'register', 'other', 't2', 'h'))).dispatch).toBe('tcp://h:7000');
  });

  it('should keep a heartbeating dispatcher registered indefinitely, and revive a suspect one', () => {
    const r = boot();
    grantOf(r.one(msg('1', 'register', 'svc', 'tok', 'h')));
    for (let i = 0; i < 20; i++) {
      r.advance(90);
      expect(r.one(msg(`hb${i}`, 'heartbeat', 'svc', 'tok'))).toMatchObject({ ok: true });
    }
    r.advance(250);
    expect(locationOf(r.one(msg('l', 'lookup', 'svc'))).state).toBe('suspect');
    r.one(msg('hb', 'heartbeat', 'svc', 'tok'));
    expect(locationOf(r.one(msg('l2', 'lookup', 'svc'))).state).toBe('registered');
    r.advance(250);
    expect(locationOf(r.one(msg('l3', 'lookup', 'svc'))).state).toBe('suspect');
  });

  it('should tell a heartbeat it does not know to register again', () => {
    const r = boot();
    expect(r.one(msg('1', 'heartbeat', 'svc', 'tok'))).toMatchObject({ ok: false, code: 'no-such-service' });
  });

  it('should give the same grant to the same dispatcher again, and refuse the service to another', () => {
    const r = boot();
    const first = grantOf(r.one(msg('1', 'register', 'svc', 'tok', 'h')));
    expect(grantOf(r.one(msg('2', 'register', 'svc', 'tok', 'h')))).toEqual(first);
    expect(r.entry('svc', 1)).toBeDefined();
    const taken = r.one(msg('3', 'register', 'svc', 'intruder', 'h'));
    expect(taken).toMatchObject({ ok: false, code: 'service-taken' });
    expect(r.one(msg('4', 'heartbeat', 'svc', 'intruder'))).toMatchObject({ ok: false, code: 'service-taken' });
  });

  it('should free the ports and stop the entry on unregister', () => {
    const r = boot({ firstPort: 7000, lastPort: 7001 });
    grantOf(r.one(msg('1', 'register', 'svc', 'tok', 'h')));
    expect(r.one(msg('2', 'unregister', 'svc', 'tok'))).toMatchObject({ ok: true });
    expect(r.entry('svc', 1)).toBeUndefined();
    expect(grantOf(r.one(msg('3', 'register', 'b', 't', 'h'))).dispatch).toBe('tcp://h:7000');
    expect(r.one(msg('4', 'unregister', 'b', 'not-mine'))).toMatchObject({ ok: false, code: 'no-such-service' });
  });

  it('should hand other ports to a dispatcher that could not bind its own, and set those aside', () => {
    const r = boot({ firstPort: 7000, lastPort: 7005 });
    grantOf(r.one(msg('1', 'register', 'svc', 'tok', 'h')));
    const again = grantOf(r.one(msg('2', 'register', 'svc', 'tok', 'h', '', '7000,7001')));
    expect(again.dispatch).toBe('tcp://h:7002');
    expect(r.entry('svc', 1)).toBeUndefined();
    expect(r.entry('svc', 2)).toBeDefined();
    expect(grantOf(r.one(msg('3', 'register', 'b', 't', 'h'))).dispatch).toBe('tcp://h:7004');
    expect(r.one(msg('4', 'register', 'c', 't', 'h'))).toMatchObject({ ok: false, code: 'ports-exhausted' });
  });

  it('should give a dispatcher its preferred pair back after a restart, when free', () => {
    const r = boot({ firstPort: 7000, lastPort: 7005 });
    expect(grantOf(r.one(msg('1', 'register', 'svc', 'tok', 'h', '7004'))).dispatch).toBe('tcp://h:7004');
    expect(grantOf(r.one(msg('2', 'register', 'b', 't', 'h', '7004'))).dispatch).toBe('tcp://h:7000');
  });

  it('should list services and answer invalid requests with their error', () => {
    const r = boot();
    r.one(msg('1', 'register', 'b', 't1', 'h'));
    r.one(msg('2', 'register', 'a', 't2', 'h'));
    const list = r.one(msg('3', 'list'));
    expect(list.ok && list.payload.map(String)).toEqual(['a', 'b']);
    expect(r.one(msg('4', 'lookup'))).toMatchObject({ ok: false, code: 'bad-request' });
  });

  it('should answer a whole burst in one send, in order', () => {
    const r = boot();
    const replies = r.ask(msg('a', 'lookup', 'x'), msg('b', 'register', 'x', 't', 'h'), msg('c', 'lookup', 'x'));
    expect(replies.map((x) => [x.id, x.ok])).toEqual([
      ['a', false],
      ['b', true],
      ['c', true],
    ]);
  });
});

describe('port pool', () => {
  it('should hand out pairs in order, freed pairs last, and skip excluded ports', () => {
    const pool = new PortPool(100, 106, [102]);
    expect(pool.total).toBe(2);
    expect(pool.allocate(0)).toEqual({ dispatch: 100, broadcast: 101 });
    expect(pool.allocate(0)).toEqual({ dispatch: 104, broadcast: 105 });
    expect(pool.allocate(0)).toBeUndefined();
    pool.release({ dispatch: 100, broadcast: 101 });
    pool.release({ dispatch: 100, broadcast: 101 });
    expect(pool.available).toBe(1);
  });

  it('should not hand out a blocked port until its time has passed', () => {
    const pool = new PortPool(100, 103);
    pool.block(101, 50);
    expect(pool.allocate(10)).toEqual({ dispatch: 102, broadcast: 103 });
    expect(pool.allocate(10)).toBeUndefined();
    expect(pool.allocate(50)).toEqual({ dispatch: 100, broadcast: 101 });
  });
});
