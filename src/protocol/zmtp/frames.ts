/**
 * ZMTP framing (RFC 37): after the greeting, a byte stream of frames, each
 * `flags | size | body`. Flags: bit 0 MORE (another frame of the same
 * message follows), bit 1 LONG (the size is 8 bytes, big-endian, instead
 * of 1), bit 2 COMMAND; the rest must be zero.
 *
 * `FrameReader` turns received chunks into whole messages and commands:
 * frames that sit inside one chunk are views into it (no copy); only a frame
 * split across reads is joined, once, when its last byte arrives, so a big
 * body that comes in many reads costs O(n). `encodeMessage` writes the
 * frames of many messages into one buffer, so a burst leaves in one write.
 * Pure: no sockets.
 */
import { reject, type Rejection } from '../codec.js';

export const FLAG_MORE = 0x01;
export const FLAG_LONG = 0x02;
export const FLAG_COMMAND = 0x04;
const RESERVED = 0xf8;

export interface FrameLimits {
  /** Largest frame accepted (libzmq's ZMQ_MAXMSGSIZE checks each frame); more is a protocol error. */
  readonly maxFrameSize: number;
  /** Frames of one message kept; a longer message is skipped whole and reported. */
  readonly maxFrames: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = { maxFrameSize: 64 * 1024 * 1024, maxFrames: 64 };

export interface FrameSink {
  /** A whole message; `frames` starts with the reader's prefix frame when it has one. */
  message(frames: Buffer[]): void;
  command(body: Buffer): void;
  /** A message with more than `maxFrames` frames, skipped whole. */
  skipped(frames: number): void;
}

/**
 * Reads frames from a stream. `prefix`, when given, is put in front of
 * every message's frames (a ROUTER's routing id), so the array handed on is
 * the one the codec decodes.
 */
export class FrameReader {
  /** Bytes of an incomplete frame, kept as the chunks they came in. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** Size of the frame being assembled (header included), once its header is known; -1 before. */
  private need = -1;
  private frames: Buffer[] = [];
  private count = 0;
  private skipping = false;
  private failure: Rejection | undefined;

  constructor(
    private readonly sink: FrameSink,
    private readonly limits: FrameLimits = DEFAULT_FRAME_LIMITS,
    private prefix: Buffer | undefined = undefined,
  ) {
    this.reset();
  }

  /** Changes the prefix of later messages (a ROUTER peer renamed by a handover). */
  setPrefix(prefix: Buffer | undefined): void {
    this.prefix = prefix;
    if (this.count === 0) this.reset();
  }

  /** Why the stream is unusable, once it is (then nothing more is read). */
  get error(): Rejection | undefined {
    return this.failure;
  }

  /** Reads every whole frame in `chunk` (and what was left over before it). Returns false on a protocol error. */
  push(chunk: Buffer): boolean {
    if (this.failure !== undefined) return false;
    let at = 0;
    if (this.partBytes > 0) {
      at = this.completePart(chunk);
      if (at < 0) return this.failure === undefined;
    }
    const length = chunk.length;
    while (at < length) {
      const flags = chunk[at] as number;
      let header: number;
      let size: number;
      if ((flags & FLAG_LONG) === 0) {
        if (at + 2 > length) break;
        header = 2;
        size = chunk[at + 1] as number;
      } else {
        if (at + 9 > length) break;
        header = 9;
        const high = chunk.readUInt32BE(at + 1);
        if (high > 0x1fffff) return this.fail(reject('zmtp_frame_too_large', 'size over 2^53'));
        size = high * 0x100000000 + chunk.readUInt32BE(at + 5);
      }
      if (!this.checkHeader(flags, size)) return false;
      const end = at + header + size;
      if (end > length) {
        this.need = header + size;
        break;
      }
      this.frame(flags, chunk.subarray(at + header, end));
      at = end;
    }
    if (at < length) {
      const rest = at === 0 ? chunk : chunk.subarray(at);
      // Held until the frame is whole; `need` is known unless the header itself was cut.
      this.parts.push(rest);
      this.partBytes += rest.length;
    }
    return this.failure === undefined;
  }

