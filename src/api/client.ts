import type { SocketTransport } from '../actors/socket-transport.js';
import { assertEndpoint } from '../actors/endpoint-error.js';
import { silentLogger, type Logger } from '../log.js';
import { BrokerSet, type BrokerState } from '../machines/client/broker-set.js';
import { toFrames, type ReplyBody } from '../protocol/body.js';
import type { JsonLimits, JsonObject } from '../protocol/json.js';
import { decodeRpcReply, encodeRpcRequest } from '../protocol/rpc.js';
import {
  MAX_WINDOW,
  clientCallUnit,
  clientCancelUnit,
  clientRequestUnit,
  clientWindowUnit,
  decodeUnits,
  isStewardHeader,
  Kind,
  PONG_DRAINING,
  pingUnit,
} from '../protocol/steward-wire.js';
import { Status } from '../protocol/status.js';
import { resolveCurveClient, type CurveClientOptions, type ResolvedCurveClient } from '../security/curve.js';
import { DEFAULT_FRONTEND } from './broker.js';
import { ClientLink } from './client-link.js';
import { BrokerError, ClosedError, InvalidReplyError, NoWorkerError, RemoteError, TimeoutError, UnknownMethodError } from './errors.js';
import { ReplyStream, type StreamPart } from './reply-stream.js';
import { rpcProxy, type RpcProxy, type UntypedService } from './rpc-proxy.js';

export type { ReplyStream, StreamPart } from './reply-stream.js';

export interface ClientOptions {
  /**
   * Broker frontend endpoint(s). With several, the client keeps one socket per
   * broker, pings each once per `heartbeat`, sends each attempt to a live one
   * (round-robin), and retries a timed-out attempt on another. Default
   * tcp://127.0.0.1:5555.
   */
  readonly broker?: string | readonly string[];
  /** Per attempt, in ms (butler: 2500). */
  readonly timeout?: number;
  /** Further attempts after the first, each with a new request id. */
  readonly retries?: number;
  /** Keep the connection across retries (true), or reconnect before each retry (false, butler's `persistent = False`). */
  readonly persistent?: boolean;
  /**
   * When no worker serves the service, wait in the broker's queue for one to
   * register (true), or fail at once with a NoWorkerError once every live
   * broker said it has none (false, the default). Per call too.
   */
  readonly waitForWorker?: boolean;
  /** How often every broker is pinged, in ms (default 1000); a broker is taken back within one interval of answering. */
  readonly heartbeat?: number;
  /** Intervals a broker may stay silent before it is taken for dead (default 3). */
  readonly liveness?: number;
  readonly maxMessageSize?: number;
  /** Limits on RPC replies read as JSON (default: the message size limit, nesting 64). */
  readonly replyLimits?: Partial<JsonLimits>;
  /**
   * CURVE: the broker's public key, and this client's pair (a fresh one when
   * left out). A key the broker does not allow gets no answer: calls time out,
   * and the logger says the broker refused the key.
   */
  readonly curve?: CurveClientOptions;
  /**
   * Which ZeroMQ stack speaks to the brokers. `auto` (the default): steward's own ZMTP DEALER for plain
   * tcp:// and ipc:// brokers, libzmq with CURVE and for the rest. `libzmq`: libzmq always (zeromq.js).
   */
  readonly transport?: SocketTransport;
  readonly logger?: Logger;
}

export interface CallOptions {
  readonly timeout?: number;
  readonly retries?: number;
  /** Overrides the client's `waitForWorker` for this call. */
  readonly waitForWorker?: boolean;
  /**
   * Cancels the call: it rejects at once with the signal's reason, and the
   * broker drops the request from its queue or tells the worker holding it,
   * whose handler sees its own signal abort (docs/wires.md, "Cancellation").
   */
  readonly signal?: AbortSignal;
}

export interface StreamOptions extends CallOptions {
  /**
   * Partial replies the broker may send ahead of the reader (default 64, at
   * most 65535); the worker's generator waits while they are not read. The
   * reader may hold as many parts unread: lower it for big parts. Each refill
   * is a round trip, so a window too small for the parts' size slows the
   * stream (docs/benchmarks.md, streams).
   */
  readonly window?: number;
}

/** How long a closing client's sockets keep trying to send the cancels it just wrote. */
const CANCEL_LINGER_MS = 100;

/** The default window of `client.stream`. */
export const DEFAULT_STREAM_WINDOW = 64;

