import { describe, expect, it } from 'vitest';
import { assign, createActor, createMachine, setup, SimulatedClock, type AnyActorLogic, type AnyActorRef } from 'xstate';
import { InspectionSource, type Timers } from '../../../src/actors/inspect/source.js';
import type { ActorView, InspectionDelta } from '../../../src/actors/inspect/types.js';
import { createRootActor } from '../../../src/api/runtime-options.js';
import { workerSession, type WorkerSessionInput } from '../../../src/machines/broker/worker-session.machine.js';
import { dynamicSupervisor, supervisor } from '../../../src/supervisor/index.js';
import { probeChild } from '../../helpers/probe-child.js';

/** Timers the test fires by hand: flushes happen when the test says. */
function manualTimers(): Timers & { pending: number } {
  const t = {
    pending: 0,
    set: () => {
      t.pending += 1;
      return t.pending;
    },
    clear: () => undefined,
  };
  return t;
}

type CounterEvent = { type: 'inc' } | { type: 'zmq.batch'; messages: Buffer[] } | { type: 'note'; text: string };

const counter = setup({
  types: { context: {} as { n: number; seen: { toJSON(): unknown } }, events: {} as CounterEvent },
}).createMachine({
  id: 'counter',
  context: () => ({ n: 0, seen: { toJSON: () => ({ serialized: true }) } }),
  initial: 'counting',
  states: {
    counting: {
      on: {
        inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        'zmq.batch': { actions: assign({ n: ({ context }) => context.n + 1 }) },
        note: {},
      },
    },
  },
});

function inspected(logic: AnyActorLogic, options: ConstructorParameters<typeof InspectionSource>[0] = {}) {
  const source = new InspectionSource({ timers: manualTimers(), ...options });
  const deltas: InspectionDelta[] = [];
  source.subscribe((d) => deltas.push(d));
  const clock = new SimulatedClock();
  const actor: AnyActorRef = createActor(logic, { inspect: source.inspect, clock });
  actor.start();
  return { source, actor, deltas, clock };
}

