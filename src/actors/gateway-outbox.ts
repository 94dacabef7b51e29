import type { AnyActorRef } from 'xstate';
import type { ZmqCommand } from './zmq-socket.js';
import type { SocketPort } from './zmq-socket.js';
import { BATCH, planBatches, type BatchUnit } from '../protocol/blastbeat/batch.js';
import { EMPTY, KIND_FRAME, type GatewayKind, type GatewayOutbound } from '../protocol/blastbeat/message.js';

/**
 * Messages from many sessions to the backend nodes, gathered over one turn
 * of the event loop and handed to the ROUTER adapter as one `zmq.send`
 * (docs/architecture.md "Hot path rules": one send per burst, not one actor event per message). Every
 * client read of a loop turn happens before `setImmediate` runs, so a burst
 * of requests from many connections leaves as one batch; to a node that
 * reads steward's batches (`protocol/blastbeat/batch.ts`) it is also one
 * ZeroMQ message, since zeromq.js's cost is per message, not per byte.
 */
export class GatewayOutbox {
  private batch: GatewayOutbound[] = [];
  private scheduled = false;

  constructor(
    /** The ROUTER adapter, looked up at flush time: it may have restarted. */
    private readonly socket: () => AnyActorRef | undefined,
    private readonly onLost: (count: number) => void = () => undefined,
    /** Whether the node with this routing id said it reads batches. */
    private readonly readsBatches: (node: Buffer) => boolean = () => false,
    /** The ROUTER's port, once its owner has recorded it: a burst leaves by a function call, not an actor event. */
    private readonly port: () => SocketPort<GatewayOutbound> | undefined = () => undefined,
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
    const gathered = this.batch;
    this.batch = [];
    const messages = gathered.length === 1 ? gathered : this.pack(gathered);
    const port = this.port();
    if (port !== undefined) {
      port.send(messages);
      return;
    }
    const socket = this.socket();
    if (socket === undefined || socket.getSnapshot().status !== 'active') {
      this.onLost(gathered.length);
      return;
    }
    socket.send({ type: 'zmq.send', messages } satisfies ZmqCommand<GatewayOutbound>);
  };

  /** Each node's messages in their order; those for a node that reads batches packed. */
  private pack(gathered: readonly GatewayOutbound[]): readonly GatewayOutbound[] {
    // Usually one node (the same Buffer each time): nothing to group, and a plain node takes them as they are.
    const first = (gathered[0] as GatewayOutbound)[0];
    let one = true;
    for (let i = 1; i < gathered.length && one; i++) one = (gathered[i] as GatewayOutbound)[0] === first;
    if (one && !this.readsBatches(first)) return gathered;
    // A handful of nodes at most, each routing id the same Buffer every time (the registry's): a list, no strings.
    const byNode: Array<{ readonly node: Buffer; readonly units: BatchUnit[] }> = [];
    let group: { readonly node: Buffer; readonly units: BatchUnit[] } | undefined;
    for (let i = 0; i < gathered.length; i++) {
      const [node, sid, kind, body] = gathered[i] as GatewayOutbound;
      if (group === undefined || group.node !== node) {
        group = byNode.find((g) => g.node === node) ?? byNode.find((g) => g.node.equals(node));
        if (group === undefined) {
          group = { node, units: [] };
          byNode.push(group);
        }
      }
      group.units.push([sid, kind, body]);
    }
    const out: GatewayOutbound[] = [];
    for (const { node, units } of byNode) {
      if (units.length === 1 || !this.readsBatches(node)) {
        for (const [sid, kind, body] of units) out.push([node, sid, kind, body]);
        continue;
      }
      planBatches(units, (m) => out.push('plain' in m ? [node, m.plain[0], m.plain[1], m.plain[2]] : [node, EMPTY, BATCH, m.packed]));
    }
    return out;
  }
}
