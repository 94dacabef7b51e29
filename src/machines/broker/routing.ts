/**
 * The broker's per-message work: services, their request queues, least-
 * recently-used workers with credit, in-flight requests, MMI. Plain code over
 * mutable tables, called by the broker machine once per received burst; it
 * returns frames to send and session lifecycle commands, and touches no
 * socket. Per-session life (ready, busy, gone) is mirrored to session actors
 * through those commands, per message work stays here (DESIGN section 4).
 *
 * Workers speak MDP/0.1 or butler's wire (protocol/butler.ts); each entry
 * remembers which, and only the frames sent to it differ: a client of either
 * dialect reaches a worker of either wire.
 */
import type { BrokerInbound, ClientRequest, LimitRefusal, MalformedReason, WorkerCredit, WorkerReady, WorkerReply, WorkerWire } from '../../protocol/broker-wire.js';
import { SYNTHETIC_TAG, brokerButlerHeartbeat, brokerButlerReconnect, brokerButlerRequest } from '../../protocol/butler.js';
import {
  EMPTY,
  MDP_HEARTBEAT_INTERVAL_MS,
  MDP_HEARTBEAT_LIVENESS,
  MMI_NOT_FOUND,
  MMI_NOT_IMPLEMENTED,
  MMI_OK,
  MMI_PREFIX,
  brokerClientReply,
  brokerDisconnect,
  brokerHeartbeat,
  brokerRequest,
} from '../../protocol/mdp.js';
import {
  MAX_MESSAGE_FRAMES as MAX_BATCH_FRAMES,
  PONG_DRAINING,
  clientReplyUnit,
  disconnectUnit,
  heartbeatUnit,
  pongUnit,
  workerCreditUnit,
  workerRequestUnit,
} from '../../protocol/steward-wire.js';
import { Status, tagHeader, taggedReply } from '../../protocol/tagged.js';
import { Deque } from '../../util/deque.js';

export interface BrokerCoreOptions {
  readonly heartbeatIntervalMs?: number;
  readonly liveness?: number;
  /** Requests waiting per service beyond this are refused (503 / dropped). */
  readonly maxQueuePerService?: number;
  /** Distinct services (with workers or queued requests) the broker tracks at most. */
  readonly maxServices?: number;
  /** Distinct clients with requests queued or in flight at once; a new client beyond it is refused (503). */
  readonly maxClients?: number;
  /** MDP requests carry no expiration; one waiting longer than this is dropped. 0: wait forever. */
  readonly mdpRequestTtlMs?: number;
  /** Called with each request's time in the broker, receipt to reply, in ms. */
  readonly observeLatency?: (ms: number) => void;
}

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
  | 'queue_full'
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
  /** An MDP request with several body frames reached a butler worker, whose wire carries one: it got the first. */
  | 'body_truncated'
  /** A tagged or compact client request that was malformed but addressable: answered 400 (see MalformedRequest). */
  | MalformedReason;

/** What the broker needs to answer a client request, malformed or not. */
type Addressee = Pick<ClientRequest, 'peer' | 'dialect' | 'header' | 'steward' | 'replyId'>;

interface Pending {
  readonly req: ClientRequest;
  readonly via: string;
  readonly receivedAt: number;
  readonly expiresAt: number;
  token: number;
  worker: WorkerEntry | undefined;
  /** The client's key in `clients` while the request counts against `maxClients`. */
  client: string | undefined;
}

interface WorkerEntry {
  readonly key: string;
  readonly id: Buffer;
  readonly hex: string;
  readonly session: string;
  readonly via: string;
  readonly wire: WorkerWire;
  readonly service: ServiceEntry;
  /** Announced in READY; a steward worker on several brokers changes it with WORKER_CREDIT. */
  credit: number;
  inFlight: number;
  /** In its service's `available` deque right now. */
  queued: boolean;
  alive: boolean;
  lastSeen: number;
  served: number;
  readonly holding: Set<number>;
}

