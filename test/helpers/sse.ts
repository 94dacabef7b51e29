import { get, type ClientRequest, type IncomingMessage } from 'node:http';

export interface SseMessage {
  readonly event: string;
  readonly data: string;
}

/** Reads a Server-Sent Events stream over plain HTTP and keeps every message; bounded waits only. */
export class SseReader {
  readonly messages: SseMessage[] = [];
  private readonly req: ClientRequest;
  private buffer = '';
  private waiters: Array<() => void> = [];
  status = 0;

  constructor(url: string) {
    this.req = get(url, (res: IncomingMessage) => {
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.feed(chunk));
    });
    this.req.on('error', () => undefined);
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) this.messages.push({ event, data: data.join('\n') });
    }
    for (const w of this.waiters) w();
  }

  /** Resolves when `check` (run on every message) returns a value; rejects after `ms`. */
  until<T>(check: () => T | undefined, ms = 10_000): Promise<T> {
    return new Promise((resolve, rejectWait) => {
      const run = () => {
        const found = check();
        if (found !== undefined) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        rejectWait(new Error(`stream condition not met within ${ms} ms (${this.messages.length} messages)`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== run);
      };
      this.waiters.push(run);
      run();
    });
  }

  close(): void {
    this.req.destroy();
  }
}
