import type { BrokerOutput } from '../../protocol/broker-dialects.js';
import { MAX_MESSAGE_FRAMES as MAX_BATCH_FRAMES } from '../../protocol/steward-wire.js';

/**
 * The frames one call into the broker core produced, per socket, drained by
 * the broker machine after each call. Compact-wire units for one peer leave
 * together: one message per peer per call instead of one per unit (zeromq.js
 * pays per message), capped so a batch stays far below any receiver's frame
 * limit.
 */
export class Outbox implements BrokerOutput {
  /** Messages to send, per socket name. */
  readonly messages = new Map<string, Buffer[][]>();
  private readonly units = new Map<string, Map<string, Buffer[]>>();

  send(via: string, frames: Buffer[]): void {
    let list = this.messages.get(via);
    if (!list) {
      list = [];
      this.messages.set(via, list);
    }
    list.push(frames);
  }

  sendUnit(via: string, peer: Buffer, key: string, unit: Buffer[]): void {
    let perPeer = this.units.get(via);
    if (perPeer === undefined) {
      perPeer = new Map();
      this.units.set(via, perPeer);
    }
    let batch = perPeer.get(key);
    if (batch !== undefined && batch.length + unit.length > MAX_BATCH_FRAMES) {
      this.send(via, batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = [peer];
      perPeer.set(key, batch);
    }
    for (let i = 0; i < unit.length; i++) batch.push(unit[i] as Buffer);
  }

  /** Closes the open unit batches into messages; called at the end of each call into the core. */
  flushUnits(): void {
    for (const [via, perPeer] of this.units) {
      for (const batch of perPeer.values()) this.send(via, batch);
      perPeer.clear();
    }
  }
}
