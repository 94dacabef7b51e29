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
 * `InFlightLedger` (tokens, what each worker holds, per-client counts, calls
 * by client and id), `StreamWindows` (partial replies: per-stream windows and
 * what is held for slow readers), one codec object per dialect
 * (protocol/broker-dialects.ts: how a reply, a partial or a request is
 * addressed), `Outbox` (frames per socket, compact units per peer).
 *
 * Streams and cancellation (docs/wires.md): a request's partial replies go to
 * clients that take them within the client's window; a request its client gave
 * up (cancelled, expired while a worker held it, a stream whose client fell
 * silent or overflowed its window) is `abandoned`: taken out of its queue, or
 * left with its worker (told, on the compact wire) until the worker's final
 * reply frees its credit.
 */
import type {
  BrokerInbound,
  ClientCancel,
  ClientRequest,
  ClientWindow,
  LimitRefusal,
  WorkerCredit,
  WorkerPartial,
  WorkerReady,
  WorkerReply,
} from '../../protocol/broker-wire.js';
import { clientCodec, workerCodec, type Addressee } from '../../protocol/broker-dialects.js';
import { peerKey } from '../../protocol/latin1-cache.js';
import { MDP_HEARTBEAT_INTERVAL_MS, MDP_HEARTBEAT_LIVENESS, MMI_NOT_FOUND, MMI_NOT_IMPLEMENTED, MMI_OK, MMI_PREFIX } from '../../protocol/mdp.js';
import { Status } from '../../protocol/status.js';
import { MAX_WINDOW, PONG_DRAINING, pongUnit, workerCreditUnit } from '../../protocol/steward-wire.js';
import type { BrokerDropReason, CancelReason, HeldFinal, Pending, ServiceSummary, SessionCommand, SessionEndReason, WorkerEntry } from './broker-types.js';
import { InFlightLedger } from './in-flight-ledger.js';
import { Outbox } from './outbox.js';
import { ServiceTable, type DispatchHooks } from './service-table.js';
import { DEFAULT_MAX_STREAM_BYTES, StreamWindows } from './stream-windows.js';

export type { BrokerDropReason, CancelReason, ServiceSummary, SessionCommand, SessionEndReason } from './broker-types.js';

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
  /**
   * What one stream's partial replies may hold of the broker's memory while its client reads slower than
   * its worker writes (only a worker that ignores the window, MDP/0.2, makes the broker hold any). Past
   * it the stream is ended and its client answered 507. Default 4 MiB. All streams together are held to
   * `maxQueueBytes` too, counted apart from the queues (they never stop the frontend).
   */
  readonly maxStreamBytes?: number;
  /** Called with each request's time in the broker, receipt to reply, in ms. */
  readonly observeLatency?: (ms: number) => void;
}

export interface BrokerStats {
  requests: number;
  replies: number;
  /** Partial replies sent to clients. */
  partials: number;
  mmi: number;
  expired: number;
  workerLost: number;
  refused: number;
  /** Requests given up while their client waited, by why. */
  readonly cancelled: Record<CancelReason, number>;
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
  private readonly streams: StreamWindows;
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
  readonly stats: BrokerStats = {
    requests: 0,
    replies: 0,
    partials: 0,
    mmi: 0,
    expired: 0,
    workerLost: 0,
    refused: 0,
    cancelled: { client: 0, expired: 0, client_gone: 0, overflow: 0 },
  };
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
    this.streams = new StreamWindows(options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES, this.maxQueueBytes);
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
        case 'worker.partial':
          this.onPartial(m, now);
          break;
        case 'client.window':
          this.onWindow(m, now);
          break;
        case 'client.cancel':
          this.onCancel(m);
          break;
        case 'worker.heartbeat': {
          const w = this.workers.get(peerKey(m.peer));
          if (!w) {
            this.drops.push('unknown_worker');
            workerCodec(m.wire).goodbye(this.outbox, { id: m.peer, key: peerKey(m.peer), via });
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
          const w = this.workers.get(peerKey(m.peer));
          if (w) this.depart(w, now);
          break;
        }
        case 'worker.credit':
          this.onCredit(m, via, now);
          break;
        case 'peer.ping':
          // Liveness for clients and unregistered workers that know several brokers: no state, no count.
          this.outbox.sendUnit(via, m.peer, peerKey(m.peer), pongUnit(m.nonce, this.draining ? PONG_DRAINING : 0));
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
    this.expireInFlight(now);
    // A stream's client keeps it alive (each CLIENT_WINDOW, 0 credit included); one silent for the liveness window is gone.
    if (this.streams.windowed.size > 0) {
      const silent = now - this.heartbeatIntervalMs * this.liveness;
      for (const p of [...this.streams.windowed]) if ((p.stream?.lastHeard ?? now) < silent) this.abandon(p, 'client_gone');
    }
    this.outbox.flushUnits();
  }

