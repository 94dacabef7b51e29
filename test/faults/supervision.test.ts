import { afterEach, describe, expect, it } from 'vitest';
import type { AnyActorRef } from 'xstate';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { Worker } from '../../src/api/worker.js';
import type { SupervisorReport } from '../../src/supervisor/types.js';
import { ANY, eventually } from '../helpers/zmq.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('supervision: a crash injected into the broker routing machine (in process)', () => {
  it('should restart the machine and what depends on it, keep the sockets bound, and let workers register again through the protocol', async () => {
    const broker = await Broker.start({ frontend: ANY, backend: ANY, heartbeatIntervalMs: 100, drainTimeoutMs: 100 });
    cleanup.push(() => broker.stop());
    const before = await broker.endpoints();
    const worker = Worker.start({ broker: before.backend, service: 'survivor', handler: (r) => r.body as Buffer[], heartbeatIntervalMs: 100 });
    cleanup.push(() => worker.stop());
    const client = new Client({ broker: before.frontend, timeout: 500, retries: 6, waitForWorker: true });
    cleanup.push(() => client.close());
    expect(String((await client.call('survivor', 'one'))[0])).toBe('one');

    const reports: SupervisorReport[] = [];
    broker.actor.on('*', (r: SupervisorReport) => reports.push(r));
    const coreBefore = broker.core();
    // A burst the machine cannot handle: its action throws, as a bug in the routing code would.
    const machine = broker.actor.system.get(broker.ids.broker) as AnyActorRef;
    machine.send({ type: 'zmq.batch', socket: broker.ids.frontend, messages: null });

    await eventually(() => reports.some((r) => r.type === 'supervisor.childStarted' && r.id === 'broker' && r.restarts === 1), 3_000);
    const exit = reports.find((r) => r.type === 'supervisor.childExited' && r.id === 'broker');
    expect(exit).toMatchObject({ reason: { kind: 'error' }, willRestart: true });
    // rest_for_one: the sockets started before the machine were left alone.
    expect(reports.filter((r) => r.type === 'supervisor.childExited').map((r) => r.id)).toEqual(['broker']);
    expect(await broker.endpoints()).toEqual(before);
    // The new machine starts with an empty table: the worker hears DISCONNECT for its next heartbeat and registers again.
    await eventually(() => broker.core() !== coreBefore && broker.core()?.workerCount === 1, 3_000);
    expect(String((await client.call('survivor', 'two'))[0])).toBe('two');
  });
});
