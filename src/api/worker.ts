import type { Actor } from 'xstate';
import { RoleHandle } from './role-handle.js';
import type { RuntimeOptions } from './runtime-options.js';
import type { ZmqCommand } from '../actors/zmq-socket.js';
import { silentLogger, type Logger } from '../log.js';
import type { Handler, PartialReplies, ReplyBody, WorkerRequest } from '../machines/worker/worker-call.js';
import { StreamedAnswer } from './streamed-answer.js';
import type { Metrics } from '../metrics/metrics.js';
import type { JsonValue } from '../protocol/json.js';
import { DEFAULT_SINK_LIMITS, encodeSinkEvent } from '../protocol/sink.js';
import { workerSinkId, workerTree, type WorkerTreeConfig } from '../supervisor/trees/worker.js';
import { DEFAULT_BACKEND } from './broker.js';
import { DEFAULT_RPC_LIMITS, RpcMethods, type RpcFunction, type RpcLimits } from './rpc-methods.js';

export type { Handler, HandlerResult, PartialReplies, ReplyBody, WorkerRequest } from '../machines/worker/worker-call.js';

export interface WorkerOptions extends Omit<WorkerTreeConfig, 'logger' | 'brokers' | 'handler' | 'onRegistered'>, RuntimeOptions {
  /** Broker backend endpoint(s); the worker registers with each. Default tcp://127.0.0.1:5556. */
  readonly broker?: string | readonly string[];
  /** Answers each request. Without one (and without `rpc`), use `requests()` to take them one by one. */
  readonly handler?: Handler;
  /**
   * Serve butler RPC: the methods of this object (or this method table) become
   * callable; more can be added with `registerFunction` / `register`.
   */
  readonly rpc?: object | RpcMethods;
  /** Bounds on RPC request bodies and results. */
  readonly rpcLimits?: Partial<RpcLimits>;
  /** How many requests this worker runs at once (the credit it announces; MDP peers take 1). */
  readonly concurrency?: number;
  /** Largest event `emit` sends, in bytes of JSON. */
  readonly maxEventBytes?: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/** A request taken from `worker.requests()`; answer it exactly once, after any partial replies. */
export interface IncomingRequest extends WorkerRequest {
  /**
   * Sends a partial reply, when the caller takes them (`request.stream`); otherwise the part is dropped,
   * as a handler's yields are. Resolves once the part is on its way: awaiting it paces the loop by the
   * stream's window. Throws after `reply` or `fail`.
   */
  partial(body: ReplyBody): Promise<void>;
  reply(body: ReplyBody): void;
  fail(error: unknown): void;
}

/**
 * A worker serving one service through one or more brokers: registers, heartbeats both
 * ways, registers again when a broker goes silent or says DISCONNECT, and on `stop()`
 * finishes what it holds before it leaves.
 *
 * It answers in one of three ways: a `handler`; butler RPC (`rpc`, or functions
 * registered before `run()`); or by hand, taking requests from `requests()`.
 */
export class Worker {
  readonly service: string;
  /** Not awaited for listening: a worker connects, and `registered()` says when brokers took it. */
  private readonly role: RoleHandle<ReturnType<typeof workerTree>, never>;
  private readonly inbox: IncomingRequest[] = [];
  private readonly takers: Array<(r: IteratorResult<IncomingRequest>) => void> = [];
  private closed = false;
  private methods: RpcMethods | undefined;
  private rpcHandler: Handler | undefined;
  private readonly rpcLimits: RpcLimits;
  private readonly hasHandler: boolean;
  private readonly sinkId: string | undefined;
  private readonly maxEventBytes: number;
  private readonly registeredWith = new Set<number>();
  private registeredWaiters: Array<() => void> = [];

  private constructor(options: WorkerOptions) {
    const brokers = options.broker === undefined ? [DEFAULT_BACKEND] : typeof options.broker === 'string' ? [options.broker] : [...options.broker];
    this.service = options.service;
    this.hasHandler = options.handler !== undefined;
    this.rpcLimits = { ...DEFAULT_RPC_LIMITS, ...options.rpcLimits };
    if (options.rpc !== undefined) {
      if (this.hasHandler) throw new TypeError('give a worker either a handler or rpc, not both');
      this.useMethods(options.rpc instanceof RpcMethods ? options.rpc : new RpcMethods().register(options.rpc));
    }
    // Decided per request, so functions registered after construction are served.
    const handler: Handler = options.handler ?? ((request) => (this.rpcHandler ? this.rpcHandler(request) : this.enqueue(request)));
    this.sinkId = options.sink ? workerSinkId(options.name) : undefined;
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_SINK_LIMITS.maxBytes;
    this.role = new RoleHandle(
      workerTree({
        ...options,
        brokers,
        handler,
        credit: options.concurrency ?? options.credit ?? 1,
        onRegistered: (index) => {
          this.registeredWith.add(index);
          for (const w of this.registeredWaiters.splice(0)) w();
        },
        logger: options.logger ?? silentLogger,
      }),
      {
        id: options.name ?? 'worker',
        ...(options.inspect ? { inspect: options.inspect } : {}),
        notListening: () => new Error(`worker of "${options.service}" stopped`),
      },
    );
  }