interface ServiceEntry {
  readonly name: string;
  readonly queue: Deque<Pending>;
  /** Workers with free credit, least recently used first. */
  readonly available: Deque<WorkerEntry>;
  workers: number;
  requests: number;
  replies: number;
}

export interface BrokerStats {
  requests: number;
  replies: number;
  mmi: number;
  expired: number;
  workerLost: number;
  refused: number;
}

export interface ServiceSummary {
  readonly name: string;
  readonly workers: number;
  readonly queued: number;
  readonly inFlight: number;
  readonly requests: number;
  readonly replies: number;
}

export class BrokerCore {
  readonly heartbeatIntervalMs: number;
  readonly liveness: number;
  private readonly maxQueue: number;
  private readonly maxServices: number;
  private readonly maxClients: number;
  private readonly mdpTtl: number;
  private readonly observeLatency: ((ms: number) => void) | undefined;

  private readonly services = new Map<string, ServiceEntry>();
  private readonly workers = new Map<string, WorkerEntry>();
  /**
   * Workers that said DISCONNECT while holding requests: they get no new work,
   * but their replies still reach clients, so a worker can shut down without
   * losing what it was doing. Purged like any silent worker.
   */
  private readonly departing = new Map<string, WorkerEntry>();
  private readonly inFlight = new Map<number, Pending>();
  /** Requests queued or in flight per client (routing id as latin1), for `maxClients`. */
  private readonly clients = new Map<string, number>();
  private nextToken = 1;
  private registrations = 0;
  private draining = false;

  /** Compact-wire units waiting to leave, per socket, per peer. */
  private readonly units = new Map<string, Map<string, Buffer[]>>();

  /** Frames to send, per socket name; drained by the caller after each call. */
  readonly out = new Map<string, Buffer[][]>();
  readonly sessions: SessionCommand[] = [];
  readonly drops: BrokerDropReason[] = [];
  readonly stats: BrokerStats = { requests: 0, replies: 0, mmi: 0, expired: 0, workerLost: 0, refused: 0 };
  /** Error answers by status (for MDP clients, which cannot be told, the request is dropped instead); only grows. */
  readonly errors = new Map<Status, number>();
  /** Services forgotten on the last tick, with their final counts; drained by the caller (metrics). */
  readonly retired: ServiceSummary[] = [];

  constructor(options: BrokerCoreOptions = {}) {
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? MDP_HEARTBEAT_INTERVAL_MS;
    this.liveness = options.liveness ?? MDP_HEARTBEAT_LIVENESS;
    this.maxQueue = options.maxQueuePerService ?? 10_000;
    this.maxServices = options.maxServices ?? 10_000;
    this.maxClients = options.maxClients ?? 100_000;
    this.mdpTtl = options.mdpRequestTtlMs ?? 30_000;
    this.observeLatency = options.observeLatency;
  }

