/**
 * WebSocket (RFC 6455) for the gateway's side of a connection: the opening
 * handshake, a reader for the client's masked frames (fragments reassembled,
 * text checked as UTF-8, a message size limit enforced before the payload is
 * buffered) and the writer of the server's unmasked frames. BlastBeat sent
 * text only and no FIN on its pongs; here text and binary stay apart and
 * every frame sent is final. Pure: no sockets, no XState.
 */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { ByteQueue } from './byte-queue.js';

export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Close codes the gateway sends (RFC 6455 7.4.1). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  InvalidData: 1007,
  TooBig: 1009,
  InternalError: 1011,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export interface WebSocketLimits {
  /** A whole message, all its fragments together. */
  readonly maxMessageSize: number;
}

export const DEFAULT_WEBSOCKET_LIMITS: WebSocketLimits = { maxMessageSize: 1024 * 1024 };

export type WsItem =
  | { readonly kind: 'message'; readonly binary: boolean; readonly data: Buffer }
  | { readonly kind: 'ping'; readonly data: Buffer }
  | { readonly kind: 'pong'; readonly data: Buffer }
  /** The peer's close frame; code undefined when it carried none. */
  | { readonly kind: 'close'; readonly code: number | undefined; readonly reason: string }
  /** The peer broke the protocol: answer with a close frame carrying this code, then drop the connection. */
  | { readonly kind: 'error'; readonly code: CloseCode; readonly reason: string };

/** `Sec-WebSocket-Accept` for a client's key. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** A key is 16 random bytes in base64 (RFC 6455 4.1). */
export function isValidKey(key: string | undefined): key is string {
  return key !== undefined && /^[A-Za-z0-9+/]{22}==$/.test(key);
}

export function handshakeResponse(key: string): Buffer {
  return Buffer.from(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
      '\r\n',
    'latin1',
  );
}

function validCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

export class WebSocketReader {
  private readonly queue = new ByteQueue();
  /** Fragments of the message being reassembled. */
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentBinary: boolean | undefined;
  private failed = false;

  constructor(
    private readonly limits: WebSocketLimits = DEFAULT_WEBSOCKET_LIMITS,
    /** Clients must mask (RFC 6455 5.1); a reader used on the client side sets this false. */
    private readonly expectMasked = true,
  ) {}

  get buffered(): number {
    return this.queue.size;
  }

  push(data: Buffer): void {
    if (!this.failed) this.queue.push(data);
  }

  /** The next complete item, or undefined until more bytes arrive. After an error it returns nothing more. */
  read(): WsItem | undefined {
    while (!this.failed) {
      const q = this.queue;
      if (q.size < 2) return undefined;
      const b0 = q.byteAt(0);
      const b1 = q.byteAt(1);
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let length = b1 & 0x7f;
      let at = 2;
      if ((b0 & 0x70) !== 0) return this.fail(CloseCode.ProtocolError, 'reserved bits set without an extension');
      if (masked !== this.expectMasked) return this.fail(CloseCode.ProtocolError, masked ? 'masked server frame' : 'unmasked client frame');
      const control = opcode >= 0x8;
      if (control) {
        if (opcode > Opcode.Pong) return this.fail(CloseCode.ProtocolError, `unknown opcode ${opcode}`);
        if (!fin) return this.fail(CloseCode.ProtocolError, 'fragmented control frame');
        if (length > 125) return this.fail(CloseCode.ProtocolError, 'control frame over 125 bytes');
      } else if (opcode > Opcode.Binary) return this.fail(CloseCode.ProtocolError, `unknown opcode ${opcode}`);
      if (length === 126) {
        if (q.size < 4) return undefined;
        length = (q.byteAt(2) << 8) | q.byteAt(3);
        at = 4;
      } else if (length === 127) {
        if (q.size < 10) return undefined;
        if (q.byteAt(2) !== 0 || q.byteAt(3) !== 0 || (q.byteAt(4) & 0x80) !== 0) {
          return this.fail(CloseCode.TooBig, 'frame length beyond 2^31');
        }
        // Bytes 2-3 are zero and byte 4 below 0x80: the value is under 2^47, exact in a double.
        length = 0;
        for (let k = 2; k < 10; k++) length = length * 256 + q.byteAt(k);
        at = 10;
      }
      if (!control && this.fragmentBytes + length > this.limits.maxMessageSize) {
        return this.fail(CloseCode.TooBig, `message over ${this.limits.maxMessageSize} bytes`);
      }
      const maskAt = at;
      if (masked) at += 4;
      if (q.size < at + length) return undefined;
      const header = q.take(at);
      // Unmasked in place: the received bytes are ours and nothing else reads them.
      const payload = q.take(length);
      if (masked) unmask(payload, header, maskAt);

      if (control) {
        const item = this.control(opcode, payload);
        if (item) return item;
        continue;
      }
      if (opcode === Opcode.Continuation) {
        if (this.fragmentBinary === undefined) return this.fail(CloseCode.ProtocolError, 'continuation without a message');
      } else {
        if (this.fragmentBinary !== undefined) return this.fail(CloseCode.ProtocolError, 'new message inside a fragmented one');
        this.fragmentBinary = opcode === Opcode.Binary;
      }
      if (!fin) {
        this.fragments.push(payload);
        this.fragmentBytes += length;
        continue;
      }
      const binary = this.fragmentBinary;
      const data = this.fragments.length === 0 ? payload : Buffer.concat([...this.fragments, payload]);
      this.fragments = [];
      this.fragmentBytes = 0;
      this.fragmentBinary = undefined;
      if (!binary && !isUtf8(data)) return this.fail(CloseCode.InvalidData, 'text message is not UTF-8');
      return { kind: 'message', binary, data };
    }
    return undefined;
  }