  /** A worker that has not registered yet: register functions, then `run()` (butler's `Service`). */
  static prepare(options: WorkerOptions): Worker {
    return new Worker(options);
  }

  static start(options: WorkerOptions): Worker {
    return new Worker(options).run();
  }

  /** Registers with the brokers and starts answering. */
  run(): this {
    this.role.start();
    return this;
  }

  /** The root of the worker's supervision tree. */
  get actor(): Actor<ReturnType<typeof workerTree>> {
    return this.role.actor;
  }

  /**
   * Resolves once `count` of its brokers (default 1) have taken this worker's
   * registration: from then on a call to the service through that broker
   * reaches it instead of hearing "no worker". Rejects after `ms` (default 10 s), or at once
   * with the `EndpointError` of a broker endpoint that cannot work, or when the worker stopped.
   */
  registered(count = 1, ms = 10_000): Promise<void> {
    if (this.registeredWith.size >= count) return Promise.resolve();
    return new Promise((resolve, rejectWait) => {
      const timer = setTimeout(() => rejectWait(new Error(`${this.service}: not registered with ${count} broker(s) within ${ms} ms`)), ms);
      // A tree that failed its start (a broker endpoint that cannot work) or stopped will never
      // register: say why at once instead of after `ms`.
      this.role.listening().catch((error: unknown) => {
        clearTimeout(timer);
        rejectWait(error);
      });
      const check = () => {
        if (this.registeredWith.size >= count) {
          clearTimeout(timer);
          resolve();
        } else this.registeredWaiters.push(check);
      };
      this.registeredWaiters.push(check);
    });
  }

  /** Makes `fn` callable over RPC as `name` (default: its own name). Call before `run()`. */
  registerFunction(fn: RpcFunction, name?: string): this {
    this.rpcMethods().registerFunction(fn, name);
    return this;
  }

  /** Makes the methods of `object` callable over RPC (`timeout` and `close` are reserved). Call before `run()`. */
  register(object: object): this {
    this.rpcMethods().register(object);
    return this;
  }

  /**
   * Pushes an event to the sink given in the options (any JSON value). Returns
   * false once the worker stopped. Throws when there is no sink, or the event
   * has no JSON form or is larger than `maxEventBytes`.
   */
  emit(event: JsonValue): boolean {
    if (this.sinkId === undefined) throw new Error('this worker has no sink: start it with { sink: "tcp://127.0.0.1:5558" }');
    const frames = encodeSinkEvent(this.service, event, this.maxEventBytes);
    const socket = this.role.actor.system.get(this.sinkId);
    if (!socket || this.role.actor.getSnapshot().status !== 'active') return false;
    const send: ZmqCommand<Buffer[]> = { type: 'zmq.send', messages: [frames] };
    socket.send(send);
    return true;
  }

  /** Requests one at a time, for a manual loop (butler's `worker.recv`). Ends when the worker stops. */
  requests(): AsyncIterableIterator<IncomingRequest> {
    const iterator: AsyncIterableIterator<IncomingRequest> = {
      next: () => {
        const ready = this.inbox.shift();
        if (ready) return Promise.resolve({ value: ready, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.takers.push(resolve));
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  async stop(): Promise<void> {
    await this.role.stop();
    this.closed = true;
    for (const t of this.takers.splice(0)) t({ value: undefined, done: true });
  }

  private rpcMethods(): RpcMethods {
    if (this.hasHandler) throw new TypeError('this worker answers with its handler; start it without one to serve RPC');
    return this.methods ?? this.useMethods(new RpcMethods());
  }

  private useMethods(methods: RpcMethods): RpcMethods {
    this.methods = methods;
    this.rpcHandler = methods.handler(this.rpcLimits);
    return methods;
  }

  private enqueue(request: WorkerRequest): Promise<ReplyBody> | PartialReplies {
    const answer = request.stream ? new StreamedAnswer(request.signal) : undefined;
    let answered = false;
    const settle = (): void => {
      if (answered) throw new Error('request already answered');
      answered = true;
    };
    let unary: { resolve(body: ReplyBody): void; reject(error: unknown): void } | undefined;
    const result: Promise<ReplyBody> | PartialReplies =
      answer?.parts() ??
      new Promise<ReplyBody>((resolve, reject) => {
        unary = { resolve, reject };
      });
    const incoming: IncomingRequest = {
      service: request.service,
      body: request.body,
      stream: request.stream,
      get signal() {
        return request.signal;
      },
      text: () => request.text(),
      json: <T>() => request.json<T>(),
      partial: (body) => {
        if (answered) throw new Error('request already answered');
        return answer ? answer.push(body) : Promise.resolve();
      },
      reply: (body) => {
        settle();
        if (answer) answer.end({ body });
        else unary?.resolve(body);
      },
      fail: (error) => {
        settle();
        if (answer) answer.end({ error });
        else unary?.reject(error);
      },
    };
    const taker = this.takers.shift();
    if (taker) taker({ value: incoming, done: false });
    else this.inbox.push(incoming);
    return result;
  }
}
