import { enqueueActions, setup } from 'xstate';
import type { ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { KeywordDefinition } from '../../config/keywords-file.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { DispatcherInbound } from '../../protocol/keywords.js';
import type { KeywordInput } from '../../protocol/ktl-types.js';
import { KeywordStore } from './keyword-store.js';

/** Which socket adapters (systemIds) carry requests and broadcasts; `generation` tells one binding from the next. */
export interface SocketBinding {
  readonly dispatch: string;
  readonly broadcast: string;
  readonly generation: number;
}

export interface KeywordServiceConfig {
  readonly service: string;
  readonly definitions: readonly KeywordDefinition[];
  /** Sockets known when the tree is built (registry disabled); otherwise the registrar attaches them. */
  readonly binding?: SocketBinding;
  /** systemId told `dispatcher.bound` once both sockets listen (the registrar). */
  readonly registrar?: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export type KeywordServiceEvent =
  | ZmqOwnerEvent<DispatcherInbound>
  | { type: 'keywords.attach'; binding: SocketBinding }
  | { type: 'keywords.set'; name: string; value: KeywordInput }
  | { type: 'lifecycle.shutdown' };

/** Told to the registrar when the sockets of a binding both listen. */
export type DispatcherBound = { type: 'dispatcher.bound'; generation: number; dispatch: string; broadcast: string };

export type KeywordServiceEmitted = { type: 'dispatcher.listening'; service: string; dispatch: string; broadcast: string };

export interface KeywordServiceContext {
  readonly store: KeywordStore;
  binding: SocketBinding | undefined;
  /** Endpoints each socket reported, by systemId. */
  readonly endpoints: Map<string, string>;
  listening: boolean;
}

/**
 * The dispatcher: requests in, replies and broadcasts out. Reads, validated
 * writes and the broadcast of every change are the store's; this machine
 * routes the frames to the sockets of the current binding and says when
 * they listen.
 */
export function keywordServiceMachine(config: KeywordServiceConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'dispatcher', service: config.service });
  const requests = config.metrics?.counter('steward_keywords_requests_total', 'Dispatcher requests answered', ['service']);
  const broadcasts = config.metrics?.counter('steward_keywords_broadcasts_total', 'Value changes broadcast', ['service']);

  return setup({
    types: {
      context: {} as KeywordServiceContext,
      events: {} as KeywordServiceEvent,
      emitted: {} as KeywordServiceEmitted,
    },
    actions: {
      announce: enqueueActions(({ context, system, enqueue }) => {
        const b = context.binding;
        if (!b) return;
        for (const id of [b.dispatch, b.broadcast]) {
          const socket = system.get(id);
          if (socket) enqueue.sendTo(socket, { type: 'zmq.announce' });
        }
      }),
      attach: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'keywords.attach') return;
        enqueue.assign({ binding: event.binding, listening: false });
        // Old sockets are gone; keep only what the new ones may already have said.
        for (const id of [...context.endpoints.keys()]) {
          if (id !== event.binding.dispatch && id !== event.binding.broadcast) context.endpoints.delete(id);
        }
      }),
      recordEndpoint: ({ context, event }) => {
        if (event.type === 'zmq.ready') context.endpoints.set(event.socket, event.endpoints[0] ?? '');
      },
      checkListening: enqueueActions(({ context, system, enqueue }) => {
        const b = context.binding;
        if (!b || context.listening) return;
        const dispatch = context.endpoints.get(b.dispatch);
        const broadcast = context.endpoints.get(b.broadcast);
        if (dispatch === undefined || broadcast === undefined) return;
        enqueue.assign({ listening: true });
        log.info({ dispatch, broadcast, keywords: context.store.keywords().length }, 'dispatcher listening');
        enqueue.emit({ type: 'dispatcher.listening', service: config.service, dispatch, broadcast });
        const registrar = config.registrar === undefined ? undefined : system.get(config.registrar);
        const bound: DispatcherBound = { type: 'dispatcher.bound', generation: b.generation, dispatch, broadcast };
        if (registrar) enqueue.sendTo(registrar, bound);
      }),
      handleBatch: enqueueActions(({ context, event, system, enqueue }) => {
        if (event.type !== 'zmq.batch') return;
        context.store.handle(event.messages);
        requests?.inc({ service: config.service }, event.messages.length);
        const { replies } = context.store;
        if (replies.length > 0) {
          // Answer through the socket the requests came in on (it may be a binding being replaced).
          const socket = system.get(event.socket);
          const send: ZmqCommand<Buffer[]> = { type: 'zmq.send', messages: replies.splice(0) };
          if (socket) enqueue.sendTo(socket, send);
        }
      }),
      set: ({ context, event }) => {
        if (event.type !== 'keywords.set') return;
        const result = context.store.set(event.name, event.value);
        if (!result.ok) log.warn({ keyword: event.name, reason: result.reason }, 'set refused');
      },
      publish: enqueueActions(({ context, system, enqueue }) => {
        const out = context.store.broadcasts;
        if (out.length === 0) return;
        const socket = context.binding ? system.get(context.binding.broadcast) : undefined;
        broadcasts?.inc({ service: config.service }, out.length);
        const send: ZmqCommand<Buffer[]> = { type: 'zmq.send', messages: out.splice(0) };
        // Before the broadcast socket listens nobody can be subscribed: nothing is lost by dropping.
        if (socket) enqueue.sendTo(socket, send);
      }),
    },
  }).createMachine({
    id: 'keywordService',
    context: () => ({
      store: new KeywordStore(config.service, config.definitions),
      binding: config.binding,
      endpoints: new Map(),
      listening: false,
    }),
    entry: 'announce',
    initial: 'running',
    states: {
      running: {
        on: {
          'zmq.ready': { actions: ['recordEndpoint', 'checkListening'] },
          'zmq.batch': { actions: ['handleBatch', 'publish'] },
          'keywords.attach': { actions: ['attach', 'announce', 'checkListening'] },
          'keywords.set': { actions: ['set', 'publish'] },
          'lifecycle.shutdown': 'stopped',
        },
      },
      stopped: { type: 'final' },
    },
  });
}
