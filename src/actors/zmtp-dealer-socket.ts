/**
 * A ZeroMQ DEALER speaking ZMTP 3.1 itself over node's `net`, to one
 * endpoint (`tcp://HOST:PORT`, `ipc://PATH`), NULL mechanism: what steward's
 * Client (api/client-link.ts) and worker (actors/zmtp-dealer.ts) use to reach
 * a broker without libzmq's I/O thread in between (docs/architecture.md,
 * "The socket adapter"). What callers relied on from libzmq, kept:
 *
 * - Connects at once and reconnects whenever the connection closes or cannot
 *   be made, after `reconnectIntervalMs` plus a random jitter below it,
 *   doubling up to `reconnectMaxIntervalMs` when that is larger (libzmq's
 *   reconnect_ivl and reconnect_ivl_max); a host name is looked up at each
 *   connect, as libzmq does.
 * - `immediate`: nothing is bound to a connection before its handshake
 *   completes. A send while no connection is up (connecting, or waiting to
 *   reconnect) waits in this socket's queue and leaves in one write when the
 *   next handshake completes; what a connection had taken but not yet sent
 *   when it closes is lost with it (libzmq tears down an immediate socket's
 *   pipe with its connection); callers recover through their protocol.
 * - The queue and the connection's unsent bytes are bounded together by
 *   `maxQueuedBytes`: a message that would pass it is a counted drop
 *   (`send_queue_full`), never a wait.
 * - ZMTP heartbeats: a PING every `heartbeatIntervalMs`; a connection that
 *   brings nothing for `heartbeatTimeoutMs` is closed (then reconnected), so
 *   a peer behind a partition is noticed. A peer's PING is answered.
 * - A frame over `maxMessageSize` closes the connection (libzmq's
 *   ZMQ_MAXMSGSIZE); a message over `maxFrames` frames is dropped whole.
 * - One write per `send` (callers hand a burst); every message of one read
 *   is handed on together; `pause` stops reading (TCP then holds the peer
 *   back); `close(lingerMs)` lets what is queued leave for at most that long.
 * - `onUp` once a handshake completes, `onDown` when an established
 *   connection closes: a peer process that dies is noticed at once.
 */
import * as net from 'node:net';
import { silentLogger, type Logger } from '../log.js';
import type { Rejection } from '../protocol/codec.js';
import { encodePing } from '../protocol/zmtp/commands.js';
import { ZmtpConnection } from '../protocol/zmtp/connection.js';
import { DEFAULT_FRAME_LIMITS, encodedSize, type FrameLimits } from '../protocol/zmtp/frames.js';
import { writeMessages } from './zmtp-write.js';

export interface ConnectTarget {
  readonly kind: 'tcp' | 'ipc';
  readonly host: string;
  readonly port: number;
  /** The ipc path; an abstract socket (`ipc://@name`) starts with a zero byte. */
  readonly path: string;
}

/**
 * `tcp://HOST:PORT` (a name, an IPv4 address or a bracketed IPv6 one) or `ipc://PATH` (`ipc://@name`:
 * abstract). Anything else (a source address `tcp://src;host:port`, `inproc://`, `pgm://` ...) is libzmq's.
 */
export function parseConnectEndpoint(endpoint: string): ConnectTarget | undefined {
  if (endpoint.startsWith('ipc://')) {
    const path = endpoint.slice('ipc://'.length);
    if (path.length === 0 || path === '*' || path === '@') return undefined;
    return { kind: 'ipc', host: '', port: 0, path: path.startsWith('@') ? `\0${path.slice(1)}` : path };
  }
  const m = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[^:/;[\]*\s]+):(\d{1,5})$/.exec(endpoint);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65_535) return undefined;
  const raw = m[1] as string;
  return { kind: 'tcp', host: raw.startsWith('[') ? raw.slice(1, -1) : raw, port, path: '' };
}

/** Whether steward's DEALER can connect to `endpoint` (tcp or ipc); the rest stays with libzmq. */
export function zmtpCanConnect(endpoint: string): boolean {
  return parseConnectEndpoint(endpoint) !== undefined;
}

