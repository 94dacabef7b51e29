/**
 * The broker's per-message work, called by the broker machine once per
 * received burst: client requests into service queues, queued requests to
 * least-recently-used workers with credit, replies back, MMI, heartbeats and
 * expiry on the tick. Plain code over mutable tables; it touches no socket.
 * It leaves frames to send in `out`, session lifecycle commands in `sessions`
 * and drop reasons in `drops`, which the machine drains after each call.
 * Per-session life (ready, busy, gone) is mirrored to session actors through
 * those commands; per-message work stays here (docs/architecture.md, "Hot
 * path rules").
 *
 * The pieces: `ServiceTable` (queues and idle workers, dispatch),
 * `InFlightLedger` (tokens, what each worker holds, per-client counts), one
 * codec object per dialect (protocol/broker-dialects.ts: how a reply or a
 * request is addressed), `Outbox` (frames per socket, compact units per peer).
 */
import type { BrokerInbound, ClientRequest, LimitRefusal, WorkerCredit, WorkerReady, WorkerReply } from '../../protocol/broker-wire.js';
import { clientCodec, workerCodec, type Addressee } from '../../protocol/broker-dialects.js';
import { MDP_HEARTBEAT_INTERVAL_MS, MDP_HEARTBEAT_LIVENESS, MMI_NOT_FOUND, MMI_NOT_IMPLEMENTED, MMI_OK, MMI_PREFIX } from '../../protocol/mdp.js';
import { Status } from '../../protocol/status.js';
import { PONG_DRAINING, pongUnit, workerCreditUnit } from '../../protocol/steward-wire.js';
import type { BrokerDropReason, Pending, ServiceSummary, SessionCommand, SessionEndReason, WorkerEntry } from './broker-types.js';
import { InFlightLedger } from './in-flight-ledger.js';
import { Outbox } from './outbox.js';
import { ServiceTable, type DispatchHooks } from './service-table.js';

export type { BrokerDropReason, ServiceSummary, SessionCommand, SessionEndReason } from './broker-types.js';

export interface BrokerCoreOptions {
  readonly heartbeatIntervalMs?: number;
  readonly liveness?: number;
  /**
   * What all queued requests may hold of the broker's memory together, in bytes (bodies, service
   * names and an estimate of each request's own records). Default 256 MiB. Past three quarters of
   * it the broker asks its frontend to stop reading (`pressure`), so ZeroMQ's high-water marks push
   * back on clients. A request that would pass it is refused: 503 to clients that can be told. MDP
   * clients cannot be told, so with `backPressure` theirs are refused only past twice the limit
   * (what one burst read before the frontend stopped can overshoot), and without it at the limit.
   */
  readonly maxQueueBytes?: number;
  /** The frontend can stop reading clients without stopping workers (its own socket): see `maxQueueBytes`. */
  readonly backPressure?: boolean;
  /** Requests waiting per service beyond this are refused (503 / dropped). 0 (the default): no count limit, only `maxQueueBytes`. */
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

export interface BrokerStats {
  requests: number;
  replies: number;
  mmi: number;
  expired: number;
  workerLost: number;
  refused: number;
}

/** Heartbeat intervals of silence after which a worker gets no new request until it speaks (ServiceTable). */
export const SUSPECT_INTERVALS = 1.5;

/** The default of `maxQueueBytes`: 256 MiB. */
export const DEFAULT_MAX_QUEUE_BYTES = 256 * 1024 * 1024;

/** What a queued request holds beyond its frames' bytes: its records and the Buffers' own headers, estimated. */
export const REQUEST_OVERHEAD_BYTES = 512;

function costOf(req: ClientRequest): number {
  let n = REQUEST_OVERHEAD_BYTES + req.peer.length + req.serviceFrame.length;
  for (let i = 0; i < req.body.length; i++) n += (req.body[i] as Buffer).length;
  return n;
}

export class BrokerCore {
  readonly heartbeatIntervalMs: number;
  readonly liveness: number;
  readonly maxQueueBytes: number;
  private readonly maxMdpQueueBytes: number;
  private readonly pressureOn: number;
  private readonly pressureOff: number;
  private readonly maxQueue: number;
  private readonly maxServices: number;
  private readonly maxClients: number;
  private readonly mdpTtl: number;
  private readonly observeLatency: ((ms: number) => void) | undefined;

  private readonly services: ServiceTable;
  private readonly ledger: InFlightLedger;
  private readonly workers = new Map<string, WorkerEntry>();
  /**
   * Workers that said DISCONNECT while holding requests: they get no new work,
   * but their replies still reach clients, so a worker can shut down without
   * losing what it was doing. Purged like any silent worker.
   */
  private readonly departing = new Map<string, WorkerEntry>();
  private readonly outbox = new Outbox();
  private registrations = 0;
  private draining = false;
  private pressured = false;
  private readonly hooks: DispatchHooks = {
    expired: (p) => this.answerExpired(p),
    hand: (p, w) => this.hand(p, w),
  };