  /** Handles one burst from one socket. */
  handle(messages: readonly BrokerInbound[], via: string, now: number): void {
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as BrokerInbound;
      switch (m.type) {
        case 'client.request':
          this.onClientRequest(m, via, now);
          break;
        case 'client.malformed':
          // Nothing was queued or counted against limits: the client only hears what was wrong with its attempt.
          this.answerRequestError(m, via, Status.BadRequest, m.reason, `malformed request: ${m.detail}`);
          break;
        case 'worker.ready':
          this.onReady(m, via, now);
          break;
        case 'worker.reply':
          this.onReply(m, now);
          break;
        case 'worker.heartbeat': {
          const w = this.workers.get(m.peer.toString('latin1'));
          if (!w) {
            this.disconnectUnknown(m.peer, via, m.wire);
            break;
          }
          w.lastSeen = now;
          // butler workers give up on a broker silent for 2 s, less than an MDP interval:
          // answering each of their heartbeats keeps them whatever the tick interval is.
          if (w.wire === 'butler') this.send(via, brokerButlerHeartbeat(w.id));
          break;
        }
        case 'worker.disconnect': {
          const w = this.workers.get(m.peer.toString('latin1'));
          if (w) this.depart(w, now);
          break;
        }
        case 'worker.credit':
          this.onCredit(m, via, now);
          break;
        case 'peer.ping':
          // Liveness for clients and unregistered workers that know several brokers: no state, no count.
          this.sendUnit(via, m.peer, m.peer.toString('latin1'), pongUnit(m.nonce, this.draining ? PONG_DRAINING : 0));
          break;
        case 'limit.refused':
          this.onLimitRefused(m, via, now);
          break;
      }
    }
    this.flushUnits();
  }

  /** The heartbeat tick: purge silent workers, heartbeat live ones, expire queued requests. */
  tick(now: number): void {
    const deadline = now - this.heartbeatIntervalMs * this.liveness;
    for (const w of this.departing.values()) {
      if (w.lastSeen < deadline) {
        this.departing.delete(w.key);
        this.failHoldings(w, 'expired');
      }
    }
    for (const w of this.workers.values()) {
      if (w.lastSeen < deadline) {
        this.removeWorker(w, 'expired', true);
        continue;
      }
      if (w.wire === 'steward') this.sendUnit(w.via, w.id, w.key, heartbeatUnit());
      else this.send(w.via, heartbeat(w.id, w.wire));
      this.sessions.push({ type: 'session.update', key: w.key, hex: w.hex, session: w.session, inFlight: w.inFlight, served: w.served });
    }
    for (const svc of this.services.values()) {
      if (svc.queue.length > 0) {
        const expired = svc.queue.removeWhere((p) => p.expiresAt !== 0 && p.expiresAt <= now);
        for (const p of expired) this.answerExpired(p);
      }
      if (svc.workers === 0 && svc.queue.length === 0) {
        this.retired.push({ name: svc.name, workers: 0, queued: 0, inFlight: 0, requests: svc.requests, replies: svc.replies });
        this.services.delete(svc.name);
      }
    }
    this.flushUnits();
  }

  /** Stop taking requests: refuse what waits in queues; in-flight requests may still be answered. */
  startDrain(): void {
    this.draining = true;
    for (const svc of this.services.values()) {
      while (svc.queue.length > 0) this.refuse(svc.queue.shift() as Pending, 'shutting_down');
    }
    this.flushUnits();
  }

  /** After draining: tell every worker to go (it will register again with a broker that runs). */
  finishDrain(): void {
    for (const w of [...this.workers.values()]) this.removeWorker(w, 'shutdown', true);
    for (const w of this.departing.values()) this.failHoldings(w, 'shutdown');
    this.departing.clear();
    this.flushUnits();
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get workerCount(): number {
    return this.workers.size;
  }

  /** Distinct clients with requests queued or in flight. */
  get clientCount(): number {
    return this.clients.size;
  }

  summary(): ServiceSummary[] {
    const out: ServiceSummary[] = [];
    for (const svc of this.services.values()) {
      let inFlight = 0;
      for (const w of this.workers.values()) if (w.service === svc) inFlight += w.inFlight;
      out.push({ name: svc.name, workers: svc.workers, queued: svc.queue.length, inFlight, requests: svc.requests, replies: svc.replies });
    }
    return out;
  }

  /** A readable view for the inspector and logs; the tables themselves are not serializable. */
  toJSON(): object {
    return { workers: this.workers.size, inFlight: this.inFlight.size, draining: this.draining, services: this.summary() };
  }

  // ---- clients ----

  private onClientRequest(req: ClientRequest, via: string, now: number): void {
    if (req.service.startsWith(MMI_PREFIX)) {
      this.onMmi(req, via);
      return;
    }
    this.stats.requests += 1;
    const expiresAt = req.expiresAt !== 0 ? req.expiresAt : this.mdpTtl > 0 ? now + this.mdpTtl : 0;
    const pending: Pending = { req, via, receivedAt: now, expiresAt, token: 0, worker: undefined, client: undefined };
    if (this.draining) {
      this.refuse(pending, 'shutting_down');
      return;
    }
    if (req.expiresAt !== 0 && req.expiresAt <= now) {
      this.answerExpired(pending);
      return;
    }
    if (!req.wait && !this.hasWorkers(req.service)) {
      this.answerNoWorker(pending);
      return;
    }
    let svc = this.services.get(req.service);
    if (!svc) {
      if (this.services.size >= this.maxServices) {
        this.refuse(pending, 'too_many_services');
        return;
      }
      svc = { name: req.service, queue: new Deque(), available: new Deque(), workers: 0, requests: 0, replies: 0 };
      this.services.set(req.service, svc);
    }
    if (svc.queue.length >= this.maxQueue) {
      this.refuse(pending, 'queue_full');
      return;
    }
    const client = req.peer.toString('latin1');
    const held = this.clients.get(client);
    if (held === undefined && this.clients.size >= this.maxClients) {
      this.refuse(pending, 'too_many_clients');
      return;
    }
    this.clients.set(client, (held ?? 0) + 1);
    pending.client = client;
    svc.requests += 1;
    svc.queue.push(pending);
    this.dispatch(svc, now);
  }

  private onMmi(req: ClientRequest, via: string): void {
    this.stats.mmi += 1;
    const name = req.service;
    if (name === 'mmi.service' && req.body.length > 0) {
      const asked = (req.body[0] as Buffer).toString('latin1');
      this.replyToClient(req, via, Status.Ok, [Buffer.from(this.hasWorkers(asked) ? MMI_OK : MMI_NOT_FOUND)]);
      return;
    }
    if (name === 'mmi.services') {
      const list = this.summary().filter((s) => s.workers > 0).map((s) => ({ name: s.name, workers: s.workers, queued: s.queued }));
      this.replyToClient(req, via, Status.Ok, [Buffer.from(JSON.stringify(list))]);
      return;
    }
    if (req.dialect !== 'mdp') {
      // butler asks `mmi.<service>`; it answered 400 where MDP says 404.
      const asked = name.slice(MMI_PREFIX.length);
      const found = this.hasWorkers(asked);
      const code = found ? MMI_OK : req.steward ? MMI_NOT_FOUND : '400';
      this.replyToClient(req, via, Status.Ok, [Buffer.from(code)]);
      return;
    }
    this.replyToClient(req, via, Status.NotImplemented, [Buffer.from(MMI_NOT_IMPLEMENTED)]);
  }

  private hasWorkers(service: string): boolean {
    const svc = this.services.get(service);
    return svc !== undefined && svc.workers > 0;
  }

  private replyToClient(req: ClientRequest, via: string, status: Status, body: readonly Buffer[]): void {
    if (req.dialect === 'steward') this.sendUnit(via, req.peer, req.peer.toString('latin1'), clientReplyUnit(req.replyId, Number(status), body));
    else if (req.dialect === 'mdp') this.send(via, brokerClientReply(req.peer, req.serviceFrame, body));
    else this.send(via, taggedReply(req.peer, req.header as Buffer, req.steward, status, body));
  }

  /** Broker-made error answers: steward and tagged clients get a status they can match; MDP has no way to say it. */
  private answerError(p: Pending, status: Status, reason: BrokerDropReason, message: string): void {
    this.release(p);
    this.answerRequestError(p.req, p.via, status, reason, message);
  }

  private answerRequestError(req: Addressee, via: string, status: Status, reason: BrokerDropReason, message: string): void {
    this.drops.push(reason);
    this.errors.set(status, (this.errors.get(status) ?? 0) + 1);
    if (req.dialect === 'steward') {
      const peer = req.peer;
      this.sendUnit(via, peer, peer.toString('latin1'), clientReplyUnit(req.replyId, Number(status), [Buffer.from(message)]));
    } else if (req.dialect === 'tagged') {
      const body = req.steward ? [Buffer.from(message)] : [Buffer.from(`${status}:${message}`)];
      this.send(via, taggedReply(req.peer, req.header as Buffer, req.steward, status, body));
    }
  }

  /** The request is answered (or given up): its client no longer counts against `maxClients` for it. */
  private release(p: Pending): void {
    const client = p.client;
    if (client === undefined) return;
    p.client = undefined;
    const held = this.clients.get(client) ?? 0;
    if (held <= 1) this.clients.delete(client);
    else this.clients.set(client, held - 1);
  }

  /** Over the size or frame limit: the sender hears it when the protocol can say so. */
  private onLimitRefused(m: LimitRefusal, via: string, now: number): void {
    const reason: BrokerDropReason = m.limit === 'frames' ? 'too_many_frames' : 'message_too_large';
    const what = m.limit === 'frames' ? 'frame count' : 'message size';
    const message = m.message;
    if (message === undefined) {
      this.drops.push(reason);
      return;
    }
    if (message.type === 'client.request') {
      this.stats.refused += 1;
      this.answerRequestError(message, via, Status.TooLarge, reason, `request for ${message.service} exceeds the broker's ${what} limit (${m.detail})`);
      return;
    }
    if (message.type === 'client.malformed') {
      // Over a limit and malformed too: the limit is what the client must fix first (its service may not even be named).
      this.stats.refused += 1;
      this.answerRequestError(message, via, Status.TooLarge, reason, `request exceeds the broker's ${what} limit (${m.detail})`);
      return;
    }
    // A worker's reply too big to forward: its client is told, the worker keeps its place.
    const taken = this.takeInFlight(message, now);
    if (!taken) {
      this.drops.push('stale_reply');
      return;
    }
    const { w, p } = taken;
    this.answerError(p, Status.TooLarge, reason, `the reply of ${p.req.service} exceeds the broker's ${what} limit (${m.detail})`);
    this.afterReply(w, now);
  }

  /** Only compact-wire clients that said they would not wait get here (MDP and butler requests always queue). */
  private answerNoWorker(p: Pending): void {
    this.stats.refused += 1;
    this.answerError(p, Status.NoWorker, 'no_worker', `no worker serves ${p.req.service} on this broker`);
  }

  private answerExpired(p: Pending): void {
    this.stats.expired += 1;
    this.answerError(p, Status.Expired, 'expired', `request for ${p.req.service} expired before a worker took it`);
  }

  private refuse(p: Pending, reason: BrokerDropReason): void {
    this.stats.refused += 1;
    const message =
      reason === 'shutting_down'
        ? 'broker is shutting down'
        : reason === 'queue_full'
          ? `queue for ${p.req.service} is full (${this.maxQueue} waiting)`
          : reason === 'too_many_clients'
            ? `too many clients (the broker serves ${this.maxClients} at once)`
            : `too many services (the broker tracks ${this.maxServices})`;
    this.answerError(p, Status.Unavailable, reason, message);
  }

  // ---- workers ----

  private onReady(m: WorkerReady, via: string, now: number): void {
    const key = m.peer.toString('latin1');
    const existing = this.workers.get(key);
    // A worker that restarted under the same identity registers again; its old requests are lost.
    if (existing) this.removeWorker(existing, 'replaced', false);
    const departed = this.departing.get(key);
    if (departed) {
      this.departing.delete(key);
      this.failHoldings(departed, 'replaced');
    }
    if (m.service.startsWith(MMI_PREFIX)) {
      this.drops.push('mmi_registration');
      this.send(via, goodbye(m.peer, m.wire));
      return;
    }
    let svc = this.services.get(m.service);
    if (!svc) {
      if (this.services.size >= this.maxServices) {
        // A worker can no more grow the table without bound than a client can.
        this.drops.push('too_many_services');
        this.send(via, goodbye(m.peer, m.wire));
        return;
      }
      svc = { name: m.service, queue: new Deque(), available: new Deque(), workers: 0, requests: 0, replies: 0 };
      this.services.set(m.service, svc);
    }
    const hex = m.peer.toString('hex');
    const w: WorkerEntry = {
      key,
      id: m.peer,
      hex,
      session: `${hex}.${++this.registrations}`,
      via,
      wire: m.wire,
      service: svc,
      credit: m.credit,
      inFlight: 0,
      queued: true,
      alive: true,
      lastSeen: now,
      served: 0,
      holding: new Set(),
    };
    this.workers.set(key, w);
    svc.workers += 1;
    svc.available.push(w);
    this.sessions.push({ type: 'session.start', key, hex, session: w.session, service: svc.name, credit: w.credit, wire: w.wire });
    this.dispatch(svc, now);
  }

  /** A steward worker spreading its concurrency over several brokers moves credit between them; echoed once applied. */
  private onCredit(m: WorkerCredit, via: string, now: number): void {
    const w = this.workers.get(m.peer.toString('latin1'));
    if (!w) {
      this.disconnectUnknown(m.peer, via, 'steward');
      return;
    }
    w.lastSeen = now;
    w.credit = m.credit;
    this.sendUnit(w.via, w.id, w.key, workerCreditUnit(m.credit));
    if (!w.queued && w.inFlight < w.credit) {
      w.queued = true;
      w.service.available.push(w);
      this.dispatch(w.service, now);
    }
  }

  private onReply(m: WorkerReply, now: number): void {
    const taken = this.takeInFlight(m, now);
    if (!taken) return;
    const { w, p } = taken;
    w.served += 1;
    w.service.replies += 1;
    this.stats.replies += 1;
    this.release(p);
    this.replyToClient(p.req, p.via, Status.Ok, m.body);
    this.observeLatency?.(now - p.receivedAt);
    this.afterReply(w, now);
  }

  /** The request a worker's reply answers, taken out of flight; undefined (and counted) when there is none. */
  private takeInFlight(m: WorkerReply, now: number): { w: WorkerEntry; p: Pending } | undefined {
    const key = m.peer.toString('latin1');
    const w = this.workers.get(key) ?? this.departing.get(key);
    if (!w) {
      this.drops.push('unknown_worker');
      return undefined;
    }
    w.lastSeen = now;
    const token = m.token;
    const p = this.inFlight.get(token);
    if (!p || p.worker !== w) {
      // A reply for a request this worker no longer holds (it was given up); never answer twice.
      this.drops.push('stale_reply');
      return undefined;
    }
    this.inFlight.delete(token);
    w.holding.delete(token);
    w.inFlight -= 1;
    return { w, p };
  }

  /** A worker answered one request: it has credit again, or, departing, may be forgotten. */
  private afterReply(w: WorkerEntry, now: number): void {
    if (!w.alive) {
      if (w.holding.size === 0) this.departing.delete(w.key);
      return;
    }
    if (!w.queued) {
      w.queued = true;
      w.service.available.push(w);
    }
    this.dispatch(w.service, now);
  }

  private disconnectUnknown(peer: Buffer, via: string, wire: WorkerWire): void {
    this.drops.push('unknown_worker');
    this.send(via, goodbye(peer, wire));
  }

  /** A worker leaving by DISCONNECT: no new work; what it holds may still be answered. */
  private depart(w: WorkerEntry, now: number): void {
    if (w.holding.size === 0) {
      this.removeWorker(w, 'disconnected', false);
      return;
    }
    this.removeWorker(w, 'disconnected', false, true);
    w.lastSeen = now;
    this.departing.set(w.key, w);
  }

  private removeWorker(w: WorkerEntry, reason: SessionEndReason, sendDisconnect: boolean, keepHoldings = false): void {
    if (!w.alive) return;
    w.alive = false;
    this.workers.delete(w.key);
    w.service.workers -= 1;
    if (!keepHoldings) this.failHoldings(w, reason);
    if (w.service.workers === 0) this.answerNoWorkerQueued(w.service);
    if (sendDisconnect) {
      if (w.wire === 'steward') this.sendUnit(w.via, w.id, w.key, disconnectUnit());
      else this.send(w.via, goodbye(w.id, w.wire));
    }
    this.sessions.push({ type: 'session.end', key: w.key, hex: w.hex, session: w.session, reason });
  }

  /** The last worker of a service left: requests whose clients would not wait hear it now, and may try another broker. */
  private answerNoWorkerQueued(svc: ServiceEntry): void {
    if (svc.queue.length === 0) return;
    for (const p of svc.queue.removeWhere((q) => !q.req.wait)) this.answerNoWorker(p);
  }

  private failHoldings(w: WorkerEntry, reason: SessionEndReason): void {
    for (const token of w.holding) {
      const p = this.inFlight.get(token);
      this.inFlight.delete(token);
      if (!p) continue;
      this.stats.workerLost += 1;
      this.answerError(p, Status.WorkerLost, 'worker_lost', `the worker serving ${p.req.service} was lost (${reason})`);
    }
    w.holding.clear();
  }

  // ---- dispatch ----

  private dispatch(svc: ServiceEntry, now: number): void {
    while (svc.queue.length > 0 && svc.available.length > 0) {
      const w = svc.available.shift() as WorkerEntry;
      w.queued = false;
      if (!w.alive || w.inFlight >= w.credit) continue;
      let p = svc.queue.shift();
      while (p !== undefined && p.expiresAt !== 0 && p.expiresAt <= now) {
        this.answerExpired(p);
        p = svc.queue.shift();
      }
      if (p === undefined) {
        // Nothing left to hand out: the worker keeps its place at the head.
        w.queued = true;
        svc.available.unshift(w);
        return;
      }
      this.assign(p, w);
      if (w.inFlight < w.credit) {
        w.queued = true;
        svc.available.push(w);
      }
    }
  }

  private assign(p: Pending, w: WorkerEntry): void {
    let token = this.nextToken;
    // uint32 tokens wrap after 4 billion requests; skip any still in flight.
    while (this.inFlight.has(token)) token = (token + 1) >>> 0 || 1;
    this.nextToken = (token + 1) >>> 0 || 1;
    p.token = token;
    p.worker = w;
    this.inFlight.set(token, p);
    w.holding.add(token);
    w.inFlight += 1;
    if (w.wire === 'steward') {
      this.sendUnit(w.via, w.id, w.key, workerRequestUnit(token, p.req.body));
      return;
    }
    const envelope = Buffer.allocUnsafe(4);
    envelope.writeUInt32BE(token, 0);
    if (w.wire === 'mdp') {
      this.send(w.via, brokerRequest(w.id, envelope, p.req.body));
      return;
    }
    const req = p.req;
    // MDP clients have neither a request id nor an expiration frame: make them up.
    const header = req.header ?? tagHeader(SYNTHETIC_TAG, String(token));
    const expiration = req.expiration ?? Buffer.from(String(p.expiresAt));
    if (req.body.length > 1) this.drops.push('body_truncated');
    this.send(w.via, brokerButlerRequest(w.id, envelope, header, req.serviceFrame, expiration, req.body[0] ?? EMPTY));
  }

  /**
   * Compact-wire units for one peer leave together: one message per peer per
   * call instead of one per unit (zeromq.js pays per message). Capped so a
   * batch stays far below any receiver's frame limit.
   */
  private sendUnit(via: string, peer: Buffer, key: string, unit: Buffer[]): void {
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

  private flushUnits(): void {
    for (const [via, perPeer] of this.units) {
      for (const batch of perPeer.values()) this.send(via, batch);
      perPeer.clear();
    }
  }

  private send(via: string, frames: Buffer[]): void {
    let list = this.out.get(via);
    if (!list) {
      list = [];
      this.out.set(via, list);
    }
    list.push(frames);
  }
}

/** "Register again": MDP's DISCONNECT, butler's RECONNECT, steward's DISCONNECT. */
function goodbye(worker: Buffer, wire: WorkerWire): Buffer[] {
  if (wire === 'steward') return [worker, ...disconnectUnit()];
  return wire === 'butler' ? brokerButlerReconnect(worker) : brokerDisconnect(worker);
}

function heartbeat(worker: Buffer, wire: WorkerWire): Buffer[] {
  return wire === 'butler' ? brokerButlerHeartbeat(worker) : brokerHeartbeat(worker);
}
