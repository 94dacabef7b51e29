/**
 * What every socket adapter does between its frames and its owner, whatever
 * speaks the wire underneath (libzmq in `zmq-socket.ts`, steward's own ZMTP in
 * `zmtp-router.ts`): frames decoded into a burst with the codec's refusals
 * counted, a burst handed to the owner's inlet or sent to it as an event,
 * messages encoded with a failing encode counted, and deliveries reported to
 * the inspection as XState reports its own.
 */
import type { AnyActorRef, EventObject } from 'xstate';
import type { DropCounter } from '../metrics/drops.js';
import type { Codec, Decoded, Rejection } from '../protocol/codec.js';
import { reportDelivery } from './inspection-report.js';
import type { SocketInlet, SocketPort, ZmqCommand, ZmqOwnerEvent } from './zmq-socket.js';

/** Most messages handed to the owner at once, as zeromq.js's 512 ready messages per poll in zmq-socket.ts. */
export const MAX_BURST = 512;

/** Decodes one message's frames into `batch`; a refusal, or a codec that throws, is a counted drop. */
export function decodeInto<In extends EventObject, Out>(codec: Codec<In, Out>, frames: Buffer[], batch: In[], drops: DropCounter): void {
  let decoded: Decoded<In>;
  try {
    decoded = codec.decode(frames);
  } catch (error) {
    // A codec must not throw; if one does, the message is dropped, not the process.
    drops.drop('codec_threw', error instanceof Error ? error.message : String(error));
    return;
  }
  if (Array.isArray(decoded)) {
    for (const d of decoded as readonly (In | Rejection)[]) {
      if (d.type === 'rejected') drops.drop((d as Rejection).reason, (d as Rejection).detail);
      else batch.push(d as In);
    }
  } else if ((decoded as In | Rejection).type === 'rejected') drops.drop((decoded as Rejection).reason, (decoded as Rejection).detail);
  else batch.push(decoded as In);
}

/** Encodes each message and hands its frames to `write`; an encode that throws is a counted drop. */
export function encodeEach<In extends EventObject, Out>(codec: Codec<In, Out>, messages: readonly Out[], drops: DropCounter, write: (frames: Buffer[]) => void): void {
  for (let i = 0; i < messages.length; i++) {
    let frames: Buffer[];
    try {
      frames = codec.encode(messages[i] as Out);
    } catch (error) {
      drops.drop('encode_failed', error instanceof Error ? error.message : String(error));
      continue;
    }
    write(frames);
  }
}

/**
 * An adapter's way to its owner: the owner's inlet while the owner that
 * attached it is the live actor under the owner's systemId, events otherwise.
 */
export class OwnerLink<In extends EventObject, Out> {
  private attached: { readonly inlet: SocketInlet<In>; readonly owner: AnyActorRef } | undefined;

  constructor(
    private readonly system: { get(systemId: string): AnyActorRef | undefined },
    /** The adapter itself, for the inspection's reports. */
    private readonly self: AnyActorRef,
    private readonly owner: string,
    private readonly drops: DropCounter,
  ) {}

  /** Takes `zmq.attach` and `zmq.detach`; false for any other command (the adapter's own). */
  take(command: ZmqCommand<Out, In>): boolean {
    if (command.type === 'zmq.attach') this.attached = { inlet: command.inlet, owner: command.owner };
    else if (command.type === 'zmq.detach') this.attached = undefined;
    else return false;
    return true;
  }

  deliver(event: ZmqOwnerEvent<In, Out>): void {
    const owner = this.system.get(this.owner);
    const attached = this.attached;
    if (attached !== undefined && event.type === 'zmq.batch') {
      if (owner === attached.owner && owner.getSnapshot().status === 'active') {
        reportDelivery(this.system, this.self, owner, event);
        attached.inlet(event);
        return;
      }
      // The owner that attached is gone: its successor gets events until it attaches.
      this.attached = undefined;
    }
    if (owner) owner.send(event);
    else if (event.type === 'zmq.batch') for (let i = 0; i < event.messages.length; i++) this.drops.drop('no_owner');
  }

  /**
   * Hands a read's decoded messages to the owner in bursts of at most MAX_BURST. A read can hold thousands
   * of small messages; once a burst makes the owner pause (its queues are full), the rest go to `held`,
   * for the adapter to hand over on resume, as they would have waited in the kernel had they not been read.
   */
  handOver(socket: string, messages: In[], paused: () => boolean, held: In[]): void {
    let from = 0;
    while (from < messages.length) {
      if (paused()) {
        for (let i = from; i < messages.length; i++) held.push(messages[i] as In);
        return;
      }
      const to = Math.min(messages.length, from + MAX_BURST);
      this.deliver({ type: 'zmq.batch', socket, messages: from === 0 && to === messages.length ? messages : messages.slice(from, to) });
      from = to;
    }
  }

  /** The adapter's writing side, handed to its owner with `zmq.ready`: each burst reported, then `send`. */
  port(socket: string, send: (messages: readonly Out[]) => void): SocketPort<Out> {
    return {
      socket,
      send: (messages) => {
        this.reportSend(messages);
        send(messages);
      },
    };
  }

  /** Reports a burst the owner sent through the adapter's port, as if it had been a `zmq.send` event. */
  reportSend(messages: readonly Out[]): void {
    const event: ZmqCommand<Out, In> = { type: 'zmq.send', messages };
    reportDelivery(this.system, this.attached?.owner, this.self, event);
  }
}
