import type { AnyActorLogic } from 'xstate';
import type { ChildSpec, StartMode, SupervisorEvent } from './types.js';

/**
 * A child's start phase, as OTP's `start_link` has one: a supervisor starts
 * its children, and a child that fails before it finished starting fails the
 * supervisor's start instead of being restarted (a port another process
 * holds will not free itself by retrying). XState spawns without waiting, so
 * a child whose start takes time (binding a socket, starting its own
 * children) says when it is done with `supervisor.$started`, and its logic is
 * marked here so every spec built from it gets `start: 'reported'`.
 */
const REPORTS_START = Symbol.for('steward.reportsStart');

/** Marks a logic whose actors send `startedEvent(self.id)` to their parent when their start phase ends. */
export function reportsStart<T extends AnyActorLogic>(logic: T): T {
  (logic as unknown as Record<symbol, boolean>)[REPORTS_START] = true;
  return logic;
}

export function startModeOf(spec: ChildSpec): StartMode {
  if (spec.start !== undefined) return spec.start;
  return (spec.logic as unknown as Record<symbol, boolean | undefined>)[REPORTS_START] === true ? 'reported' : 'spawned';
}

/** The event a child sends its supervisor when its start phase ended; `id` is its own actor id. */
export function startedEvent(id: string): Extract<SupervisorEvent, { type: 'supervisor.$started' }> {
  return { type: 'supervisor.$started', id };
}
