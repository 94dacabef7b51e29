import { enqueueActions, setup } from 'xstate';
import type { AnyActorRef } from 'xstate';
import type { SocketInlet, SocketPort, ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import { silentLogger, type Logger } from '../../log.js';
import { MDP_HEARTBEAT_INTERVAL_MS, MDP_HEARTBEAT_LIVENESS } from '../../protocol/mdp.js';
import type { WorkerInbound } from '../../protocol/worker-wire.js';
import type { HeartbeatTick } from '../heartbeat/heartbeat-monitor.machine.js';
import type { Handler } from './worker-call.js';
import { mergeUnits } from '../../protocol/steward-wire.js';
import { guardedInlet } from '../guarded-inlet.js';
import { CreditPool } from './credit-pool.js';
import { WorkerLink, type WorkerWireChoice } from './worker-link.js';

export interface WorkerConnectionConfig {
  readonly service: string;
  readonly handler: Handler;
  /** systemId of this connection's socket adapter. */
  readonly socket: string;
  /** The worker's concurrency, shared by its links (one per broker); a lone link gets one of its own. */
  readonly pool?: CreditPool;
  /** This link's place in the pool. */
  readonly index?: number;
  /** Called each time a broker has taken this link's registration (steward wire: it answered the PING sent after READY). */
  readonly onRegistered?: (index: number) => void;
  /** Requests the broker may hand this worker at once (MDP peers: 1). */
  readonly credit?: number;
  /** steward (default): the compact wire, steward brokers only; mdp: any Majordomo broker. */
  readonly wire?: WorkerWireChoice;
  readonly heartbeatIntervalMs?: number;
  readonly liveness?: number;
  /** Reconnect delays: 0 for the first attempt, then `initial` doubling up to `max` (butler: 1 s .. 32 s). */
  readonly reconnect?: { readonly initial: number; readonly max: number };
  readonly drainTimeoutMs?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

export type WorkerConnectionEvent =
  | ZmqOwnerEvent<WorkerInbound, Buffer[]>
  | HeartbeatTick
  | { type: 'worker.idle' }
  /** A burst handed to the inlet held the broker's DISCONNECT: the machine registers again. */
  | { type: 'worker.disconnectRequested' }
  /** The inlet's handling of a burst threw: the machine fails with that error, and its supervisor restarts it. */
  | { type: 'worker.failed'; error: unknown }
  | { type: 'lifecycle.shutdown' };

export interface WorkerConnectionContext {
  readonly link: WorkerLink;
  /** The socket adapter's writing side, from its `zmq.ready`; until then replies go as `zmq.send` events. */
  readonly wires: {
    port: SocketPort<Buffer[]> | undefined;
    /**
     * Set on entering `draining`, the only state that waits for the link to go idle: before that, a
     * reply that leaves the link idle costs no event (at one request in flight, that was one XState
     * step per request).
     */
    waitingForIdle: boolean;
  };
  /** What the socket adapter hands each burst to (no XState step per burst, as the broker's). */
  readonly inlet: SocketInlet<WorkerInbound>;
  endpoint: string | undefined;
}

/**
 * One worker's registration with one broker: READY, then heartbeats both
 * ways; when the broker falls silent for `liveness` intervals or says
 * DISCONNECT, register again after a growing delay. On shutdown it says
 * DISCONNECT first (the broker sends nothing new but still takes the replies
 * in flight), finishes what it holds, then ends.
 */
export function workerConnection(config: WorkerConnectionConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'worker', service: config.service });
  const now = config.now ?? Date.now;
  const interval = config.heartbeatIntervalMs ?? MDP_HEARTBEAT_INTERVAL_MS;
  const liveness = config.liveness ?? MDP_HEARTBEAT_LIVENESS;
  const reconnect = config.reconnect ?? { initial: 1_000, max: 32_000 };
  const credit = config.credit ?? 1;
  const wire = config.wire ?? 'steward';
  const compact = wire === 'steward';
  const index = config.index ?? 0;
  const pool = config.pool ?? new CreditPool(credit, 1, compact ? 'shared' : 'static');

  /** Each burst, straight from the socket adapter; what must change the machine's state comes back as an event. */
  const inletOf = (link: WorkerLink, self: AnyActorRef): SocketInlet<WorkerInbound> =>
    guardedInlet<WorkerInbound>(
      self,
      (batch) => {
        const wasRequested = link.disconnectRequested;
        link.handle(batch.messages, now());
        if (link.disconnectRequested && !wasRequested) self.send({ type: 'worker.disconnectRequested' });
      },
      (error) => ({ type: 'worker.failed', error }),
    );

  return setup({
    types: {
      context: {} as WorkerConnectionContext,
      events: {} as WorkerConnectionEvent,
    },
    delays: {
      reconnectDelay: ({ context }) => {
        const n = context.link.attempts;
        return n <= 1 ? 0 : Math.min(reconnect.max, reconnect.initial * 2 ** (n - 2));
      },
      drainTimeout: config.drainTimeoutMs ?? 5_000,
    },
    guards: {
      // MDP only: on the steward wire the link itself waits for a silent broker and registers again.
      disconnected: ({ context }) => context.link.disconnectRequested,
      silent: ({ context }) => !compact && context.link.silentSince(now(), interval * liveness),
      idle: ({ context }) => context.link.pending === 0,
    },
    actions: {
      register: ({ context }) => {
        context.link.ready(now());
      },
      heartbeat: ({ context }) => {
        if (compact) context.link.tick(now(), interval * liveness);
        else context.link.heartbeat();
      },
      handle: ({ context, event }) => {
        if (event.type === 'zmq.batch') context.link.handle(event.messages, now());
      },
      fail: ({ event }) => {
        if (event.type === 'worker.failed') throw event.error;
      },
      countAttempt: ({ context }) => {
        context.link.attempts += 1;
        context.link.lastHeard = now();
      },
      logLost: ({ context }) => {
        context.link.lost();
        log.warn(
          { broker: context.endpoint, reason: context.link.disconnectRequested ? 'broker said DISCONNECT' : 'broker silent' },
          'reconnecting to broker',
        );
      },
      sayGoodbye: ({ context }) => {
        context.wires.waitingForIdle = true;
        context.link.disconnect();
      },
      // Past the drain: nothing the handlers still run can be answered; their signals say so.
      abandonAll: ({ context }) => {
        context.link.cancelAll();
      },
      recordEndpoint: enqueueActions(({ context, event, enqueue, system, self }) => {
        if (event.type !== 'zmq.ready') return;
        context.wires.port = event.port;
        enqueue.assign({ endpoint: event.endpoints[0] });
        const adapter = system.get(config.socket);
        if (adapter) {
          const attach: ZmqCommand<Buffer[], WorkerInbound> = { type: 'zmq.attach', inlet: context.inlet, owner: self };
          enqueue.sendTo(adapter, attach);
        }
      }),
    },
  }).createMachine({
    id: 'workerConnection',
    context: ({ self }) => {
      let pending: Buffer[][] = [];
      const merge = compact;
      const wires: WorkerConnectionContext['wires'] = { port: undefined, waitingForIdle: false };
      // Replies that complete in the same tick leave together; in the compact wire their
      // units also share ZeroMQ messages (zeromq.js pays per message).
      const flush = () => {
        const messages = merge ? mergeUnits(pending) : pending;
        pending = [];
        if (wires.port) {
          wires.port.send(messages);
          return;
        }
        const command: ZmqCommand<Buffer[]> = { type: 'zmq.send', messages };
        self.system.get(config.socket)?.send(command);
      };
      const send = (frames: Buffer[]) => {
        if (pending.length === 0) queueMicrotask(flush);
        pending.push(frames);
      };
      const onIdle = () => {
        if (wires.waitingForIdle) self.send({ type: 'worker.idle' });
      };
      const link = new WorkerLink(config.service, pool, index, config.handler, send, onIdle, log, now(), wire, config.onRegistered);
      return { link, wires, inlet: inletOf(link, self), endpoint: undefined };
    },
    initial: 'registered',
    on: {
      'zmq.ready': { actions: 'recordEndpoint' },
      'worker.failed': { actions: 'fail' },
    },
    states: {
      registered: {
        entry: 'register',
        on: {
          'zmq.batch': [{ actions: 'handle' }],
          // Nothing to do: the eventless check below sees the link's DISCONNECT flag.
          'worker.disconnectRequested': {},
          'heartbeat.tick': [{ guard: 'silent', target: 'reconnecting' }, { actions: 'heartbeat' }],
          'lifecycle.shutdown': 'draining',
        },
        always: { guard: 'disconnected', target: 'reconnecting' },
      },
      reconnecting: {
        entry: ['logLost', 'countAttempt'],
        after: { reconnectDelay: 'registered' },
        on: {
          'zmq.batch': { actions: 'handle' },
          'lifecycle.shutdown': 'draining',
        },
      },
      draining: {
        entry: 'sayGoodbye',
        always: { guard: 'idle', target: 'stopped' },
        after: { drainTimeout: 'stopped' },
        on: {
          'zmq.batch': { actions: 'handle' },
        },
      },
      stopped: { type: 'final', entry: 'abandonAll' },
    },
  });
}

