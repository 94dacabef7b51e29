import * as zmq from 'zeromq';
import { curveClientSocketOptions, resolveCurveClient, type CurveClientOptions, type ResolvedCurveClient } from '../security/curve.js';
import type { JsonValue } from '../protocol/json-limits.js';
import { decodeStirrReply, encodeStirrRequest, type StirrErrorReason, type StirrRequest } from '../protocol/stirr.js';
import { Deque } from '../util/deque.js';

export type BalancerRequest = Partial<StirrRequest>;

/**
 * The balancer's own reasons, then the client's: a reply without a known
 * reason (a stirr server), an unreadable reply, no reply in time, too many
 * requests waiting, a closed client.
 */
export type BalancerErrorReason = StirrErrorReason | 'remote' | 'bad_reply' | 'timeout' | 'busy' | 'closed';

/** A request the balancer refused or could not answer; `reason` is stable, `message` is for people. */
export class BalancerError extends Error {
  override readonly name = 'BalancerError';
  constructor(
    readonly reason: BalancerErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface BalancerClientOptions {
  /** Where the balancer listens, e.g. `tcp://127.0.0.1:5555`. */
  readonly endpoint: string;
  /** How long one request waits for its answer (stirr clients waited forever; default 2500 ms). */
  readonly timeoutMs?: number;
  /** Largest reply accepted, in bytes. */
  readonly maxReplyBytes?: number;
  readonly maxDepth?: number;
  /** Requests waiting for an answer at once; more are refused rather than queued without bound. */
  readonly maxPending?: number;
  /** CURVE: the balancer's public key, and this client's pair (fresh when left out). */
  readonly curve?: CurveClientOptions;
}

interface Pending {
  readonly resolve: (value: JsonValue) => void;
  readonly reject: (error: BalancerError) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Asks a balancer for backend configurations, over a DEALER as stirr's
 * clients did. Requests are pipelined and answered in order; a request that
 * times out discards the connection (a late answer must never be taken for
 * the next request's), and the next `get` connects afresh.
 */
export class BalancerClient {
  private readonly options: Required<Omit<BalancerClientOptions, 'curve'>>;
  private readonly keys: ResolvedCurveClient | undefined;
  private socket: zmq.Dealer | undefined;
  private pending = new Deque<Pending>(16);
  private sending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: BalancerClientOptions | string) {
    const { curve, ...o } = typeof options === 'string' ? { endpoint: options, curve: undefined } : options;
    this.options = { timeoutMs: 2_500, maxReplyBytes: 16 * 1024 * 1024, maxDepth: 64, maxPending: 10_000, ...o };
    this.keys = curve ? resolveCurveClient(curve) : undefined;
  }

  /** The configuration of the chosen backend; a BalancerError when the balancer names an error or does not answer. */
  get<T extends JsonValue = JsonValue>(request: BalancerRequest = {}): Promise<T> {
    if (this.closed) return Promise.reject(new BalancerError('closed', 'the client is closed'));
    if (this.pending.length >= this.options.maxPending) {
      return Promise.reject(new BalancerError('busy', `more than ${this.options.maxPending} requests waiting`));
    }
    const socket = this.connect();
    const frame = encodeStirrRequest(request);
    return new Promise<T>((resolve, rejectGet) => {
      const timer = setTimeout(() => {
        this.reset(
          socket,
          new BalancerError('timeout', `no answer from ${this.options.endpoint} within ${this.options.timeoutMs} ms`),
        );
      }, this.options.timeoutMs);
      this.pending.push({ resolve: resolve as (v: JsonValue) => void, reject: rejectGet, timer });
      this.sending = this.sending.then(async () => {
        if (socket !== this.socket) return;
        try {
          await socket.send(frame);
        } catch (error) {
          this.reset(socket, new BalancerError('closed', `cannot send to ${this.options.endpoint}`, { cause: error }));
        }
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.socket) this.reset(this.socket, new BalancerError('closed', 'the client was closed'));
  }

  private connect(): zmq.Dealer {
    if (this.socket) return this.socket;
    const socket = new zmq.Dealer({ linger: 0, maxMessageSize: this.options.maxReplyBytes, ...(this.keys ? curveClientSocketOptions(this.keys) : {}) });
    socket.connect(this.options.endpoint);
    this.socket = socket;
    void this.read(socket);
    return socket;
  }

  private async read(socket: zmq.Dealer): Promise<void> {
    while (socket === this.socket) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch {
        return; // closed by reset()
      }
      const head = this.pending.shift();
      if (!head) continue; // an answer nobody waits for any more
      clearTimeout(head.timer);
      // A balancer answering a DEALER sends one frame; a stray empty delimiter is tolerated.
      const body = frames[frames.length - 1] ?? Buffer.alloc(0);
      const answer = decodeStirrReply(body, { maxReplyBytes: this.options.maxReplyBytes, maxDepth: this.options.maxDepth });
      if (answer.ok) head.resolve(answer.configuration);
      else head.reject(new BalancerError(answer.reason, answer.error, { cause: { reason: answer.reason, error: answer.error } }));
    }
  }

  /** Drops a connection and fails everything that waited on it. */
  private reset(socket: zmq.Dealer, error: BalancerError): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    socket.close();
    const waiting = this.pending;
    this.pending = new Deque<Pending>(16);
    for (let p = waiting.shift(); p !== undefined; p = waiting.shift()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }
}
