import type { SocketInlet, SocketPort, ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { Metrics } from '../../metrics/registry.js';
import type { BackendMessage, GatewayOutbound } from '../../protocol/blastbeat/message.js';
import { assign, enqueueActions, setup, type AnyActorRef } from 'xstate';
import type { HeartbeatTick } from '../heartbeat/heartbeat-monitor.js';
import { BackendDispatch, pingTo, type DispatchOutlets } from './dispatch.js';
import type { GatewayRegistry } from './registry.js';

export interface GatewayMachineConfig {
  readonly registry: GatewayRegistry;
  /** Where node messages go; one is made when not given (the tree shares its own with the ROUTER adapter). */
  readonly dispatch?: BackendDispatch;
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
  /** A node became available (from the dispatch, when the adapter hands bursts to it directly). */
  | { type: 'gateway.nodeUp'; node: string }
  /** The dispatch threw while the adapter ran it: this machine fails with the error, as if its action had. */
  | { type: 'gateway.crash'; error: unknown }
  | { type: 'lifecycle.shutdown' };

export type GatewayEmitted =
  | { type: 'gateway.listening'; http: string[]; https: string[]; zmq: string[] }
  | { type: 'node.up'; node: string }
  | { type: 'node.down'; node: string };

export interface GatewayContext {
  zmq: string[] | undefined;
  http: { http: string[]; https: string[] } | undefined;
}

/** What the router's work may reach: other actors, and observers of what it emits. */
interface Scope {
  readonly system: { get(systemId: string): AnyActorRef | undefined };
  readonly emit: (event: GatewayEmitted) => void;
}

/**
 * The gateway's side of the backend wire (docs/gateway.md "The backend wire"): it owns node
 * presence and the deadline sweep. On each `heartbeat.tick` it pings silent
 * nodes, marks nodes unavailable, tells their sessions (`backend.lost`) and
 * wakes sessions whose deadline passed (`session.tick`): the only timer
 * behind every session's timeouts. It announces when the gateway listens
 * and when nodes come and go.
 *
 * Node messages themselves are per-message work (`dispatch.ts`): once the
 * ROUTER adapter is ready this machine attaches an inlet to it
 * (`zmq.attach`), so each burst runs the dispatch by a function call, which
 * tells this machine only that a node came up (`gateway.nodeUp`); the
 * adapter's port, recorded in the registry, takes the sessions' messages
 * the same way. A `zmq.batch` event (before the inlet is attached) takes the
 * same path. A burst that throws fails this machine (`gateway.crash`), as a
 * throwing action would, and rest_for_one restarts what depends on it.
 */
export function gatewayMachine(config: GatewayMachineConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'gateway' });
  const now = config.now ?? Date.now;
  const registry = config.registry;
  const dispatch = config.dispatch ?? new BackendDispatch({ registry, ...(config.logger ? { logger: config.logger } : {}), ...(config.metrics ? { metrics: config.metrics } : {}), now });
  const nodesGauge = config.metrics?.gauge('steward_gateway_nodes_available', 'Backend nodes answering pings');
  const sessionsGauge = config.metrics?.gauge('steward_gateway_sessions', 'Open client connections');

  const send = (scope: Scope, command: ZmqCommand<GatewayOutbound>) => scope.system.get(config.socket)?.send(command);

  const listening = (ctx: GatewayContext, scope: Scope) => {
    if (ctx.zmq === undefined || ctx.http === undefined) return;
    log.info({ http: ctx.http.http, https: ctx.http.https, zmq: ctx.zmq }, 'gateway listening');
    scope.emit({ type: 'gateway.listening', http: ctx.http.http, https: ctx.http.https, zmq: ctx.zmq });
  };

  const nodeUp = (name: string, scope: Scope) => {
    log.info({ node: name }, 'node available');
    scope.emit({ type: 'node.up', node: name });
  };

  const dispatchBurst = (messages: readonly BackendMessage[], scope: Scope) =>
    dispatch.batch(messages, {
      send: (replies) => send(scope, { type: 'zmq.send', messages: replies }),
      nodeUp: (node) => nodeUp(node.name, scope),
    });

  /** The function the ROUTER hands each burst to: the dispatch, without this machine's interpreter. */
  const inletOf = (system: Scope['system'], self: AnyActorRef): SocketInlet<BackendMessage> => {
    const outlets: DispatchOutlets = {
      send: (replies) => {
        const port = registry.nodesPort;
        if (port !== undefined) port.send(replies);
        else system.get(config.socket)?.send({ type: 'zmq.send', messages: replies });
      },
      nodeUp: (node) => self.send({ type: 'gateway.nodeUp', node: node.name }),
    };
    return (batch) => {
      try {
        dispatch.batch(batch.messages, outlets);
      } catch (error) {
        // An inlet must not throw into the adapter: detach, and fail through this machine.
        system.get(config.socket)?.send({ type: 'zmq.detach' } satisfies ZmqCommand<GatewayOutbound, BackendMessage>);
        self.send({ type: 'gateway.crash', error });
      }
    };
  };

  const sweep = (ctx: GatewayContext, scope: Scope) => {
    const t = now();
    // Before the ROUTER is bound there is nobody to ping (and zeromq refuses sends while binding).
    const { ping: toPing, lost } = ctx.zmq === undefined ? { ping: [], lost: [] } : registry.nodes.tick(t);
    if (toPing.length > 0) send(scope, { type: 'zmq.send', messages: toPing.map(pingTo) });
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

  /** Runs `work` with what it may reach; what it emits goes out through the action queue, in order. */
  const withScope = (system: Scope['system'], enqueue: { emit: (event: GatewayEmitted) => void }, work: (scope: Scope) => void) =>
    work({ system, emit: (event) => enqueue.emit(event) });

  return setup({
    types: {
      context: {} as GatewayContext,
      events: {} as GatewayEvent,
      emitted: {} as GatewayEmitted,
    },
    actions: {
      // An adapter that outlived a restart of this machine tells its endpoints again, once asked.
      announce: ({ system }) => (system.get(config.socket) as AnyActorRef | undefined)?.send({ type: 'zmq.announce' } satisfies ZmqCommand<GatewayOutbound>),
      zmqReady: assign({ zmq: ({ event }) => (event.type === 'zmq.ready' ? event.endpoints : undefined) }),
      attach: enqueueActions(({ event, system, self, enqueue }) => {
        if (event.type !== 'zmq.ready') return;
        registry.nodesPort = event.port as SocketPort<GatewayOutbound>;
        const adapter = system.get(config.socket) as AnyActorRef | undefined;
        const attach: ZmqCommand<GatewayOutbound, BackendMessage> = { type: 'zmq.attach', inlet: inletOf(system, self), owner: self };
        if (adapter) enqueue.sendTo(adapter, attach);
      }),
      httpReady: assign({ http: ({ event }) => (event.type === 'http.ready' ? { http: event.http, https: event.https } : undefined) }),
      listening: enqueueActions(({ context, system, enqueue }) => withScope(system, enqueue, (scope) => listening(context, scope))),
      dispatch: enqueueActions(({ event, system, enqueue }) => {
        if (event.type === 'zmq.batch') withScope(system, enqueue, (scope) => dispatchBurst(event.messages, scope));
      }),
      crash: ({ event }) => {
        throw (event as { error: unknown }).error;
      },
      nodeUp: enqueueActions(({ event, system, enqueue }) => {
        if (event.type === 'gateway.nodeUp') withScope(system, enqueue, (scope) => nodeUp(event.node, scope));
      }),
      sweep: enqueueActions(({ context, system, enqueue }) => withScope(system, enqueue, (scope) => sweep(context, scope))),
    },
  }).createMachine({
    id: 'gateway',
    context: { zmq: undefined, http: undefined },
    initial: 'running',
    states: {
      running: {
        entry: 'announce',
        on: {
          'zmq.ready': { actions: ['zmqReady', 'attach', 'listening'] },
          'http.ready': { actions: ['httpReady', 'listening'] },
          'zmq.batch': { actions: 'dispatch' },
          'gateway.nodeUp': { actions: 'nodeUp' },
          'gateway.crash': { actions: 'crash' },
          'heartbeat.tick': { actions: 'sweep' },
          'lifecycle.shutdown': 'stopped',
        },
      },
      stopped: { type: 'final' },
    },
  });
}

export type GatewayMachineLogic = ReturnType<typeof gatewayMachine>;
