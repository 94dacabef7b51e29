import { Deque } from '../util/deque.js';

/** One reply of a stream: a partial one, or the final one (`final`), which is always the last. */
export interface StreamPart {
  readonly body: Buffer[];
  readonly final: boolean;
  /** The first frame as UTF-8 text. */
  text(): string;
  /** The first frame parsed as JSON. */
  json<T = unknown>(): T;
}

/** What a stream asks of the client that feeds it. */
export interface StreamPort {
  /** The reader took `n` more parts: the broker may send as many more (a CLIENT_WINDOW). */
  refill(n: number): void;
  /** The reader stopped before the end (`break`, `return()`): the call is cancelled. */
  cancel(): void;
}

const NO_FRAME = Buffer.alloc(0);

class Part implements StreamPart {
  constructor(
    readonly body: Buffer[],
    readonly final: boolean,
  ) {}

  text(): string {
    return (this.body[0] ?? NO_FRAME).toString('utf8');
  }

  json<T = unknown>(): T {
    return JSON.parse((this.body[0] ?? NO_FRAME).toString('utf8')) as T;
  }
}

type Taker = { resolve: (r: IteratorResult<StreamPart>) => void; reject: (e: unknown) => void };

/**
 * The replies of one `client.stream()` call as an async iterator: each
 * partial reply, then the final one (`final: true`), then done. An error
 * (a broker error, a timeout, the signal's abort) rejects the next read
 * once the parts before it are read.
 *
 * The window: the broker sends at most `window` parts the reader has not
 * taken; as the reader takes them, the window is refilled (by half a window
 * at a time, so refills cost one small unit per `window / 2` parts). A reader
 * that stops reading stops the worker's generator, not just the socket.
 */
export class ReplyStream implements AsyncIterableIterator<StreamPart> {
  private readonly parts = new Deque<Buffer[]>();
  private final: Buffer[] | undefined;
  private failure: unknown;
  private failed = false;
  private over = false;
  private taker: Taker | undefined;
  /** Parts taken by the reader since the last refill. */
  private taken = 0;
  /** Parts the broker may still send before a refill. */
  private room: number;
  /** Partial replies received (all attempts' parts count only once an attempt has sent some: it is then the one). */
  received = 0;

  constructor(
    /** Parts the broker may send ahead of the reader. */
    readonly window: number,
    private readonly port: StreamPort,
  ) {
    this.room = window;
  }

  // ---- fed by the client ----

  /** A partial reply arrived. */
  push(body: Buffer[]): void {
    if (this.ended) return;
    this.room -= 1;
    this.received += 1;
    const taker = this.taker;
    if (taker === undefined) {
      this.parts.push(body);
      return;
    }
    this.taker = undefined;
    this.took();
    taker.resolve({ value: new Part(body, false), done: false });
  }

  /** The final reply: read after the parts before it. */
  end(body: Buffer[]): void {
    if (this.ended) return;
    this.final = body;
    this.deliverEnd();
  }

  /** The stream failed: the next read after the parts before it rejects with `error`. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failed = true;
    this.failure = error;
    this.deliverEnd();
  }

  /** The broker may send nothing more until the reader reads: a silence now is the reader's, not the worker's. */
  get waitingForReader(): boolean {
    return this.room <= 0 && !this.ended;
  }

  /** A new attempt (before any part arrived): the window starts over. */
  restart(): void {
    this.room = this.window;
    this.taken = 0;
  }

  /** The final reply or an error arrived, or the reader stopped. */
  get ended(): boolean {
    return this.over || this.final !== undefined || this.failed;
  }

  // ---- the reader ----

  next(): Promise<IteratorResult<StreamPart>> {
    const body = this.parts.shift();
    if (body !== undefined) {
      this.took();
      return Promise.resolve({ value: new Part(body, false), done: false });
    }
    if (this.final !== undefined) {
      const final = this.final;
      this.final = undefined;
      this.over = true;
      return Promise.resolve({ value: new Part(final, true), done: false });
    }
    if (this.failed) {
      this.failed = false;
      this.over = true;
      return Promise.reject(this.failure);
    }
    if (this.over) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.taker = { resolve, reject }));
  }

  /** The reader stops early: the call is cancelled, what was received is dropped. */
  return(): Promise<IteratorResult<StreamPart>> {
    if (!this.ended) {
      this.over = true;
      this.port.cancel();
    }
    this.over = true;
    this.final = undefined;
    this.failed = false;
    while (this.parts.length > 0) this.parts.shift();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Every part read until the end, the final one last. */
  async collect(): Promise<StreamPart[]> {
    const all: StreamPart[] = [];
    for await (const part of this) all.push(part);
    return all;
  }

  private took(): void {
    this.taken += 1;
    if (this.taken * 2 < this.window) return;
    this.room += this.taken;
    this.port.refill(this.taken);
    this.taken = 0;
  }

  private deliverEnd(): void {
    const taker = this.taker;
    if (taker === undefined || this.parts.length > 0) return;
    this.taker = undefined;
    this.next().then(taker.resolve, taker.reject);
  }
}
