import { STATUS_CODES } from 'node:http';
import * as zmq from 'zeromq';
import { silentLogger, type Logger } from '../log.js';
import { backendFrames, decodeGatewayFrames, EMPTY, type BackendKind } from '../protocol/blastbeat/message.js';
import { decodeUwsgi, uwsgiRecord } from '../protocol/blastbeat/uwsgi.js';
import { Deque } from '../util/deque.js';

/** A request as a node sees it, built from the gateway's `uwsgi` vars and `body` messages. */
export interface BackendRequest {
  readonly sid: Buffer;
  readonly method: string;
  /** PATH_INFO: percent-decoded. */
  readonly path: string;
  readonly query: string;
  /** REQUEST_URI: as the client sent it. */
  readonly uri: string;
  /** Header fields by lower-case name. */
  readonly headers: Readonly<Record<string, string>>;
  /** Every uwsgi var (REQUEST_METHOD, SERVER_NAME, HTTP_*...). */
  readonly vars: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

export interface BackendResponse {
  /** 200 when omitted. */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string | number>>;
  /** A string or bytes go out with the head as one message; an async iterable is streamed as chunks. */
  readonly body?: string | Buffer | AsyncIterable<string | Buffer>;
  /** Close the client connection after this response. */
  readonly close?: boolean;
}

/** One client WebSocket, as its node sees it. */
export interface BackendWebSocket {
  readonly sid: Buffer;
  readonly request: BackendRequest;
  /** A string goes out as a text message, bytes as a binary one. */
  send(data: string | Buffer): void;
  /** Closes the client's WebSocket (the gateway does the close handshake). */
  close(): void;
  /** Text messages arrive as strings, binary ones as Buffers. */
  onMessage: ((data: string | Buffer) => void) | undefined;
  onClose: (() => void) | undefined;
}

export interface GatewayBackendOptions {
  /** The gateway's ZeroMQ endpoint (its `zmq` setting). */
  readonly endpoint: string;
  /** The node name a virtual host lists (`node = NAME`): this socket's routing id. */
  readonly node: string;
  readonly onRequest?: (request: BackendRequest) => BackendResponse | Promise<BackendResponse>;
  readonly onWebSocket?: (socket: BackendWebSocket) => void;
  /** Request bodies larger than this get 413 without reaching `onRequest`. */
  readonly maxBodySize?: number;
  readonly logger?: Logger;
}

interface Pending {
  readonly vars: Record<string, string>;
  readonly chunks: Buffer[];
  size: number;
  readonly expected: number;
  readonly chunked: boolean;
  refused: boolean;
}

interface SessionState {
  pending: Pending | undefined;
  ws: WebSocketHandle | undefined;
}

class WebSocketHandle implements BackendWebSocket {
  onMessage: ((data: string | Buffer) => void) | undefined;
  onClose: (() => void) | undefined;
  closed = false;

  constructor(
    readonly sid: Buffer,
    readonly request: BackendRequest,
    private readonly sendFrames: (kind: BackendKind, body: Buffer) => void,
  ) {}

  send(data: string | Buffer): void {
    if (this.closed) return;
    if (typeof data === 'string') this.sendFrames('websocket', Buffer.from(data, 'utf8'));
    else this.sendFrames('websocket-binary', data);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sendFrames('end', EMPTY);
  }
}

function headersOf(vars: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const k in vars) {
    if (k.startsWith('HTTP_')) headers[k.slice(5).toLowerCase().replace(/_/g, '-')] = vars[k] as string;
  }
  return headers;
}

