import * as zmq from 'zeromq';
import { silentLogger, type Logger } from '../log.js';
import { toFrames, type ReplyBody } from '../machines/worker/request.js';
import type { JsonLimits, JsonObject } from '../protocol/json.js';
import { decodeRpcReply, encodeRpcRequest } from '../protocol/rpc.js';
import { clientRequestUnit, decodeUnits, isStewardHeader, Kind, mergeUnits } from '../protocol/steward-wire.js';
import { Status } from '../protocol/status.js';
import { curveClientSocketOptions, resolveCurveClient, watchClientHandshakes, type CurveClientOptions, type ResolvedCurveClient } from '../security/curve.js';
import { readUntilClosed } from '../util/socket-reader.js';
import { SocketWriter } from '../util/socket-writer.js';
import { DEFAULT_FRONTEND } from './broker.js';
import { BrokerError, ClosedError, InvalidReplyError, RemoteError, TimeoutError, UnknownMethodError } from './errors.js';
import { rpcProxy, type RpcProxy, type UntypedService } from './rpc-proxy.js';

export interface ClientOptions {
  /** Broker frontend endpoint(s); requests are spread over them. Default tcp://127.0.0.1:5555. */
  readonly broker?: string | readonly string[];
  /** Per attempt, in ms (butler: 2500). */
  readonly timeout?: number;
  /** Further attempts after the first, each with a new request id. */
  readonly retries?: number;
  /** Keep the connection across retries (true), or reconnect before each retry (false, butler's `persistent = False`). */
  readonly persistent?: boolean;
  readonly maxMessageSize?: number;
  /** Limits on RPC replies read as JSON (default: the message size limit, nesting 64). */
  readonly replyLimits?: Partial<JsonLimits>;
  /**
   * CURVE: the broker's public key, and this client's pair (a fresh one when
   * left out). A key the broker does not allow gets no answer: calls time out,
   * and the logger says the broker refused the key.
   */
  readonly curve?: CurveClientOptions;
  readonly logger?: Logger;
}

export interface CallOptions {
  readonly timeout?: number;
  readonly retries?: number;
}

interface Call {
  readonly service: string;
  readonly body: Buffer[];
  readonly timeout: number;
  attemptsLeft: number;
  attempts: number;
  id: number;
  deadline: number;
  readonly resolve: (frames: Buffer[]) => void;
  readonly reject: (error: Error) => void;
}

const RETRYABLE = new Set<number>([Status.WorkerLost, Status.Unavailable]);

/**
 * Calls services through steward brokers. Speaks steward's compact wire (request id
 * and expiration per attempt), so many calls may be in flight on one client,
 * a late reply to an abandoned attempt is dropped, and the broker never hands
 * a worker a request its client stopped waiting for.
 */
export class Client {
  private socket: zmq.Dealer;
  private writer: SocketWriter;
  private readonly endpoints: string[];
  private readonly calls = new Map<number, Call>();
  private seq = 0;
  private outbox: Buffer[][] = [];
  private readonly flushOutbox = () => {
    const units = this.outbox;
    this.outbox = [];
    if (this.closed) return;
    for (const message of mergeUnits(units)) this.writer.write(message);
  };
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly log: Logger;
  readonly timeout: number;
  readonly retries: number;
  readonly persistent: boolean;
  private readonly replyLimits: JsonLimits;
  private readonly keys: ResolvedCurveClient | undefined;

  constructor(private readonly options: ClientOptions = {}) {
    this.endpoints = options.broker === undefined ? [DEFAULT_FRONTEND] : typeof options.broker === 'string' ? [options.broker] : [...options.broker];
    this.timeout = options.timeout ?? 2500;
    this.retries = options.retries ?? 2;
    this.persistent = options.persistent ?? true;
    this.replyLimits = { maxBytes: options.maxMessageSize ?? 16 * 1024 * 1024, maxDepth: 64, ...options.replyLimits };
    this.log = (options.logger ?? silentLogger).child({ actor: 'client' });
    this.keys = options.curve ? resolveCurveClient(options.curve) : undefined;
    this.socket = this.open();
    this.writer = this.writerFor(this.socket);
  }

