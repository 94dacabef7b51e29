import type { ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import { Tally } from '../../metrics/tally.js';
import { DropCounter } from '../../metrics/drops.js';
import type { Metrics } from '../../metrics/registry.js';
import { EMPTY, KIND_FRAME, type BackendMessage, type GatewayOutbound } from '../../protocol/blastbeat/message.js';
import { BATCH, isBatchOffer } from '../../protocol/blastbeat/batch.js';
import type { HeartbeatTick } from '../heartbeat/heartbeat-monitor.js';
import { flatMachine, type FlatScope } from './flat-machine.js';
import type { NodeEntry } from './presence.js';
import type { GatewayRegistry } from './registry.js';

export interface GatewayMachineConfig {
  readonly registry: GatewayRegistry;
  /** systemId of the ROUTER adapter. */
  readonly socket: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export type GatewayEvent =
  | ZmqOwnerEvent<BackendMessage>
  /** The HTTP adapter is listening. */
  | { type: 'http.ready'; http: string[]; https: string[] }
  /** The sweep: presence, pings, session deadlines (from a heartbeat monitor). */
  | HeartbeatTick
  | { type: 'lifecycle.shutdown' };

export type GatewayEmitted =
  | { type: 'gateway.listening'; http: string[]; https: string[]; zmq: string[] }
  | { type: 'node.up'; node: string }
  | { type: 'node.down'; node: string };

export interface GatewayContext {
  zmq: string[] | undefined;
  http: { http: string[]; https: string[] } | undefined;
}

type Scope = FlatScope<GatewayEmitted>;

/**
 * The gateway's side of the backend wire (docs/gateway.md "The backend wire"): it owns node
 * presence and hands each backend message to its session. A burst from the
 * ROUTER is one event; each message is routed by its sid, and only to the
 * session bound to the node that sent it (identity is authorization, as in
 * BlastBeat). On each `heartbeat.tick` it pings silent nodes, marks nodes
 * unavailable, tells their sessions (`backend.lost`) and wakes sessions
 * whose deadline passed (`session.tick`): the only timer behind every
 * session's timeouts.
 *
 * It sees one event per ZeroMQ burst, which under load is a handful of
 * messages, so it is a flat machine (`flat-machine.ts`) like the sessions.
 */
export function gatewayMachine(config: GatewayMachineConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'gateway' });
  const now = config.now ?? Date.now;
  const registry = config.registry;
  const drops = new DropCounter('gateway', config.metrics, log);
  const nodesGauge = config.metrics?.gauge('steward_gateway_nodes_available', 'Backend nodes answering pings');
  const sessionsGauge = config.metrics?.gauge('steward_gateway_sessions', 'Open client connections');
  const backendMessages = config.metrics
    ? new Tally(config.metrics, config.metrics.counter('steward_gateway_backend_messages_total', 'Messages from backend nodes, by type', ['type']))
    : undefined;

  // Both carry the batch offer: a node that reads batches may then send them (batch.ts).
  const ping = (node: NodeEntry): GatewayOutbound => [node.id, EMPTY, KIND_FRAME.ping, BATCH];
  const pong = (node: NodeEntry): GatewayOutbound => [node.id, EMPTY, KIND_FRAME.pong, BATCH];

  const send = (scope: Scope, command: ZmqCommand<GatewayOutbound>) => scope.system.get(config.socket)?.send(command);

  const listening = (ctx: GatewayContext, scope: Scope) => {
    if (ctx.zmq === undefined || ctx.http === undefined) return;
    log.info({ http: ctx.http.http, https: ctx.http.https, zmq: ctx.zmq }, 'gateway listening');
    scope.emit({ type: 'gateway.listening', http: ctx.http.http, https: ctx.http.https, zmq: ctx.zmq });
  };

  const dispatch = (messages: readonly BackendMessage[], scope: Scope) => {
    const t = now();
    let replies: GatewayOutbound[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as BackendMessage;
      const node = registry.nodes.byRoutingId(m.node);
      if (node === undefined) {
        drops.drop('unknown_node', m.node.toString('latin1').slice(0, 64));
        continue;
      }
      backendMessages?.incBy('type', m.kind);
      if (registry.nodes.heard(node, t, m.kind === 'pong') === 'up') {
        log.info({ node: node.name }, 'node available');
        scope.emit({ type: 'node.up', node: node.name });
      }
      if (m.kind === 'pong') {
        // Every pong says again: a node restarted under its name may be a BlastBeat one.
        node.readsBatches = isBatchOffer(m.body);
        continue;
      }
      if (m.kind === 'ping') {
        (replies ??= []).push(pong(node));
        continue;
      }
      if (m.sid.length === 0) {
        drops.drop('no_sid', m.kind);
        continue;
      }
      const session = registry.sessions.get(m.sid.toString('latin1'));
      if (session === undefined) {
        if (m.kind !== 'end') drops.drop('unknown_session', m.kind);
        continue;
      }
      if (session.node() !== node.name) {
        drops.drop('wrong_node', node.name);
        continue;
      }
      session.send({ type: 'backend.message', kind: m.kind, body: m.body });
    }
    if (replies !== undefined) send(scope, { type: 'zmq.send', messages: replies });
  };

  const sweep = (ctx: GatewayContext, scope: Scope) => {
    const t = now();
    // Before the ROUTER is bound there is nobody to ping (and zeromq refuses sends while binding).
    const { ping: toPing, lost } = ctx.zmq === undefined ? { ping: [], lost: [] } : registry.nodes.tick(t);
    if (toPing.length > 0) send(scope, { type: 'zmq.send', messages: toPing.map(ping) });
    const lostNames = new Set<string>();
    for (const node of lost) {
      lostNames.add(node.name);
      log.warn({ node: node.name, silentMs: t - node.lastSeen }, 'node unavailable');
      scope.emit({ type: 'node.down', node: node.name });
    }
    // Iterated in place, not copied (one array of every session per tick): a session the tick ends is
    // deleted from the map, which a Map iteration allows; nothing here adds one.
    for (const session of registry.sessions.values()) {
      const bound = session.node();
      if (lostNames.size > 0 && bound !== undefined && lostNames.has(bound)) session.send({ type: 'backend.lost' });
      const deadline = session.deadline();
      if (deadline > 0 && t >= deadline) session.send({ type: 'session.tick', now: t });
    }
    if (nodesGauge) {
      let up = 0;
      for (const n of registry.nodes.all()) if (n.available) up += 1;
      nodesGauge.set(up);
    }
    sessionsGauge?.set(registry.sessions.size);
  };

  return flatMachine<'running' | 'stopped', GatewayContext, GatewayEvent, void, void, GatewayEmitted>({
    id: 'gateway',
    initial: 'running',
    context: () => ({ zmq: undefined, http: undefined }),
    states: {
      running: {
        // An adapter that outlived a restart of this machine tells its endpoints again,
        // once this actor is registered under its systemId to receive them.
        entry: (_ctx, scope) => scope.defer(() => send(scope, { type: 'zmq.announce' })),
        on: {
          'zmq.ready': (ctx, e, scope) => {
            ctx.zmq = e.endpoints;
            listening(ctx, scope);
            return undefined;
          },
          'http.ready': (ctx, e, scope) => {
            ctx.http = { http: e.http, https: e.https };
            listening(ctx, scope);
            return undefined;
          },
          'zmq.batch': (_ctx, e, scope) => {
            dispatch(e.messages, scope);
            return undefined;
          },
          'heartbeat.tick': (ctx, _e, scope) => {
            sweep(ctx, scope);
            return undefined;
          },
          'lifecycle.shutdown': () => 'stopped',
        },
      },
      stopped: { final: true },
    },
    output: () => undefined,
  });
}

export type GatewayMachineLogic = ReturnType<typeof gatewayMachine>;
