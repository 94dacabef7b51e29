import { fromCallback, type AnyActorLogic } from 'xstate';

export type ProbeEvent = { type: 'crash' } | { type: 'finish' } | { type: 'lifecycle.shutdown' };

/**
 * A child that records its life into `journal`: `start:ID` when started,
 * `stop:ID` when stopped. Sent `crash`, it throws (an abnormal exit).
 */
export function probeChild(id: string, journal: string[]): AnyActorLogic {
  return fromCallback<ProbeEvent>(({ receive }) => {
    journal.push(`start:${id}`);
    receive((event) => {
      if (event.type === 'crash') throw new Error(`${id} crashed`);
    });
    return () => journal.push(`stop:${id}`);
  });
}
