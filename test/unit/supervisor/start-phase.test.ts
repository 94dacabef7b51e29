import { describe, expect, it } from 'vitest';
import { fromCallback, type AnyActorLogic } from 'xstate';
import { supervisor, type ChildSpec } from '../../../src/supervisor/index.js';
import { startedEvent } from '../../../src/supervisor/start-report.js';
import { probeChild } from '../../helpers/probe-child.js';
import { bootSupervisor } from '../../helpers/boot-supervisor.js';

type StartingEvent = { type: 'ready' } | { type: 'fail' };

/**
 * A child with a start phase, like a socket that binds: `start:ID` when
 * spawned; sent `ready` it reports its start to its supervisor, sent `fail`
 * it throws (before or after `ready`, as the test decides).
 */
function startingChild(id: string, journal: string[]): AnyActorLogic {
  return fromCallback<StartingEvent>(({ receive, sendBack, self }) => {
    journal.push(`start:${id}`);
    receive((event) => {
      if (event.type === 'ready') sendBack(startedEvent(self.id));
      else throw new Error(`${id}: address already in use`);
    });
    return () => journal.push(`stop:${id}`);
  });
}

function boot(opts: Parameters<typeof supervisor>[0]) {
  return bootSupervisor(opts, ['supervisor.started', 'supervisor.startFailed', 'supervisor.childExited', 'supervisor.gaveUp']);
}

const reported = (id: string, journal: string[]): ChildSpec => ({ id, logic: startingChild(id, journal), start: 'reported' });

