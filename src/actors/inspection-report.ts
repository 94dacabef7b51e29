import type { AnyActorRef, EventObject } from 'xstate';

/** The part of XState's actor system that carries inspection events (not in its public types). */
interface InspectableSystem {
  _sendInspectionEvent?: (event: { type: '@xstate.event'; sourceRef: AnyActorRef | undefined; actorRef: AnyActorRef; event: EventObject }) => void;
}

/**
 * Reports an event that was delivered by a function call (a socket adapter's
 * inlet or port, see zmq-socket.ts) to the actor system's inspection, as
 * XState reports the events it delivers itself: the live inspector and the
 * Stately stream see a burst reach the broker whichever way it travelled.
 * Without an inspector this is a property read and an empty call.
 */
export function reportDelivery(system: unknown, source: AnyActorRef | undefined, target: AnyActorRef, event: EventObject): void {
  const send = (system as InspectableSystem)._sendInspectionEvent;
  if (typeof send === 'function') send.call(system, { type: '@xstate.event', sourceRef: source, actorRef: target, event });
}