interface Call {
  readonly service: string;
  readonly body: Buffer[];
  readonly timeout: number;
  readonly wait: boolean;
  /** Sent as CLIENT_CALL (indexed by the broker): a signal may cancel it, or it streams. */
  readonly indexed: boolean;
  /** A stream's reader; undefined for a call that takes one reply. */
  readonly stream: ReplyStream | undefined;
  attemptsLeft: number;
  attempts: number;
  id: number;
  deadline: number;
  /** The broker the current attempt went to, and when. */
  broker: number;
  sentAt: number;
  /** Brokers that said no worker serves the service: this call does not ask them again. */
  noWorker: Set<number> | undefined;
  readonly resolve: (frames: Buffer[]) => void;
  readonly reject: (error: Error) => void;
}

const RETRYABLE = new Set<number>([Status.WorkerLost, Status.Unavailable]);

/** A stream that has read a partial reply: sending it again would repeat what the reader already has. */
function startedStream(call: Call): boolean {
  return call.stream !== undefined && call.stream.received > 0;
}

/**
 * Calls services through steward brokers. Speaks steward's compact wire (request id
 * and expiration per attempt), so many calls may be in flight on one client,
 * a late reply to an abandoned attempt is dropped, and the broker never hands
 * a worker a request its client stopped waiting for.
 *
 * Given several brokers it fails over between them (docs/deploy.md): only the
 * attempts in flight to a broker when it dies wait out their timeout; later
 * ones go to the live brokers, and a broker that answers again gets traffic
 * within one heartbeat interval.
 */
export class Client {
  private readonly links: ClientLink[];
  private readonly brokers: BrokerSet;
  private readonly calls = new Map<number, Call>();
  private seq = 0;
  private pingSeq = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly pinger: NodeJS.Timeout;
  /**
   * Calls made before any broker answered, while several are given: they wait
   * (at most `graceMs`) for the first PONG and go to a broker known to be up,
   * so a fresh client does not start with a broker that is down.
   */
  private waiting: Call[] = [];
  private graceUntil: number;
  private graceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** A CLIENT_CANCEL was written: on close, the sockets linger a moment so it leaves. */
  private cancelled = false;
  private readonly log: Logger;
  readonly timeout: number;
  readonly retries: number;
  readonly persistent: boolean;
  readonly waitForWorker: boolean;
  readonly heartbeat: number;
  private readonly replyLimits: JsonLimits;
  private readonly keys: ResolvedCurveClient | undefined;

  constructor(private readonly options: ClientOptions = {}) {
    const endpoints = options.broker === undefined ? [DEFAULT_FRONTEND] : typeof options.broker === 'string' ? [options.broker] : [...options.broker];
    if (endpoints.length === 0) throw new TypeError('a Client needs at least one broker endpoint');
    // libzmq would take a malformed endpoint in silence and every call would time out: say so now.
    for (const endpoint of endpoints) assertEndpoint('client.broker', 'connect', endpoint);
    this.timeout = options.timeout ?? 2500;
    this.retries = options.retries ?? 2;
    this.persistent = options.persistent ?? true;
    this.waitForWorker = options.waitForWorker ?? false;
    this.heartbeat = options.heartbeat ?? 1000;
    const silenceMs = this.heartbeat * (options.liveness ?? 3);
    this.replyLimits = { maxBytes: options.maxMessageSize ?? 16 * 1024 * 1024, maxDepth: 64, ...options.replyLimits };
    this.log = (options.logger ?? silentLogger).child({ actor: 'client' });
    this.keys = options.curve ? resolveCurveClient(options.curve) : undefined;
    this.brokers = new BrokerSet(endpoints, silenceMs, Date.now());
    this.links = endpoints.map(
      (endpoint, i) =>
        new ClientLink({
          endpoint,
          maxMessageSize: options.maxMessageSize ?? 16 * 1024 * 1024,
          heartbeatMs: this.heartbeat,
          silenceMs,
          keys: this.keys,
          transport: options.transport ?? 'auto',
          log: this.log,
          onMessage: (frames) => this.onMessage(i, frames),
          onDown: () => this.onDown(i),
          onUp: () => this.ping(i),
        }),
    );
    // Pings cost a message per broker per interval; an idle client keeps no process alive for them.
    this.pinger = setInterval(() => this.tick(), this.heartbeat);
    this.pinger.unref();
    this.graceUntil = endpoints.length > 1 ? Date.now() + Math.min(250, this.heartbeat) : 0;
    this.ping();
  }

