import * as zmq from 'zeromq';
import type { Logger } from '../log.js';
import { mergeUnits } from '../protocol/steward-wire.js';
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
  readonly log: Logger;
  readonly onMessage: (frames: Buffer[]) => void;
  /** The connection to the broker closed (it died, or closed it): nothing sent on it will be answered. */
  readonly onDown: () => void;
  /** A connection (or, with CURVE, its handshake) completed: the broker may be back. */
  readonly onUp: () => void;
}

/**
 * A client's DEALER to one broker. One socket per broker, not one socket
 * connected to all of them: a DEALER round-robins over every pipe, a dead
 * broker's included, so only separate sockets let the client choose where each
 * attempt goes. `immediate` queues only to a completed connection, so nothing
 * piles up for a broker that is gone. Units written in one tick leave merged
 * (zeromq.js pays per message).
 */
export class ClientLink {
  private socket: zmq.Dealer;
  private writer: SocketWriter;
  private outbox: Buffer[][] = [];
  private closed = false;
  private readonly flush = () => {
    const units = this.outbox;
    this.outbox = [];
    if (this.closed) return;
    for (const message of mergeUnits(units)) this.writer.write(message);
  };

  constructor(private readonly options: ClientLinkOptions) {
    this.socket = this.open();
    this.writer = this.writerFor(this.socket);
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  /** Messages handed to the writer and not yet to libzmq: a broker that is down holds them up. */
  get backlog(): number {
    return this.writer.pending + this.outbox.length;
  }

  write(unit: Buffer[]): void {
    if (this.closed) return;
    if (this.outbox.length === 0) queueMicrotask(this.flush);
    this.outbox.push(unit);
  }

  /** A fresh socket (butler's `persistent = False`): replies to what the old one sent cannot arrive. */
  reconnect(): void {
    this.options.log.debug({ broker: this.options.endpoint }, 'reconnecting');
    this.writer.stop();
    this.socket.close();
    this.outbox = [];
    this.socket = this.open();
    this.writer = this.writerFor(this.socket);
  }

  /**
   * Closes the socket. With `lingerMs`, what is still queued (a cancel
   * written just before) is handed to the socket first and given that long
   * to leave; without, it is dropped.
   */
  close(lingerMs = 0): void {
    if (this.closed) return;
    this.closed = true;
    if (lingerMs <= 0 || (this.outbox.length === 0 && this.writer.pending === 0)) {
      this.writer.stop();
      this.socket.close();
      return;
    }
    for (const message of mergeUnits(this.outbox)) this.writer.write(message);
    this.outbox = [];
    const { socket, writer } = this;
    void writer.whenDrained(lingerMs).then(() => {
      writer.stop();
      socket.linger = lingerMs;
      socket.close();
    });
  }

  private open(): zmq.Dealer {
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
    // A broker process that dies closes its connections: the client hears it at once instead of
    // after a timeout. (A host cut off closes nothing: heartbeats and timeouts find that.)
    socket.events.on('disconnect', () => {
      if (!this.closed && socket === this.socket) this.options.onDown();
    });
    socket.events.on(keys ? 'handshake' : 'connect', () => {
      if (!this.closed && socket === this.socket) this.options.onUp();
    });
    socket.connect(this.options.endpoint);
    void readUntilClosed(socket, this.options.onMessage);
    return socket;
  }

  private writerFor(socket: zmq.Dealer): SocketWriter {
    return new SocketWriter(socket, (reason, detail) => this.options.log.warn({ reason, detail, broker: this.options.endpoint }, 'send failed'));
  }
}
