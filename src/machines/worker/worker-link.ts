import type { Logger } from '../../log.js';
import { workerHeartbeat, workerReady, workerReply, workerDisconnect } from '../../protocol/mdp.js';
import { disconnectUnit, heartbeatUnit, workerReadyUnit, workerReplyUnit } from '../../protocol/steward-wire.js';
import type { WorkerInbound } from '../../protocol/worker-wire.js';
import { exceptionReply, makeRequest, toFrames, type Handler } from './request.js';

/**
 * How a worker talks to its brokers: steward's compact wire (fewest message
 * parts, steward brokers only) or MDP/0.1 (any Majordomo broker; credit is
 * announced as an extra READY frame that other brokers ignore).
 */
export type WorkerWireChoice = 'steward' | 'mdp';

/**
 * A worker's per-message work on one broker connection: run the handler for
 * each request (up to the credit the broker was told), reply through
 * `send`, and keep the facts the connection machine decides on: when the
 * broker was last heard, whether it asked us to go, how much is in flight.
 */
export class WorkerLink {
  lastHeard: number;
  inFlight = 0;
  served = 0;
  failed = 0;
  /** Reconnect attempts since the broker was last heard. */
  attempts = 0;
  disconnectRequested = false;

  constructor(
    private readonly service: string,
    private readonly credit: number,
    private readonly handler: Handler,
    private readonly send: (frames: Buffer[]) => void,
    private readonly onIdle: () => void,
    private readonly log: Logger,
    now: number,
    private readonly wire: WorkerWireChoice = 'steward',
  ) {
    this.lastHeard = now;
  }

  ready(): void {
    this.disconnectRequested = false;
    this.send(this.wire === 'steward' ? workerReadyUnit(this.service, this.credit) : workerReady(this.service, this.credit));
  }

  heartbeat(): void {
    this.send(this.wire === 'steward' ? heartbeatUnit() : workerHeartbeat());
  }

  disconnect(): void {
    this.send(this.wire === 'steward' ? disconnectUnit() : workerDisconnect());
  }

  handle(messages: readonly WorkerInbound[], now: number): void {
    this.lastHeard = now;
    this.attempts = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as WorkerInbound;
      if (m.type === 'broker.request') this.run(m.envelope, m.body);
      else if (m.type === 'broker.disconnect') this.disconnectRequested = true;
    }
  }

  silentSince(now: number, limitMs: number): boolean {
    return now - this.lastHeard > limitMs;
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
    if (this.wire === 'steward') this.send(workerReplyUnit(envelope.readUInt32BE(0), reply));
    else this.send(workerReply(envelope, reply));
    if (this.inFlight === 0) this.onIdle();
  }
}
