import { enqueueActions, setup } from 'xstate';
import type { ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import { DropCounter } from '../../metrics/drops.js';
import type { Metrics } from '../../metrics/registry.js';
import { EMPTY, KIND_FRAME, type BackendMessage, type GatewayOutbound } from '../../protocol/blastbeat/message.js';
import type { NodeEntry } from './presence.js';
import type { GatewayRegistry } from './registry.js';

export interface GatewayMachineConfig {
  readonly registry: GatewayRegistry;
  /** systemId of the ROUTER adapter. */
  readonly socket: string;
  /** How often presence and session deadlines are checked, in ms. */
  readonly sweepIntervalMs: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export type GatewayEvent =
  | ZmqOwnerEvent<BackendMessage>
  /** The HTTP adapter is listening. */
  | { type: 'http.ready'; http: string[]; https: string[] }
  | { type: 'lifecycle.shutdown' };

export type GatewayEmitted =
  | { type: 'gateway.listening'; http: string[]; https: string[]; zmq: string[] }
  | { type: 'node.up'; node: string }
  | { type: 'node.down'; node: string };

export interface GatewayContext {
  zmq: string[] | undefined;
  http: { http: string[]; https: string[] } | undefined;
}

/**
 * The gateway's side of the backend wire (DESIGN 5.6): it owns node
 * presence and hands each backend message to its session. A burst from the
 * ROUTER is one event; each message is routed by its sid, and only to the
 * session bound to the node that sent it (identity is authorization, as in
 * BlastBeat). On its sweep it pings silent nodes, marks nodes unavailable,
 * tells their sessions (`backend.lost`) and wakes sessions whose deadline
 * passed (`session.tick`): the only timer for every session's timeouts.
 */
export function gatewayMachine(config: GatewayMachineConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'gateway' });
  const now = config.now ?? Date.now;
  const registry = config.registry;
  const drops = new DropCounter('gateway', config.metrics, log);
  const nodesGauge = config.metrics?.gauge('steward_gateway_nodes_available', 'Backend nodes answering pings');
  const sessionsGauge = config.metrics?.gauge('steward_gateway_sessions', 'Open client connections');
  const backendMessages = config.metrics?.counter('steward_gateway_backend_messages_total', 'Messages from backend nodes, by type', ['type']);

  const ping = (node: NodeEntry): GatewayOutbound => [node.id, EMPTY, KIND_FRAME.ping, EMPTY];
  const pong = (node: NodeEntry): GatewayOutbound => [node.id, EMPTY, KIND_FRAME.pong, EMPTY];

  return setup({
    types: {
      context: {} as GatewayContext,
      events: {} as GatewayEvent,
      emitted: {} as GatewayEmitted,
    },
    delays: { sweep: config.sweepIntervalMs },
    actions: {
      announce: enqueueActions(({ system, enqueue }) => {
        const socket = system.get(config.socket);
        const announce: ZmqCommand<GatewayOutbound> = { type: 'zmq.announce' };
        if (socket) enqueue.sendTo(socket, announce);
      }),
      recordEndpoints: enqueueActions(({ context, event, enqueue }) => {
        const zmq = event.type === 'zmq.ready' ? event.endpoints : context.zmq;
        const http = event.type === 'http.ready' ? { http: event.http, https: event.https } : context.http;
        enqueue.assign({ zmq, http });
        if (zmq !== undefined && http !== undefined) {
          log.info({ http: http.http, https: http.https, zmq }, 'gateway listening');
          enqueue.emit({ type: 'gateway.listening', http: http.http, https: http.https, zmq });
        }
      }),
      dispatch: enqueueActions(({ event, system, enqueue }) => {
        if (event.type !== 'zmq.batch') return;
        const t = now();
        const replies: GatewayOutbound[] = [];
        const messages = event.messages;
        for (let i = 0; i < messages.length; i++) {
          const m = messages[i] as BackendMessage;
          const node = registry.nodes.byRoutingId(m.node);
          if (node === undefined) {
            drops.drop('unknown_node', m.node.toString('latin1').slice(0, 64));
            continue;
          }
          backendMessages?.inc({ type: m.kind });
          if (registry.nodes.heard(node, t, m.kind === 'pong') === 'up') {
            log.info({ node: node.name }, 'node available');
            enqueue.emit({ type: 'node.up', node: node.name });
          }
          if (m.kind === 'pong') continue;
          if (m.kind === 'ping') {
            replies.push(pong(node));
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
        if (replies.length > 0) {
          const socket = system.get(config.socket);
          const send: ZmqCommand<GatewayOutbound> = { type: 'zmq.send', messages: replies };
          if (socket) enqueue.sendTo(socket, send);
        }
      }),
      sweep: enqueueActions(({ context, system, enqueue }) => {
        const t = now();
        // Before the ROUTER is bound there is nobody to ping (and zeromq refuses sends while binding).
        const { ping: toPing, lost } = context.zmq === undefined ? { ping: [], lost: [] } : registry.nodes.tick(t);
        if (toPing.length > 0) {
          const socket = system.get(config.socket);
          const send: ZmqCommand<GatewayOutbound> = { type: 'zmq.send', messages: toPing.map(ping) };
          if (socket) enqueue.sendTo(socket, send);
        }
        const lostNames = new Set<string>();
        for (const node of lost) {
          lostNames.add(node.name);
          log.warn({ node: node.name, silentMs: t - node.lastSeen }, 'node unavailable');
          enqueue.emit({ type: 'node.down', node: node.name });
        }
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
      }),
    },
  }).createMachine({
    id: 'gateway',
    context: { zmq: undefined, http: undefined },
    entry: 'announce',
    initial: 'running',
    states: {
      running: {
        entry: 'sweep',
        after: { sweep: { target: 'running', reenter: true } },
        on: {
          'zmq.ready': { actions: 'recordEndpoints' },
          'http.ready': { actions: 'recordEndpoints' },
          'zmq.batch': { actions: 'dispatch' },
          'lifecycle.shutdown': 'stopped',
        },
      },
      stopped: { type: 'final' },
    },
  });
}

export type GatewayMachineLogic = ReturnType<typeof gatewayMachine>;
