import { describe, expect, it } from 'vitest';
import { createActor, createMachine, fromCallback, SimulatedClock, type AnyActorRef } from 'xstate';
import { gatewayMachine, type GatewayEmitted } from '../../../src/machines/gateway/gateway.machine.js';
import { heartbeatMonitor } from '../../../src/machines/heartbeat/heartbeat-monitor.js';
import { GatewayRegistry, type SessionHandle } from '../../../src/machines/gateway/registry.js';
import { NodeTable } from '../../../src/machines/gateway/presence.js';
import type { SessionEvent } from '../../../src/machines/gateway/session-types.js';
import type { ZmqCommand } from '../../../src/actors/zmq-socket.js';
import type { BackendKind, GatewayOutbound } from '../../../src/protocol/blastbeat/message.js';

const PING_FREQ = 1000;
const SWEEP = 100;

function fakeSession(sid: string, node: string | undefined, deadline = 0) {
  const events: SessionEvent[] = [];
  const handle: SessionHandle & { events: SessionEvent[]; deadlineAt: number } = {
    sid: Buffer.from(sid),
    events,
    deadlineAt: deadline,
    send: (e) => events.push(e),
    backend: (kind, body) => events.push({ type: 'backend.message', kind, body }),
    deadline: () => handle.deadlineAt,
    node: () => node,
  };
  return handle;
}

function boot(vhosts = [{ name: 'h', nodes: ['n1', 'n2'], aliases: ['alias.h'], timeoutMs: 1000, maxSessions: 0 }]) {
  const clock = new SimulatedClock();
  const registry = new GatewayRegistry(vhosts, PING_FREQ);
  const sent: GatewayOutbound[][] = [];
  let announced = 0;
  const fakeZmq = fromCallback<ZmqCommand<GatewayOutbound>>(({ receive }) => {
    receive((cmd) => {
      if (cmd.type === 'zmq.send') sent.push([...cmd.messages]);
      if (cmd.type === 'zmq.announce') announced += 1;
    });
  });
  const root = createMachine({
    invoke: [
      { id: 'zmq', systemId: 'gw.zmq', src: fakeZmq },
      { id: 'router', systemId: 'gw.router', src: gatewayMachine({ registry, socket: 'gw.zmq', now: () => clock.now() }) },
      { id: 'sweep', systemId: 'gw.sweep', src: heartbeatMonitor, input: { target: 'gw.router', intervalMs: SWEEP } },
    ],
  });
  const actor = createActor(root, { clock });
  actor.start();
  const router = actor.system.get('gw.router') as AnyActorRef;
  const emitted: GatewayEmitted[] = [];
  for (const type of ['node.up', 'node.down', 'gateway.listening'] as const) router.on(type, (e: GatewayEmitted) => emitted.push(e));
  const message = (node: string, kind: BackendKind, sid = '', body = '') => ({
    type: 'backend.message' as const,
    node: Buffer.from(node),
    sid: Buffer.from(sid),
    kind,
    body: Buffer.from(body),
  });
  const batch = (...messages: ReturnType<typeof message>[]) => router.send({ type: 'zmq.batch', socket: 'gw.zmq', messages });
  const ready = () => router.send({ type: 'zmq.ready', socket: 'gw.zmq', endpoints: ['tcp://127.0.0.1:1'] });
  const pings = () => sent.flat().filter((m) => m[2].toString() === 'ping').map((m) => m[0].toString());
  return { clock, registry, sent, router, emitted, message, batch, ready, pings, announced: () => announced, advance: (ms: number) => clock.increment(ms) };
}

