/**
 * One ZMTP 3.x connection, NULL mechanism, from either side (the NULL
 * handshake is the same both ways): greeting, READY both ways, then messages
 * and commands (RFC 37). Bytes in through `receive`, bytes out through
 * `Transport.write`; what the peer said (its metadata, its messages, why it
 * must go) through the transport's callbacks. Pure: it owns no socket;
 * `actors/zmtp-router.ts` (the accepting ROUTER) and
 * `actors/zmtp-dealer-socket.ts` (the connecting DEALER) do.
 */
import type { Rejection } from '../codec.js';
import { encodeReady, pongFor, readCommand, readMetadata, VALID_PEERS, type Metadata } from './commands.js';
import { encodeGreeting, GREETING_SIZE, NULL_MECHANISM, readGreeting } from './greeting.js';
import { DEFAULT_FRAME_LIMITS, FrameReader, type FrameLimits, type FrameSink } from './frames.js';

export interface Transport {
  write(bytes: Buffer): void;
  /** The handshake is done: the peer's metadata (Socket-Type, Identity...). */
  ready(metadata: Metadata): void;
  /** A whole message, the prefix frame first when one is set. */
  message(frames: Buffer[]): void;
  /** A message over the frame limit was skipped whole. */
  skipped(frames: number): void;
  /** The connection must close: a protocol error, or the peer's ERROR. */
  failed(problem: Rejection): void;
}

type Phase = 'greeting' | 'handshake' | 'traffic' | 'closed';

const OUR_GREETING = encodeGreeting(NULL_MECHANISM);

export class ZmtpConnection implements FrameSink {
  private phase: Phase = 'greeting';
  /** Greeting bytes received so far (a peer may send them in pieces). */
  private greeting: Buffer | undefined;
  private readonly reader: FrameReader;
  private readonly ourReady: Buffer;

  constructor(
    private readonly transport: Transport,
    /** Our socket type, announced in READY and checked against the peer's. */
    private readonly socketType: 'ROUTER' | 'DEALER',
    limits: FrameLimits = DEFAULT_FRAME_LIMITS,
    /** Our Identity property in READY (a DEALER's routing id at the ROUTER); none when empty. */
    identity?: Buffer,
  ) {
    this.reader = new FrameReader(this, limits);
    this.ourReady = encodeReady(socketType, identity);
  }

  /** Sends our greeting and READY at once: RFC 37 lets a peer send its READY before reading the other's. */
  start(): void {
    this.transport.write(Buffer.concat([OUR_GREETING, this.ourReady]));
  }

  get open(): boolean {
    return this.phase === 'traffic';
  }

  /** Puts `prefix` in front of every later message (the routing id a ROUTER gave the peer). */
  setPrefix(prefix: Buffer): void {
    this.reader.setPrefix(prefix);
  }

  receive(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    let data = chunk;
    if (this.phase === 'greeting') {
      const seen = this.greeting === undefined ? chunk : Buffer.concat([this.greeting, chunk]);
      const greeting = readGreeting(seen);
      if (greeting === undefined) {
        this.greeting = seen;
        return;
      }
      if (greeting.type === 'rejected') return this.fail(greeting);
      if (greeting.mechanism !== NULL_MECHANISM) {
        return this.fail({ type: 'rejected', reason: 'zmtp_mechanism', detail: `peer asked for ${greeting.mechanism || 'no mechanism'}, this socket speaks NULL` });
      }
      this.greeting = undefined;
      this.phase = 'handshake';
      data = seen.subarray(GREETING_SIZE);
      if (data.length === 0) return;
    }
    if (!this.reader.push(data)) this.fail(this.reader.error ?? { type: 'rejected', reason: 'zmtp_protocol' });
  }

  /** Stops reading: nothing more is delivered. */
  close(): void {
    this.phase = 'closed';
  }

  command(body: Buffer): void {
    if (this.phase === 'closed') return;
    const command = readCommand(body);
    if (command.type === 'rejected') return this.fail(command);
    if (this.phase === 'handshake') {
      if (command.name === 'ERROR') return this.fail({ type: 'rejected', reason: 'zmtp_peer_error', detail: command.data.toString('latin1', 1) });
      if (command.name !== 'READY') return this.fail({ type: 'rejected', reason: 'zmtp_handshake', detail: `${command.name} before READY` });
      const metadata = readMetadata(command.data);
      if (metadata.type === 'rejected') return this.fail(metadata);
      const peerType = metadata.properties.get('socket-type')?.toString('ascii') ?? '';
      if (!(VALID_PEERS[this.socketType] ?? []).includes(peerType)) {
        return this.fail({ type: 'rejected', reason: 'zmtp_socket_type', detail: `a ${this.socketType} does not talk to a ${peerType || 'peer without a Socket-Type'}` });
      }
      this.phase = 'traffic';
      this.transport.ready(metadata);
      return;
    }
    // Traffic: answer heartbeats; SUBSCRIBE, CANCEL, PONG and unknown commands mean nothing to a ROUTER or a
    // DEALER (a PONG's arrival is traffic, which the socket notices from the bytes).
    if (command.name === 'PING') this.transport.write(pongFor(command.data));
    else if (command.name === 'ERROR') this.fail({ type: 'rejected', reason: 'zmtp_peer_error', detail: command.data.toString('latin1', 1) });
  }

  message(frames: Buffer[]): void {
    if (this.phase === 'traffic') this.transport.message(frames);
    else if (this.phase === 'handshake') this.fail({ type: 'rejected', reason: 'zmtp_handshake', detail: 'message before READY' });
  }

  skipped(frames: number): void {
    if (this.phase === 'traffic') this.transport.skipped(frames);
  }

  private fail(problem: Rejection): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.transport.failed(problem);
  }
}