  /**
   * Requests whose client-given expiration passed while a worker held them: the client has stopped
   * waiting, so it is answered 504 (it may be retrying already) and the worker is told (compact
   * wire) or, on MDP and butler, its reply dropped. A stream that has sent partials lives as long
   * as its client keeps it (windows), not to its expiration. MDP requests carry no expiration of
   * their own and are never cut in flight.
   */
  private expireInFlight(now: number): void {
    let expired: Pending[] | undefined;
    for (const p of this.ledger.values()) {
      if (p.abandoned || p.req.expiresAt === 0 || p.req.expiresAt > now) continue;
      if (p.stream !== undefined && p.stream.sent > 0) continue;
      (expired ??= []).push(p);
    }
    if (expired === undefined) return;
    for (const p of expired) {
      this.stats.expired += 1;
      this.answerError(p, Status.Expired, 'expired', `request for ${p.req.service} expired while a worker held it`);
      this.abandon(p, 'expired');
    }
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

  /** Work a drain waits for: requests workers hold, and streams whose worker is done but whose client still reads. */
  get busy(): number {
    return this.ledger.size + this.streams.awaitingClient;
  }

  /** Streams open now: queued, in flight, or waiting for their client to read. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Bytes of partial replies held for slow stream readers, all streams together. */
  get streamHeldBytes(): number {
    return this.streams.heldBytes;
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
    const pending: Pending = {
      req,
      via,
      receivedAt: now,
      expiresAt,
      cost,
      token: 0,
      worker: undefined,
      client: undefined,
      abandoned: false,
      stream: undefined,
    };
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
    if (req.stream) this.streams.open(pending, req.window, now);
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
    if (p.stream !== undefined) this.streams.close(p);
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
    if (message.type === 'worker.partial') {
      // A partial too big to forward ends its stream: the client is told, the worker keeps the request until its final reply.
      const p = this.heldBy(message, now);
      if (p === undefined) return;
      this.answerError(p, Status.TooLarge, reason, `a partial reply of ${p.req.service} exceeds the broker's ${what} limit (${m.detail})`);
      this.abandon(p, 'overflow');
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
    const key = peerKey(m.peer);
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
    const w = this.workers.get(peerKey(m.peer));
    if (!w) {
      this.drops.push('unknown_worker');
      workerCodec('steward').goodbye(this.outbox, { id: m.peer, key: peerKey(m.peer), via });
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
    if (p.abandoned) {
      // Its client stopped waiting: the reply only frees the worker's credit.
      this.drops.push('cancelled');
    } else {
      w.service.replies += 1;
      this.stats.replies += 1;
      // A stream's final reply waits behind the partials its client has not taken yet.
      if (p.stream === undefined || this.streams.final(p.stream, { ok: true, body: m.body })) this.deliver(p, m.body, now);
    }
    this.afterReply(w, now);
  }

  /** The final reply reaches the client: the request is over. */
  private deliver(p: Pending, body: readonly Buffer[], now: number): void {
    this.ledger.release(p);
    if (p.stream !== undefined) this.streams.close(p);
    clientCodec(p.req.dialect).reply(this.outbox, p.req, p.via, Status.Ok, body);
    this.observeLatency?.(now - p.receivedAt);
  }

  // ---- streams and cancellation ----

  /** One partial reply: to a client that takes them, within its window; dropped and counted for one that takes one reply. */
  private onPartial(m: WorkerPartial, now: number): void {
    const p = this.heldBy(m, now);
    if (p === undefined) return;
    if (p.abandoned) {
      this.drops.push('cancelled');
      return;
    }
    const client = clientCodec(p.req.dialect);
    const send = client.partial;
    if (p.stream === undefined || send === undefined) {
      this.drops.push('partial_to_unary');
      return;
    }
    const outcome = this.streams.partial(p.stream, m.body, (body) => send(this.outbox, p.req, p.via, body));
    if (outcome === 'sent') this.stats.partials += 1;
    else if (outcome !== 'held') this.overflow(p, outcome);
  }

  /** The request `w` holds under the message's token, left in flight; undefined (and counted) when there is none. */
  private heldBy(m: WorkerPartial, now: number): Pending | undefined {
    const w = this.sender(m, now);
    if (!w) return undefined;
    const p = this.ledger.peek(w, m.token);
    if (!p) this.drops.push('stale_reply');
    return p;
  }

  /** The stream's held parts passed a limit: its client is told 507, the worker told to stop. */
  private overflow(p: Pending, reason: 'stream_overflow' | 'stream_memory_full'): void {
    const message =
      reason === 'stream_overflow'
        ? `the stream from ${p.req.service} outran its reader: over ${this.streams.maxStreamBytes} bytes of partial replies waited for the window`
        : `the broker's memory for streams is full (${mib(this.streams.heldBytes)} of partial replies wait for their readers)`;
    this.answerError(p, Status.StreamOverflow, reason, message);
    this.abandon(p, 'overflow');
  }

  /** The client read more of a stream (or only says it is there): what waited goes, and the worker may send as much more. */
  private onWindow(m: ClientWindow, now: number): void {
    const p = this.ledger.find(peerKey(m.peer), m.replyId);
    if (p === undefined || p.stream === undefined || p.abandoned) return;
    const send = clientCodec(p.req.dialect).partial;
    if (send === undefined) return;
    const final = this.streams.refill(p.stream, m.credit, now, (body) => {
      this.stats.partials += 1;
      send(this.outbox, p.req, p.via, body);
    });
    if (final !== undefined) {
      this.finish(p, final, now);
      return;
    }
    const w = p.worker;
    if (m.credit > 0 && w !== undefined && this.ledger.peek(w, p.token) === p) w.codec.window?.(this.outbox, w, p.token, m.credit);
  }

  /** A held final answer is due: the worker's reply, or the broker's error that ended the stream. */
  private finish(p: Pending, final: HeldFinal, now: number): void {
    if (final.ok) this.deliver(p, final.body, now);
    else this.answerError(p, final.status, final.reason, final.message);
  }

  /** The client gave the call up: nothing answers it. */
  private onCancel(m: ClientCancel): void {
    const p = this.ledger.find(peerKey(m.peer), m.replyId);
    // Already answered (the cancel crossed the reply), or never sent as a CLIENT_CALL: nothing to do.
    if (p !== undefined) this.abandon(p, 'client');
  }

  /**
   * Gives up a request its client no longer waits for: out of its queue, or
   * left with the worker holding it (told on the compact wire; MDP and butler
   * workers have no such command and are simply sent nothing more for it)
   * until the worker's final reply frees its credit. Nothing more reaches the
   * client.
   */
  private abandon(p: Pending, reason: CancelReason): void {
    if (p.abandoned) return;
    p.abandoned = true;
    this.stats.cancelled[reason] += 1;
    this.ledger.release(p);
    if (p.stream !== undefined) this.streams.close(p);
    const w = p.worker;
    if (w === undefined) {
      const svc = this.services.get(p.req.service);
      if (svc !== undefined) this.services.remove(svc, p);
      return;
    }
    if (this.ledger.peek(w, p.token) === p) w.codec.cancel?.(this.outbox, w, p.token);
  }

  /** The worker (registered or departing) a reply or a partial came from, heard now; undefined (and counted) when unknown. */
  private sender(m: { readonly peer: Buffer }, now: number): WorkerEntry | undefined {
    const key = peerKey(m.peer);
    const w = this.workers.get(key) ?? this.departing.get(key);
    if (!w) {
      this.drops.push('unknown_worker');
      return undefined;
    }
    w.lastSeen = now;
    return w;
  }

  /** The request a worker's reply answers, taken out of flight; undefined (and counted) when there is none. */
  private takeInFlight(m: WorkerReply, now: number): { w: WorkerEntry; p: Pending } | undefined {
    const w = this.sender(m, now);
    if (!w) return undefined;
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
      // Nobody waits for an abandoned request: losing its worker only frees the slot.
      if (p.abandoned) continue;
      this.stats.workerLost += 1;
      const message = `the worker serving ${p.req.service} was lost (${reason})${p.stream !== undefined && p.stream.sent > 0 ? ` after ${p.stream.sent} partial replies` : ''}`;
      // A stream's client reads the partials it has not taken yet, then hears the loss.
      if (p.stream !== undefined && !this.streams.final(p.stream, { ok: false, status: Status.WorkerLost, reason: 'worker_lost', message })) continue;
      this.answerError(p, Status.WorkerLost, 'worker_lost', message);
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
    const window = p.stream === undefined || p.stream.window === Number.POSITIVE_INFINITY ? 0 : p.stream.window;
    w.codec.request(this.outbox, w, token, p.req, p.expiresAt, Math.min(window, MAX_WINDOW));
    // A client may have granted more than one unit carries before a worker took its stream.
    for (let rest = window - MAX_WINDOW; rest > 0; rest -= MAX_WINDOW) w.codec.window?.(this.outbox, w, token, Math.min(rest, MAX_WINDOW));
    return true;
  }
}

/** Why an acceptable request was turned away (answered 503). */
type RefusalReason = Extract<BrokerDropReason, 'shutting_down' | 'queue_full' | 'queue_memory_full' | 'too_many_clients' | 'too_many_services'>;

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
