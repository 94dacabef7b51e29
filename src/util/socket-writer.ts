import { Deque } from './deque.js';

/** The part of a zeromq.js socket a writer needs. */
export interface Sendable {
  send(frames: Buffer[]): Promise<void>;
  readonly closed: boolean;
}

export type SendFailure = 'unroutable' | 'peer_full' | 'send_queue_full' | 'send_failed';

/**
 * One writer loop per socket fed by a queue: zeromq.js allows one pending
 * send per socket (a second throws EBUSY), so fire-and-forget sends lose
 * messages. Failures are reported, never thrown: an unroutable or full peer
 * is a counted drop, not a crash.
 *
 * `immediate` is for sockets whose send timeout is 0 (steward's ROUTERs and
 * PUBs): zeromq.js then hands the frames to libzmq inside `send()` itself
 * and never leaves a send pending, so a message is written at once, without
 * the queue and the loop's promise chain (one microtask hop per message less
 * on the broker's path). A peer that cannot take it fails the send
 * (EHOSTUNREACH, EAGAIN) and is counted, exactly as in the loop.
 */
export class SocketWriter {
  private readonly queue = new Deque<Buffer[]>(64);
  private writing = false;
  private stopped = false;
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: Sendable,
    private readonly onFailure: (reason: SendFailure, detail?: string) => void,
    private readonly onSent: () => void = () => undefined,
    private readonly maxQueue = 100_000,
    private readonly immediate = false,
  ) {}

  private readonly failed = (error: unknown): void => {
    if (this.stopped || this.socket.closed) return;
    const code = typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
    if (code === 'EHOSTUNREACH') this.onFailure('unroutable');
    else if (code === 'EAGAIN') this.onFailure('peer_full');
    else this.onFailure('send_failed', code ?? String(error));
  };

  get pending(): number {
    return this.queue.length;
  }

  write(frames: Buffer[]): void {
    if (this.stopped) return;
    if (this.immediate) {
      let sent: Promise<void>;
      try {
        sent = this.socket.send(frames);
      } catch (error) {
        // Thrown only for a closed socket or bad frames: report it like a failed send.
        this.failed(error);
        return;
      }
      sent.catch(this.failed);
      this.onSent();
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      this.onFailure('send_queue_full');
      return;
    }
    this.queue.push(frames);
    if (!this.writing) void this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.notifyDrained();
  }

  /** Resolves once everything queued was handed to the socket (or after `ms`). */
  whenDrained(ms: number): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private notifyDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private async pump(): Promise<void> {
    this.writing = true;
    try {
      while (!this.stopped && this.queue.length > 0) {
        const frames = this.queue.shift() as Buffer[];
        try {
          await this.socket.send(frames);
          this.onSent();
        } catch (error) {
          if (this.stopped || this.socket.closed) return;
          this.failed(error);
        }
      }
    } finally {
      this.writing = false;
      if (this.queue.length === 0) this.notifyDrained();
    }
  }
}
