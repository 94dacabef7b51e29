import { assign, enqueueActions, setup } from 'xstate';
import type { ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import { isRejected, parseGrant, request, type Grant, type Reply } from '../../protocol/keywords.js';
import type { ChildSpec, SupervisorEvent } from '../../supervisor/types.js';
import type { DispatcherBound, KeywordServiceEvent, SocketBinding } from './keyword-service.machine.js';

export interface SocketsForGrant {
  readonly binding: SocketBinding;
  /** Socket adapters to start under the endpoints supervisor; their ids are unique per generation. */
  readonly children: readonly ChildSpec[];
}

export interface RegistrarConfig {
  readonly service: string;
  /** Names this dispatcher instance to the registry (registering again with it is idempotent). */
  readonly token: string;
  /** The host the granted endpoints name: where this dispatcher binds and clients connect. */
  readonly host: string;
  /** For log lines. */
  readonly registryEndpoint: string;
  /** How long a registry has to answer before it counts as absent. */
  readonly timeoutMs: number;
  readonly allowSpawn: boolean;
  /** systemIds: the DEALER to the registry, the keyword machine, the supervisor of the sockets, the tree's root. */
  readonly link: string;
  readonly keywords: string;
  readonly endpoints: string;
  readonly root: string;
  readonly sockets: (grant: Grant, generation: number) => SocketsForGrant;
  /** A registry to start under the root when none answers (allow-spawn). */
  readonly spawn?: { readonly spec: ChildSpec; readonly systemId: string; readonly mode: string };
  /** How long the granted ports may take to bind before they are given back. */
  readonly bindTimeoutMs?: number;
  /** Wait before registering again after a refusal (service taken, ports exhausted). */
  readonly retryMs?: number;
  readonly logger?: Logger;
}

type Signal =
  | { type: 'registrar.granted'; grant: Grant }
  | { type: 'registrar.refused'; code: string; message: string }
  | { type: 'registrar.beatAcked' }
  | { type: 'registrar.forgotten'; code: string }
  | { type: 'registrar.unregistered' };

export type RegistrarEvent = ZmqOwnerEvent<Reply> | DispatcherBound | Signal | { type: 'lifecycle.shutdown' };

export type RegistrarEmitted =
  | { type: 'registrar.registered'; grant: Grant }
  | { type: 'registrar.refused'; code: string; message: string }
  | { type: 'registrar.spawned'; mode: string };

interface Held {
  readonly grant: Grant;
  readonly binding: SocketBinding;
  readonly children: readonly string[];
}

export interface RegistrarContext {
  /** Bumped on each registration round; replies to older rounds are ignored. */
  epoch: number;
  seq: number;
  attempts: number;
  generation: number;
  bound: Held | undefined;
  pending: Held | undefined;
  avoid: number[];
  /** Heartbeats sent since the last answer. */
  outstanding: number;
  spawned: boolean;
  /** At shutdown: the registry this dispatcher started has already stopped, so nobody would answer an unregister. */
  registryGone: boolean;
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

const LOG_EVERY = 10;

const terminate = (id: string): SupervisorEvent => ({ type: 'supervisor.terminateChild', id });
const startChild = (spec: ChildSpec): SupervisorEvent => ({ type: 'supervisor.startChild', spec });
const send = (frames: Buffer[]): ZmqCommand<Buffer[]> => ({ type: 'zmq.send', messages: [frames] });

/**
 * A dispatcher's standing with the registry: register (starting a registry
 * when none answers and spawning is allowed), bind the granted ports, then
 * heartbeat; register again when the registry forgets it or goes silent,
 * keeping its ports if they are still free; unregister on shutdown. Sockets
 * and the registry it may start are handed in as child specs: this machine
 * touches none itself.
 */
export function registrarMachine(config: RegistrarConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'registrar', service: config.service });
  const bindTimeoutMs = config.bindTimeoutMs ?? 5_000;
  const retryMs = config.retryMs ?? Math.max(config.timeoutMs, 1_000);

  return setup({
    types: {
      context: {} as RegistrarContext,
      events: {} as RegistrarEvent,
      emitted: {} as RegistrarEmitted,
    },
    delays: {
      answerTimeout: config.timeoutMs,
      bindTimeout: bindTimeoutMs,
      retry: retryMs,
      unregisterTimeout: Math.min(config.timeoutMs, 1_000),
      heartbeat: ({ context }) => context.bound?.grant.heartbeatMs ?? 1_000,
    },
    guards: {
      sameAsBound: ({ context, event }) =>
        event.type === 'registrar.granted' &&
        context.bound !== undefined &&
        context.bound.grant.dispatch === event.grant.dispatch &&
        context.bound.grant.broadcast === event.grant.broadcast,
      isPendingGeneration: ({ context, event }) => event.type === 'dispatcher.bound' && event.generation === context.pending?.binding.generation,
      registryLost: ({ context }) => {
        const grant = context.bound?.grant;
        return grant !== undefined && context.outstanding * grant.heartbeatMs >= grant.expiryMs;
      },
      nothingToUnregister: ({ context }) => context.bound === undefined || context.registryGone,
    },
    actions: {
      sortReplies: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'zmq.batch') return;
        for (const reply of event.messages) {
          const [kind, a] = reply.id.split('.');
          if (kind === 'reg') {
            if (Number(a) !== context.epoch) continue;
            if (!reply.ok) {
              enqueue.raise({ type: 'registrar.refused', code: reply.code, message: reply.message });
              continue;
            }
            const grant = parseGrant(reply.payload);
            if (isRejected(grant)) log.warn({ reason: grant.reason }, 'malformed grant from the registry; ignored');
            else enqueue.raise({ type: 'registrar.granted', grant });
          } else if (kind === 'hb') {
            enqueue.raise(reply.ok ? { type: 'registrar.beatAcked' } : { type: 'registrar.forgotten', code: reply.code });
          } else if (kind === 'unreg') {
            enqueue.raise({ type: 'registrar.unregistered' });
          }
        }
      }),
      newRound: assign(({ context }) => ({ epoch: context.epoch + 1, attempts: 0 })),
      sendRegister: enqueueActions(({ context, system, enqueue }) => {
        const held = context.bound ?? context.pending;
        const prefer = held ? String(portOf(held.grant.dispatch)) : '';
        const frames = request(`reg.${context.epoch}.${context.seq}`, 'register', [
          Buffer.from(config.service),
          Buffer.from(config.token),
          Buffer.from(config.host),
          Buffer.from(prefer),
          Buffer.from(context.avoid.join(',')),
        ]);
        enqueue.assign({ seq: context.seq + 1 });
        const link = system.get(config.link);
        if (link) enqueue.sendTo(link, send(frames));
      }),
      noAnswer: enqueueActions(({ context, system, enqueue }) => {
        const attempts = context.attempts + 1;
        enqueue.assign({ attempts });
        const spawn = config.spawn;
        if (config.allowSpawn && spawn && system.get(spawn.systemId) === undefined) {
          log.warn({ registry: config.registryEndpoint, timeoutMs: config.timeoutMs, mode: spawn.mode }, 'no registry answered; starting one');
          const root = system.get(config.root);
          if (root) enqueue.sendTo(root, startChild(spawn.spec));
          enqueue.assign({ spawned: true });
          enqueue.emit({ type: 'registrar.spawned', mode: spawn.mode });
        } else if (attempts % LOG_EVERY === 1) {
          log.warn({ registry: config.registryEndpoint, timeoutMs: config.timeoutMs, attempts }, 'no registry answers; still trying');
        }
      }),
      refused: enqueueActions(({ event, enqueue }) => {
        if (event.type !== 'registrar.refused') return;
        if (event.code === 'service-taken') {
          log.warn({ reason: event.message, retryMs }, 'service held by another dispatcher; asking again until the registry drops it');
        } else {
          log.error({ code: event.code, reason: event.message, retryMs }, 'registry refused the registration');
        }
        enqueue.emit({ type: 'registrar.refused', code: event.code, message: event.message });
      }),
      bindGrant: enqueueActions(({ context, event, system, enqueue }) => {
        if (event.type !== 'registrar.granted') return;
        const generation = context.generation + 1;
        const sockets = config.sockets(event.grant, generation);
        const endpoints = system.get(config.endpoints);
        // New ports: the old sockets go first, so a client never reaches two bindings of one service.
        if (endpoints) {
          for (const id of context.bound?.children ?? []) enqueue.sendTo(endpoints, terminate(id));
          for (const spec of sockets.children) enqueue.sendTo(endpoints, startChild(spec));
        }
        const keywords = system.get(config.keywords);
        const attach: KeywordServiceEvent = { type: 'keywords.attach', binding: sockets.binding };
        if (keywords) enqueue.sendTo(keywords, attach);
        enqueue.assign({
          generation,
          bound: undefined,
          pending: { grant: event.grant, binding: sockets.binding, children: sockets.children.map((c) => c.id) },
        });
      }),
      promote: enqueueActions(({ context, enqueue }) => {
        const held = context.pending;
        if (!held) return;
        log.info({ registry: config.registryEndpoint, dispatch: held.grant.dispatch, broadcast: held.grant.broadcast }, 'registered');
        enqueue.assign({ bound: held, pending: undefined });
        enqueue.emit({ type: 'registrar.registered', grant: held.grant });
      }),
      refreshGrant: assign(({ context, event }) => {
        if (event.type !== 'registrar.granted' || !context.bound) return {};
        return { bound: { ...context.bound, grant: event.grant } };
      }),
      abandonBinding: enqueueActions(({ context, system, enqueue }) => {
        const held = context.pending;
        if (!held) return;
        const ports = [portOf(held.grant.dispatch), portOf(held.grant.broadcast)];
        log.warn({ dispatch: held.grant.dispatch, broadcast: held.grant.broadcast, bindTimeoutMs }, 'granted ports did not bind; asking for others');
        const endpoints = system.get(config.endpoints);
        if (endpoints) for (const id of held.children) enqueue.sendTo(endpoints, terminate(id));
        enqueue.assign({ pending: undefined, avoid: [...context.avoid, ...ports].slice(-64) });
      }),
      resetOutstanding: assign({ outstanding: 0 }),
      sendHeartbeat: enqueueActions(({ context, system, enqueue }) => {
        const frames = request(`hb.${context.seq}`, 'heartbeat', [Buffer.from(config.service), Buffer.from(config.token)]);
        enqueue.assign({ seq: context.seq + 1, outstanding: context.outstanding + 1 });
        const link = system.get(config.link);
        if (link) enqueue.sendTo(link, send(frames));
      }),
      sendUnregister: enqueueActions(({ context, system, enqueue }) => {
        if (!context.bound) return;
        const frames = request(`unreg.${context.seq}`, 'unregister', [Buffer.from(config.service), Buffer.from(config.token)]);
        const link = system.get(config.link);
        if (link) enqueue.sendTo(link, send(frames));
      }),
      checkRegistryGone: assign(({ context, system }) => ({
        registryGone: context.spawned && config.spawn !== undefined && system.get(config.spawn.systemId) === undefined,
      })),
      logLost: () => log.warn({ registry: config.registryEndpoint }, 'registry stopped answering heartbeats; registering again'),
      logForgotten: ({ event }) => {
        if (event.type === 'registrar.forgotten') log.warn({ code: event.code }, 'registry no longer lists this dispatcher; registering again');
      },
    },
  }).createMachine({
    id: 'registrar',
    context: () => ({
      epoch: 0,
      seq: 0,
      attempts: 0,
      generation: 0,
      bound: undefined,
      pending: undefined,
      avoid: [],
      outstanding: 0,
      spawned: false,
      registryGone: false,
    }),
    initial: 'registering',
    on: {
      'zmq.batch': { actions: 'sortReplies' },
      'lifecycle.shutdown': { target: '.unregistering', actions: 'checkRegistryGone' },
    },
    states: {
      registering: {
        entry: 'newRound',
        initial: 'asking',
        states: {
          asking: {
            entry: 'sendRegister',
            after: { answerTimeout: { target: 'asking', reenter: true, actions: 'noAnswer' } },
          },
        },
        on: {
          'registrar.granted': [
            { guard: 'sameAsBound', target: 'registered', actions: 'refreshGrant' },
            { target: 'binding', actions: 'bindGrant' },
          ],
          'registrar.refused': { target: 'refused', actions: 'refused' },
        },
      },
      refused: {
        after: { retry: 'registering' },
      },
      binding: {
        on: {
          'dispatcher.bound': { guard: 'isPendingGeneration', target: 'registered', actions: 'promote' },
        },
        after: { bindTimeout: { target: 'registering', actions: 'abandonBinding' } },
      },
      registered: {
        entry: 'resetOutstanding',
        initial: 'beating',
        states: {
          beating: {
            after: {
              heartbeat: [
                { guard: 'registryLost', target: '#registrar.registering', actions: 'logLost' },
                { target: 'beating', reenter: true, actions: 'sendHeartbeat' },
              ],
            },
          },
        },
        on: {
          'registrar.beatAcked': { actions: 'resetOutstanding' },
          'registrar.forgotten': { target: 'registering', actions: 'logForgotten' },
        },
      },
      unregistering: {
        always: { guard: 'nothingToUnregister', target: 'done' },
        entry: 'sendUnregister',
        on: { 'registrar.unregistered': 'done' },
        after: { unregisterTimeout: 'done' },
      },
      done: { type: 'final' },
    },
  });
}
