import { STATUS_CODES } from 'node:http';
import * as zmq from 'zeromq';
import { usesZmtp, type SocketTransport } from '../actors/socket-transport.js';
import { ZmtpDealerSocket, zmtpCanConnect } from '../actors/zmtp-dealer-socket.js';
import { silentLogger, type Logger } from '../log.js';
import type { Rejection } from '../protocol/codec.js';
import { BATCH, isBatchOffer, planBatches, type BatchUnit } from '../protocol/blastbeat/batch.js';
import { decodeGatewayFrames, EMPTY, KIND_FRAME, type BackendKind, type GatewayMessage } from '../protocol/blastbeat/message.js';
import { visitUwsgi } from '../protocol/blastbeat/uwsgi.js';
import { curveClientSocketOptions, resolveCurveClient, watchClientHandshakes, type CurveClientOptions, type ResolvedCurveClient } from '../security/curve.js';
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
  /**
   * The gateway's ZeroMQ endpoint (its `zmq` setting), or several gateways'
   * (gateways behind a TCP load balancer): the node connects to each with a
   * socket of its own, under the same name, and answers every request
   * through the gateway it came from.
   */
  readonly endpoint: string | readonly string[];
  /** The node name a virtual host lists (`node = NAME`): this socket's routing id. */
  readonly node: string;
  readonly onRequest?: (request: BackendRequest) => BackendResponse | Promise<BackendResponse>;
  readonly onWebSocket?: (socket: BackendWebSocket) => void;
  /** Request bodies larger than this get 413 without reaching `onRequest`. */
  readonly maxBodySize?: number;
  /**
   * CURVE towards a gateway that runs with it: its public key, and this
   * node's pair (its public key must be on the gateway's allow-list).
   */
  readonly curve?: CurveClientOptions;
  /**
   * Which ZeroMQ stack speaks to the gateways. `auto` (the default): steward's own ZMTP DEALER for plain
   * tcp:// and ipc:// gateways, libzmq with CURVE and for the rest. `libzmq`: libzmq always (zeromq.js).
   */
  readonly transport?: SocketTransport;
  readonly logger?: Logger;
}

interface Pending {
  readonly vars: RequestVars;
  readonly chunks: Buffer[];
  size: number;
  readonly expected: number;
  readonly chunked: boolean;
  refused: boolean;
}

interface SessionState {
  /** The gateway the session lives on: every answer goes back through it. */
  readonly link: GatewayLink;
  pending: Pending | undefined;
  ws: WebSocketHandle | undefined;
}

/**
 * The node's socket to one gateway, with its own send queue and what that
 * gateway understands. One socket per gateway, not one DEALER connected to
 * all: a DEALER round-robins its sends, and an answer must reach the gateway
 * holding the client's connection.
 */
interface GatewayLink {
  /** Its place among the node's gateways, in session keys. */
  readonly index: number;
  readonly endpoint: string;
  readonly socket: NodeSocket;
  readonly queue: Deque<BatchUnit>;
  writing: boolean;
  /** The gateway offered steward's batch extension (ping/pong body `batch`, or it sent one). */
  readsBatches: boolean;
  readonly unwatch: (() => void) | undefined;
}

/**
 * The node's DEALER to one gateway: steward's ZMTP DEALER (a burst is one write, every message of a read
 * handed on together) or zeromq.js's (one awaited send and receive per message).
 */
interface NodeSocket {
  /** The zeromq.js socket, when that is the stack. */
  readonly libzmq: zmq.Dealer | undefined;
  send(messages: Buffer[][]): Promise<void> | void;
  close(): void;
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

/**
 * The vars of one request as they were decoded: kept as pairs, with the few
 * the helper needs picked out on the way; the record and the header map are
 * built only if a handler asks for them.
 */
class RequestVars {
  private readonly pairs: string[] = [];
  private record: Record<string, string> | undefined;
  method = 'GET';
  path = '/';
  query = '';
  uri = '';
  remoteAddress = '';
  remotePort = 0;
  contentLength = 0;
  chunked = false;
  websocket = false;

