import type { AddressInfo } from 'node:net';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { Broker } from '../../src/api/broker.js';
import { InspectionSource } from '../../src/actors/inspect/source.js';
import { connectStately } from '../../src/actors/inspect/stately.js';
import { RawMdpClient, RawMdpWorker } from '../helpers/mdp-peers.js';
import { ANY, eventually } from '../helpers/zmq.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** Stands in for `@statelyai/inspect/server`'s relay: keeps what the bridge sends. */
async function fakeRelay() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const received: StatelyInspectionEvent[] = [];
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (data) => received.push(JSON.parse(String(data)) as StatelyInspectionEvent));
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
  return { url, received, sockets };
}

describe('--inspect-stately bridge', () => {
  it('should announce the tree as @xstate.actor with machine definitions and stream coalesced snapshots, never the per-message events', async () => {
    const relay = await fakeRelay();
    const source = new InspectionSource({ flushMs: 50 });
    const bridge = connectStately({ url: relay.url, source });
    cleanup.push(() => source.close(), () => bridge.close());
    const broker = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 100, heartbeatIntervalMs: 100, liveness: 10_000, inspect: source.inspect });
    cleanup.push(() => broker.stop());
    const { frontend, backend } = await broker.endpoints();
    const worker = new RawMdpWorker(backend, 'w1');
    const client = new RawMdpClient(frontend);
    cleanup.push(() => worker.close(), () => client.close());
    await worker.ready('echo');
    for (let i = 0; i < 50; i++) {
      await client.request('echo', [`${i}`]);
      const req = await worker.nextRequest();
      await worker.reply(req.envelope, ['ok']);
      await client.reply();
    }

    const actors = () => relay.received.filter((e): e is Extract<StatelyInspectionEvent, { type: '@xstate.actor' }> => e.type === '@xstate.actor');
    await eventually(() => actors().some((a) => a.name.startsWith('broker.sessions.worker.')), 5000);
    const byName = new Map(actors().map((a) => [a.name, a]));
    const root = byName.get('broker');
    expect(root?.parentId).toBeUndefined();
    expect(root).toMatchObject({ snapshot: { status: 'active', value: 'running' } });
    expect(typeof root?._version).toBe('string');
    expect(JSON.parse(byName.get('broker.broker')!.definition!)).toMatchObject({ id: 'broker' });
    expect(byName.get('broker.broker')).toMatchObject({ parentId: root?.sessionId, rootId: root?.sessionId });
    const session = [...byName.values()].find((a) => a.name.startsWith('broker.sessions.worker.'));
    expect(session?.snapshot).toMatchObject({ value: 'idle', context: { service: 'echo' } });

    await eventually(() => relay.received.some((e) => e.type === '@xstate.snapshot' && e.sessionId === byName.get('broker.broker')?.sessionId), 5000);
    const events = relay.received.filter((e) => e.type === '@xstate.event').map((e) => (e as { event: { type: string } }).event.type);
    expect(events).not.toContain('zmq.batch');
    expect(events).not.toContain('zmq.send');
    expect(events).not.toContain('heartbeat.tick');
    // 50 round trips, each several inspection events: coalescing keeps the stream far smaller.
    expect(relay.received.length).toBeLessThan(400);
  });

  it('should reconnect and announce every live actor again', async () => {
    const relay = await fakeRelay();
    const source = new InspectionSource({ flushMs: 50 });
    const bridge = connectStately({ url: relay.url, source, reconnect: { initialMs: 50, maxMs: 200 } });
    cleanup.push(() => source.close(), () => bridge.close());
    const broker = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 100, inspect: source.inspect });
    cleanup.push(() => broker.stop());
    await eventually(() => relay.received.some((e) => e.type === '@xstate.actor' && e.name === 'broker.broker'), 5000);
    relay.sockets[0]!.terminate();
    relay.received.length = 0;
    await eventually(() => relay.received.some((e) => e.type === '@xstate.actor' && e.name === 'broker.broker'), 5000);
    expect(bridge.stats().connected).toBe(true);
  });
});
