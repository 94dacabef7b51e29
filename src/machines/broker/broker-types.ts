/** The broker's tables' rows, shared by the service table, the in-flight ledger and the core. */
import type { ClientRequest, MalformedReason, WorkerWire } from '../../protocol/broker-wire.js';
import type { WorkerCodec } from '../../protocol/broker-dialects.js';
import type { Deque } from '../../util/deque.js';

export type SessionEndReason = 'expired' | 'disconnected' | 'replaced' | 'shutdown';

/**
 * `session` names one registration (`<hex>.<n>`): a worker that registers again
 * under the same identity gets a new session actor, never the old one's id
 * while the old one is still being stopped.
 */
export type SessionCommand =
  | { type: 'session.start'; key: string; hex: string; session: string; service: string; credit: number; wire: WorkerWire }
  | { type: 'session.update'; key: string; hex: string; session: string; inFlight: number; served: number }
  | { type: 'session.end'; key: string; hex: string; session: string; reason: SessionEndReason };

/** Why a message was not delivered, for the drop counter. */
export type BrokerDropReason =
  /** A service's queue is at `maxQueuePerService` requests. */
  | 'queue_full'
  /** All queues together hold `maxQueueBytes`. */
  | 'queue_memory_full'
  | 'too_many_services'
  | 'too_many_clients'
  /** A message over the frame count limit (steward and tagged clients are answered 413). */
  | 'too_many_frames'
  /** A message over the size limit (steward and tagged clients are answered 413). */
  | 'message_too_large'
  | 'expired'
  | 'worker_lost'
  | 'shutting_down'
  | 'stale_reply'
  | 'unknown_worker'
  | 'mmi_registration'
  /** A compact-wire client that would not wait was told no worker serves the service (404). */
  | 'no_worker'
  /** A request with several body frames was to go to a butler worker, whose wire carries one: refused (415), never cut. */
  | 'multi_frame_to_butler'
  /** A partial reply for a client that takes one reply only (MDP/0.1, butler, a steward `call`): it gets the final reply alone. */
  | 'partial_to_unary'
  /** A partial or final reply for a request whose client no longer waits (cancelled, expired in flight, gone, overflowed). */
  | 'cancelled'
  /** A stream's parts waiting for its client passed `maxStreamBytes`: the stream is ended, its client answered 507. */
  | 'stream_overflow'
  /** All streams' waiting parts together passed `maxQueueBytes`: the stream is ended, its client answered 507. */
  | 'stream_memory_full'
  /** A tagged or compact client request that was malformed but addressable: answered 400 (see MalformedRequest). */
  | MalformedReason;

/** A client request the broker accepted: queued, then in flight to one worker. */
export interface Pending {
  readonly req: ClientRequest;
  readonly via: string;
  readonly receivedAt: number;
  readonly expiresAt: number;
  /** What it holds of the broker's memory while queued, in bytes (see ServiceTable.queuedBytes). */
  readonly cost: number;
  token: number;
  worker: WorkerEntry | undefined;
  /** The client's key in the ledger while the request counts against `maxClients`. */
  client: string | undefined;
  /**
   * Its client no longer waits (it cancelled, the request expired in flight, the client went silent,
   * the stream overflowed): nothing more goes to the client, and the worker's final reply only frees
   * the worker's credit.
   */
  abandoned: boolean;
  /** Partial replies in flight to the client, for requests whose client takes them (`req.stream`). */
  stream: StreamState | undefined;
}

/** Why the broker gave up a request its client had been waiting for, for `steward_broker_cancelled_total`. */
export type CancelReason =
  /** The client sent CLIENT_CANCEL. */
  | 'client'
  /** Its expiration passed while a worker held it, before any partial reply reached the client. */
  | 'expired'
  /** A stream's client was not heard from for the broker's liveness window. */
  | 'client_gone'
  /** A stream's waiting parts passed the broker's limits (answered 507). */
  | 'overflow';

/** A stream's last answer waiting behind its partials: the worker's final reply, or the broker's error (410 ...). */
export type HeldFinal =
  | { readonly ok: true; readonly body: readonly Buffer[] }
  | { readonly ok: false; readonly status: number; readonly reason: BrokerDropReason; readonly message: string };

/**
 * A stream's window, per request. `window` counts the partials the client
 * may still be sent (what it granted minus what it was sent; Infinity for a
 * client with no window, MDP/0.2); partials past it wait in `held`, bounded
 * in bytes, and the final answer waits behind them.
 */
export interface StreamState {
  window: number;
  readonly held: Deque<Buffer[]>;
  /** The final answer, when partials are still waiting before it. */
  final: HeldFinal | undefined;
  /** Bytes held in `held` and `final`. */
  bytes: number;
  /** Partials sent to the client so far. */
  sent: number;
  /** Until the stream ends or is given up (counted in `steward_broker_streams`). */
  open: boolean;
  /** When the client last said it is there (the request, any CLIENT_WINDOW). */
  lastHeard: number;
}

export interface WorkerEntry {
  readonly key: string;
  readonly id: Buffer;
  readonly hex: string;
  readonly session: string;
  readonly via: string;
  readonly wire: WorkerWire;
  readonly codec: WorkerCodec;
  readonly service: ServiceEntry;
  /** Announced in READY; a steward worker on several brokers changes it with WORKER_CREDIT. */
  credit: number;
  inFlight: number;
  /** In its service's `available` deque right now. */
  queued: boolean;
  alive: boolean;
  lastSeen: number;
  served: number;
  /** Tokens of the requests it holds. */
  readonly holding: Set<number>;
}

export interface ServiceEntry {
  readonly name: string;
  readonly queue: Deque<Pending>;
  /** Workers with free credit, least recently used first. */
  readonly available: Deque<WorkerEntry>;
  workers: number;
  requests: number;
  replies: number;
}

export interface ServiceSummary {
  readonly name: string;
  readonly workers: number;
  readonly queued: number;
  readonly inFlight: number;
  readonly requests: number;
  readonly replies: number;
}
