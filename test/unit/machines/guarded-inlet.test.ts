import { createActor, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { guardedInlet } from '../../../src/machines/guarded-inlet.js';

type Ev = { type: 'zmq.batch'; socket: string; messages: number[] } | { type: 'owner.failed'; error: unknown };

describe('guardedInlet', () => {
  it('should run each burst, and after a throw fail the owner through an event, later bursts following it into the mailbox', () => {
    const seen: number[] = [];
    const mailbox: string[] = [];
    const owner = createActor(
      setup({ types: { events: {} as Ev } }).createMachine({
        on: {
          'zmq.batch': { actions: ({ event }) => mailbox.push(`batch ${(event as { messages: number[] }).messages.join(',')}`) },
          'owner.failed': {
            actions: ({ event }) => {
              mailbox.push('failed');
              throw (event as { error: unknown }).error;
            },
          },
        },
      }),
    );
    const errors: unknown[] = [];
    owner.subscribe({ error: (e) => errors.push(e) });
    owner.start();
    const inlet = guardedInlet<number>(
      owner,
      (batch) => {
        if (batch.messages.includes(0)) throw new Error('cannot read 0');
        seen.push(...batch.messages);
      },
      (error) => ({ type: 'owner.failed', error }),
    );
    inlet({ type: 'zmq.batch', socket: 's', messages: [1, 2] });
    inlet({ type: 'zmq.batch', socket: 's', messages: [0] });
    inlet({ type: 'zmq.batch', socket: 's', messages: [3] });
    expect(seen).toEqual([1, 2]);
    // The failure is the owner's event, not a throw in the adapter; what follows is not handled by the inlet.
    expect(mailbox).toEqual(['failed']);
    expect(owner.getSnapshot().status).toBe('error');
    expect(errors).toEqual([new Error('cannot read 0')]);
  });
});