  readonly sessions: SessionCommand[] = [];
  readonly drops: BrokerDropReason[] = [];
  readonly stats: BrokerStats = { requests: 0, replies: 0, mmi: 0, expired: 0, workerLost: 0, refused: 0 };
  /** Error answers by status (for MDP clients, which cannot be told, the request is dropped instead); only grows. */
  readonly errors = new Map<number, number>();
  /** Services forgotten on the last tick, with their final counts; drained by the caller (metrics). */
  readonly retired: ServiceSummary[] = [];

  constructor(options: BrokerCoreOptions = {}) {
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? MDP_HEARTBEAT_INTERVAL_MS;
    this.liveness = options.liveness ?? MDP_HEARTBEAT_LIVENESS;
    this.maxQueueBytes = options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
    this.maxMdpQueueBytes = options.backPressure === true ? this.maxQueueBytes * 2 : this.maxQueueBytes;
    this.pressureOn = Math.floor((this.maxQueueBytes * 3) / 4);
    this.pressureOff = Math.floor(this.maxQueueBytes / 2);
    this.maxQueue = options.maxQueuePerService ?? 0;
    this.maxServices = options.maxServices ?? 10_000;
    this.maxClients = options.maxClients ?? 100_000;
    this.mdpTtl = options.mdpRequestTtlMs ?? 30_000;
    this.observeLatency = options.observeLatency;
    this.services = new ServiceTable(this.maxServices, this.heartbeatIntervalMs * SUSPECT_INTERVALS);
    this.ledger = new InFlightLedger(this.maxClients);
  }

  /** What all queued requests hold together, in bytes. */
  get queuedBytes(): number {
    return this.services.queuedBytes;
  }

  /**
   * True while the queues hold more than three quarters of `maxQueueBytes`, until they are back
   * under half: the broker machine stops reading client requests meanwhile, where it can.
   */
  get pressure(): boolean {
    const bytes = this.services.queuedBytes;
    if (!this.pressured && bytes >= this.pressureOn) this.pressured = true;
    else if (this.pressured && bytes <= this.pressureOff) this.pressured = false;
    return this.pressured;
  }

