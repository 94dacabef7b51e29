import { describe, expect, it } from 'vitest';
import { createActor, createMachine, SimulatedClock, type AnyActorRef } from 'xstate';
import { supervisor, dynamicSupervisor, type ChildSpec } from '../../../src/supervisor/index.js';
import { probeChild } from '../../helpers/probe-child.js';
import { bootSupervisor } from '../../helpers/boot-supervisor.js';

function boot(opts: Parameters<typeof supervisor>[0], clock = new SimulatedClock()) {
  return bootSupervisor(opts, ['supervisor.childStarted', 'supervisor.childExited', 'supervisor.childStopped', 'supervisor.gaveUp'], clock);
}

function specs(ids: string[], journal: string[], extra: Partial<ChildSpec> = {}): ChildSpec[] {
  return ids.map((id) => ({ id, logic: probeChild(id, journal), ...extra }));
}

describe('supervisor', () => {
  it('should start static children in order', () => {
    const journal: string[] = [];
    boot({ name: 'sup', children: specs(['a', 'b', 'c'], journal) });
    expect(journal).toEqual(['start:a', 'start:b', 'start:c']);
  });

  it('should restart only the crashed child under one_for_one, after the backoff delay', () => {
    const journal: string[] = [];
    const { child, advance } = boot({
      name: 'sup',
      strategy: 'one_for_one',
      backoff: { initial: 100, max: 1000 },
      children: specs(['a', 'b', 'c'], journal),
    });
    journal.length = 0;
    child('b')!.send({ type: 'crash' });
    expect(journal).toEqual([]);
    advance(99);
    expect(journal).toEqual([]);
    advance(1);
    expect(journal).toEqual(['start:b']);
  });

  it('should restart every child under one_for_all, stopping siblings in reverse order', () => {
    const journal: string[] = [];
    const { child, advance } = boot({
      name: 'sup',
      strategy: 'one_for_all',
      backoff: { initial: 0, max: 0 },
      children: specs(['a', 'b', 'c'], journal),
    });
    journal.length = 0;
    child('b')!.send({ type: 'crash' });
    advance(0);
    expect(journal).toEqual(['stop:c', 'stop:a', 'start:a', 'start:b', 'start:c']);
  });

  it('should restart the crashed child and those started after it under rest_for_one', () => {
    const journal: string[] = [];
    const { child, advance } = boot({
      name: 'sup',
      strategy: 'rest_for_one',
      backoff: { initial: 0, max: 0 },
      children: specs(['a', 'b', 'c'], journal),
    });
    journal.length = 0;
    child('b')!.send({ type: 'crash' });
    advance(0);
    expect(journal).toEqual(['stop:c', 'start:b', 'start:c']);
  });

  it('should not restart a temporary child', () => {
    const journal: string[] = [];
    const { child, advance, reports } = boot({
      name: 'sup',
      backoff: { initial: 0, max: 0 },
      children: specs(['a'], journal, { restart: 'temporary' }),
    });
    child('a')!.send({ type: 'crash' });
    advance(10);
    expect(journal).toEqual(['start:a']);
    expect(reports.at(-1)).toMatchObject({ type: 'supervisor.childExited', id: 'a', willRestart: false });
  });

  it('should restart a transient child only after an abnormal exit', () => {
    const finishing = createMachine({ initial: 'on', states: { on: { on: { finish: 'done' } }, done: { type: 'final' } } });
    const journal: string[] = [];
    const { actor, advance, child } = boot({
      name: 'sup',
      backoff: { initial: 0, max: 0 },
      children: [
        { id: 'normal', logic: finishing, restart: 'transient' },
        { id: 'crashy', logic: probeChild('crashy', journal), restart: 'transient' },
      ],
    });
    child('normal')!.send({ type: 'finish' });
    child('crashy')!.send({ type: 'crash' });
    advance(0);
    expect((actor.getSnapshot().children as Record<string, unknown>)['normal']).toBeUndefined();
    expect(journal).toEqual(['start:crashy', 'start:crashy']);
  });

  it('should restart a permanent child that exits normally', () => {
    let starts = 0;
    const finishing = createMachine({
      initial: 'on',
      entry: () => {
        starts += 1;
      },
      states: { on: { on: { finish: 'done' } }, done: { type: 'final' } },
    });
    const { advance, child } = boot({
      name: 'sup',
      backoff: { initial: 0, max: 0 },
      children: [{ id: 'p', logic: finishing, restart: 'permanent' }],
    });
    child('p')!.send({ type: 'finish' });
    advance(0);
    expect(starts).toBe(2);
  });

  it('should give up past the restart intensity, stop children in reverse order and exit failed', () => {
    const journal: string[] = [];
    const { actor, child, advance, reports } = boot({
      name: 'sup',
      intensity: 2,
      period: 1000,
      backoff: { initial: 0, max: 0 },
      children: specs(['a', 'b', 'c'], journal),
    });
    for (let i = 0; i < 2; i++) {
      child('b')!.send({ type: 'crash' });
      advance(10);
    }
    expect(actor.getSnapshot().status).toBe('active');
    journal.length = 0;
    child('b')!.send({ type: 'crash' });
    expect(reports.some((r) => r.type === 'supervisor.gaveUp')).toBe(true);
    expect(journal).toEqual(['stop:c', 'stop:a']);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toEqual({ exit: 'failed', reason: 'restart intensity exceeded by b' });
  });

  it('should forget restarts older than the period', () => {
    const journal: string[] = [];
    const { actor, child, advance } = boot({
      name: 'sup',
      intensity: 1,
      period: 1000,
      backoff: { initial: 0, max: 0 },
      children: specs(['a'], journal),
    });
    for (let i = 0; i < 5; i++) {
      child('a')!.send({ type: 'crash' });
      advance(1500);
    }
    expect(actor.getSnapshot().status).toBe('active');
    expect(journal.filter((j) => j === 'start:a')).toHaveLength(6);
  });

  it('should grow the backoff exponentially within a burst', () => {
    const journal: string[] = [];
    const { child, advance } = boot({
      name: 'sup',
      intensity: 10,
      period: 60_000,
      backoff: { initial: 100, max: 250 },
      children: specs(['a'], journal),
    });
    journal.length = 0;
    child('a')!.send({ type: 'crash' });
    advance(100);
    expect(journal).toEqual(['start:a']);
    child('a')!.send({ type: 'crash' });
    advance(199);
    expect(journal).toEqual(['start:a']);
    advance(1);
    expect(journal).toEqual(['start:a', 'start:a']);
    child('a')!.send({ type: 'crash' });
    advance(249);
    expect(journal).toHaveLength(2);
    advance(1);
    expect(journal).toHaveLength(3);
  });

  it('should escalate a nested supervisor that gave up to its parent as an abnormal exit', () => {
    const journal: string[] = [];
    const inner = supervisor({
      name: 'inner',
      intensity: 0,
      backoff: { initial: 0, max: 0 },
      children: specs(['x'], journal),
    });
    const { actor, advance, reports } = boot({
      name: 'outer',
      intensity: 5,
      backoff: { initial: 0, max: 0 },
      children: [{ id: 'inner', logic: inner, shutdown: 1000 }],
    });
    const innerRef = (actor.getSnapshot().children as Record<string, AnyActorRef>)['inner']!;
    (innerRef.getSnapshot().children['x'] as AnyActorRef).send({ type: 'crash' });
    advance(0);
    const exited = reports.find((r) => r.type === 'supervisor.childExited' && r.id === 'inner');
    expect(exited).toMatchObject({ reason: { kind: 'failed' }, willRestart: true });
    expect(journal).toEqual(['start:x', 'start:x']);
  });

  it('should ask children with a shutdown timeout to drain, in reverse order, and wait for them', () => {
    const journal: string[] = [];
    const draining = (id: string) =>
      createMachine({
        initial: 'serving',
        states: {
          serving: { on: { 'lifecycle.shutdown': 'draining' } },
          draining: { entry: () => journal.push(`drain:${id}`), after: { 50: 'done' } },
          done: { type: 'final', entry: () => journal.push(`drained:${id}`) },
        },
      });
    const { actor, advance } = boot({
      name: 'sup',
      children: [
        { id: 'a', logic: draining('a'), shutdown: 1000 },
        { id: 'b', logic: probeChild('b', journal) },
        { id: 'c', logic: draining('c'), shutdown: 10 },
      ],
    });
    journal.length = 0;
    actor.send({ type: 'lifecycle.shutdown' });
    expect(journal).toEqual(['drain:c']);
    advance(10);
    expect(journal).toEqual(['drain:c', 'stop:b', 'drain:a']);
    advance(50);
    expect(journal).toEqual(['drain:c', 'stop:b', 'drain:a', 'drained:a']);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toEqual({ exit: 'normal' });
  });

  it('should start and terminate dynamic children', () => {
    const journal: string[] = [];
    const { actor, child } = boot({ name: 'dyn', children: [] });
    actor.send({ type: 'supervisor.startChild', spec: { id: 's1', logic: probeChild('s1', journal), restart: 'temporary' } });
    actor.send({ type: 'supervisor.startChild', spec: { id: 's2', logic: probeChild('s2', journal), restart: 'temporary' } });
    expect(child('s1')).toBeDefined();
    actor.send({ type: 'supervisor.terminateChild', id: 's1' });
    expect(journal).toEqual(['start:s1', 'start:s2', 'stop:s1']);
    expect(child('s1')).toBeUndefined();
  });

  it('should report every child it stops itself, with the cause, and none it did not stop', () => {
    const journal: string[] = [];
    const { actor, reports, child, advance } = boot({
      name: 'sup',
      strategy: 'rest_for_one',
      backoff: { initial: 0, max: 0 },
      children: specs(['a', 'b', 'c'], journal),
    });
    const stops = () => reports.filter((r) => r.type === 'supervisor.childStopped');
    actor.send({ type: 'supervisor.startChild', spec: { id: 's1', logic: probeChild('s1', journal), restart: 'temporary' } });
    actor.send({ type: 'supervisor.terminateChild', id: 's1', reason: 'disconnected' });
    // Terminating what is no longer there stops nothing, so reports nothing.
    actor.send({ type: 'supervisor.terminateChild', id: 's1' });
    expect(stops()).toEqual([{ type: 'supervisor.childStopped', supervisor: 'sup', id: 's1', cause: 'terminated', reason: 'disconnected' }]);

    // b crashes: c is taken down with it (a stop), b itself exited (a crash, reported as childExited).
    child('b')!.send({ type: 'crash' });
    advance(0);
    expect(stops().slice(1)).toEqual([{ type: 'supervisor.childStopped', supervisor: 'sup', id: 'c', cause: 'sibling_exited', reason: 'b' }]);
    expect(reports.filter((r) => r.type === 'supervisor.childExited').map((r) => r.id)).toEqual(['b']);

    actor.send({ type: 'lifecycle.shutdown' });
    expect(stops().slice(2).map((r) => (r.type === 'supervisor.childStopped' ? `${r.cause}:${r.id}` : ''))).toEqual([
      'shutdown:c',
      'shutdown:b',
      'shutdown:a',
    ]);
    expect(journal.filter((j) => j.startsWith('stop:'))).toEqual(['stop:s1', 'stop:c', 'stop:c', 'stop:b', 'stop:a']);
  });

  it('should spread dynamic children over shards and stop them all on shutdown', () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const actor = createActor(dynamicSupervisor({ name: 'sessions', shards: 4 }), { clock }).start();
    for (let i = 0; i < 40; i++) {
      actor.send({
        type: 'supervisor.startChild',
        spec: { id: `s${i}`, logic: probeChild(`s${i}`, journal), restart: 'temporary' },
      });
    }
    const shards = Object.values(actor.getSnapshot().children) as AnyActorRef[];
    const counts = shards.map((s) => Object.keys(s.getSnapshot().children).length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(40);
    expect(counts.every((c) => c > 0)).toBe(true);
    actor.send({ type: 'supervisor.terminateChild', id: 's7' });
    expect(journal).toContain('stop:s7');
    actor.send({ type: 'lifecycle.shutdown' });
    expect(journal.filter((j) => j.startsWith('stop:'))).toHaveLength(40);
    expect(actor.getSnapshot().status).toBe('done');
  });
});
