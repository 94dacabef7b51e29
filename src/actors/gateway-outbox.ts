import type { AnyActorRef } from 'xstate';
import type { ZmqCommand } from './zmq-socket.js';
import { KIND_FRAME, type GatewayKind, type GatewayOutbound } from '../protocol/blastbeat/message.js';

/**
 * Messages from many sessions to the backend nodes, gathered over one turn
 * of the event loop and handed to the ROUTER adapter as one `zmq.send`
 * (DESIGN 4: one send per burst, not one actor event per message). Every
 * client read of a loop turn happens before `setImmediate` runs, so a burst
 * of requests from many connections leaves as one batch.
 */
export class GatewayOutbox {
  private batch: GatewayOutbound[] = [];
  private scheduled = false;

  constructor(
    /** The ROUTER adapter, looked up at flush time: it may have restarted. */
    private readonly socket: () => AnyActorRef | undefined,
    private readonly onLost: (count: number) => void = () => undefined,
  ) {}

  push(node: Buffer, sid: Buffer, kind: GatewayKind, body: Buffer): void {
    this.batch.push([node, sid, KIND_FRAME[kind], body]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Sends what is gathered now (also called by the loop turn's immediate). */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.batch.length === 0) return;
    const messages = this.batch;
    this.batch = [];
    const socket = this.socket();
    if (socket === undefined || socket.getSnapshot().status !== 'active') {
      this.onLost(messages.length);
      return;
    }
    socket.send({ type: 'zmq.send', messages } satisfies ZmqCommand<GatewayOutbound>);
  };
}
