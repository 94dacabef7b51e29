import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { flatMachine } from '../../../src/machines/gateway/flat-machine.js';

type S = 'idle' | 'busy' | 'done';
type E = { type: 'go' } | { type: 'again' } | { type: 'finish' } | { type: 'boom' } | { type: 'auto' };
interface C {
  journal: string[];
  auto: boolean;
}

const logic = flatMachine<S, C, E, { name: string }, { journal: string[] }>({
  id: 'test',
  initial: 'idle',
  context: (input) => ({ journal: [`init:${input.name}`], auto: false }),
  on: {
    finish: () => 'done',
    boom: () => {
      throw new Error('boom');
    },
  },
  states: {
    idle: {
      entry: (c) => c.journal.push('enter:idle'),
      always: (c) => (c.auto ? 'busy' : undefined),
      on: {
        go: (c) => (c.journal.push('go'), 'busy'),
        auto: (c) => {
          c.auto = true;
          return undefined;
        },
      },
    },
    busy: {
      entry: (c) => c.journal.push('enter:busy'),
      on: {
        again: () => 'busy',
        go: () => undefined,
      },
    },
    done: { final: true, entry: (c) => c.journal.push('enter:done') },
  },
  output: (c) => ({ journal: c.journal }),
});

function boot() {
  const actor = createActor(logic, { input: { name: 'x' } });
  actor.start();
  return actor;
}

describe('flat machine', () => {
  it('should enter the initial state with its entry', () => {
    const a = boot();
    expect(a.getSnapshot().value).toBe('idle');
    expect(a.getSnapshot().context.journal).toEqual(['init:x', 'enter:idle']);
  });

  it('should run a handler and enter the state it returns', () => {
    const a = boot();
    a.send({ type: 'go' });
    expect(a.getSnapshot().value).toBe('busy');
    expect(a.getSnapshot().context.journal.slice(2)).toEqual(['go', 'enter:busy']);
  });

  it('should stay without entering again when a handler returns nothing, and re-enter when it returns the same state', () => {
    const a = boot();
    a.send({ type: 'go' });
    const before = a.getSnapshot();
    a.send({ type: 'go' });
    expect(a.getSnapshot()).toBe(before);
    a.send({ type: 'again' });
    expect(a.getSnapshot().context.journal.slice(-2)).toEqual(['enter:busy', 'enter:busy']);
  });

  it('should follow an eventless move after a handler that stays', () => {
    const a = boot();
    a.send({ type: 'auto' });
    expect(a.getSnapshot().value).toBe('busy');
  });

  it('should ignore events no handler takes', () => {
    const a = boot();
    const before = a.getSnapshot();
    a.send({ type: 'again' });
    expect(a.getSnapshot()).toBe(before);
  });

  it('should use machine-wide handlers, end in a final state with output', () => {
    const a = boot();
    a.send({ type: 'finish' });
    expect(a.getSnapshot().status).toBe('done');
    expect(a.getSnapshot().output).toEqual({ journal: ['init:x', 'enter:idle', 'enter:done'] });
  });

  it('should fail the actor when a handler throws, as any XState actor', () => {
    const a = boot();
    const errors: unknown[] = [];
    a.subscribe({ error: (e) => errors.push(e) });
    a.send({ type: 'boom' });
    expect(a.getSnapshot().status).toBe('error');
    expect(errors).toHaveLength(1);
  });

  it('should stop like any actor', () => {
    const a = boot();
    a.stop();
    expect(a.getSnapshot().status).toBe('stopped');
  });
});
