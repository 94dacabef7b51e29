import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { GatewayTables, type VhostSpec } from '../../../src/machines/gateway/gateway-tables.js';
import { gatewaySession } from '../../../src/machines/gateway/session.machine.js';
import type { RouteDecision, SessionCommand } from '../../../src/machines/gateway/session-types.js';
import { DEFAULT_HEAD_LIMITS } from '../../../src/protocol/blastbeat/http-head.js';

const vhost = (name: string, nodes: string[], maxSessions = 0): VhostSpec => ({ name, nodes, aliases: [], timeoutMs: 1000, maxSessions });

function tables(maxNodeSessions: number, specs: VhostSpec[] = [vhost('h', ['n1', 'n2'])]) {
  const r = new GatewayTables(specs, 1000, { maxNodeSessions });
  for (const n of r.nodes.all()) r.nodes.heard(n, 0, true);
  return r;
}

describe('sessions per node', () => {
  it('should skip a node at its limit and answer nodes-full only when every available node is', () => {
    const r = tables(2);
    r.bind('n1', 'h');
    r.bind('n1', 'h');
    expect(r.route('h', undefined)).toMatchObject({ kind: 'node', node: 'n2' });
    r.bind('n2', 'h');
    expect(r.route('h', undefined)).toMatchObject({ kind: 'node', node: 'n2' });
    r.bind('n2', 'h');
    expect(r.route('h', undefined)).toEqual({ kind: 'nodes-full', vhost: 'h', limit: 2 });
    r.unbind('n1', 'h');
    expect(r.route('h', undefined)).toMatchObject({ kind: 'node', node: 'n1' });
  });

  it('should keep a bound session on its node when that node is at its limit', () => {
    const r = tables(1);
    r.bind('n1', 'h');
    r.bind('n2', 'h');
    expect(r.route('h', undefined)).toMatchObject({ kind: 'nodes-full' });
    expect(r.route('h', 'n1')).toMatchObject({ kind: 'node', node: 'n1' });
  });

  it('should count a node shared by two virtual hosts once, with the sessions of both', () => {
    const r = tables(2, [vhost('a', ['shared']), vhost('b', ['shared', 'own'])]);
    r.bind('shared', 'a');
    r.bind('shared', 'b');
    expect(r.nodes.get('shared')!.sessions).toBe(2);
    expect(r.route('a', undefined)).toEqual({ kind: 'nodes-full', vhost: 'a', limit: 2 });
    expect(r.route('b', undefined)).toMatchObject({ kind: 'node', node: 'own' });
  });

  it('should say no-node when no node is available, whatever the counts', () => {
    const r = tables(1);
    r.bind('n1', 'h');
    r.nodes.get('n2')!.available = false;
    expect(r.route('h', undefined)).toMatchObject({ kind: 'nodes-full' });
    r.nodes.get('n1')!.available = false;
    expect(r.route('h', undefined)).toEqual({ kind: 'no-node', vhost: 'h' });
  });

  it('should put the host limit first, and have no node limit at 0', () => {
    const limited = tables(1, [vhost('h', ['n1'], 1)]);
    limited.bind('n1', 'h');
    expect(limited.route('h', undefined)).toEqual({ kind: 'full', vhost: 'h' });
    const open = tables(0);
    for (let i = 0; i < 100; i++) open.bind('n1', 'h');
    for (let i = 0; i < 100; i++) open.bind('n2', 'h');
    expect(open.route('h', undefined)).toMatchObject({ kind: 'node' });
  });
});

describe('a session routed to full nodes', () => {
  function session(route: RouteDecision) {
    const clock = new SimulatedClock();
    const commands: SessionCommand[] = [];
    const actor = createActor(gatewaySession, {
      clock,
      input: {
        sid: Buffer.alloc(16, 1),
        peer: { remoteAddress: '127.0.0.1', remotePort: 40000, localPort: 8080, tls: false },
        limits: { head: DEFAULT_HEAD_LIMITS, maxWebSocketMessage: 64, headerTimeoutMs: 1000, bodyTimeoutMs: 1500, idleTimeoutMs: 5000, closeTimeoutMs: 500, maxPipelined: 1024 },
        route: () => route,
        out: (c) => commands.push(c),
        now: () => clock.now(),
      },
    });
    actor.start();
    return { actor, commands, send: (text: string) => actor.send({ type: 'conn.data', data: Buffer.from(text, 'latin1') }) };
  }
  const written = (cs: SessionCommand[]) => cs.flatMap((c) => (c.type === 'conn.write' ? [c.data.toString('latin1')] : [])).join('');
  const FULL: RouteDecision = { kind: 'nodes-full', vhost: 'h', limit: 3 };

  it('should answer 503 saying why, count it as nodes_full, and keep a keep-alive connection', () => {
    const s = session(FULL);
    s.send('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    const text = written(s.commands);
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toContain('every available node of "h" has its maximum of 3 sessions');
    expect(s.commands).toContainEqual({ type: 'session.error', status: 503, reason: 'nodes_full' });
    expect(s.commands.some((c) => c.type === 'conn.end')).toBe(false);
    expect(s.commands.some((c) => c.type === 'backend.send' || c.type === 'session.bind')).toBe(false);
  });

  it('should answer a WebSocket upgrade 503 too, and close', () => {
    const s = session(FULL);
    s.send('GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    expect(written(s.commands)).toMatch(/^HTTP\/1\.1 503 /);
    expect(s.commands).toContainEqual({ type: 'session.error', status: 503, reason: 'nodes_full' });
    expect(s.commands.some((c) => c.type === 'conn.end')).toBe(true);
  });
});
