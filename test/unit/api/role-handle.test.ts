import { describe, expect, it } from 'vitest';
import { assign, emit, fromCallback, setup } from 'xstate';
import { RoleHandle } from '../../../src/api/role-handle.js';
import { StartupError } from '../../../src/api/start-failure.js';
import { supervisor, type ChildSpec } from '../../../src/supervisor/index.js';

type CoreEvent = { type: 'core.bind'; endpoint: string } | { type: 'core.count' } | { type: 'lifecycle.shutdown' };
type CoreEmitted = { type: 'core.listening'; endpoint: string };

/** A role's machine in small: says where it listens, keeps a count in its context, drains on shutdown. */
const core = setup({
  types: { context: {} as { count: number; drained: boolean }, events: {} as CoreEvent, emitted: {} as CoreEmitted },
}).createMachine({
  context: { count: 0, drained: false },
  initial: 'running',
  states: {
    running: {
      on: {
        'core.bind': { actions: emit(({ event }) => ({ type: 'core.listening' as const, endpoint: event.endpoint })) },
        'core.count': { actions: assign({ count: ({ context }) => context.count + 1 }) },
        'lifecycle.shutdown': 'draining',
      },
    },
    draining: { after: { 5: 'done' } },
    done: { type: 'final' },
  },
});

/** A child that fails before it reports its start, as a socket whose bind failed. */
const failingSocket = fromCallback(() => {
  throw new Error('address already in use');
});

function tree(children: ChildSpec[]) {
  return supervisor({ name: 'role', strategy: 'one_for_one', backoff: { initial: 0, max: 0 }, children });
}

describe('the role handle every api class holds', () => {
  it('should resolve listening() with what the role bound, and give typed access to its machine', async () => {
    const role = new RoleHandle<ReturnType<typeof tree>, string>(tree([{ id: 'core', systemId: 'role.core', logic: core, shutdown: 1_000 }]), {
      id: 'role',
      notListening: () => new Error('stopped before it listened'),
    });
    role.start();
    role.onEmitted<CoreEmitted>('role.core', 'core.listening', (event) => role.listen(event.endpoint));
    role.actor.system.get('role.core')?.send({ type: 'core.bind', endpoint: 'tcp://127.0.0.1:5555' });
    await expect(role.listening()).resolves.toBe('tcp://127.0.0.1:5555');
    role.actor.system.get('role.core')?.send({ type: 'core.count' });
    expect(role.context<{ count: number }>('role.core')?.count).toBe(1);
    expect(role.context<{ count: number }>('role.nothing')).toBeUndefined();
    await role.stop();
  });

  it('should stop gracefully: the machine drains before the tree ends', async () => {
    const role = new RoleHandle(tree([{ id: 'core', systemId: 'role.core', logic: core, shutdown: 1_000 }]), { notListening: () => new Error('never') });
    role.start();
    const states: string[] = [];
    role.actor.system.get('role.core')?.subscribe((s: { value: unknown }) => states.push(String(s.value)));
    expect(role.running()).toBe(true);
    await role.stop();
    expect(states).toContain('draining');
    expect(role.running()).toBe(false);
    expect((await role.whenStopped()).status).toBe('done');
    await expect(role.listening()).rejects.toThrow('never');
    await role.stop();
  });

  it('should reject listening() with the start failure of a child that failed before it started', async () => {
    const role = new RoleHandle(tree([{ id: 'frontend', logic: failingSocket, start: 'reported' }]), { notListening: () => new Error('not this one') });
    role.start();
    const error = await role.listening().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).child).toBe('frontend');
    expect((error as Error).message).toBe('frontend failed to start: address already in use');
  });

  it('should reject listening() with what the role says when it refuses to go on (a registry that refused it)', async () => {
    const role = new RoleHandle(tree([{ id: 'core', logic: core }]), { notListening: () => new Error('not this one') });
    role.start();
    role.fail(new Error('refused'));
    role.listen('too late');
    await expect(role.listening()).rejects.toThrow('refused');
    await role.stop();
  });

  it('should not start twice, and a stop before start does nothing', async () => {
    const role = new RoleHandle(tree([{ id: 'core', logic: core }]), { notListening: () => new Error('x') });
    await role.stop();
    expect(role.running()).toBe(false);
    role.start().start();
    expect(role.running()).toBe(true);
    await role.stop();
  });
});