export interface ZmtpDealerOptions {
  readonly endpoint: string;
  /** Sent as READY's Identity: the peer ROUTER's routing id for this socket (else it makes one up). */
  readonly routingId?: Buffer;
  /** Largest frame accepted; a bigger one closes the connection. Default 64 MiB. */
  readonly maxMessageSize?: number;
  /** Frames of one message accepted; a longer message is dropped whole. Default 64. */
  readonly maxFrames?: number;
  /** Bytes queued for a connection plus bytes a connection has not sent yet; past it, sends are dropped. Default 256 MiB. */
  readonly maxQueuedBytes?: number;
  /** Before a reconnect, in ms (libzmq's reconnect_ivl); -1: never reconnect. Default 100. */
  readonly reconnectIntervalMs?: number;
  /** Doubling the interval up to this after each failed attempt, when larger (reconnect_ivl_max). Default 0: no backoff. */
  readonly reconnectMaxIntervalMs?: number;
  /** A PING every so many ms once connected; 0 (default): no heartbeats. */
  readonly heartbeatIntervalMs?: number;
  /** Silence after which a connection is closed; default the interval (libzmq's default). */
  readonly heartbeatTimeoutMs?: number;
  /** Sent in each PING: the peer may close the connection after this much silence from us. Default 0: none. */
  readonly heartbeatTtlMs?: number;
  /** How long a connection may take from TCP connect to READY (libzmq's handshake_ivl). Default 30 s. */
  readonly handshakeTimeoutMs?: number;
  /** Every message of one read, in order. */
  readonly onMessages: (messages: Buffer[][]) => void;
  /** A handshake completed: the peer takes messages now. */
  readonly onUp?: () => void;
  /** An established connection closed (the peer died or closed it, or fell silent): what it held is lost. */
  readonly onDown?: (reason: string) => void;
  /** A message refused (sending) or dropped (receiving), and why: for the caller's counters and logs. */
  readonly onDrop?: (reason: string, detail?: string) => void;
  readonly logger?: Logger;
}

type State = 'connecting' | 'handshaking' | 'up' | 'waiting' | 'closed';

const DEFAULT_MAX_QUEUED_BYTES = 256 * 1024 * 1024;

export class ZmtpDealerSocket {
  private readonly target: ConnectTarget;
  private readonly limits: FrameLimits;
  private readonly maxQueuedBytes: number;
  private readonly reconnectIvl: number;
  private readonly reconnectMax: number;
  private readonly heartbeatMs: number;
  private readonly silenceMs: number;
  private readonly handshakeMs: number;
  private readonly ping: Buffer;
  private readonly log: Logger;
  private state: State = 'waiting';
  private socket: net.Socket | undefined;
  private conn: ZmtpConnection | undefined;
  /** Messages given while no connection was up, for the next one, and their encoded size. */
  private queue: Buffer[][] = [];
  private queuedBytes = 0;
  /** Messages of the read being handled. */
  private burst: Buffer[][] = [];
  /** The next reconnect's base interval (grows with backoff, back to the first after a handshake). */
  private ivl: number;
  /** The reconnect or handshake deadline. */
  private timer: NodeJS.Timeout | undefined;
  private beat: NodeJS.Timeout | undefined;
  /** Whether anything arrived since the last heartbeat tick, and the tick that last saw something. */
  private heard = false;
  /** Something was written to the connection since the last heartbeat tick. */
  private wrote = false;
  private lastHeard = 0;
  /** Why the current connection is going, for the log and `onDown`. */
  private reason = '';
  private paused = false;
  private closed = false;
  private linger: NodeJS.Timeout | undefined;
  private finished: Promise<void> | undefined;
  private finish: () => void = () => undefined;

