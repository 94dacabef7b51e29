import { Observable, Subject } from 'rxjs';
import type { Actor } from 'xstate';
import { RoleHandle } from './role-handle.js';
import type { RuntimeOptions } from './runtime-options.js';
import { silentLogger, type Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { JsonLimits, JsonValue } from '../protocol/json.js';
import { DEFAULT_SINK_ENDPOINT, type SinkEvent } from '../protocol/sink.js';
import type { CurveServerOptions } from '../security/curve.js';
import { sinkTree } from '../supervisor/trees/sink.js';
import { Deque } from '../util/deque.js';

export interface SinkOptions extends RuntimeOptions {
  /** Where workers push; `tcp://127.0.0.1:*` picks a free port (read it back with `endpoint()`). */
  readonly bind?: string;
  readonly name?: string;
  /** Largest event (bytes of JSON) and deepest nesting accepted; the rest are counted drops. */
  readonly limits?: Partial<JsonLimits>;
  /** Events an iterator holds for a slow reader before it drops the oldest. */
  readonly bufferSize?: number;
  /** CURVE on the PULL socket: workers need the sink's public key and a key on `allow`. */
  readonly curve?: CurveServerOptions;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/** One event as the sink received it. */
export interface SinkMessage {
  /** Arrival order in this sink, from 1. */
  readonly seq: number;
  /** The pushing worker's service name, when it sent one. */
  readonly source: string | undefined;
  readonly data: JsonValue;
  readonly receivedAt: number;
}

interface Reader {
  readonly buffer: Deque<SinkMessage>;
  wake: ((result: IteratorResult<SinkMessage>) => void) | undefined;
}

/**
 * butler's task result sink: a PULL socket under a supervisor collecting the
 * events workers `emit`. Each event is logged, and offered to library users
 * as an async iterator (`events()`) and an RxJS observable (`events$`).
 */
export class Sink {
  readonly events$: Observable<SinkMessage>;
  private readonly role: RoleHandle<ReturnType<typeof sinkTree>, string>;
  private readonly subject = new Subject<SinkMessage>();
  private readonly readers = new Set<Reader>();
  private readonly bufferSize: number;
  private seq = 0;
  /** Events an iterator had to drop because its reader fell behind. */
  overflowed = 0;
  private closed = false;

  private constructor(options: SinkOptions) {
    this.bufferSize = options.bufferSize ?? 10_000;
    this.events$ = this.subject.asObservable();
    const bind = options.bind ?? DEFAULT_SINK_ENDPOINT;
    this.role = new RoleHandle(
      sinkTree({
        bind,
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.curve ? { curve: options.curve } : {}),
        deliver: (events, receivedAt) => this.deliver(events, receivedAt),
        onListening: (endpoints) => this.role.listen(endpoints[0] ?? ''),
        logger: options.logger ?? silentLogger,
        ...(options.metrics ? { metrics: options.metrics } : {}),
      }),
      {
        id: options.name ?? 'sink',
        ...(options.inspect ? { inspect: options.inspect } : {}),
        notListening: () => new Error(`sink stopped before it listened on ${bind}`),
      },
    );
  }

  static async start(options: SinkOptions = {}): Promise<Sink> {
    const sink = new Sink(options);
    sink.role.start();
    await sink.role.listening();
    return sink;
  }

  /** The root of the sink's supervision tree. */
  get actor(): Actor<ReturnType<typeof sinkTree>> {
    return this.role.actor;
  }

  /** The bound endpoint, for workers' `sink` option. */
  endpoint(): Promise<string> {
    return this.role.listening();
  }

  /** Events received so far. */
  get received(): number {
    return this.seq;
  }

  /** Events from now on, in arrival order; ends when the sink stops. */
  events(): AsyncIterableIterator<SinkMessage> {
    const reader: Reader = { buffer: new Deque<SinkMessage>(), wake: undefined };
    if (!this.closed) this.readers.add(reader);
    const iterator: AsyncIterableIterator<SinkMessage> = {
      next: () => {
        const item = reader.buffer.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.closed || !this.readers.has(reader)) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (reader.wake = resolve));
      },
      return: () => {
        this.readers.delete(reader);
        reader.wake?.({ value: undefined, done: true });
        reader.wake = undefined;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  async stop(): Promise<void> {
    await this.role.stop();
    this.closed = true;
    this.subject.complete();
    for (const reader of this.readers) {
      reader.wake?.({ value: undefined, done: true });
      reader.wake = undefined;
    }
    this.readers.clear();
  }

  private deliver(events: readonly SinkEvent[], receivedAt: number): void {
    for (const e of events) {
      this.seq += 1;
      const message: SinkMessage = { seq: this.seq, source: e.source, data: e.data, receivedAt };
      for (const reader of this.readers) {
        if (reader.wake) {
          const wake = reader.wake;
          reader.wake = undefined;
          wake({ value: message, done: false });
          continue;
        }
        if (reader.buffer.length >= this.bufferSize) {
          reader.buffer.shift();
          this.overflowed += 1;
        }
        reader.buffer.push(message);
      }
      this.subject.next(message);
    }
  }
}