  readonly visit = (key: string, value: string): void => {
    this.pairs.push(key, value);
    switch (key) {
      case 'REQUEST_METHOD':
        this.method = value;
        break;
      case 'PATH_INFO':
        this.path = value;
        break;
      case 'QUERY_STRING':
        this.query = value;
        break;
      case 'REQUEST_URI':
        this.uri = value;
        break;
      case 'REMOTE_ADDR':
        this.remoteAddress = value;
        break;
      case 'REMOTE_PORT':
        this.remotePort = Number(value);
        break;
      case 'CONTENT_LENGTH':
        this.contentLength = Number(value || 0);
        break;
      case 'HTTP_TRANSFER_ENCODING':
        this.chunked = value.toLowerCase().includes('chunked');
        break;
      case 'HTTP_UPGRADE':
        this.websocket = value.toLowerCase() === 'websocket';
        break;
    }
  };

  /** Every var; a repeated key keeps its last value, as WSGI environs do. */
  toRecord(): Record<string, string> {
    if (this.record === undefined) {
      const record: Record<string, string> = {};
      for (let i = 0; i < this.pairs.length; i += 2) record[this.pairs[i] as string] = this.pairs[i + 1] as string;
      this.record = record;
    }
    return this.record;
  }
}

class IncomingRequest implements BackendRequest {
  private headerMap: Record<string, string> | undefined;

  constructor(
    readonly sid: Buffer,
    private readonly head: RequestVars,
    readonly body: Buffer,
  ) {}

  get method(): string {
    return this.head.method;
  }
  get path(): string {
    return this.head.path;
  }
  get query(): string {
    return this.head.query;
  }
  get uri(): string {
    return this.head.uri || this.head.path;
  }
  get remoteAddress(): string {
    return this.head.remoteAddress;
  }
  get remotePort(): number {
    return this.head.remotePort;
  }
  get vars(): Readonly<Record<string, string>> {
    return this.head.toRecord();
  }
  get headers(): Readonly<Record<string, string>> {
    if (this.headerMap === undefined) {
      const vars = this.head.toRecord();
      const headers: Record<string, string> = {};
      for (const k in vars) {
        if (k.startsWith('HTTP_')) headers[k.slice(5).toLowerCase().replace(/_/g, '-')] = vars[k] as string;
      }
      this.headerMap = headers;
    }
    return this.headerMap;
  }
}

const statusLines = new Map<number, string>();

function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Status'}\r\n`;
    if (statusLines.size < 1000) statusLines.set(status, line);
  }
  return line;
}