  /**
   * With a partial frame held: adds `chunk`'s bytes to it; returns where the
   * rest of `chunk` starts once the frame is whole, or -1 when `chunk` went
   * wholly into the frame (or the frame is broken).
   */
  private completePart(chunk: Buffer): number {
    if (this.need < 0) {
      // The header itself was split: join what is needed of it (at most 9 bytes).
      const head = Buffer.concat([...this.parts, chunk.subarray(0, 9)]);
      const flags = head[0] as number;
      const long = (flags & FLAG_LONG) !== 0;
      if (head.length < (long ? 9 : 2)) {
        this.parts.push(chunk);
        this.partBytes += chunk.length;
        return -1;
      }
      let size: number;
      if (long) {
        const high = head.readUInt32BE(1);
        if (high > 0x1fffff) {
          this.fail(reject('zmtp_frame_too_large', 'size over 2^53'));
          return -1;
        }
        size = high * 0x100000000 + head.readUInt32BE(5);
      } else size = head[1] as number;
      if (!this.checkHeader(flags, size)) return -1;
      this.need = (long ? 9 : 2) + size;
    }
    const missing = this.need - this.partBytes;
    if (chunk.length < missing) {
      this.parts.push(chunk);
      this.partBytes += chunk.length;
      return -1;
    }
    const whole = Buffer.concat([...this.parts, chunk.subarray(0, missing)], this.need);
    this.parts = [];
    this.partBytes = 0;
    this.need = -1;
    const flags = whole[0] as number;
    this.frame(flags, whole.subarray((flags & FLAG_LONG) === 0 ? 2 : 9));
    return missing;
  }

  private checkHeader(flags: number, size: number): boolean {
    if ((flags & RESERVED) !== 0) return this.fail(reject('zmtp_bad_flags', `flags 0x${flags.toString(16)}`));
    if ((flags & FLAG_COMMAND) !== 0 && (flags & FLAG_MORE) !== 0) return this.fail(reject('zmtp_bad_flags', 'command with MORE'));
    if (size > this.limits.maxFrameSize) return this.fail(reject('zmtp_frame_too_large', `${size} bytes > ${this.limits.maxFrameSize}`));
    return true;
  }

  private frame(flags: number, body: Buffer): void {
    if ((flags & FLAG_COMMAND) !== 0) {
      this.sink.command(body);
      return;
    }
    this.count += 1;
    if (!this.skipping) {
      if (this.count > this.limits.maxFrames) {
        this.skipping = true;
        this.frames = [];
      } else this.frames.push(body);
    }
    if ((flags & FLAG_MORE) !== 0) return;
    const frames = this.frames;
    const skipped = this.skipping ? this.count : 0;
    this.reset();
    if (skipped > 0) this.sink.skipped(skipped);
    else this.sink.message(frames);
  }

  private reset(): void {
    this.frames = this.prefix === undefined ? [] : [this.prefix];
    this.count = 0;
    this.skipping = false;
  }

  private fail(problem: Rejection): false {
    this.failure = problem;
    this.parts = [];
    this.partBytes = 0;
    return false;
  }
}

/** Header bytes of one frame of `size` bytes. */
export function frameHeaderSize(size: number): number {
  return size > 255 ? 9 : 2;
}

/** Writes one frame's header at `at`; returns the offset after it. */
export function writeFrameHeader(out: Buffer, at: number, size: number, more: boolean): number {
  if (size > 255) {
    out[at] = FLAG_LONG | (more ? FLAG_MORE : 0);
    out.writeUInt32BE(Math.floor(size / 0x100000000), at + 1);
    out.writeUInt32BE(size >>> 0, at + 5);
    return at + 9;
  }
  out[at] = more ? FLAG_MORE : 0;
  out[at + 1] = size;
  return at + 2;
}

/** The bytes of one message's frames, `frames[from..]` (a ROUTER skips the routing id). */
export function encodedSize(frames: readonly Buffer[], from = 0): number {
  let size = 0;
  for (let i = from; i < frames.length; i++) {
    const n = (frames[i] as Buffer).length;
    size += frameHeaderSize(n) + n;
  }
  return size;
}

/** Writes one message's frames at `at`; returns the offset after them. */
export function writeMessage(out: Buffer, at: number, frames: readonly Buffer[], from = 0): number {
  const last = frames.length - 1;
  for (let i = from; i <= last; i++) {
    const frame = frames[i] as Buffer;
    at = writeFrameHeader(out, at, frame.length, i < last);
    at += frame.copy(out, at);
  }
  return at;
}

/** One message as bytes on its own. */
export function encodeMessage(frames: readonly Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(encodedSize(frames));
  writeMessage(out, 0, frames);
  return out;
}
