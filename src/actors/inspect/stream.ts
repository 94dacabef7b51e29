import type { ServerResponse } from 'node:http';
import type { InspectionSource } from './source.js';
import type { InspectionDelta } from './types.js';

interface Client {
  readonly res: ServerResponse;
  /** The socket buffer is full: deltas are skipped and a fresh `hello` is sent once it drains. */
  lagging: boolean;
}

/** Past this much unsent data a viewer is too slow; it gets a full state when it catches up, not a backlog. */
const MAX_BUFFERED = 1024 * 1024;
const PING_MS = 15_000;

/**
 * The live stream as Server-Sent Events: `hello` (the whole state) on
 * connect, then one `delta` per flush. The source is subscribed only while
 * somebody watches, and each delta is serialized once for all viewers.
 */
export class InspectionStream {
  private readonly clients = new Set<Client>();
  private unsubscribe: (() => void) | undefined;
  private ping: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: InspectionSource,
    private readonly maxClients = 16,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** Takes over the response; false (and a 503) when too many viewers are connected. */
  open(res: ServerResponse): boolean {
    if (this.clients.size >= this.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      res.end('too many inspector viewers\n');
      return false;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const client: Client = { res, lagging: false };
    this.clients.add(client);
    res.on('close', () => this.drop(client));
    if (this.unsubscribe === undefined) this.unsubscribe = this.source.subscribe((delta) => this.broadcast(delta));
    this.ping ??= setInterval(() => this.broadcastRaw(': ping\n\n'), PING_MS).unref();
    this.hello(client);
    return true;
  }

  close(): void {
    for (const client of this.clients) client.res.end();
    this.clients.clear();
    this.idle();
  }

  private hello(client: Client): void {
    this.write(client, `retry: 1000\nevent: hello\ndata: ${JSON.stringify(this.source.state())}\n\n`);
  }

  private broadcast(delta: InspectionDelta): void {
    this.broadcastRaw(`event: delta\ndata: ${JSON.stringify(delta)}\n\n`);
  }

  private broadcastRaw(chunk: string): void {
    for (const client of this.clients) if (!client.lagging) this.write(client, chunk);
  }

  private write(client: Client, chunk: string): void {
    client.res.write(chunk);
    if (client.res.writableLength > MAX_BUFFERED) {
      client.lagging = true;
      client.res.once('drain', () => {
        client.lagging = false;
        if (this.clients.has(client)) this.hello(client);
      });
    }
  }

  private drop(client: Client): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.idle();
  }

  private idle(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.ping) clearInterval(this.ping);
    this.ping = undefined;
  }
}
