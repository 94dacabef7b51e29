import * as zmq from 'zeromq';
import type { Logger } from '../log.js';
import { DropCounter } from '../metrics/drops.js';
import { usesZmtp, type SocketTransport } from '../actors/socket-transport.js';
import { ZmtpDealerSocket, zmtpCanConnect } from '../actors/zmtp-dealer-socket.js';
import { MAX_MESSAGE_FRAMES, mergeUnits } from '../protocol/steward-wire.js';
import { curveClientSocketOptions, watchClientHandshakes, type ResolvedCurveClient } from '../security/curve.js';
import { readUntilClosed } from '../util/socket-reader.js';
import { SocketWriter } from '../util/socket-writer.js';

export interface ClientLinkOptions {
  readonly endpoint: string;
  readonly maxMessageSize: number;
  /** ZMTP heartbeats, so a connection into a partition is noticed and dropped (with what it queued). */
  readonly heartbeatMs: number;
  readonly silenceMs: number;
  readonly keys: ResolvedCurveClient | undefined;
  /** `auto`: steward's own ZMTP DEALER for plain tcp:// and ipc:// brokers; `libzmq`: zeromq.js always. */
  readonly transport: SocketTransport;
  readonly log: Logger;
  readonly onMessage: (frames: Buffer[]) => void;
  /** The connection to the broker closed (it died, or closed it): nothing sent on it will be answered. */
  readonly onDown: () => void;
  /** A connection (or, with CURVE, its handshake) completed: the broker may be back. */
  readonly onUp: () => void;
}

/** What the link needs of a DEALER, whichever stack speaks under it. */
interface LinkSocket {
  /** A burst of messages, written together. */
  send(messages: Buffer[][]): void;
  /** Messages not yet handed to a connection: a broker that is down holds them up. */
  readonly backlog: number;
  /** With `lingerMs`, what is queued gets that long to leave; without, it is dropped. */
  close(lingerMs: number): void;
}

/**
 * Frames in one reply message the Client accepts: a broker merges at most MAX_MESSAGE_FRAMES per
 * message, and forwards a reply of up to its `--max-frames` (at most 100,000) whole.
 */
const MAX_REPLY_FRAMES = 100_000 + MAX_MESSAGE_FRAMES;

/**
 * A client's DEALER to one broker. One socket per broker, not one socket
 * connected to all of them: a DEALER round-robins over every pipe, a dead
 * broker's included, so only separate sockets let the client choose where each
 * attempt goes. Nothing is bound to a connection that is not up (libzmq's
 * `immediate`): what is sent meanwhile waits for the next one, so nothing piles
 * up in a dead broker's connection. Units written in one tick leave merged, in
 * one write.
 *
 * Without CURVE, to a tcp:// or ipc:// broker, it is steward's own ZMTP DEALER
 * (actors/zmtp-dealer-socket.ts): no libzmq I/O thread between the client and
 * the wire. With CURVE, or `transport: 'libzmq'`, a zeromq.js DEALER.
 */
export class ClientLink {
  private socket: LinkSocket;
  private outbox: Buffer[][] = [];
  private closed = false;
  private readonly drops: DropCounter;
  private readonly flush = () => {
    const units = this.outbox;
    this.outbox = [];
    if (this.closed) return;
    this.socket.send(mergeUnits(units));
  };

