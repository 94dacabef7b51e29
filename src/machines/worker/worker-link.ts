import type { Logger } from '../../log.js';
import { workerHeartbeat, workerReady, workerReply, workerDisconnect } from '../../protocol/mdp.js';
import { disconnectUnit, heartbeatUnit, pingUnit, workerCreditUnit, workerReadyUnit, workerReplyUnit } from '../../protocol/steward-wire.js';
import type { WorkerInbound } from '../../protocol/worker-wire.js';
import type { CreditPool, CreditPort } from './credit-pool.js';
import { exceptionReply, makeRequest, toFrames, type Handler } from './request.js';

/**
 * How a worker talks to its brokers: steward's compact wire (fewest message
 * parts, steward brokers only) or MDP/0.1 (any Majordomo broker; credit is
 * announced as an extra READY frame that other brokers ignore).
 */
export type WorkerWireChoice = 'steward' | 'mdp';

/**
 * A worker's per-message work on one broker connection: run the handler for
 * each request (within the share of the worker's concurrency the pool gives
 * this broker), reply through `send`, and keep the facts the connection
 * machine decides on: when the broker was last heard, whether it asked us to
 * go, how much is in flight.
 *
 * On the steward wire the link registers only with a broker that answered a
 * PING, and only with the credit the pool grants it; when the broker falls
 * silent it pings it once per heartbeat until it answers, then registers
 * again (the machine need not reconnect). On MDP it registers blindly with
 * its fixed share, as any Majordomo worker does.
 */
export class WorkerLink implements CreditPort {
  lastHeard: number;
  inFlight = 0;
  served = 0;
  failed = 0;
  /** Requests refused for want of room from a broker the link is not registered with. */
  dropped = 0;
  /** Reconnect attempts since the broker was last heard (MDP). */
  attempts = 0;
  disconnectRequested = false;
  /** steward wire: registered with the broker now (it may hand us requests). */
  registered = false;
  private pings = 0;
  /** Registered, and the broker has not yet shown it took the READY (a PONG or any message after it). */
  private unconfirmed = false;
  private readonly held: Array<{ envelope: Buffer; body: Buffer[] }> = [];

  constructor(
    private readonly service: string,
    private readonly pool: CreditPool,
    private readonly index: number,
    private readonly handler: Handler,
    private readonly send: (frames: Buffer[]) => void,
    private readonly onIdle: () => void,
    private readonly log: Logger,
    now: number,
    private readonly wire: WorkerWireChoice = 'steward',
    private readonly onRegistered: (index: number) => void = () => undefined,
  ) {
    this.lastHeard = now;
    pool.attach(index, this);
  }

  /** Requests running or held back for want of room. */
  get pending(): number {
    return this.inFlight + this.held.length;
  }

  get compact(): boolean {
    return this.wire === 'steward';
  }

  /** Start (or start over) with this broker: MDP registers with its share at once, steward asks first whether it is there. */
  ready(now: number): void {
    this.disconnectRequested = false;
    if (this.compact) {
      this.lastHeard = now;
      this.ping();
    } else this.pool.up(this.index);
  }

  // ---- CreditPort: the pool decides ----

  register(credit: number): void {
    this.registered = true;
    this.unconfirmed = true;
    this.send(this.compact ? workerReadyUnit(this.service, credit) : workerReady(this.service, credit));
    // The broker answers in order: its PONG says the READY before it was taken.
    if (this.compact) this.ping();
    this.log.debug({ link: this.index, credit }, 'registering with broker');
  }

  setCredit(credit: number): void {
    if (this.compact) this.send(workerCreditUnit(credit));
  }

  resume(): void {
    while (this.held.length > 0 && this.pool.admit(this.index)) {
      const r = this.held.shift() as { envelope: Buffer; body: Buffer[] };
      this.run(r.envelope, r.body);
    }
  }

  // ---- the machine's ticks and messages ----