describe('node presence', () => {
  it('should ask the ROUTER adapter for its endpoints once started, so a restarted router learns them', () => {
    const g = boot();
    expect(g.announced()).toBe(1);
    expect((g.router.getSnapshot() as { context: { zmq?: string[] } }).context.zmq).toBeUndefined();
    g.ready();
    expect((g.router.getSnapshot() as { context: { zmq?: string[] } }).context.zmq).toEqual(['tcp://127.0.0.1:1']);
  });

  it('should make a node available at its first pong, and only then', () => {
    const g = boot();
    g.ready();
    g.batch(g.message('n1', 'headers', 'x', 'HTTP/1.1 200 OK\r\n\r\n'));
    expect(g.registry.nodes.get('n1')!.available).toBe(false);
    g.batch(g.message('n1', 'pong'));
    expect(g.registry.nodes.get('n1')!.available).toBe(true);
    expect(g.emitted).toEqual([{ type: 'node.up', node: 'n1' }]);
  });

  it('should ping silent nodes with an empty sid every ping-freq, and not nodes just heard from', () => {
    const g = boot();
    g.advance(SWEEP);
    expect(g.pings()).toEqual([]);
    g.ready();
    g.batch(g.message('n1', 'pong'));
    g.advance(SWEEP);
    expect(g.pings()).toEqual(['n2']);
    const ping = g.sent.flat()[0]!;
    expect(ping[1].length).toBe(0);
    // n1 was heard at 0: its first ping is due at 1000; n2's second at 1100.
    g.advance(PING_FREQ - SWEEP);
    expect(g.pings()).toEqual(['n2', 'n1']);
    g.advance(SWEEP - 1);
    expect(g.pings()).toHaveLength(2);
    g.advance(1);
    expect(g.pings()).toEqual(['n2', 'n1', 'n2']);
  });

  it('should mark a node unavailable after 3 x ping-freq of silence and tell its sessions', () => {
    const g = boot();
    g.ready();
    g.batch(g.message('n1', 'pong'));
    const mine = fakeSession('s1', 'n1');
    const other = fakeSession('s2', 'n2');
    g.registry.sessions.set('s1', mine);
    g.registry.sessions.set('s2', other);
    g.advance(3 * PING_FREQ - SWEEP);
    expect(g.registry.nodes.get('n1')!.available).toBe(true);
    g.advance(SWEEP);
    expect(g.registry.nodes.get('n1')!.available).toBe(false);
    expect(g.emitted).toContainEqual({ type: 'node.down', node: 'n1' });
    expect(mine.events).toEqual([{ type: 'backend.lost' }]);
    expect(other.events).toEqual([]);
  });

  it('should keep a node that answers its pings', () => {
    const g = boot();
    g.ready();
    for (let t = 0; t < 10; t++) {
      g.batch(g.message('n1', 'pong'));
      g.advance(PING_FREQ);
    }
    expect(g.registry.nodes.get('n1')!.available).toBe(true);
  });

  it('should answer a node ping with a pong', () => {
    const g = boot();
    g.ready();
    g.batch(g.message('n2', 'ping'));
    expect(g.sent.flat().map((m) => [m[0].toString(), m[2].toString()])).toEqual([['n2', 'pong']]);
  });
});

describe('dispatch of node messages', () => {
  it('should hand a message to the session with its sid', () => {
    const g = boot();
    const s = fakeSession('sid-1', 'n1');
    g.registry.sessions.set(g.registry.sidKey(s.sid), s);
    g.batch(g.message('n1', 'headers', 'sid-1', 'HEAD'));
    expect(s.events).toEqual([{ type: 'backend.message', kind: 'headers', body: Buffer.from('HEAD') }]);
  });

  it('should drop messages from another node, to unknown sids, without a sid, or from unknown peers', () => {
    const g = boot();
    const s = fakeSession('sid-1', 'n1');
    g.registry.sessions.set(g.registry.sidKey(s.sid), s);
    g.batch(
      g.message('n2', 'body', 'sid-1', 'not yours'),
      g.message('n1', 'body', 'nobody', 'x'),
      g.message('n1', 'body', '', 'x'),
      g.message('stranger', 'body', 'sid-1', 'x'),
    );
    expect(s.events).toEqual([]);
  });
});