  constructor(private readonly options: ClientLinkOptions) {
    this.drops = new DropCounter(`client ${options.endpoint}`, undefined, options.log);
    this.socket = this.open();
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  /** Messages not yet handed to a connection: a broker that is down holds them up. */
  get backlog(): number {
    return this.socket.backlog + this.outbox.length;
  }

  write(unit: Buffer[]): void {
    if (this.closed) return;
    if (this.outbox.length === 0) queueMicrotask(this.flush);
    this.outbox.push(unit);
  }

  /** A fresh socket (butler's `persistent = False`): replies to what the old one sent cannot arrive. */
  reconnect(): void {
    this.options.log.debug({ broker: this.options.endpoint }, 'reconnecting');
    this.socket.close(0);
    this.outbox = [];
    this.socket = this.open();
  }

  /**
   * Closes the socket. With `lingerMs`, what is still queued (a cancel
   * written just before) is handed to the socket first and given that long
   * to leave; without, it is dropped.
   */
  close(lingerMs = 0): void {
    if (this.closed) return;
    this.closed = true;
    // What a caller wrote just before (a cancel) leaves now, with the linger to get out.
    const units = this.outbox;
    this.outbox = [];
    if (lingerMs > 0 && units.length > 0) this.socket.send(mergeUnits(units));
    this.socket.close(lingerMs);
  }

  private open(): LinkSocket {
    const { keys, endpoint, transport } = this.options;
    return usesZmtp(transport, keys, [endpoint], zmtpCanConnect) ? this.openZmtp() : this.openLibzmq();
  }

  private openZmtp(): LinkSocket {
    const { log, endpoint } = this.options;
    // Events of a socket this link has replaced or closed are not the broker's news.
    const current = () => !this.closed && this.socket === link;
    const dealer = new ZmtpDealerSocket({
      endpoint,
      maxMessageSize: this.options.maxMessageSize,
      maxFrames: MAX_REPLY_FRAMES,
      heartbeatIntervalMs: this.options.heartbeatMs,
      heartbeatTimeoutMs: this.options.silenceMs,
      logger: log,
      onMessages: (messages) => {
        if (!current()) return;
        for (let i = 0; i < messages.length; i++) this.options.onMessage(messages[i] as Buffer[]);
      },
      // A broker process that dies closes its connections: the client hears it at once instead of
      // after a timeout. (A host cut off closes nothing: heartbeats and timeouts find that.)
      onDown: () => {
        if (current()) this.options.onDown();
      },
      onUp: () => {
        if (current()) this.options.onUp();
      },
      // Logged rate-limited: a client sending into a long outage must not flood its log.
      onDrop: (reason, detail) => {
        if (reason !== 'closed') this.drops.drop(reason, detail);
      },
    });
    const link: LinkSocket = {
      send: (messages) => {
        dealer.send(messages);
      },
      get backlog() {
        return dealer.backlog;
      },
      close: (lingerMs) => {
        void dealer.close(lingerMs);
      },
    };
    return link;
  }

  private openLibzmq(): LinkSocket {
    const { keys } = this.options;
    const socket = new zmq.Dealer({
      linger: 0,
      immediate: true,
      maxMessageSize: this.options.maxMessageSize,
      heartbeatInterval: this.options.heartbeatMs,
      heartbeatTimeout: this.options.silenceMs,
      ...(keys ? curveClientSocketOptions(keys) : {}),
    });
    if (keys) watchClientHandshakes(socket, this.options.log, keys);
    const writer = new SocketWriter(socket, (reason, detail) => this.options.log.warn({ reason, detail, broker: this.options.endpoint }, 'send failed'));
    const link: LinkSocket = {
      // zeromq.js pays per message, so the units were merged into as few as the frame cap allows.
      send: (messages) => {
        for (const message of messages) writer.write(message);
      },
      get backlog() {
        return writer.pending;
      },
      close: (lingerMs) => {
        if (lingerMs <= 0 || writer.pending === 0) {
          writer.stop();
          socket.close();
          return;
        }
        void writer.whenDrained(lingerMs).then(() => {
          writer.stop();
          socket.linger = lingerMs;
          socket.close();
        });
      },
    };
    const current = () => !this.closed && this.socket === link;
    socket.events.on('disconnect', () => {
      if (current()) this.options.onDown();
    });
    socket.events.on(keys ? 'handshake' : 'connect', () => {
      if (current()) this.options.onUp();
    });
    socket.connect(this.options.endpoint);
    void readUntilClosed(socket, this.options.onMessage);
    return link;
  }
}
