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
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  write(frames: Buffer[]): void {
    if (this.stopped) return;
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
          const code = typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
          if (code === 'EHOSTUNREACH') this.onFailure('unroutable');
          else if (code === 'EAGAIN') this.onFailure('peer_full');
          else this.onFailure('send_failed', code ?? String(error));
        }
      }
    } finally {
      this.writing = false;
      if (this.queue.length === 0) this.notifyDrained();
    }
  }
}