describe('supervisor start phase', () => {
  it('should be starting until every child reported its start, then running', () => {
    const journal: string[] = [];
    const { actor, child, reports } = boot({ name: 'sup', children: [reported('socket', journal), { id: 'machine', logic: probeChild('machine', journal) }] });
    expect(actor.getSnapshot().value).toBe('starting');
    child('socket')!.send({ type: 'ready' });
    expect(actor.getSnapshot().value).toBe('running');
    expect(reports).toEqual([{ type: 'supervisor.started', supervisor: 'sup' }]);
  });

  it('should be running at once when no child has a start phase to report', () => {
    const journal: string[] = [];
    const { actor } = boot({ name: 'sup', children: [{ id: 'a', logic: probeChild('a', journal) }] });
    expect(actor.getSnapshot().value).toBe('running');
  });

  it('should fail its start, not restart, when a child fails before it started: the started ones stop at once, in reverse order', () => {
    const journal: string[] = [];
    // A child that drains when asked to (a socket with messages queued): a tree that never started is not drained.
    const draining = fromCallback<{ type: 'lifecycle.shutdown' }>(({ receive }) => {
      receive(() => journal.push('drain:machine'));
      return () => journal.push('stop:machine');
    });
    const { actor, child, advance, reports } = boot({
      name: 'broker',
      backoff: { initial: 0, max: 0 },
      children: [{ id: 'zap', logic: probeChild('zap', journal) }, reported('frontend', journal), { id: 'machine', logic: draining, shutdown: 5_000 }],
    });
    journal.length = 0;
    child('frontend')!.send({ type: 'fail' });
    advance(0);
    expect(journal).toEqual(['stop:machine', 'stop:zap']);
    expect(actor.getSnapshot().status).toBe('done');
    const output = actor.getSnapshot().output as { exit: string; reason: string; startFailure: { child: string; error: Error } };
    expect(output.exit).toBe('failed');
    expect(output.startFailure.child).toBe('frontend');
    expect(output.startFailure.error.message).toBe('frontend: address already in use');
    expect(output.reason).toBe('frontend failed to start: Error: frontend: address already in use');
    expect(reports.map((r) => r.type)).toEqual(['supervisor.startFailed']);
  });

  it('should restart a child that crashes after it started, as before, while the supervisor runs', () => {
    const journal: string[] = [];
    const { actor, child, advance, reports } = boot({ name: 'sup', backoff: { initial: 0, max: 0 }, children: [reported('socket', journal)] });
    child('socket')!.send({ type: 'ready' });
    child('socket')!.send({ type: 'fail' });
    advance(0);
    expect(journal).toEqual(['start:socket', 'start:socket']);
    expect(actor.getSnapshot().value).toBe('running');
    expect(reports.find((r) => r.type === 'supervisor.childExited')).toMatchObject({ id: 'socket', willRestart: true });
  });

  it('should restart a child that started and crashed while a sibling is still starting, and wait for both', () => {
    const journal: string[] = [];
    const { actor, child, advance } = boot({ name: 'sup', backoff: { initial: 0, max: 0 }, children: [reported('a', journal), reported('b', journal)] });
    child('a')!.send({ type: 'ready' });
    child('a')!.send({ type: 'fail' });
    advance(0);
    expect(actor.getSnapshot().status).toBe('active');
    child('b')!.send({ type: 'ready' });
    // The restarted `a` has a start phase of its own.
    expect(actor.getSnapshot().value).toBe('starting');
    child('a')!.send({ type: 'ready' });
    expect(actor.getSnapshot().value).toBe('running');
  });

  it('should count a restarted child that fails before it reports again as a crash, not a start failure', () => {
    const journal: string[] = [];
    const { actor, child, advance } = boot({ name: 'sup', intensity: 5, backoff: { initial: 0, max: 0 }, children: [reported('socket', journal)] });
    child('socket')!.send({ type: 'ready' });
    child('socket')!.send({ type: 'fail' });
    advance(0);
    child('socket')!.send({ type: 'fail' });
    advance(0);
    expect(journal.filter((j) => j === 'start:socket')).toHaveLength(3);
    expect(actor.getSnapshot().status).toBe('active');
  });

  it('should not fail its start for a dynamic child that fails before it started, nor wait for one', () => {
    const journal: string[] = [];
    const { actor, child, reports } = boot({ name: 'sup', children: [reported('socket', journal)] });
    actor.send({ type: 'supervisor.startChild', spec: { ...reported('session', journal), restart: 'temporary' } });
    expect(actor.getSnapshot().value).toBe('starting');
    child('session')!.send({ type: 'fail' });
    expect(actor.getSnapshot().value).toBe('starting');
    child('socket')!.send({ type: 'ready' });
    expect(actor.getSnapshot().value).toBe('running');
    expect(reports.find((r) => r.type === 'supervisor.childExited')).toMatchObject({ id: 'session', willRestart: false });
  });

  it('should tell its parent when it started, so the parent waits for the whole subtree', () => {
    const journal: string[] = [];
    const { actor, child } = boot({
      name: 'mesh',
      children: [{ id: 'broker', logic: supervisor({ name: 'broker', children: [reported('frontend', journal)] }), shutdown: 1000 }],
    });
    expect(actor.getSnapshot().value).toBe('starting');
    child('frontend', child('broker'))!.send({ type: 'ready' });
    expect(child('broker')!.getSnapshot().value).toBe('running');
    expect(actor.getSnapshot().value).toBe('running');
  });

  it("should pass a nested child's start failure up unchanged, with its path", () => {
    const journal: string[] = [];
    const { actor, child, advance } = boot({
      name: 'mesh',
      children: [
        { id: 'sink', logic: probeChild('sink', journal) },
        { id: 'broker', logic: supervisor({ name: 'broker', children: [reported('frontend', journal)] }), shutdown: 1000 },
      ],
    });
    child('frontend', child('broker'))!.send({ type: 'fail' });
    advance(1000);
    expect(actor.getSnapshot().status).toBe('done');
    const output = actor.getSnapshot().output as { startFailure: { child: string; error: Error } };
    expect(output.startFailure.child).toBe('broker/frontend');
    expect(output.startFailure.error.message).toBe('frontend: address already in use');
    expect(journal).toContain('stop:sink');
  });
});
