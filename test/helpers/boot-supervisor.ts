import { createActor, SimulatedClock, type AnyActorRef } from 'xstate';
import { supervisor, type SupervisorReport } from '../../src/supervisor/index.js';

/**
 * Starts a supervisor on a simulated clock (its restart intensity on the same
 * time), recording the reports of the given types. `advance` moves both
 * clocks; `child(id, of?)` finds a child of the supervisor, or of `of`.
 */
export function bootSupervisor(opts: Parameters<typeof supervisor>[0], reportTypes: readonly SupervisorReport['type'][], clock = new SimulatedClock()) {
  let t = 0;
  const reports: SupervisorReport[] = [];
  const actor = createActor(supervisor({ ...opts, now: () => t }), { clock });
  for (const type of reportTypes) actor.on(type, (e) => reports.push(e as SupervisorReport));
  actor.start();
  const advance = (ms: number) => {
    t += ms;
    clock.increment(ms);
  };
  const child = (id: string, of: AnyActorRef = actor) => (of.getSnapshot().children as Record<string, AnyActorRef | undefined>)[id];
  return { actor, reports, advance, child };
}