  /** A heartbeat tick on the steward wire: heartbeat a broker we are registered with, ping one we are not; notice silence. */
  tick(now: number, silenceMs: number): void {
    if (this.registered && now - this.lastHeard > silenceMs) {
      this.log.warn({ link: this.index, reason: 'broker silent' }, 'broker lost; waiting for it to answer again');
      this.registered = false;
      this.pool.lost(this.index);
    }
    if (this.registered) this.heartbeat();
    else this.ping();
  }

  heartbeat(): void {
    this.send(this.compact ? heartbeatUnit() : workerHeartbeat());
  }

  /** Leaving: no new work from this broker (it still takes the replies in flight). */
  disconnect(): void {
    this.pool.stop();
    if (this.compact && !this.registered) return;
    this.registered = false;
    this.send(this.compact ? disconnectUnit() : workerDisconnect());
  }

  /** MDP: the machine gave up on this broker and will register again. */
  lost(): void {
    this.registered = false;
    this.pool.lost(this.index);
  }

  handle(messages: readonly WorkerInbound[], now: number): void {
    this.lastHeard = now;
    this.attempts = 0;
    if (this.unconfirmed && this.registered && (!this.compact || messages.some((m) => m.type === 'broker.pong'))) {
      this.unconfirmed = false;
      this.onRegistered(this.index);
    }
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as WorkerInbound;
      switch (m.type) {
        case 'broker.request':
          if (this.pool.admit(this.index)) this.run(m.envelope, m.body);
          else if (this.compact && !this.registered) {
            // From a broker this link gave up on: it purges us within its liveness and answers the client 410
            // (or already did, if it forgot us), so running it would only exceed the concurrency.
            this.dropped += 1;
            this.log.warn({ link: this.index, dropped: this.dropped }, 'request from a broker this worker is not registered with; dropped (the broker answers it 410)');
          } else this.held.push({ envelope: m.envelope, body: m.body });
          break;
        case 'broker.disconnect':
          if (!this.compact) this.disconnectRequested = true;
          else if (this.registered) {
            // The broker forgot us (it restarted, or purged us): it is up, so register again at once.
            this.log.info({ link: this.index }, 'broker said DISCONNECT; registering again');
            this.registered = false;
            this.pool.lost(this.index);
            this.pool.up(this.index);
          }
          break;
        case 'broker.credit':
          this.pool.confirmed(this.index, m.credit);
          break;
        case 'broker.pong':
          if (!this.registered && !m.draining) this.pool.up(this.index);
          break;
        case 'broker.heartbeat':
          break;
      }
    }
  }

  silentSince(now: number, limitMs: number): boolean {
    return now - this.lastHeard > limitMs;
  }

  private ping(): void {
    this.pings = (this.pings + 1) >>> 0;
    this.send(pingUnit(this.pings));
  }

  private run(envelope: Buffer, body: Buffer[]): void {
    this.inFlight += 1;
    let result: ReturnType<Handler>;
    try {
      result = this.handler(makeRequest(this.service, body));
    } catch (error) {
      this.finish(envelope, exceptionReply(error), error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (reply) => this.finish(envelope, toFrames(reply)),
        (error: unknown) => this.finish(envelope, exceptionReply(error), error),
      );
    } else {
      this.finish(envelope, toFrames(result));
    }
  }

  private finish(envelope: Buffer, reply: Buffer[], error?: unknown): void {
    this.inFlight -= 1;
    if (error === undefined) this.served += 1;
    else {
      this.failed += 1;
      this.log.debug({ err: error, service: this.service }, 'handler threw; replied with the exception');
    }
    if (this.compact) this.send(workerReplyUnit(envelope.readUInt32BE(0), reply));
    else this.send(workerReply(envelope, reply));
    this.pool.release(this.index);
    if (this.inFlight === 0 && this.held.length === 0) this.onIdle();
  }
}
