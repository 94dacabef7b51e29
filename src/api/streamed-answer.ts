import type { ReplyBody } from '../machines/worker/worker-call.js';

type Ending = { readonly body: ReplyBody } | { readonly error: unknown };

const NOTHING: ReplyBody = [];

/**
 * The answer a manual loop (`worker.requests()`) gives one streamed request, as the async iterable a
 * streaming handler returns: the worker pulls a part when the stream's window allows, and each `push`
 * resolves once its part was pulled, so a loop that awaits it goes at the reader's pace. Once the call is
 * cancelled (its signal aborts) the iterable ends and what is pushed after is dropped, as a handler's
 * yields are.
 */
export class StreamedAnswer {
  private readonly queue: Array<{ readonly body: ReplyBody; readonly taken: () => void }> = [];
  private ending: Ending | undefined;
  private aborted = false;
  private wake: (() => void) | undefined;

  constructor(signal: AbortSignal) {
    signal.addEventListener(
      'abort',
      () => {
        this.aborted = true;
        this.wakeUp();
      },
      { once: true },
    );
  }

  push(body: ReplyBody): Promise<void> {
    if (this.aborted) return Promise.resolve();
    return new Promise((taken) => {
      this.queue.push({ body, taken });
      this.wakeUp();
    });
  }

  end(ending: Ending): void {
    this.ending = ending;
    this.wakeUp();
  }

  async *parts(): AsyncGenerator<ReplyBody, ReplyBody, undefined> {
    try {
      for (;;) {
        if (this.aborted) return NOTHING;
        const next = this.queue.shift();
        if (next !== undefined) {
          next.taken();
          yield next.body;
          continue;
        }
        const ending = this.ending;
        if (ending !== undefined) {
          if ('error' in ending) throw ending.error;
          return ending.body;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // Returned early (a cancel): a loop awaiting its pushes goes on, and finds its signal aborted.
      for (const part of this.queue.splice(0)) part.taken();
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
