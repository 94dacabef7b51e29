/**
 * Messages from the backend nodes, a burst at a time, to where they go:
 * presence (any message is a sign of life; a `pong` makes a node available
 * and says whether it reads batches; a `ping` is answered), and every
 * session message to the session its sid names, only from the node that
 * session is bound to (identity is authorization, as in BlastBeat).
 *
 * Plain per-message work (docs/architecture.md "Hot path rules"): the ROUTER adapter calls it with each
 * burst it reads, and it calls each session's per-message code directly;
 * the only actor event is the rare one the router machine must see (a node
 * became available). No sockets: replies go out through `send`.
 */
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import { DropCounter } from '../../metrics/drops.js';
import type { Metrics } from '../../metrics/registry.js';
import { Tally } from '../../metrics/tally.js';
import { BATCH, isBatchOffer } from '../../protocol/blastbeat/batch.js';
import { EMPTY, KIND_FRAME, type BackendMessage, type GatewayOutbound } from '../../protocol/blastbeat/message.js';
import type { NodeEntry } from './presence.js';
import type { GatewayRegistry } from './registry.js';

export interface DispatchOutlets {
  /** Messages to the nodes (pongs), as one burst. */
  send(messages: GatewayOutbound[]): void;
  /** A node just became available (its first pong, or its first after being lost). */
  nodeUp(node: NodeEntry): void;
}

export interface DispatchConfig {
  readonly registry: GatewayRegistry;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

/** Our `pong`: it carries the batch offer, so a node that reads batches may send them (batch.ts). */
export const pongTo = (node: NodeEntry): GatewayOutbound => [node.id, EMPTY, KIND_FRAME.pong, BATCH];
/** Our `ping`, with the same offer. */
export const pingTo = (node: NodeEntry): GatewayOutbound => [node.id, EMPTY, KIND_FRAME.ping, BATCH];

export class BackendDispatch {
  private readonly registry: GatewayRegistry;
  private readonly drops: DropCounter;
  private readonly now: () => number;
  private readonly counted: Tally<'type'> | undefined;

  constructor(config: DispatchConfig) {
    const log = (config.logger ?? silentLogger).child({ actor: 'gateway' });
    this.registry = config.registry;
    this.now = config.now ?? Date.now;
    this.drops = new DropCounter('gateway', config.metrics, log);
    const metrics = config.metrics;
    this.counted = metrics
      ? new Tally(metrics, metrics.counter('steward_gateway_backend_messages_total', 'Messages from backend nodes, by type', ['type']))
      : undefined;
  }

  /** One burst from the ROUTER, in order. */
  batch(messages: readonly BackendMessage[], out: DispatchOutlets): void {
    const t = this.now();
    const registry = this.registry;
    let replies: GatewayOutbound[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as BackendMessage;
      const node = registry.nodes.byRoutingId(m.node);
      if (node === undefined) {
        this.drops.drop('unknown_node', m.node.toString('latin1').slice(0, 64));
        continue;
      }
      this.counted?.incBy('type', m.kind);
      if (registry.nodes.heard(node, t, m.kind === 'pong') === 'up') out.nodeUp(node);
      if (m.kind === 'pong') {
        // Every pong says again: a node restarted under its name may be a BlastBeat one.
        node.readsBatches = isBatchOffer(m.body);
        continue;
      }
      if (m.kind === 'ping') {
        (replies ??= []).push(pongTo(node));
        continue;
      }
      if (m.sid.length === 0) {
        this.drops.drop('no_sid', m.kind);
        continue;
      }
      const session = registry.sessions.get(m.sid.toString('latin1'));
      if (session === undefined) {
        if (m.kind !== 'end') this.drops.drop('unknown_session', m.kind);
        continue;
      }
      if (session.node() !== node.name) {
        this.drops.drop('wrong_node', node.name);
        continue;
      }
      session.backend(m.kind, m.body);
    }
    if (replies !== undefined) out.send(replies);
  }
}