describe('InspectionSource', () => {
  it('should flush one view per actor with its latest state, however many snapshots came', () => {
    const { source, actor } = inspected(counter);
    source.flush();
    for (let i = 0; i < 1000; i++) actor.send({ type: 'inc' });
    const delta = source.flush();
    expect(delta.upsert).toHaveLength(1);
    expect(delta.upsert[0]).toMatchObject({ name: actor.id, machine: 'counter', value: 'counting', context: { n: 1000 } });
  });

  it('should serialize a context only at flush time, never per event', () => {
    let calls = 0;
    const machine = createMachine({
      id: 'lazy',
      context: { probe: { toJSON: () => ((calls += 1), 'probed') } },
      on: { tick: { actions: () => undefined } },
    });
    const { source, actor } = inspected(machine);
    source.flush();
    calls = 0;
    for (let i = 0; i < 500; i++) actor.send({ type: 'tick' });
    expect(calls).toBe(0);
    source.flush();
    expect(calls).toBe(1);
  });

  it('should count hot events without recording them or holding their payloads', () => {
    const { source, actor } = inspected(counter);
    source.flush();
    const big = Buffer.alloc(64 * 1024);
    for (let i = 0; i < 2000; i++) actor.send({ type: 'zmq.batch', messages: [big] });
    const delta = source.flush();
    expect(delta.hot['zmq.batch']).toBe(2000);
    expect(delta.log.filter((e) => e.type === 'zmq.batch')).toEqual([]);
    expect(JSON.stringify(source.state()).length).toBeLessThan(10_000);
  });

  it('should sample hot events when asked, keeping only their size', () => {
    const { source, actor } = inspected(counter, { sampleHotEvery: 100 });
    source.flush();
    for (let i = 0; i < 1000; i++) actor.send({ type: 'zmq.batch', messages: [Buffer.from('x'), Buffer.from('y')] });
    const sampled = source.flush().log.filter((e) => e.kind === 'sampled');
    expect(sampled).toHaveLength(10);
    expect(sampled[0]).toMatchObject({ type: 'zmq.batch', detail: { every: 100, messages: 2 } });
  });

  it('should keep at most logSize recent events, newest last, with their payloads serialized', () => {
    const { source, actor } = inspected(counter, { logSize: 50 });
    source.flush();
    for (let i = 0; i < 1000; i++) actor.send({ type: 'note', text: `n${i}` });
    const delta = source.flush();
    expect(delta.log).toHaveLength(50);
    expect(delta.log.at(-1)).toMatchObject({ kind: 'event', type: 'note', detail: { type: 'note', text: 'n999' } });
    expect(source.state().log).toHaveLength(50);
  });

  it('should build the tree from parent links and drop an actor that stopped', () => {
    const journal: string[] = [];
    const logic = supervisor({ name: 'top', children: [{ id: 'a', logic: probeChild('a', journal) }, { id: 'b', logic: probeChild('b', journal) }] });
    const { source, actor } = inspected(logic);
    const first = source.flush();
    const root = first.upsert.find((v) => v.parent === null);
    expect(root).toMatchObject({ machine: 'supervisor', name: actor.id, value: 'running' });
    const children = first.upsert.filter((v) => v.parent === root?.id).map((v) => v.name);
    expect(children.sort()).toEqual(['a', 'b']);
    const b = first.upsert.find((v) => v.name === 'b');

    actor.send({ type: 'supervisor.terminateChild', id: 'b' });
    const second = source.flush();
    expect(second.remove.map((r) => r.id)).toEqual([b?.id]);
    expect(source.state().actors.map((v) => v.name).sort()).toEqual([actor.id, 'a'].sort());
  });

  it('should log an exited line naming a worker session its supervisor terminated, and drop it from the tree', () => {
    const { source, actor } = inspected(dynamicSupervisor({ name: 'broker.sessions', shards: 2 }));
    const input: WorkerSessionInput = { key: 'w', hex: '77', service: 'echo', credit: 1 };
    actor.send({
      type: 'supervisor.startChild',
      spec: { id: 'worker-77.1', systemId: 'broker.sessions.worker.77.1', logic: workerSession, input, restart: 'temporary' },
    });
    const started = source.flush();
    const session = started.upsert.find((v) => v.machine === 'workerSession');
    expect(session).toMatchObject({ name: 'worker-77.1', systemId: 'broker.sessions.worker.77.1' });
    expect(started.log.map((e) => `${e.kind}:${e.type}`)).toContain('started:worker-77.1');

    // What the broker machine sends when the worker says DISCONNECT.
    actor.send({ type: 'supervisor.terminateChild', id: 'worker-77.1', reason: 'disconnected' });
    const ended = source.flush();
    expect(ended.remove.map((r) => r.id)).toEqual([session?.id]);
    const line = ended.log.find((e) => e.kind === 'exited');
    expect(line).toMatchObject({ type: 'worker-77.1', detail: { type: 'supervisor.childStopped', cause: 'terminated', reason: 'disconnected' } });
    // The line is the shard's, which the page shows as "shard › worker-77.1".
    expect(source.state().actors.find((v) => v.id === line?.actor)?.name).toMatch(/^broker\.sessions\.shard\.\d$/);
  });

  it('should record a crash and the restart, and count restarts on the new child', () => {
    const journal: string[] = [];
    const logic = supervisor({ name: 'top', backoff: { initial: 10, max: 10 }, children: [{ id: 'a', logic: probeChild('a', journal) }] });
    const { source, actor, clock } = inspected(logic);
    source.flush();
    const child = (actor.getSnapshot().children as Record<string, AnyActorRef>)['a'];
    child?.send({ type: 'crash' });
    clock.increment(10);
    const delta = source.flush();
    const kinds = delta.log.map((e) => `${e.kind}:${e.type}`);
    expect(kinds).toContain('crashed:a');
    expect(kinds).toContain('restarted:a');
    expect(delta.remove.map((r) => r.status)).toContain('error');
    expect(delta.upsert.find((v) => v.name === 'a')).toMatchObject({ restarts: 1, status: 'active' });
  });

  it('should hand out nothing and build no views while nobody listens', () => {
    const source = new InspectionSource({ timers: manualTimers() });
    const actor = createActor(counter, { inspect: source.inspect }).start();
    actor.send({ type: 'inc' });
    expect(source.flush().upsert).toEqual([]);
    expect(source.state().actors[0]).toMatchObject({ context: { n: 1 } });
  });

  it('should stop tracking beyond maxActors and say how many it left out', () => {
    const journal: string[] = [];
    const children = Array.from({ length: 10 }, (_, i) => ({ id: `c${i}`, logic: probeChild(`c${i}`, journal) }));
    const { source } = inspected(supervisor({ name: 'wide', children }), { maxActors: 4 });
    const delta = source.flush();
    expect(source.size).toBe(4);
    expect(delta.untracked).toBe(7);
  });

  it('should pick up a tree that was started without the inspect option', () => {
    const journal: string[] = [];
    const actor = createActor(supervisor({ name: 'late', children: [{ id: 'x', logic: probeChild('x', journal) }] })).start();
    const source = new InspectionSource({ timers: manualTimers() });
    source.subscribe(() => undefined);
    source.attach(actor);
    expect(source.flush().upsert.map((v) => v.name).sort()).toEqual([actor.id, 'x'].sort());
  });

  it('should schedule one flush per burst of activity, not one per event', () => {
    const timers = manualTimers();
    const { source, actor } = inspected(counter, { timers });
    source.flush();
    const before = timers.pending;
    for (let i = 0; i < 100; i++) actor.send({ type: 'inc' });
    expect(timers.pending - before).toBe(1);
  });
});

describe('createRootActor with an InspectionSource', () => {
  it('should attach before the tree starts and see the same tree as the inspect option does', () => {
    const journal: string[] = [];
    const logic = () => supervisor({ name: 'top', children: [{ id: 'a', logic: probeChild('a', journal) }, { id: 'b', logic: probeChild('b', journal) }] });
    const viaOption = inspected(logic());
    const fast = new InspectionSource({ timers: manualTimers() });
    fast.subscribe(() => undefined);
    const actor = createRootActor(logic(), { id: 'top', inspect: fast.inspect });
    actor.start();
    const shape = (views: readonly ActorView[]) => views.map((v) => `${v.name}:${String(v.value)}:${v.parent === null ? 'root' : 'child'}`).sort();
    const expected = shape(viaOption.source.flush().upsert).map((s) => s.replace(viaOption.actor.id, 'top'));
    expect(shape(fast.flush().upsert)).toEqual(expected);

    (actor.getSnapshot().children as Record<string, AnyActorRef>)['a']?.send({ type: 'crash' });
    expect(fast.flush().log.map((e) => `${e.kind}:${e.type}`)).toContain('crashed:a');
  });

  it('should leave other observers working and detach on close', () => {
    const fast = new InspectionSource({ timers: manualTimers() });
    const seen: string[] = [];
    const actor = createRootActor(counter, { inspect: fast.inspect });
    actor.system.inspect((e) => seen.push(e.type));
    actor.start();
    actor.send({ type: 'inc' });
    expect(seen).toContain('@xstate.snapshot');
    fast.close();
    const before = seen.length;
    actor.send({ type: 'inc' });
    expect(seen.length).toBeGreaterThan(before);
    expect(fast.size).toBe(1);
  });
});