function head(status: number, headers: Readonly<Record<string, string | number>>, extra: string): string {
  let text = statusLine(status);
  for (const k in headers) text += `${k}: ${headers[k]}\r\n`;
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
  private readonly links: GatewayLink[];
  /** Sessions by gateway and sid: sids are random per gateway, so two gateways could, in principle, pick the same. */
  private readonly sessions = new Map<string, SessionState>();
  private closed = false;
  private readonly log: Logger;
  private readonly maxBody: number;

  private constructor(private readonly options: GatewayBackendOptions) {
    this.log = (options.logger ?? silentLogger).child({ node: options.node });
    this.maxBody = options.maxBodySize ?? 16 * 1024 * 1024;
    // Resolved once: a node without its own pair gets a fresh one, which no allow-list knows.
    const keys = options.curve ? resolveCurveClient(options.curve) : undefined;
    const endpoints = typeof options.endpoint === 'string' ? [options.endpoint] : [...options.endpoint];
    if (endpoints.length === 0) throw new TypeError('a GatewayBackend needs at least one gateway endpoint');
    const zmtp = usesZmtp(options.transport, keys, endpoints, zmtpCanConnect);
    this.links = endpoints.map((endpoint, index) => {
      const { socket, unwatch } = zmtp ? this.openZmtp(endpoint, index) : this.openLibzmq(endpoint, keys);
      return { index, endpoint, socket, queue: new Deque<BatchUnit>(64), writing: false, readsBatches: false, unwatch };
    });
  }

  private openZmtp(endpoint: string, index: number): { socket: NodeSocket; unwatch: undefined } {
    const dealer = new ZmtpDealerSocket({
      endpoint,
      routingId: Buffer.from(this.options.node),
      logger: this.log,
      onMessages: (messages) => {
        const link = this.links[index] as GatewayLink;
        for (let i = 0; i < messages.length; i++) this.receive(link, messages[i] as Buffer[]);
      },
      onDrop: (reason, detail) => {
        if (reason !== 'closed') this.log.warn({ reason, detail, gateway: endpoint }, 'message dropped');
      },
    });
    const socket: NodeSocket = {
      libzmq: undefined,
      send: (messages) => void dealer.send(messages),
      close: () => void dealer.close(),
    };
    return { socket, unwatch: undefined };
  }

  private openLibzmq(endpoint: string, keys: ResolvedCurveClient | undefined): { socket: NodeSocket; unwatch: (() => void) | undefined } {
    const dealer = new zmq.Dealer({
      routingId: this.options.node,
      linger: 0,
      receiveHighWaterMark: 100_000,
      sendHighWaterMark: 100_000,
      ...(keys ? curveClientSocketOptions(keys) : {}),
    });
    const socket: NodeSocket = {
      libzmq: dealer,
      // zeromq.js takes one message per awaited send.
      send: async (messages) => {
        for (const frames of messages) {
          try {
            await dealer.send(frames);
          } catch (error) {
            if (this.closed) return;
            this.log.warn({ err: error, gateway: endpoint }, 'send failed');
          }
        }
      },
      close: () => dealer.close(),
    };
    // A refused node sees no error from libzmq, only silence: say why in its log.
    return { socket, unwatch: keys ? watchClientHandshakes(dealer, this.log, keys) : undefined };
  }

  /** The zeromq.js socket to the first gateway; undefined where the node speaks ZMTP itself (`transport`). */
  get socket(): zmq.Dealer | undefined {
    return (this.links[0] as GatewayLink).socket.libzmq;
  }

  static start(options: GatewayBackendOptions): GatewayBackend {
    const backend = new GatewayBackend(options);
    for (const link of backend.links) {
      const socket = link.socket.libzmq;
      socket?.connect(link.endpoint);
      // Announce at once: a node is available from its first pong, so it need not wait for a ping.
      // Its body offers batches; a gateway that does not know them ignores it.
      backend.send(link, EMPTY, 'pong', BATCH);
      if (socket) void backend.read(link, socket);
    }
    return backend;
  }

  /** Sessions the backend holds now (open WebSockets, requests being answered). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links) {
      link.unwatch?.();
      link.socket.close();
    }
  }

  private send(link: GatewayLink, sid: Buffer, kind: BackendKind, body: Buffer): void {
    if (this.closed) return;
    link.queue.push([sid, KIND_FRAME[kind], body]);
    // Started after the current task's microtasks: the answers to one batch of requests
    // (handled synchronously) leave together.
    if (!link.writing) {
      link.writing = true;
      queueMicrotask(() => void this.pump(link));
    }
  }

  private async pump(link: GatewayLink): Promise<void> {
    try {
      while (!this.closed && link.queue.length > 0) {
        const units: BatchUnit[] = [];
        while (link.queue.length > 0) units.push(link.queue.shift() as BatchUnit);
        const messages: Buffer[][] = [];
        if (units.length === 1 || !link.readsBatches) for (const u of units) messages.push([u[0], u[1], u[2]]);
        else planBatches(units, (m) => messages.push('plain' in m ? [m.plain[0], m.plain[1], m.plain[2]] : [EMPTY, BATCH, m.packed]));
        await link.socket.send(messages);
      }
    } finally {
      link.writing = false;
    }
  }

  private async read(link: GatewayLink, socket: zmq.Dealer): Promise<void> {
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (error) {
        if (this.closed) return;
        this.log.error({ err: error, gateway: link.endpoint }, 'receive failed');
        return;
      }
      this.receive(link, frames);
    }
  }

  /** One message from a gateway: a message, a batch of them, or a refusal to log. */
  private receive(link: GatewayLink, frames: Buffer[]): void {
    if (this.closed) return;
    const decoded = decodeGatewayFrames(frames);
    if (!Array.isArray(decoded)) {
      const m = decoded as GatewayMessage | Rejection;
      if (m.type === 'rejected') this.log.warn({ reason: m.reason, detail: m.detail, gateway: link.endpoint }, 'message dropped');
      else this.handle(link, m);
      return;
    }
    link.readsBatches = true;
    for (const m of decoded as readonly GatewayMessage[]) this.handle(link, m);
  }

  private handle(link: GatewayLink, m: GatewayMessage): void {
    try {
      this.handleMessage(link, m.sid, m.kind, m.body);
    } catch (error) {
      this.log.error({ err: error }, 'handler failed');
    }
  }

  private handleMessage(link: GatewayLink, sid: Buffer, kind: string, body: Buffer): void {
    if (kind === 'ping' || kind === 'pong') {
      if (isBatchOffer(body)) link.readsBatches = true;
      if (kind === 'ping') this.send(link, EMPTY, 'pong', BATCH);
      return;
    }
    const key = this.links.length === 1 ? sid.toString('latin1') : `${link.index}:${sid.toString('latin1')}`;
    let session = this.sessions.get(key);
    switch (kind) {
      case 'uwsgi': {
        const vars = new RequestVars();
        const failed = visitUwsgi(body, vars.visit);
        if (failed !== undefined) {
          this.log.warn({ reason: failed.reason, detail: failed.detail }, 'bad uwsgi packet');
          return;
        }
        if (session === undefined) {
          session = { link, pending: undefined, ws: undefined };
          this.sessions.set(key, session);
        }
        if (vars.websocket) {
          const ws = new WebSocketHandle(sid, new IncomingRequest(sid, vars, EMPTY), (k, b) => this.send(link, sid, k, b));
          session.ws = ws;
          if (this.options.onWebSocket) this.options.onWebSocket(ws);
          else ws.close();
          return;
        }
        const expected = Number.isFinite(vars.contentLength) ? vars.contentLength : 0;
        const chunked = vars.chunked;
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
    this.respond(session.link, sid, { status: 413, body: 'request body too large\n', close: true });
  }

  private dispatch(sid: Buffer, session: SessionState): void {
    const p = session.pending;
    if (p === undefined) return;
    session.pending = undefined;
    const request = new IncomingRequest(sid, p.vars, p.chunks.length === 1 ? (p.chunks[0] as Buffer) : Buffer.concat(p.chunks));
    const onRequest = this.options.onRequest;
    const link = session.link;
    if (!onRequest) {
      this.respond(link, sid, { status: 404, body: 'no request handler\n' });
      return;
    }
    let result: BackendResponse | Promise<BackendResponse>;
    try {
      result = onRequest(request);
    } catch (error) {
      this.log.error({ err: error }, 'onRequest threw');
      this.respond(link, sid, { status: 500, body: 'internal error\n' });
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => this.respond(link, sid, response),
        (error: unknown) => {
          this.log.error({ err: error }, 'onRequest failed');
          this.respond(link, sid, { status: 500, body: 'internal error\n' });
        },
      );
    } else this.respond(link, sid, result);
  }

  /** Head and body as one `headers` message; an async-iterable body is streamed as chunks. */
  private respond(link: GatewayLink, sid: Buffer, response: BackendResponse): void {
    const status = response.status ?? 200;
    const headers = response.headers ?? {};
    const close = response.close === true ? 'Connection: close\r\n' : '';
    const body = response.body;
    if (isAsyncIterable(body)) {
      void this.stream(link, sid, status, headers, close, body, response.close === true);
      return;
    }
    const data = body === undefined ? EMPTY : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const text = head(status, headers, `Content-Length: ${data.length}\r\n${close}`);
    // Latin1 head: one byte per character.
    const message = Buffer.allocUnsafe(text.length + data.length);
    message.write(text, 0, 'latin1');
    data.copy(message, text.length);
    this.send(link, sid, 'headers', message);
    if (response.close === true) this.send(link, sid, 'end', EMPTY);
  }

  private async stream(
    link: GatewayLink,
    sid: Buffer,
    status: number,
    headers: Readonly<Record<string, string | number>>,
    close: string,
    body: AsyncIterable<string | Buffer>,
    end: boolean,
  ): Promise<void> {
    this.send(link, sid, 'headers', Buffer.from(head(status, headers, `Transfer-Encoding: chunked\r\n${close}`), 'latin1'));
    try {
      for await (const piece of body) {
        const data = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
        if (data.length > 0) this.send(link, sid, 'chunk', data);
      }
    } catch (error) {
      this.log.error({ err: error }, 'streamed body failed');
      this.send(link, sid, 'end', EMPTY);
      return;
    }
    this.send(link, sid, 'chunk', EMPTY);
    if (end) this.send(link, sid, 'end', EMPTY);
  }
}