describe('deadline sweep', () => {
  it('should wake only the sessions whose deadline has passed', () => {
    const g = boot();
    const due = fakeSession('a', 'n1', 50);
    const later = fakeSession('b', 'n1', 10_000);
    const never = fakeSession('c', undefined, 0);
    for (const s of [due, later, never]) g.registry.sessions.set(s.sid.toString('latin1'), s);
    g.advance(SWEEP);
    expect(due.events).toEqual([{ type: 'session.tick', now: SWEEP }]);
    expect(later.events).toEqual([]);
    expect(never.events).toEqual([]);
  });
});

describe('routing', () => {
  function table() {
    const r = new GatewayRegistry(
      [
        { name: 'h', nodes: ['n1', 'n2'], aliases: ['www.h'], timeoutMs: 1000, maxSessions: 0 },
        { name: 'p:8080', nodes: ['n3'], aliases: [], timeoutMs: 500, maxSessions: 1 },
      ],
      PING_FREQ,
    );
    for (const n of ['n1', 'n2', 'n3']) r.nodes.heard(r.nodes.get(n)!, 0, true);
    return r;
  }

  it('should route a host, its aliases and any port of a portless host', () => {
    const r = table();
    for (const host of ['h', 'H', 'www.h', 'h:8080', 'h.']) expect(r.route(host, undefined)).toMatchObject({ kind: 'node', vhost: 'h' });
    expect(r.route('p:8080', undefined)).toMatchObject({ kind: 'node', node: 'n3', timeoutMs: 500 });
    expect(r.route('p:9090', undefined)).toEqual({ kind: 'unknown-host' });
    expect(r.route('p', undefined)).toEqual({ kind: 'unknown-host' });
    expect(r.route('elsewhere', undefined)).toEqual({ kind: 'unknown-host' });
  });

  it('should pick the available node with the fewest sessions', () => {
    const r = table();
    r.bind('n1', 'h');
    expect(r.route('h', undefined)).toMatchObject({ node: 'n2' });
    r.bind('n2', 'h');
    r.bind('n2', 'h');
    expect(r.route('h', undefined)).toMatchObject({ node: 'n1' });
    r.nodes.get('n1')!.available = false;
    expect(r.route('h', undefined)).toMatchObject({ node: 'n2' });
  });

  it('should keep a bound session on its node while that node is available', () => {
    const r = table();
    r.bind('n2', 'h');
    r.bind('n2', 'h');
    expect(r.route('h', 'n2')).toMatchObject({ node: 'n2' });
  });

  it('should say no-node when none is available, and full at the host session limit', () => {
    const r = table();
    for (const n of ['n1', 'n2']) r.nodes.get(n)!.available = false;
    expect(r.route('h', undefined)).toEqual({ kind: 'no-node', vhost: 'h' });
    r.bind('n3', 'p:8080');
    expect(r.route('p:8080', undefined)).toEqual({ kind: 'full', vhost: 'p:8080' });
    r.unbind('n3', 'p:8080');
    expect(r.route('p:8080', undefined)).toMatchObject({ kind: 'node' });
  });

  it('should refuse a host name given to two virtual hosts', () => {
    expect(() => new GatewayRegistry([
      { name: 'a', nodes: ['n'], aliases: ['b'], timeoutMs: 1, maxSessions: 0 },
      { name: 'b', nodes: ['n'], aliases: [], timeoutMs: 1, maxSessions: 0 },
    ], PING_FREQ)).toThrow(/declared twice/);
  });
});

describe('node table', () => {
  it('should count liveness from the last message of any kind', () => {
    const t = new NodeTable(100);
    const n = t.declare('x');
    t.heard(n, 0, true);
    t.heard(n, 250, false);
    expect(t.tick(349).lost).toEqual([]);
    expect(t.tick(550).lost).toEqual([n]);
  });
});
