import { randomBytes } from 'node:crypto';
import * as zmq from 'zeromq';
import { isRejection } from '../../protocol/codec.js';
import { DEFAULT_KEYWORDS_LIMITS, decodeReply, request, type KeywordsCommand, type KeywordsLimits, type Reply } from '../../protocol/keywords.js';
import type { Logger } from '../../log.js';
import { curveClientSocketOptions, watchClientHandshakes, type ResolvedCurveClient } from '../../security/curve.js';
import { Deque } from '../../util/deque.js';
import { readUntilClosed } from '../../util/socket-reader.js';

/** Why a request got no reply: it timed out, or the channel was closed under it. */
export class ChannelFailure extends Error {
  override readonly name = 'ChannelFailure';
  constructor(
    readonly kind: 'timeout' | 'closed',
    readonly endpoint: string,
    readonly timeoutMs: number,
  ) {
    super(kind === 'timeout' ? `no reply from ${endpoint} within ${timeoutMs} ms` : `channel to ${endpoint} closed`);
  }
}

/** How long a closed channel keeps trying to deliver what it already sent (a `write` with `wait: false`). */
const CLOSE_LINGER_MS = 500;

interface Pending {
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: ChannelFailure) => void;
  readonly timer: NodeJS.Timeout;
}

export interface ChannelOptions {
  readonly timeoutMs: number;
  readonly limits?: KeywordsLimits;
  /** Largest reply accepted, in bytes (ZMQ_MAXMSGSIZE). */
  readonly maxMessageSize?: number;
  /** CURVE keys towards this endpoint; the logger hears when the server refuses them. */
  readonly curve?: { readonly keys: ResolvedCurveClient; readonly log: Logger };
}

/**
 * Requests to one registry or dispatcher over a DEALER, matched to replies
 * by request id, each with a timeout. After a timeout the socket is thrown
 * away (ZeroMQ's Lazy Pirate): messages it still queues must never reach a
 * dispatcher that comes back later, and a fresh socket reconnects at once.
 * One writer loop per socket (zeromq.js allows one pending send).
 */
export class RequestChannel {
  private socket: zmq.Dealer | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly queue = new Deque<{ frames: Buffer[]; onSent: (() => void) | undefined }>(16);
  private writing = false;
  private closed = false;
  private readonly prefix = randomBytes(3).toString('hex');
  private seq = 0;
  private readonly limits: KeywordsLimits;

  constructor(
    readonly endpoint: string,
    private readonly options: ChannelOptions,
  ) {
    this.limits = options.limits ?? DEFAULT_KEYWORDS_LIMITS;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Resolves with the reply (ok or an error code); rejects with ChannelFailure
   * when none comes in time. `onSent` runs once the request is handed to the socket.
   */
  request(command: KeywordsCommand, args: readonly Buffer[], onSent?: () => void, timeoutMs = this.options.timeoutMs): Promise<Reply> {
    if (this.closed) return Promise.reject(new ChannelFailure('closed', this.endpoint, timeoutMs));
    const socket = this.ensureSocket();
    const id = `${this.prefix}${(this.seq++).toString(36)}`;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(new ChannelFailure('timeout', this.endpoint, timeoutMs));
        this.reset();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.queue.push({ frames: request(id, command, args), onSent });
      if (!this.writing) void this.pump(socket);
    });
  }

  /**
   * Drops the socket and fails what waits on it; the next request opens a new
   * one. After a timeout nothing queued may linger; a graceful close gives what
   * was already sent a moment to leave.
   */
  reset(lingerMs = 0): void {
    const socket = this.socket;
    this.socket = undefined;
    while (this.queue.length > 0) this.queue.shift();
    if (socket) {
      socket.linger = lingerMs;
      socket.close();
    }
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new ChannelFailure(this.closed ? 'closed' : 'timeout', this.endpoint, this.options.timeoutMs));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reset(CLOSE_LINGER_MS);
  }

  private ensureSocket(): zmq.Dealer {
    if (this.socket) return this.socket;
    const socket = new zmq.Dealer({
      linger: 0,
      maxMessageSize: this.options.maxMessageSize ?? this.limits.maxValueBytes + 64 * 1024,
      // A send that cannot be queued fails rather than waits forever; the request's own timer reports it.
      sendTimeout: this.options.timeoutMs,
      ...(this.options.curve ? curveClientSocketOptions(this.options.curve.keys) : {}),
    });
    if (this.options.curve) watchClientHandshakes(socket, this.options.curve.log, this.options.curve.keys);
    socket.connect(this.endpoint);
    this.socket = socket;
    void readUntilClosed(socket, (frames) => this.onMessage(frames));
    return socket;
  }

  private async pump(socket: zmq.Dealer): Promise<void> {
    this.writing = true;
    try {
      while (this.socket === socket && this.queue.length > 0) {
        const item = this.queue.shift() as { frames: Buffer[]; onSent: (() => void) | undefined };
        try {
          await socket.send(item.frames);
          item.onSent?.();
        } catch {
          // Closed under us, or no peer took it in time: the request's timer answers for it.
          return;
        }
      }
    } finally {
      this.writing = false;
      if (this.socket !== undefined && this.socket !== socket && this.queue.length > 0) void this.pump(this.socket);
    }
  }

  private onMessage(frames: Buffer[]): void {
    const reply = decodeReply(frames, this.limits);
    if (isRejection(reply)) return;
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    p.resolve(reply);
  }
}
