/** What a worker's handler receives and may return. */
import { encodeRpcException } from '../../protocol/rpc.js';

export type ReplyBody = Buffer | Uint8Array | string | readonly (Buffer | Uint8Array | string)[];

/**
 * Partial replies, then the final one: an async generator (`yield` each
 * partial, `return` the final reply), or any async iterable (a Node stream:
 * its chunks are the partials, and the final reply is empty).
 */
export type PartialReplies = AsyncIterable<ReplyBody>;

export interface WorkerRequest {
  readonly service: string;
  /** The request's frames, opaque. */
  readonly body: readonly Buffer[];
  /**
   * Whether the caller takes partial replies (`client.stream`, an MDP/0.2
   * client). When it does not, a handler's yields are not sent: the caller
   * gets what the handler returns.
   */
  readonly stream: boolean;
  /**
   * Aborted when nobody waits for the answer any more: the caller cancelled,
   * the request expired while this worker held it, a stream's reader went
   * away, or the worker stops. A handler that checks it can stop early; what
   * it returns then is dropped.
   */
  readonly signal: AbortSignal;
  /** The first body frame as UTF-8 text. */
  text(): string;
  /** The first body frame parsed as JSON. */
  json<T = unknown>(): T;
}

/** A reply, a promise of one, or partial replies then a final one (a stream). */
export type HandlerResult = ReplyBody | PartialReplies | Promise<ReplyBody | PartialReplies>;

export type Handler = (request: WorkerRequest) => HandlerResult;

export function toFrames(body: ReplyBody): Buffer[] {
  if (typeof body === 'string') return [Buffer.from(body)];
  if (Buffer.isBuffer(body)) return [body];
  if (body instanceof Uint8Array) return [Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
  return (body as readonly (Buffer | Uint8Array | string)[]).map((b) =>
    typeof b === 'string' ? Buffer.from(b) : Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** A stream rather than a reply: arrays and Buffers are iterable, but not asynchronously. */
export function isReplyStream(value: unknown): value is PartialReplies {
  return typeof value === 'object' && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

const NO_FRAME = Buffer.alloc(0);

/**
 * One request a worker runs: what the handler sees, and the worker's own
 * record of it (its token or envelope, the stream's window, whether it was
 * cancelled). One object per request; the AbortController is made only when
 * the handler asks for `signal`.
 */
export class WorkerCall implements WorkerRequest {
  /** Partials the worker may still send before a window refill (Infinity: no window). */
  window: number;
  cancelled = false;
  private controller: AbortController | undefined;
  /** Wakes a stream waiting for window or cancellation. */
  wake: (() => void) | undefined;
  /** Findable by token while it runs (see WorkerLink.track), linked among the unary calls. */
  tracked = false;
  prev: WorkerCall | undefined = undefined;
  next: WorkerCall | undefined = undefined;

  constructor(
    readonly service: string,
    readonly body: readonly Buffer[],
    /** Compact wire: the broker's token; MDP: -1. */
    readonly token: number,
    /** MDP: echoed in the reply; compact wire: empty. */
    readonly envelope: Buffer,
    readonly stream: boolean,
    window: number,
  ) {
    this.window = window === 0 ? Number.POSITIVE_INFINITY : window;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.cancelled && !this.controller.signal.aborted) this.controller.abort(cancelReason());
    return this.controller.signal;
  }

  text(): string {
    return (this.body[0] ?? NO_FRAME).toString('utf8');
  }

  json<T = unknown>(): T {
    return JSON.parse((this.body[0] ?? NO_FRAME).toString('utf8')) as T;
  }

  /** Nobody waits for the answer any more. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller?.abort(cancelReason());
    this.wakeUp();
  }

  /** The broker allows `credit` more partials. */
  refill(credit: number): void {
    this.window += credit;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function cancelReason(): Error {
  const error = new Error('the caller no longer waits for this request (cancelled, expired, or gone)');
  error.name = 'AbortError';
  return error;
}

/** A request for tests and for code that runs a handler itself. */
export function makeRequest(service: string, body: Buffer[], stream = false): WorkerCall {
  return new WorkerCall(service, body, -1, NO_FRAME, stream, 0);
}

/**
 * butler's convention for a failed call, which steward's client turns back
 * into a typed RemoteError: "500:exception:" + JSON {name, message, traceback}.
 */
export function exceptionReply(error: unknown): Buffer[] {
  return [encodeRpcException(error)];
}
