import type { AnyActorRef, EventObject } from 'xstate';
import type { SocketInlet, ZmqBatch } from '../actors/zmq-socket.js';

/**
 * An owner's inlet (docs/architecture.md, "Ports and inlets"): runs `handle`
 * for each burst a socket adapter hands over. An inlet must not throw: the
 * first throw becomes the owner's next event (`failure(error)`, whose action
 * rethrows, so the machine fails and its supervisor acts, as with a throwing
 * action), and the bursts after it follow it into the mailbox, in order.
 */
export function guardedInlet<In>(self: AnyActorRef, handle: (batch: ZmqBatch<In>) => void, failure: (error: unknown) => EventObject): SocketInlet<In> {
  let failed = false;
  return (batch) => {
    if (failed) {
      self.send(batch);
      return;
    }
    try {
      handle(batch);
    } catch (error) {
      failed = true;
      self.send(failure(error));
    }
  };
}
