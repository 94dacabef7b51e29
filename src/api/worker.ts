import { createActor, type Actor } from 'xstate';
import { silentLogger, type Logger } from '../log.js';
import type { Handler, ReplyBody, WorkerRequest } from '../machines/worker/request.js';
import type { Metrics } from '../metrics/registry.js';
import { whenStopped } from '../runtime/run-role.js';
import { workerTree, type WorkerTreeConfig } from '../supervisor/trees/worker.js';
import { DEFAULT_BACKEND } from './broker.js';

export type { Handler, ReplyBody, WorkerRequest } from '../machines/worker/request.js';

export interface WorkerOptions extends Omit<WorkerTreeConfig, 'logger' | 'brokers' | 'handler'> {
  /** Broker backend endpoint(s); the worker registers with each. Default tcp://127.0.0.1:5556. */
  readonly broker?: string | readonly string[];
  /** Answers each request. Without one, use `requests()` to take them one by one. */
  readonly handler?: Handler;
  /** How many requests this worker runs at once (the credit it announces; MDP peers take 1). */
  readonly concurrency?: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/** A request taken from `worker.requests()`; answer it exactly once. */
export interface IncomingRequest extends WorkerRequest {
  reply(body: ReplyBody): void;
  fail(error: unknown): void;
}

/**
 * A worker serving one service through one or more brokers: registers, heartbeats both
 * ways, registers again when a broker goes silent or says DISCONNECT, and on `stop()`
 * finishes what it holds before it leaves.
 */
export class Worker {
  readonly actor: Actor<ReturnType<typeof workerTree>>;
  private readonly inbox: IncomingRequest[] = [];
  private readonly takers: Array<(r: IteratorResult<IncomingRequest>) => void> = [];
  private closed = false;

  private constructor(options: WorkerOptions) {
    const brokers = options.broker === undefined ? [DEFAULT_BACKEND] : typeof options.broker === 'string' ? [options.broker] : [...options.broker];
    const handler: Handler = options.handler ?? ((request) => this.enqueue(request));
    this.actor = createActor(
      workerTree({
        ...options,
        brokers,
        handler,
        credit: options.concurrency ?? options.credit ?? 1,
        logger: options.logger ?? silentLogger,
      }),
    );
  }

  static start(options: WorkerOptions): Worker {
    const worker = new Worker(options);
    worker.actor.start();
    return worker;
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
    if (this.actor.getSnapshot().status === 'active') {
      const stopped = whenStopped(this.actor);
      this.actor.send({ type: 'lifecycle.shutdown' });
      await stopped;
    }
    this.closed = true;
    for (const t of this.takers.splice(0)) t({ value: undefined, done: true });
  }

  private enqueue(request: WorkerRequest): Promise<ReplyBody> {
    return new Promise<ReplyBody>((resolve, rejectReply) => {
      let answered = false;
      const incoming: IncomingRequest = {
        ...request,
        reply: (body) => {
          if (answered) throw new Error('request already answered');
          answered = true;
          resolve(body);
        },
        fail: (error) => {
          if (answered) throw new Error('request already answered');
          answered = true;
          rejectReply(error);
        },
      };
      const taker = this.takers.shift();
      if (taker) taker({ value: incoming, done: false });
      else this.inbox.push(incoming);
    });
  }
}