function toRequest(sid: Buffer, vars: Record<string, string>, body: Buffer): BackendRequest {
  let headers: Record<string, string> | undefined;
  return {
    sid,
    method: vars['REQUEST_METHOD'] ?? 'GET',
    path: vars['PATH_INFO'] ?? '/',
    query: vars['QUERY_STRING'] ?? '',
    uri: vars['REQUEST_URI'] ?? vars['PATH_INFO'] ?? '/',
    // Built on first use: most handlers never look at every header.
    get headers() {
      headers ??= headersOf(vars);
      return headers;
    },
    vars,
    body,
    remoteAddress: vars['REMOTE_ADDR'] ?? '',
    remotePort: Number(vars['REMOTE_PORT'] ?? 0),
  };
}

function head(status: number, headers: Readonly<Record<string, string | number>>, extra: string): string {
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Status'}\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  return `${text}${extra}\r\n`;
}

function isAsyncIterable(x: unknown): x is AsyncIterable<string | Buffer> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

/**
 * A backend node for the gateway, in TypeScript: a DEALER named after the
 * node that answers pings, gathers each request's body and hands the
 * request to `onRequest`, and turns WebSocket sessions into objects for
 * `onWebSocket`. A response with a string or bytes body leaves as one
 * `headers` message (head and body together); an async iterable body is
 * streamed as `chunk` messages.
 */
export class GatewayBackend {
  readonly socket: zmq.Dealer;
  private readonly sessions = new Map<string, SessionState>();
  private readonly queue = new Deque<Buffer[]>(64);
  private writing = false;
  private closed = false;
  private readonly log: Logger;
  private readonly maxBody: number;

  private constructor(private readonly options: GatewayBackendOptions) {
    this.log = (options.logger ?? silentLogger).child({ node: options.node });
    this.maxBody = options.maxBodySize ?? 16 * 1024 * 1024;
    this.socket = new zmq.Dealer({ routingId: options.node, linger: 0, receiveHighWaterMark: 100_000, sendHighWaterMark: 100_000 });
  }

  static start(options: GatewayBackendOptions): GatewayBackend {
    const backend = new GatewayBackend(options);
    backend.socket.connect(options.endpoint);
    // Announce at once: a node is available from its first pong, so it need not wait for a ping.
    backend.send(EMPTY, 'pong', EMPTY);
    void backend.read();
    return backend;
  }