  /** What the client knows of each broker now (for logs, the inspector and tests). */
  brokerStates(): Array<{ endpoint: string; state: BrokerState; lastHeard: number }> {
    return this.brokers.snapshot();
  }

  /**
   * Sends `body` to `service` and resolves with the reply frames. A worker
   * that streams answers this with its final reply alone.
   */
  call(service: string, body: ReplyBody = [], options: CallOptions = {}): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new ClosedError());
    const signal = options.signal;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<Buffer[]>((resolve, rejectCall) => {
      const call = this.newCall(service, body, options, undefined, resolve, rejectCall);
      if (signal !== undefined) this.watch(call, signal);
      this.attempt(call);
    });
  }

  /**
   * Sends `body` to `service` and reads the answer as it is made: the
   * worker's partial replies, then its final one (`final: true`), as an async
   * iterable. The broker sends at most `window` parts ahead of the reader, and
   * a steward worker's generator waits while they are unread. Before the first
   * part arrives the call is retried like `call`; after it, a failure ends the
   * stream with the error. Between parts, `timeout` is how long the worker may
   * take for the next one (the wait for a slow reader does not count).
   * Breaking out of the loop, or the signal, cancels the call at the broker
   * and the worker. Workers that do not stream answer with a final part only.
   *
   *     for await (const part of client.stream('api.images', body)) console.log(part.final, part.text());
   */
  stream(service: string, body: ReplyBody = [], options: StreamOptions = {}): ReplyStream {
    const window = options.window ?? DEFAULT_STREAM_WINDOW;
    if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) throw new RangeError(`window must be an integer from 1 to ${MAX_WINDOW}, got ${window}`);
    let call: Call | undefined;
    const stream = new ReplyStream(window, {
      refill: (n) => {
        if (call !== undefined) this.refill(call, n);
      },
      cancel: () => {
        if (call !== undefined) this.cancel(call);
      },
    });
    const signal = options.signal;
    if (this.closed) stream.fail(new ClosedError());
    else if (signal?.aborted === true) stream.fail(signal.reason);
    else {
      call = this.newCall(service, body, options, stream, (frames) => stream.end(frames), (error) => stream.fail(error));
      if (signal !== undefined) this.watch(call, signal);
      this.attempt(call);
    }
    return stream;
  }

  /** RPC over a stream: each value the remote generator yields, decoded, then its final result (`final: true`). */
  async *invokeStream(
    service: string,
    method: string,
    args: readonly unknown[] = [],
    kwargs: Readonly<Record<string, unknown>> = {},
    options: StreamOptions = {},
  ): AsyncGenerator<{ value: unknown; final: boolean }, void, undefined> {
    const stream = this.stream(service, [encodeRpcRequest(method, args, kwargs)], options);
    try {
      for await (const part of stream) yield { value: this.rpcValue(service, method, part), final: part.final };
    } finally {
      await stream.return();
    }
  }

  private newCall(
    service: string,
    body: ReplyBody,
    options: CallOptions,
    stream: ReplyStream | undefined,
    resolve: (frames: Buffer[]) => void,
    reject: (error: Error) => void,
  ): Call {
    return {
      service,
      body: toFrames(body),
      timeout: options.timeout ?? this.timeout,
      wait: options.waitForWorker ?? this.waitForWorker,
      indexed: stream !== undefined || options.signal !== undefined,
      stream,
      attemptsLeft: options.retries ?? this.retries,
      attempts: 0,
      id: 0,
      deadline: 0,
      broker: -1,
      sentAt: 0,
      noWorker: undefined,
      resolve,
      reject,
    };
  }

  /** The signal cancels the call; the listener goes when the call settles either way. */
  private watch(call: Call, signal: AbortSignal): void {
    const onAbort = () => {
      if (this.cancel(call)) call.reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const { resolve, reject } = call;
    const cleanup = () => signal.removeEventListener('abort', onAbort);
    (call as { resolve: Call['resolve'] }).resolve = (frames) => {
      cleanup();
      resolve(frames);
    };
    (call as { reject: Call['reject'] }).reject = (error) => {
      cleanup();
      reject(error);
    };
  }

  /** Forgets the call and tells its broker (CLIENT_CANCEL); false when it had already settled. */
  private cancel(call: Call): boolean {
    const waiting = this.waiting.indexOf(call);
    if (waiting >= 0) {
      this.waiting.splice(waiting, 1);
      return true;
    }
    if (this.calls.get(call.id) !== call) return false;
    this.calls.delete(call.id);
    (this.links[call.broker] as ClientLink).write(clientCancelUnit(call.id));
    this.cancelled = true;
    return true;
  }

  /** The reader took `n` parts: the broker may send as many more; the wait for the next part starts now. */
  private refill(call: Call, n: number): void {
    if (this.calls.get(call.id) !== call) return;
    call.deadline = Date.now() + call.timeout;
    (this.links[call.broker] as ClientLink).write(clientWindowUnit(call.id, n));
  }

  /**
   * butler's `client.send`: one body frame (an object is sent as JSON), and
   * the reply's first frame as text. `send('mmi.NAME')` asks the broker
   * whether a worker serves NAME: "200" or "404".
   */
  async send(service: string, body?: string | Buffer | JsonObject, options: CallOptions = {}): Promise<string> {
    const frames = body === undefined ? [] : typeof body === 'string' || Buffer.isBuffer(body) ? [body] : [JSON.stringify(body)];
    const [first] = await this.call(service, frames, options);
    return first?.toString() ?? '';
  }

  /**
   * butler's `client.rpc(service)`: an object whose methods call the
   * service's, each returning a promise. A method that threw rejects with a
   * RemoteError, an unknown one with an UnknownMethodError.
   */
  rpc<T = UntypedService>(service: string, options: CallOptions = {}): RpcProxy<T> {
    return rpcProxy<T>((method, args) => this.invoke(service, method, args, {}, options));
  }

  /** One RPC call without the proxy; `kwargs` go to Python workers as keyword arguments. */
  async invoke(
    service: string,
    method: string,
    args: readonly unknown[] = [],
    kwargs: Readonly<Record<string, unknown>> = {},
    options: CallOptions = {},
  ): Promise<unknown> {
    const reply = await this.call(service, [encodeRpcRequest(method, args, kwargs)], options);
    return this.rpcValue(service, method, { body: reply, final: true });
  }

  /** An RPC reply's value, or its error thrown (a partial is a value, as a result is). */
  private rpcValue(service: string, method: string, part: Pick<StreamPart, 'body' | 'final'>): unknown {
    const decoded = decodeRpcReply(part.body, this.replyLimits);
    switch (decoded.type) {
      case 'rpc.result':
        return decoded.value;
      case 'rpc.not_found':
        throw new UnknownMethodError(service, method);
      case 'rpc.exception': {
        const { name, message, traceback } = decoded.exception;
        throw new RemoteError(service, name, message, traceback, method);
      }
      case 'rpc.invalid':
        throw new InvalidReplyError(service, decoded.message);
    }
  }

  /** RFC 8 service discovery: does a worker serve `service` right now? */
  async available(service: string, options: CallOptions = {}): Promise<boolean> {
    const [code] = await this.call('mmi.service', [service], options);
    return code?.toString() === '200';
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Streams in flight end at the broker too, instead of waiting out their readers' silence.
    for (const call of this.calls.values()) {
      if (call.stream === undefined) continue;
      (this.links[call.broker] as ClientLink).write(clientCancelUnit(call.id));
      this.cancelled = true;
    }
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    clearInterval(this.pinger);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    for (const call of this.waiting.splice(0)) call.reject(new ClosedError());
    for (const call of this.calls.values()) call.reject(new ClosedError());
    this.calls.clear();
    // Cancels just written get a moment to leave (a CLI interrupted mid-stream exits right after).
    for (const link of this.links) link.close(this.cancelled ? CANCEL_LINGER_MS : 0);
  }

  /** Once per heartbeat interval: silent brokers are dead, every broker is pinged, and open streams say they are still read. */
  private tick(): void {
    if (this.closed) return;
    this.brokers.tick(Date.now());
    this.ping();
    for (const call of this.calls.values()) if (call.stream !== undefined) (this.links[call.broker] as ClientLink).write(clientWindowUnit(call.id, 0));
  }

  private ping(only?: number): void {
    this.pingSeq = (this.pingSeq + 1) >>> 0;
    const now = Date.now();
    for (let i = 0; i < this.links.length; i++) {
      if (only !== undefined && i !== only) continue;
      // A live broker that answered within the interval needs no PING: a busy client costs its brokers
      // no heartbeats. One that goes quiet is pinged from the next tick, so it is found dead as soon.
      if (only === undefined && this.brokers.state(i) === 'alive' && now - this.brokers.lastHeard(i) < this.heartbeat) continue;
      const link = this.links[i] as ClientLink;
      // A broker that is down holds up its writer: one ping waiting is enough.
      if (link.backlog === 0) link.write(pingUnit(this.pingSeq));
    }
  }

  /**
   * Sends the call's next attempt, with a new request id, to the best broker:
   * a live one, round-robin, not one that said it has no worker for this call,
   * and not the one its last attempt timed out on while another is alive.
   */
  private attempt(call: Call, avoid?: number): void {
    if (this.graceUntil > 0 && !this.brokers.anyHeard()) {
      if (Date.now() < this.graceUntil) {
        this.wait(call);
        return;
      }
      this.graceUntil = 0;
    }
    // uint32 ids as in the header; 0 is never used, and wrapping past 4 billion skips live ones.
    do this.seq = (this.seq + 1) >>> 0 || 1;
    while (this.calls.has(this.seq));
    call.id = this.seq;
    call.attempts += 1;
    const now = Date.now();
    call.deadline = now + call.timeout;
    call.sentAt = now;
    call.broker = this.brokers.pick(call.noWorker, avoid) ?? 0;
    this.calls.set(call.id, call);
    call.stream?.restart();
    // Calls made in the same tick share ZeroMQ messages (zeromq.js pays per message).
    (this.links[call.broker] as ClientLink).write(
      call.indexed
        ? clientCallUnit(call.id, call.deadline, call.service, call.body, { noWait: !call.wait, ...(call.stream ? { window: call.stream.window } : {}) })
        : clientRequestUnit(call.id, call.deadline, call.service, call.body, call.wait),
    );
    if (!this.sweeper) this.sweeper = setInterval(() => this.sweep(), Math.max(5, Math.min(50, this.timeout / 10)));
  }

  private wait(call: Call): void {
    this.waiting.push(call);
    if (!this.graceTimer) {
      this.graceTimer = setTimeout(() => this.release(), Math.max(0, this.graceUntil - Date.now()));
    }
  }

  /** The first broker answered, or the grace ran out: the waiting calls go now. */
  private release(): void {
    this.graceUntil = 0;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const waiting = this.waiting;
    this.waiting = [];
    for (const call of waiting) this.attempt(call);
  }

  /** One timer for all calls: per-request timers cost more than the requests at high rates. */
  private sweep(): void {
    const now = Date.now();
    const reconnect = new Set<number>();
    const retry: Call[] = [];
    for (const [id, call] of this.calls) {
      if (call.deadline > now) continue;
      // The broker waits for the reader to read: that silence is not the worker's.
      if (call.stream?.waitingForReader === true) continue;
      this.calls.delete(id);
      // Nobody will take its answer: the broker and the worker may stop now (an unindexed call expires there on its own).
      if (call.indexed) (this.links[call.broker] as ClientLink).write(clientCancelUnit(id));
      if (this.retryable(call)) {
        call.attemptsLeft -= 1;
        retry.push(call);
        if (!this.persistent) reconnect.add(call.broker);
      } else {
        call.reject(this.timeoutError(call, now));
      }
      this.suspect(call.broker);
    }
    for (const i of reconnect) this.reconnect(i);
    for (const call of retry) this.attempt(call, call.broker);
    if (this.calls.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /**
   * The connection to broker `i` closed: the broker died or went away, and its
   * routing id for us with it, so nothing in flight there can be answered.
   * Those attempts are retried elsewhere now rather than after their timeout
   * (those with no retries left still wait it out).
   */
  private onDown(i: number): void {
    if (this.closed) return;
    this.brokers.lost(i);
    this.log.info({ broker: this.brokers.endpoints[i] }, 'connection to broker closed; sending elsewhere');
    const lost = [...this.calls.values()].filter((c) => c.broker === i && (c.attemptsLeft > 0 || startedStream(c)));
    for (const call of lost) {
      this.calls.delete(call.id);
      if (startedStream(call)) {
        call.reject(new BrokerError(call.service, Status.WorkerLost, `the connection to broker ${this.brokers.endpoints[i]} closed after ${call.stream?.received} partial replies`));
        continue;
      }
      call.attemptsLeft -= 1;
      this.attempt(call, i);
    }
  }

  /** Another attempt may go: retries are left, and no partial reply was read (a stream that has begun is not sent again). */
  private retryable(call: Call): boolean {
    return call.attemptsLeft > 0 && !startedStream(call);
  }

  /** An attempt to broker `i` timed out: no new attempts go there until it answers the ping sent now. */
  private suspect(i: number): void {
    if (this.links.length === 1) return;
    this.brokers.timedOut(i);
    this.ping(i);
  }

  private timeoutError(call: Call, now: number): TimeoutError {
    const endpoint = this.brokers.endpoints[call.broker] as string;
    // Heard since the attempt left, or within a ping interval: it answers pings, so it is up (a hint, not a proof).
    const heard = this.brokers.lastHeard(call.broker);
    const up = this.brokers.state(call.broker) !== 'dead' && this.brokers.state(call.broker) !== 'unknown' && (heard >= call.sentAt || now - heard <= this.heartbeat + 100);
    const detail = !up
      ? `broker ${endpoint} did not answer (down, unreachable, or too busy)`
      : call.wait
        ? `broker ${endpoint} is up, but no worker answered in time (the call waits for a worker when none is registered)`
        : `broker ${endpoint} is up and has workers for it, but none answered in time`;
    return new TimeoutError(call.service, call.attempts, call.timeout, detail);
  }

  /** A fresh socket to broker `i`; calls in flight on the old one are sent again with new ids. */
  private reconnect(i: number): void {
    (this.links[i] as ClientLink).reconnect();
    const inFlight = [...this.calls.values()].filter((c) => c.broker === i);
    for (const call of inFlight) {
      this.calls.delete(call.id);
      if (startedStream(call)) call.reject(new BrokerError(call.service, Status.WorkerLost, `the client reconnected to ${this.brokers.endpoints[i]} after ${call.stream?.received} partial replies`));
      else this.attempt(call);
    }
  }

  private onMessage(i: number, frames: Buffer[]): void {
    // [units...] in steward's compact wire: one message may answer many calls.
    if (frames.length === 0 || !isStewardHeader(frames[0] as Buffer)) return;
    const now = Date.now();
    let draining = false;
    let pong = false;
    decodeUnits(frames, 0, (m) => {
      if ('type' in m) return;
      if (m.kind === Kind.ClientReply) this.settle(i, m.requestId, m.status, m.body);
      else if (m.kind === Kind.ClientPartial) this.partial(i, m.requestId, m.body, now);
      else if (m.kind === Kind.Pong) {
        pong = true;
        draining = (m.flags & PONG_DRAINING) !== 0;
      }
    });
    // Any message says the broker is up; only a PONG says whether it drains.
    const state = this.brokers.state(i);
    if (this.brokers.heard(i, now, pong ? draining : state === 'draining') && state === 'dead') {
      this.log.info({ broker: this.brokers.endpoints[i] }, 'broker answers again');
    }
    if (this.waiting.length > 0) this.release();
  }

  /** A partial reply: to its stream's reader; the wait for the next part starts over. */
  private partial(broker: number, requestId: number, body: Buffer[], now: number): void {
    const call = this.calls.get(requestId);
    if (!call || call.broker !== broker || call.stream === undefined) return;
    call.deadline = now + call.timeout;
    call.stream.push(body);
  }

  private settle(broker: number, requestId: number, status: number, body: Buffer[]): void {
    const call = this.calls.get(requestId);
    // A late reply to an abandoned attempt, or one from a broker this attempt never went to.
    if (!call || call.broker !== broker) return;
    this.calls.delete(requestId);
    if (status === Status.Ok) {
      call.resolve(body);
      return;
    }
    if (status === Status.NoWorker) {
      this.noWorker(call);
      return;
    }
    if (status === Status.Expired) {
      // The attempt's deadline passed in the broker's queue before any worker took it:
      // that is this attempt timing out, whichever of the broker's tick and our sweep saw it first.
      if (this.retryable(call)) {
        call.attemptsLeft -= 1;
        if (!this.persistent) this.reconnect(call.broker);
        this.attempt(call, call.broker);
      } else call.reject(this.timeoutError(call, Date.now()));
      return;
    }
    if (RETRYABLE.has(status) && this.retryable(call)) {
      call.attemptsLeft -= 1;
      this.attempt(call, call.broker);
      return;
    }
    call.reject(new BrokerError(call.service, status, body.map((b) => b.toString()).join(' ')));
  }

  /**
   * A broker has no worker for the service: ask the other live brokers first
   * (a broker just restarted may not have seen its workers register yet),
   * without spending a retry; fail when every one of them said the same.
   */
  private noWorker(call: Call): void {
    call.noWorker ??= new Set();
    call.noWorker.add(call.broker);
    if (this.brokers.usable(call.noWorker) > 0) {
      call.attempts -= 1;
      this.attempt(call);
      return;
    }
    call.reject(new NoWorkerError(call.service, [...call.noWorker].map((i) => this.brokers.endpoints[i] as string)));
  }
}
