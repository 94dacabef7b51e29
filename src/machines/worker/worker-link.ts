import type { Logger } from '../../log.js';
import { workerHeartbeat, workerReady, workerReply, workerDisconnect } from '../../protocol/mdp.js';
import { disconnectUnit, heartbeatUnit, pingUnit, workerCreditUnit, workerPartialUnit, workerReadyUnit, workerReplyUnit } from '../../protocol/steward-wire.js';
import type { WorkerInbound } from '../../protocol/worker-wire.js';
import type { CreditPool, CreditPort } from './credit-pool.js';
import { WorkerCall, exceptionReply, isReplyStream, toFrames, type Handler, type ReplyBody, type PartialReplies } from './request.js';

/**
 * How a worker talks to its brokers: steward's compact wire (fewest message
 * parts, steward brokers only) or MDP/0.1 (any Majordomo broker; credit is
 * announced as an extra READY frame that other brokers ignore).
 */
export type WorkerWireChoice = 'steward' | 'mdp';

/** The final reply of a request nobody waits for: the broker drops it, it only frees the credit. */
const NO_REPLY: Buffer[] = [];

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
 *
 * A handler may stream (docs/wires.md): an async generator's yields are sent
 * as partial replies while the broker's window for that request allows,
 * and the generator is not pulled while it does not, so a slow reader slows
 * the handler down instead of growing anyone's memory. A request stays one
 * credit of the worker's concurrency until its final reply. A WORKER_CANCEL
 * aborts the request's signal and stops pulling its generator; the final
 * reply still goes (empty), so the broker frees the credit only when the
 * worker really has.
 */