  /** Sessions the backend holds now (open WebSockets, requests being answered). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  private send(sid: Buffer, kind: BackendKind, body: Buffer): void {
    if (this.closed) return;
    this.queue.push(backendFrames(sid, kind, body));
    if (!this.writing) void this.pump();
  }

  private async pump(): Promise<void> {
    this.writing = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const frames = this.queue.shift() as Buffer[];
        try {
          await this.socket.send(frames);
        } catch (error) {
          if (this.closed) return;
          this.log.warn({ err: error }, 'send failed');
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async read(): Promise<void> {
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch (error) {
        if (this.closed) return;
        this.log.error({ err: error }, 'receive failed');
        return;
      }
      const m = decodeGatewayFrames(frames);
      if (m.type === 'rejected') {
        this.log.warn({ reason: m.reason, detail: m.detail }, 'message dropped');
        continue;
      }
      try {
        this.handle(m.sid, m.kind, m.body);
      } catch (error) {
        this.log.error({ err: error }, 'handler failed');
      }
    }
  }

  private handle(sid: Buffer, kind: string, body: Buffer): void {
    if (kind === 'ping') {
      this.send(EMPTY, 'pong', EMPTY);
      return;
    }
    const key = sid.toString('latin1');
    let session = this.sessions.get(key);
    switch (kind) {
      case 'uwsgi': {
        const packet = decodeUwsgi(body);
        if (packet.type === 'rejected') {
          this.log.warn({ reason: packet.reason }, 'bad uwsgi packet');
          return;
        }
        const vars = uwsgiRecord(packet.vars);
        if (session === undefined) {
          session = { pending: undefined, ws: undefined };
          this.sessions.set(key, session);
        }
        if ((vars['HTTP_UPGRADE'] ?? '').toLowerCase() === 'websocket') {
          const ws = new WebSocketHandle(sid, toRequest(sid, vars, EMPTY), (k, b) => this.send(sid, k, b));
          session.ws = ws;
          if (this.options.onWebSocket) this.options.onWebSocket(ws);
          else ws.close();
          return;
        }
        const expected = Number(vars['CONTENT_LENGTH'] || 0);
        const chunked = (vars['HTTP_TRANSFER_ENCODING'] ?? '').toLowerCase().includes('chunked');
        session.pending = { vars, chunks: [], size: 0, expected, chunked, refused: expected > this.maxBody };
        if (session.pending.refused) this.refuse(sid, session);
        else if (!chunked && expected === 0) this.dispatch(sid, session);
        return;
      }
      case 'body': {
        const p = session?.pending;
        if (session === undefined || p === undefined || p.refused) return;
        if (body.length === 0 && p.chunked) {
          this.dispatch(sid, session);
          return;
        }
        p.chunks.push(body);
        p.size += body.length;
        if (p.size > this.maxBody) this.refuse(sid, session);
        else if (!p.chunked && p.size >= p.expected) this.dispatch(sid, session);
        return;
      }
      case 'websocket':
      case 'websocket-binary': {
        const ws = session?.ws;
        if (ws?.onMessage) ws.onMessage(kind === 'websocket' ? body.toString('utf8') : body);
        return;
      }
      case 'end': {
        this.sessions.delete(key);
        const ws = session?.ws;
        if (ws && !ws.closed) {
          ws.closed = true;
          ws.onClose?.();
        }
        return;
      }
    }
  }

  private refuse(sid: Buffer, session: SessionState): void {
    if (session.pending) session.pending.refused = true;
    void this.respond(sid, { status: 413, body: 'request body too large\n', close: true });
  }

  private dispatch(sid: Buffer, session: SessionState): void {
    const p = session.pending;
    if (p === undefined) return;
    session.pending = undefined;
    const request = toRequest(sid, p.vars, p.chunks.length === 1 ? (p.chunks[0] as Buffer) : Buffer.concat(p.chunks));
    const onRequest = this.options.onRequest;
    if (!onRequest) {
      void this.respond(sid, { status: 404, body: 'no request handler\n' });
      return;
    }
    let result: BackendResponse | Promise<BackendResponse>;
    try {
      result = onRequest(request);
    } catch (error) {
      this.log.error({ err: error }, 'onRequest threw');
      void this.respond(sid, { status: 500, body: 'internal error\n' });
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => this.respond(sid, response),
        (error: unknown) => {
          this.log.error({ err: error }, 'onRequest failed');
          return this.respond(sid, { status: 500, body: 'internal error\n' });
        },
      );
    } else void this.respond(sid, result);
  }

  private async respond(sid: Buffer, response: BackendResponse): Promise<void> {
    const status = response.status ?? 200;
    const headers = response.headers ?? {};
    const close = response.close === true ? 'Connection: close\r\n' : '';
    const body = response.body;
    if (isAsyncIterable(body)) {
      this.send(sid, 'headers', Buffer.from(head(status, headers, `Transfer-Encoding: chunked\r\n${close}`), 'latin1'));
      try {
        for await (const piece of body) {
          const data = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
          if (data.length > 0) this.send(sid, 'chunk', data);
        }
      } catch (error) {
        this.log.error({ err: error }, 'streamed body failed');
        this.send(sid, 'end', EMPTY);
        return;
      }
      this.send(sid, 'chunk', EMPTY);
    } else {
      const data = body === undefined ? EMPTY : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const text = head(status, headers, `Content-Length: ${data.length}\r\n${close}`);
      const message = Buffer.allocUnsafe(Buffer.byteLength(text, 'latin1') + data.length);
      const at = message.write(text, 0, 'latin1');
      data.copy(message, at);
      this.send(sid, 'headers', message);
    }
    if (response.close === true) this.send(sid, 'end', EMPTY);
  }
}