  constructor(private readonly options: ZmtpDealerOptions) {
    const target = parseConnectEndpoint(options.endpoint);
    if (target === undefined) throw new TypeError(`steward's ZMTP DEALER connects to tcp://HOST:PORT or ipc://PATH, not ${options.endpoint}`);
    this.target = target;
    this.limits = { maxFrameSize: options.maxMessageSize ?? DEFAULT_FRAME_LIMITS.maxFrameSize, maxFrames: options.maxFrames ?? DEFAULT_FRAME_LIMITS.maxFrames };
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.reconnectIvl = options.reconnectIntervalMs ?? 100;
    this.reconnectMax = options.reconnectMaxIntervalMs ?? 0;
    this.ivl = this.reconnectIvl;
    this.heartbeatMs = options.heartbeatIntervalMs ?? 0;
    this.silenceMs = options.heartbeatTimeoutMs ?? this.heartbeatMs;
    this.handshakeMs = options.handshakeTimeoutMs ?? 30_000;
    this.ping = encodePing(options.heartbeatTtlMs ?? 0);
    this.log = (options.logger ?? silentLogger).child({ dealer: options.endpoint });
    this.connect();
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  /** Whether a connection is up (its handshake done). */
  get connected(): boolean {
    return this.state === 'up';
  }

  /** Messages waiting for a connection to come up. */
  get backlog(): number {
    return this.queue.length;
  }

  /**
   * Sends a burst in one write when a connection is up, else queues it for the next one; returns how
   * many messages were taken (the rest were dropped and reported: `send_queue_full`, or `closed`).
   */
  send(messages: readonly Buffer[][]): number {
    if (this.closed) {
      for (let i = 0; i < messages.length; i++) this.drop('closed');
      return 0;
    }
    // A connection that is going (ended or destroyed, its 'close' not yet come) takes nothing more: the next one will.
    const socket = this.state === 'up' && this.socket !== undefined && this.socket.writable ? this.socket : undefined;
    const room = this.maxQueuedBytes - (socket !== undefined ? socket.writableLength : this.queuedBytes);
    let total = 0;
    for (let i = 0; i < messages.length; i++) total += encodedSize(messages[i] as Buffer[]);
    let taken = messages;
    if (total > room) {
      // Rare: keep what fits, in order, and report the rest.
      const kept: Buffer[][] = [];
      total = 0;
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i] as Buffer[];
        const size = encodedSize(m);
        if (total + size > room) this.drop('send_queue_full', `${size} bytes with ${this.maxQueuedBytes - room} waiting (max ${this.maxQueuedBytes})`);
        else {
          kept.push(m);
          total += size;
        }
      }
      taken = kept;
    }
    if (taken.length === 0) return 0;
    if (socket !== undefined) {
      writeMessages(socket, taken, 0, total);
      this.wrote = true;
    } else {
      for (let i = 0; i < taken.length; i++) this.queue.push(taken[i] as Buffer[]);
      this.queuedBytes += total;
    }
    return taken.length;
  }

  /** Stops reading: the peer's messages wait in the kernel's buffers, then TCP holds the peer back. */
  pause(): void {
    this.paused = true;
    this.socket?.pause();
  }

  resume(): void {
    this.paused = false;
    this.socket?.resume();
  }

  /**
   * Closes for good. With `lingerMs`, what is queued or unsent may leave for that long first (over the
   * connection that is up, or the next one to come up); what is still waiting then is dropped (`closed`).
   */
  close(lingerMs = 0): Promise<void> {
    if (this.finished !== undefined) return this.finished;
    this.closed = true;
    this.finished = new Promise<void>((resolve) => (this.finish = resolve));
    clearInterval(this.beat);
    this.beat = undefined;
    const socket = this.socket;
    // A connection that is up ends gracefully even with nothing unsent here: bytes the kernel holds still
    // have to leave, and closing with unread input would reset the connection and lose them.
    const waits = this.state === 'up' || this.queue.length > 0;
    if (lingerMs <= 0 || !waits) this.shut();
    else {
      this.linger = setTimeout(() => this.shut(), lingerMs);
      // The peer closes its side on our FIN once it has read everything; a connection not up yet goes on.
      if (this.state === 'up') socket?.end();
    }
    return this.finished;
  }

  /** Hands on the messages of one read. A method, not a closure: test/helpers/counting.ts taps it. */
  protected deliver(messages: Buffer[][]): void {
    this.options.onMessages(messages);
  }

  private connect(): void {
    this.timer = undefined;
    const target = this.target;
    const socket = target.kind === 'ipc' ? net.connect(target.path) : net.connect({ host: target.host, port: target.port });
    if (target.kind === 'tcp') socket.setNoDelay(true);
    if (this.paused) socket.pause();
    this.socket = socket;
    this.state = 'connecting';
    this.reason = '';
    const conn = new ZmtpConnection(
      {
        write: (bytes) => {
          if (socket.writable) socket.write(bytes);
        },
        ready: () => this.ready(socket),
        message: (frames) => {
          this.burst.push(frames);
        },
        // Received, and refused under the label a codec gives a message with too many frames.
        skipped: (frames) => this.drop('too_many_frames', `${frames} frames`),
        failed: (problem) => this.refuse(socket, problem),
      },
      'DEALER',
      this.limits,
      this.options.routingId,
    );
    this.conn = conn;
    socket.on('connect', () => {
      if (socket !== this.socket) return;
      this.state = 'handshaking';
      this.timer = setTimeout(() => {
        this.drop('zmtp_handshake_timeout', `${this.handshakeMs} ms`);
        this.lose(socket, `no ZMTP handshake within ${this.handshakeMs} ms`);
      }, this.handshakeMs);
      conn.start();
    });
    socket.on('data', (chunk: Buffer) => {
      this.heard = true;
      conn.receive(chunk);
      if (this.burst.length === 0) return;
      const messages = this.burst;
      this.burst = [];
      if (!this.closed) this.deliver(messages);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (this.reason === '') this.reason = error.code ?? error.message;
    });
    socket.on('close', () => this.gone(socket));
  }

  private ready(socket: net.Socket): void {
    if (socket !== this.socket) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.state = 'up';
    this.ivl = this.reconnectIvl;
    this.heard = false;
    this.lastHeard = Date.now();
    if (this.heartbeatMs > 0 && !this.closed) {
      this.beat = setInterval(() => this.tick(socket), this.heartbeatMs);
      this.beat.unref();
    }
    if (this.queue.length > 0) {
      const queued = this.queue;
      const bytes = this.queuedBytes;
      this.queue = [];
      this.queuedBytes = 0;
      writeMessages(socket, queued, 0, bytes);
    }
    this.log.debug('connected');
    if (this.closed) socket.end();
    else this.options.onUp?.();
  }

  /**
   * Once per heartbeat interval: a PING, or the end of a connection that has been silent too long. A
   * connection that carried traffic both ways since the last tick needs no PING (the peer heard from this
   * socket, and this socket from the peer): under load heartbeats cost nothing, and a broker with
   * thousands of busy clients is not also answering thousands of PINGs a second.
   */
  private tick(socket: net.Socket): void {
    const now = Date.now();
    const heard = this.heard;
    const wrote = this.wrote;
    this.wrote = false;
    if (heard) {
      this.heard = false;
      this.lastHeard = now;
    } else if (now - this.lastHeard >= this.silenceMs) {
      this.lose(socket, `nothing heard for ${this.silenceMs} ms (ZMTP heartbeat timeout)`);
      return;
    }
    if (heard && wrote) return;
    if (socket.writable) socket.write(this.ping);
  }

  /** The peer broke the protocol: counted, and the connection closed (then made again). */
  private refuse(socket: net.Socket, problem: Rejection): void {
    this.drop(problem.reason, problem.detail);
    this.lose(socket, `${problem.reason}${problem.detail ? `: ${problem.detail}` : ''}`);
  }

  private lose(socket: net.Socket, reason: string): void {
    if (socket !== this.socket) return;
    this.reason = reason;
    socket.destroy();
  }

  /** The connection closed, whoever closed it. */
  private gone(socket: net.Socket): void {
    if (socket !== this.socket) return;
    const was = this.state;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearInterval(this.beat);
    this.beat = undefined;
    this.conn?.close();
    this.conn = undefined;
    this.socket = undefined;
    this.burst = [];
    const reason = this.reason || 'closed by the peer';
    if (socket.writableLength > 0) this.log.debug({ bytes: socket.writableLength }, 'connection closed with bytes unsent');
    if (this.closed) {
      // Lingering with messages no connection has taken yet: try again within the linger.
      if (this.linger !== undefined && this.queue.length > 0) this.reconnect();
      else this.shut();
      return;
    }
    this.state = 'waiting';
    if (was === 'up') {
      this.log.debug({ reason }, 'disconnected');
      this.options.onDown?.(reason);
    } else this.log.debug({ reason }, 'connection attempt failed');
    this.reconnect();
  }

  private reconnect(): void {
    if (this.reconnectIvl < 0) return;
    // libzmq's: the interval plus a random jitter below the configured one, then doubled up to the max.
    const jitter = this.reconnectIvl > 0 ? Math.floor(Math.random() * this.reconnectIvl) : 0;
    const delay = this.ivl + jitter;
    if (this.reconnectMax > this.reconnectIvl) this.ivl = Math.min(this.ivl * 2, this.reconnectMax);
    this.state = 'waiting';
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** The end: timers stopped, the connection destroyed, what never left reported. */
  private shut(): void {
    clearTimeout(this.timer);
    clearTimeout(this.linger);
    clearInterval(this.beat);
    this.timer = undefined;
    this.linger = undefined;
    this.beat = undefined;
    this.state = 'closed';
    const socket = this.socket;
    this.socket = undefined;
    this.conn?.close();
    this.conn = undefined;
    socket?.destroy();
    for (let i = 0; i < this.queue.length; i++) this.drop('closed', 'never sent: the socket closed before a connection took it');
    this.queue = [];
    this.queuedBytes = 0;
    this.finish();
  }

  private drop(reason: string, detail?: string): void {
    this.options.onDrop?.(reason, detail);
  }
}
