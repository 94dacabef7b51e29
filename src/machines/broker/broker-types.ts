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