  /** Frames to send, per socket name; drained by the caller after each call. */
  get out(): Map<string, Buffer[][]> {
    return this.outbox.messages;
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
            this.drops.push('unknown_worker');
            workerCodec(m.wire).goodbye(this.outbox, { id: m.peer, key: m.peer.toString('latin1'), via });
            break;
          }
          w.lastSeen = now;
          // butler workers give up on a broker silent for 2 s, less than an MDP interval:
          // answering each of their heartbeats keeps them whatever the tick interval is.
          if (w.wire === 'butler') w.codec.heartbeat(this.outbox, w);
          // A worker that was taken out of line for its silence is back.
          this.rejoin(w, now);
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
          this.outbox.sendUnit(via, m.peer, m.peer.toString('latin1'), pongUnit(m.nonce, this.draining ? PONG_DRAINING : 0));
          break;
        case 'limit.refused':
          this.onLimitRefused(m, via, now);
          break;
      }
    }
    this.outbox.flushUnits();
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
      w.codec.heartbeat(this.outbox, w);
      this.sessions.push({ type: 'session.update', key: w.key, hex: w.hex, session: w.session, inFlight: w.inFlight, served: w.served });
    }
    for (const svc of this.services.values()) {
      for (const p of this.services.takeExpired(svc, now)) this.answerExpired(p);
      if (svc.workers === 0 && svc.queue.length === 0) this.retired.push(this.services.retire(svc));
    }
    this.outbox.flushUnits();
  }

  /** Stop taking requests: refuse what waits in queues; in-flight requests may still be answered. */
  startDrain(): void {
    this.draining = true;
    for (const svc of this.services.values()) {
      for (const p of this.services.takeAll(svc)) this.refuse(p, 'shutting_down');
    }
    this.outbox.flushUnits();
  }

  /** After draining: tell every worker to go (it will register again with a broker that runs). */
  finishDrain(): void {
    for (const w of [...this.workers.values()]) this.removeWorker(w, 'shutdown', true);
    for (const w of this.departing.values()) this.failHoldings(w, 'shutdown');
    this.departing.clear();
    this.outbox.flushUnits();
  }

  get inFlightCount(): number {
    return this.ledger.size;
  }

  get workerCount(): number {
    return this.workers.size;
  }

  /** Distinct clients with requests queued or in flight. */
  get clientCount(): number {
    return this.ledger.clientCount;
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
    return { workers: this.workers.size, inFlight: this.ledger.size, draining: this.draining, services: this.summary() };
  }

  // ---- clients ----

  private onClientRequest(req: ClientRequest, via: string, now: number): void {
    if (req.service.startsWith(MMI_PREFIX)) {
      this.onMmi(req, via);
      return;
    }
    this.stats.requests += 1;
    const expiresAt = req.expiresAt !== 0 ? req.expiresAt : this.mdpTtl > 0 ? now + this.mdpTtl : 0;
    const cost = costOf(req);
    const pending: Pending = { req, via, receivedAt: now, expiresAt, cost, token: 0, worker: undefined, client: undefined };
    if (this.draining) {
      this.refuse(pending, 'shutting_down');
      return;
    }
    if (req.expiresAt !== 0 && req.expiresAt <= now) {
      this.answerExpired(pending);
      return;
    }
    if (!req.wait && !this.services.hasWorkers(req.service)) {
      this.answerNoWorker(pending);
      return;
    }
    const svc = this.services.open(req.service);
    if (svc === undefined) {
      this.refuse(pending, 'too_many_services');
      return;
    }
    if (this.maxQueue > 0 && svc.queue.length >= this.maxQueue) {
      this.refuse(pending, 'queue_full');
      return;
    }
    if (this.services.queuedBytes + cost > (req.dialect === 'mdp' ? this.maxMdpQueueBytes : this.maxQueueBytes)) {
      this.refuse(pending, 'queue_memory_full');
      return;
    }
    if (!this.ledger.admit(pending)) {
      this.refuse(pending, 'too_many_clients');
      return;
    }
    svc.requests += 1;
    this.services.enqueue(svc, pending);
    this.services.dispatch(svc, now, this.hooks);
  }

  private onMmi(req: ClientRequest, via: string): void {
    this.stats.mmi += 1;
    const name = req.service;
    const client = clientCodec(req.dialect);
    if (name === 'mmi.service' && req.body.length > 0) {
      const asked = (req.body[0] as Buffer).toString('latin1');
      client.reply(this.outbox, req, via, Status.Ok, [Buffer.from(this.services.hasWorkers(asked) ? MMI_OK : MMI_NOT_FOUND)]);
      return;
    }
    if (name === 'mmi.services') {
      const list = this.summary()
        .filter((s) => s.workers > 0)
        .map((s) => ({ name: s.name, workers: s.workers, queued: s.queued }));
      client.reply(this.outbox, req, via, Status.Ok, [Buffer.from(JSON.stringify(list))]);
      return;
    }
    if (req.dialect !== 'mdp') {
      // butler asks `mmi.<service>`; it answered 400 where MDP says 404.
      const found = this.services.hasWorkers(name.slice(MMI_PREFIX.length));
      const code = found ? MMI_OK : req.steward ? MMI_NOT_FOUND : '400';
      client.reply(this.outbox, req, via, Status.Ok, [Buffer.from(code)]);
      return;
    }
    client.reply(this.outbox, req, via, Status.NotImplemented, [Buffer.from(MMI_NOT_IMPLEMENTED)]);
  }

  /** Broker-made error answers: steward and tagged clients get a status they can match; MDP has no way to say it. */
  private answerError(p: Pending, status: number, reason: BrokerDropReason, message: string): void {
    this.ledger.release(p);
    this.answerRequestError(p.req, p.via, status, reason, message);
  }

  private answerRequestError(req: Addressee, via: string, status: number, reason: BrokerDropReason, message: string): void {
    this.drops.push(reason);
    this.errors.set(status, (this.errors.get(status) ?? 0) + 1);
    clientCodec(req.dialect).error(this.outbox, req, via, status, message);
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

  private refuse(p: Pending, reason: RefusalReason): void {
    this.stats.refused += 1;
    this.answerError(p, Status.Unavailable, reason, this.refusalMessage(p, reason));
  }

  private refusalMessage(p: Pending, reason: RefusalReason): string {
    switch (reason) {
      case 'shutting_down':
        return 'broker is shutting down';
      case 'queue_full':
        return `queue for ${p.req.service} is full (${this.maxQueue} waiting)`;
      case 'queue_memory_full':
        return `the broker's queues are full (${mib(this.services.queuedBytes)} of ${mib(this.maxQueueBytes)} queued)`;
      case 'too_many_clients':
        return `too many clients (the broker serves ${this.maxClients} at once)`;
      case 'too_many_services':
        return `too many services (the broker tracks ${this.maxServices})`;
    }
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
    const codec = workerCodec(m.wire);
    if (m.service.startsWith(MMI_PREFIX)) {
      this.drops.push('mmi_registration');
      codec.goodbye(this.outbox, { id: m.peer, key, via });
      return;
    }
    const svc = this.services.open(m.service);
    if (svc === undefined) {
      // A worker can no more grow the table without bound than a client can.
      this.drops.push('too_many_services');
      codec.goodbye(this.outbox, { id: m.peer, key, via });
      return;
    }
    const hex = m.peer.toString('hex');
    const w: WorkerEntry = {
      key,
      id: m.peer,
      hex,
      session: `${hex}.${++this.registrations}`,
      via,
      wire: m.wire,
      codec,
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
    this.services.dispatch(svc, now, this.hooks);
  }

  /** A steward worker spreading its concurrency over several brokers moves credit between them; echoed once applied. */
  private onCredit(m: WorkerCredit, via: string, now: number): void {
    const w = this.workers.get(m.peer.toString('latin1'));
    if (!w) {
      this.drops.push('unknown_worker');
      workerCodec('steward').goodbye(this.outbox, { id: m.peer, key: m.peer.toString('latin1'), via });
      return;
    }
    if (w.wire !== 'steward') {
      // Only a compact-wire registration takes credit changes: an MDP or butler worker's credit is what its READY said.
      this.drops.push('unknown_worker');
      return;
    }
    w.lastSeen = now;
    w.credit = m.credit;
    this.outbox.sendUnit(w.via, w.id, w.key, workerCreditUnit(m.credit));
    if (w.inFlight < w.credit) {
      this.services.offer(w);
      this.services.dispatch(w.service, now, this.hooks);
    }
  }

  private onReply(m: WorkerReply, now: number): void {
    const taken = this.takeInFlight(m, now);
    if (!taken) return;
    const { w, p } = taken;
    w.served += 1;
    w.service.replies += 1;
    this.stats.replies += 1;
    this.ledger.release(p);
    clientCodec(p.req.dialect).reply(this.outbox, p.req, p.via, Status.Ok, m.body);
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
    const p = this.ledger.take(w, m.token);
    if (!p) {
      // A reply for a request this worker no longer holds (it was given up); never answer twice.
      this.drops.push('stale_reply');
      return undefined;
    }
    return { w, p };
  }

  /** A live worker with free credit that is not in its service's line (it was silent) goes back and gets work. */
  private rejoin(w: WorkerEntry, now: number): void {
    if (!w.alive || w.queued || w.inFlight >= w.credit) return;
    this.services.offer(w);
    this.services.dispatch(w.service, now, this.hooks);
  }

  /** A worker answered one request: it has credit again, or, departing, may be forgotten. */
  private afterReply(w: WorkerEntry, now: number): void {
    if (!w.alive) {
      if (w.holding.size === 0) this.departing.delete(w.key);
      return;
    }
    this.services.offer(w);
    this.services.dispatch(w.service, now, this.hooks);
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

  private removeWorker(w: WorkerEntry, reason: SessionEndReason, sendGoodbye: boolean, keepHoldings = false): void {
    if (!w.alive) return;
    w.alive = false;
    this.workers.delete(w.key);
    w.service.workers -= 1;
    if (!keepHoldings) this.failHoldings(w, reason);
    // The last worker of a service left: requests whose clients would not wait hear it now, and may try another broker.
    if (w.service.workers === 0) for (const p of this.services.takeNoWait(w.service)) this.answerNoWorker(p);
    if (sendGoodbye) w.codec.goodbye(this.outbox, w);
    this.sessions.push({ type: 'session.end', key: w.key, hex: w.hex, session: w.session, reason });
  }

  private failHoldings(w: WorkerEntry, reason: SessionEndReason): void {
    for (const p of this.ledger.takeAll(w)) {
      this.stats.workerLost += 1;
      this.answerError(p, Status.WorkerLost, 'worker_lost', `the worker serving ${p.req.service} was lost (${reason})`);
    }
  }

  // ---- dispatch ----

  private hand(p: Pending, w: WorkerEntry): boolean {
    if (!w.codec.carries(p.req)) {
      // Never altered silently: a request the worker's wire cannot carry whole is refused, not cut.
      this.answerError(
        p,
        Status.BodyUnsupported,
        'multi_frame_to_butler',
        `the worker serving ${p.req.service} speaks butler's wire, which carries one body frame; the request has ${p.req.body.length}`,
      );
      return false;
    }
    const token = this.ledger.hand(p, w);
    w.codec.request(this.outbox, w, token, p.req, p.expiresAt);
    return true;
  }
}

/** Why an acceptable request was turned away (answered 503). */
type RefusalReason = Extract<BrokerDropReason, 'shutting_down' | 'queue_full' | 'queue_memory_full' | 'too_many_clients' | 'too_many_services'>;

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