  /** Sends `body` to `service` and resolves with the reply frames. */
  call(service: string, body: ReplyBody = [], options: CallOptions = {}): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new ClosedError());
    return new Promise<Buffer[]>((resolve, rejectCall) => {
      const call: Call = {
        service,
        body: toFrames(body),
        timeout: options.timeout ?? this.timeout,
        attemptsLeft: options.retries ?? this.retries,
        attempts: 0,
        id: 0,
        deadline: 0,
        resolve,
        reject: rejectCall,
      };
      this.attempt(call);
    });
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
    const decoded = decodeRpcReply(reply, this.replyLimits);
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
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const call of this.calls.values()) call.reject(new ClosedError());
    this.calls.clear();
    this.writer.stop();
    this.socket.close();
  }

  private open(): zmq.Dealer {
    const socket = new zmq.Dealer({
      linger: 0,
      maxMessageSize: this.options.maxMessageSize ?? 16 * 1024 * 1024,
      ...(this.keys ? curveClientSocketOptions(this.keys) : {}),
    });
    if (this.keys) watchClientHandshakes(socket, this.log, this.keys);
    for (const ep of this.endpoints) socket.connect(ep);
    void readUntilClosed(socket, (frames) => this.onReply(frames));
    return socket;
  }

  private writerFor(socket: zmq.Dealer): SocketWriter {
    return new SocketWriter(socket, (reason, detail) => this.log.warn({ reason, detail }, 'send failed'));
  }

  private attempt(call: Call): void {
    // uint32 ids as in the header; 0 is never used, and wrapping past 4 billion skips live ones.
    do this.seq = (this.seq + 1) >>> 0 || 1;
    while (this.calls.has(this.seq));
    call.id = this.seq;
    call.attempts += 1;
    const now = Date.now();
    call.deadline = now + call.timeout;
    this.calls.set(call.id, call);
    // Calls made in the same tick share ZeroMQ messages (zeromq.js pays per message).
    if (this.outbox.length === 0) queueMicrotask(this.flushOutbox);
    this.outbox.push(clientRequestUnit(call.id, call.deadline, call.service, call.body));
    if (!this.sweeper) this.sweeper = setInterval(() => this.sweep(), Math.max(5, Math.min(50, this.timeout / 10)));
  }

  /** One timer for all calls: per-request timers cost more than the requests at high rates. */
  private sweep(): void {
    const now = Date.now();
    let reconnect = false;
    const retry: Call[] = [];
    for (const [id, call] of this.calls) {
      if (call.deadline > now) continue;
      this.calls.delete(id);
      if (call.attemptsLeft > 0) {
        call.attemptsLeft -= 1;
        retry.push(call);
        if (!this.persistent) reconnect = true;
      } else {
        call.reject(new TimeoutError(call.service, call.attempts, call.timeout));
      }
    }
    if (reconnect) this.reconnect();
    for (const call of retry) this.attempt(call);
    if (this.calls.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** A fresh socket; calls in flight on the old one are sent again with new ids. */
  private reconnect(): void {
    this.log.debug('reconnecting');
    this.writer.stop();
    this.socket.close();
    this.socket = this.open();
    this.writer = this.writerFor(this.socket);
    const inFlight = [...this.calls.values()];
    this.calls.clear();
    for (const call of inFlight) this.attempt(call);
  }

  private onReply(frames: Buffer[]): void {
    // [units...] in steward's compact wire: one message may answer many calls.
    if (frames.length === 0 || !isStewardHeader(frames[0] as Buffer)) return;
    decodeUnits(frames, 0, (m) => {
      if (!('type' in m) && m.kind === Kind.ClientReply) this.settle(m.requestId, m.status, m.body);
    });
  }

  private settle(requestId: number, status: number, body: Buffer[]): void {
    const call = this.calls.get(requestId);
    if (!call) return; // a late reply to an abandoned attempt
    this.calls.delete(requestId);
    if (status === Status.Ok) {
      call.resolve(body);
      return;
    }
    if (status === Status.Expired) {
      // The attempt's deadline passed in the broker's queue before any worker took it:
      // that is this attempt timing out, whichever of the broker's tick and our sweep saw it first.
      if (call.attemptsLeft > 0) {
        call.attemptsLeft -= 1;
        if (!this.persistent) this.reconnect();
        this.attempt(call);
      } else call.reject(new TimeoutError(call.service, call.attempts, call.timeout));
      return;
    }
    if (RETRYABLE.has(status) && call.attemptsLeft > 0) {
      call.attemptsLeft -= 1;
      this.attempt(call);
      return;
    }
    call.reject(new BrokerError(call.service, status, body.map((b) => b.toString()).join(' ')));
  }
}