export class WorkerLink implements CreditPort {
  lastHeard: number;
  inFlight = 0;
  served = 0;
  failed = 0;
  /** Requests refused for want of room from a broker the link is not registered with. */
  dropped = 0;
  /** Partial replies sent. */
  partials = 0;
  /** Requests whose caller stopped waiting while they ran here (the broker's WORKER_CANCEL, or the broker lost). */
  cancelled = 0;
  /** Reconnect attempts since the broker was last heard (MDP). */
  attempts = 0;
  disconnectRequested = false;
  /** steward wire: registered with the broker now (it may hand us requests). */
  registered = false;
  private pings = 0;
  /** Registered, and the broker has not yet shown it took the READY (a PONG or any message after it). */
  private unconfirmed = false;
  private readonly held: WorkerCall[] = [];
  /**
   * Compact wire: the running requests a WORKER_WINDOW or WORKER_CANCEL must
   * find. Only those that outlive the burst they came in (a handler answering
   * at once has answered before any cancel is read): streams by token, since a
   * window comes every half window, and the others in a plain list searched
   * on a cancel, which is rare. A Map entry for every request cost a third of
   * the worker link's per-request work (measured). Requests waiting for a slot
   * are in `held`, searched on a cancel too.
   */
  private readonly streams = new Map<number, WorkerCall>();
  /** The other tracked calls, as a list linked through the calls (no allocation per request). */
  private unary: WorkerCall | undefined;

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
    while (this.held.length > 0 && this.pool.admit(this.index)) this.run(this.held.shift() as WorkerCall);
  }

  // ---- the machine's ticks and messages ----

  /** A heartbeat tick on the steward wire: heartbeat a broker we are registered with, ping one we are not; notice silence. */
  tick(now: number, silenceMs: number): void {
    if (this.registered && now - this.lastHeard > silenceMs) {
      this.log.warn({ link: this.index, reason: 'broker silent' }, 'broker lost; waiting for it to answer again');
      this.registered = false;
      this.pool.lost(this.index);
      this.cancelAll();
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
    this.cancelAll();
  }

  /**
   * Nobody can take the answers of what runs here any more (the broker was
   * lost, or the worker stopped): each request's signal is aborted and its
   * stream stops. Their final replies still go, as empty ones.
   */
  cancelAll(): void {
    for (const call of this.streams.values()) this.cancelCall(call);
    for (let call = this.unary; call !== undefined; call = call.next) this.cancelCall(call);
    for (const call of this.held) this.cancelCall(call);
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
        case 'broker.request': {
          const admitted = this.pool.admit(this.index);
          if (!admitted && this.compact && !this.registered) {
            // From a broker this link gave up on: it purges us within its liveness and answers the client 410
            // (or already did, if it forgot us), so running it would only exceed the concurrency.
            this.dropped += 1;
            this.log.warn({ link: this.index, dropped: this.dropped }, 'request from a broker this worker is not registered with; dropped (the broker answers it 410)');
            break;
          }
          const call = new WorkerCall(this.service, m.body, m.token, m.envelope, m.stream, m.window);
          if (admitted) this.run(call);
          else this.held.push(call);
          break;
        }
        case 'broker.window':
          this.streams.get(m.token)?.refill(m.credit);
          break;
        case 'broker.cancel': {
          // A call answered at once (a handler that did not wait) is not tracked: its reply crossed the cancel.
          const call = this.streams.get(m.token) ?? this.findUnary(m.token) ?? this.held.find((c) => c.token === m.token);
          if (call !== undefined) this.cancelCall(call);
          break;
        }
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

  /** Compact wire: a call a cancel or a window must find by token. */
  private track(call: WorkerCall): void {
    if (!this.compact || call.tracked) return;
    call.tracked = true;
    if (call.stream) {
      this.streams.set(call.token, call);
      return;
    }
    call.next = this.unary;
    if (this.unary !== undefined) this.unary.prev = call;
    this.unary = call;
  }

  private findUnary(token: number): WorkerCall | undefined {
    for (let call = this.unary; call !== undefined; call = call.next) if (call.token === token) return call;
    return undefined;
  }

  private untrack(call: WorkerCall): void {
    if (!call.tracked) return;
    call.tracked = false;
    if (call.stream) {
      this.streams.delete(call.token);
      return;
    }
    if (call.prev !== undefined) call.prev.next = call.next;
    else this.unary = call.next;
    if (call.next !== undefined) call.next.prev = call.prev;
    call.prev = undefined;
    call.next = undefined;
  }

  private cancelCall(call: WorkerCall): void {
    if (call.cancelled) return;
    this.cancelled += 1;
    call.cancel();
  }

  private run(call: WorkerCall): void {
    this.inFlight += 1;
    if (call.cancelled) {
      // Cancelled while it waited for a slot: the handler never runs.
      this.finish(call, NO_REPLY);
      return;
    }
    let result: ReturnType<Handler>;
    try {
      result = this.handler(call);
    } catch (error) {
      this.finish(call, exceptionReply(error), error);
      return;
    }
    if (result instanceof Promise) {
      // It outlives this burst: a WORKER_CANCEL may come for it, and its handler may look at its signal later.
      this.track(call);
      result.then(
        (reply) => this.settle(call, reply),
        (error: unknown) => this.finish(call, exceptionReply(error), error),
      );
    } else {
      this.settle(call, result);
    }
  }

  private settle(call: WorkerCall, result: ReplyBody | PartialReplies): void {
    if (isReplyStream(result)) {
      this.track(call);
      void this.drive(call, result[Symbol.asyncIterator]() as AsyncIterator<ReplyBody, ReplyBody | void>);
    } else this.finish(call, call.cancelled ? NO_REPLY : toFrames(result));
  }

  /**
   * Pulls a streaming handler: each yield is a partial reply, sent while the
   * window allows (for a caller that takes partials; for one that does not,
   * yields are not sent and the caller gets the return value), and the
   * generator waits while it does not. A cancel stops the pulling and
   * returns the generator (its `finally` blocks run).
   */
  private async drive(call: WorkerCall, it: AsyncIterator<ReplyBody, ReplyBody | void>): Promise<void> {
    let final: Buffer[] = NO_REPLY;
    try {
      for (;;) {
        if (!call.cancelled && call.stream && call.window <= 0) {
          await new Promise<void>((wake) => (call.wake = wake));
          continue;
        }
        if (call.cancelled) {
          await it.return?.();
          break;
        }
        const step = await it.next();
        if (step.done === true) {
          if (!call.cancelled && step.value !== undefined) final = toFrames(step.value);
          break;
        }
        if (call.cancelled || !call.stream) continue;
        call.window -= 1;
        this.partials += 1;
        this.send(workerPartialUnit(call.token, toFrames(step.value)));
      }
    } catch (error) {
      this.finish(call, call.cancelled ? NO_REPLY : exceptionReply(error), error);
      return;
    }
    this.finish(call, final);
  }

  private finish(call: WorkerCall, reply: Buffer[], error?: unknown): void {
    this.inFlight -= 1;
    this.untrack(call);
    if (error === undefined) this.served += 1;
    else {
      this.failed += 1;
      this.log.debug({ err: error, service: this.service }, 'handler threw; replied with the exception');
    }
    if (this.compact) this.send(workerReplyUnit(call.token, reply));
    else this.send(workerReply(call.envelope, reply));
    this.pool.release(this.index);
    if (this.inFlight === 0 && this.held.length === 0) this.onIdle();
  }
}
