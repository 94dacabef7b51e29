import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AnyActorRef } from 'xstate';
import * as zmq from 'zeromq';
import { Broker } from '../../src/api/broker.js';
import { workerDisconnect, workerReady } from '../../src/protocol/mdp.js';
import { ANY, eventually } from '../helpers/zmq.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
  vi.restoreAllMocks();
});

/** Session actors alive under the broker's sharded session supervisor. */
function liveSessions(broker: Broker): number {
  const root = broker.actor.system.get(broker.ids.sessions) as AnyActorRef | undefined;
  let n = 0;
  for (const shard of Object.values((root?.getSnapshot() as { children: Record<string, AnyActorRef> }).children)) {
    for (const session of Object.values((shard.getSnapshot() as { children: Record<string, AnyActorRef> }).children)) {
      if ((session.getSnapshot() as { status: string }).status === 'active') n += 1;
    }
  }
  return n;
}

describe('broker worker sessions under registration churn (found by the live fuzzer)', () => {
  it('should keep exactly one session per registered worker when a named worker re-registers and leaves in one burst', async () => {
    const warn = vi.spyOn(console, 'warn');
    // Long enough that the silent test worker is not purged while the test looks (3 s).
    const broker = await Broker.start({ frontend: ANY, backend: ANY, heartbeatIntervalMs: 1_000, drainTimeoutMs: 100 });
    cleanup.push(() => broker.stop());
    const { backend } = await broker.endpoints();
    const worker = new zmq.Dealer({ linger: 0, routingId: 'churner' });
    cleanup.push(() => worker.close());
    worker.connect(backend);
    await worker.send(workerReady('churn'));
    await eventually(() => broker.core()?.workerCount === 1 && liveSessions(broker) === 1);
    for (let i = 0; i < 20; i++) {
      await worker.send(workerReady('churn'));
      await worker.send(workerDisconnect());
    }
    await eventually(() => broker.core()?.workerCount === 0, 3000);
    // A heartbeat tick: a leaked session would be sent an update, a stopped one warned about.
    await new Promise((r) => setTimeout(r, 1_200));
    expect(liveSessions(broker)).toBe(0);
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('stopped actor'))).toEqual([]);
  });

  it('should end with one session for a worker that sends READY many times in one burst', async () => {
    // This worker sends no heartbeats: a long interval keeps it registered while the test looks.
    const broker = await Broker.start({ frontend: ANY, backend: ANY, heartbeatIntervalMs: 2_000, drainTimeoutMs: 100 });
    cleanup.push(() => broker.stop());
    const { backend } = await broker.endpoints();
    const worker = new zmq.Dealer({ linger: 0, routingId: 'eager' });
    cleanup.push(() => worker.close());
    worker.connect(backend);
    for (let i = 0; i < 20; i++) await worker.send(workerReady('eager'));
    await eventually(() => broker.core()?.workerCount === 1 && liveSessions(broker) === 1, 3000);
    await new Promise((r) => setTimeout(r, 300));
    expect(liveSessions(broker)).toBe(1);
  });
});