  private control(opcode: number, payload: Buffer): WsItem | undefined {
    if (opcode === Opcode.Ping) return { kind: 'ping', data: payload };
    if (opcode === Opcode.Pong) return { kind: 'pong', data: payload };
    // Close: nothing is read after it.
    if (payload.length === 0) {
      this.failed = true;
      return { kind: 'close', code: undefined, reason: '' };
    }
    if (payload.length === 1) return this.fail(CloseCode.ProtocolError, 'close payload of one byte');
    const code = payload.readUInt16BE(0);
    if (!validCloseCode(code)) return this.fail(CloseCode.ProtocolError, `invalid close code ${code}`);
    const reason = payload.subarray(2);
    if (!isUtf8(reason)) return this.fail(CloseCode.InvalidData, 'close reason is not UTF-8');
    this.failed = true;
    return { kind: 'close', code, reason: reason.toString('utf8') };
  }

  private fail(code: CloseCode, reason: string): WsItem {
    this.failed = true;
    this.fragments = [];
    return { kind: 'error', code, reason };
  }
}

function unmask(payload: Buffer, header: Buffer, maskAt: number): void {
  const m0 = header[maskAt] as number;
  const m1 = header[maskAt + 1] as number;
  const m2 = header[maskAt + 2] as number;
  const m3 = header[maskAt + 3] as number;
  const n = payload.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    payload[i] = (payload[i] as number) ^ m0;
    payload[i + 1] = (payload[i + 1] as number) ^ m1;
    payload[i + 2] = (payload[i + 2] as number) ^ m2;
    payload[i + 3] = (payload[i + 3] as number) ^ m3;
  }
  const mask = [m0, m1, m2, m3];
  for (; i < n; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
}

/**
 * One final frame. Server frames are unmasked; pass `mask` (4 bytes) to
 * build a client's frame (tests, the backend helper's own client).
 */
export function encodeFrame(opcode: Opcode, payload: Buffer, mask?: Buffer): Buffer {
  const n = payload.length;
  const headerLength = (n < 126 ? 2 : n < 65536 ? 4 : 10) + (mask ? 4 : 0);
  const out = Buffer.allocUnsafe(headerLength + n);
  out[0] = 0x80 | opcode;
  const maskBit = mask ? 0x80 : 0;
  let at: number;
  if (n < 126) {
    out[1] = maskBit | n;
    at = 2;
  } else if (n < 65536) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(n, 2);
    at = 4;
  } else {
    out[1] = maskBit | 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
    at = 10;
  }
  if (mask) {
    mask.copy(out, at, 0, 4);
    at += 4;
    for (let i = 0; i < n; i++) out[at + i] = (payload[i] as number) ^ (mask[i & 3] as number);
  } else payload.copy(out, at);
  return out;
}

/** A close frame with a code and a UTF-8 reason cut to fit the 125-byte control payload. */
export function encodeClose(code: number, reason = ''): Buffer {
  let text = Buffer.from(reason, 'utf8');
  if (text.length > 123) text = text.subarray(0, 123);
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return encodeFrame(Opcode.Close, payload);
}
