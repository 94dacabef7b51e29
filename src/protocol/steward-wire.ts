/**
 * steward's compact wire, spoken between steward's own clients, workers and
 * brokers. MDP/0.1 and butler stay on the same sockets for everyone else;
 * this exists because zeromq.js pays per message (about 2 us to receive one)
 * and per part (about 1.6 us each), measured on this machine kind. A request
 * with its reply crossed the broker as 25 parts in 4 messages with MDP
 * workers and the tagged client; here a small one is 4 parts, and a burst of
 * units to one peer shares one message.
 *
 * A message is [units...]; through a ROUTER the peer's routing id comes
 * first. A unit is a header frame, plus `parts` body frames when its body is
 * not inline. The header is binary, big-endian:
 *
 *   0  'S' 'W'          magic
 *   2  0x01             version
 *   3  kind             one of Kind below
 *   4  parts            0: the body is one frame, inline after the fields;
 *                       1..254: that many body frames follow; 255: no body
 *   5  fields of the kind, then the inline body when parts is 0
 *
 *   CLIENT_REQUEST  u32 request id, f64 expiration (Unix ms, 0 = none), u8 n, service (n bytes)
 *                   0x11: waits in the broker's queue for a worker; 0x13 (CLIENT_REQUEST_NOWAIT):
 *                   answered 404 at once when no worker serves the service
 *   CLIENT_CALL     u32 request id, f64 expiration, u16 window, u8 flags, u8 n, service: a request
 *                   the broker indexes by id, so CLIENT_CANCEL and CLIENT_WINDOW can name it.
 *                   flags bit 0 NOWAIT (as 0x13), bit 1 STREAM (partial replies wanted; `window`
 *                   of them, 1..65535, before the client refills it)
 *   CLIENT_REPLY    u32 request id, u16 status (200 ok; 400/404/410/413/501/503/504/507 as in status.ts);
 *                   ends a stream
 *   CLIENT_PARTIAL  u32 request id: one partial reply of a stream
 *   CLIENT_WINDOW   u32 request id, u16 credit: the client read `credit` more partials (0: still here)
 *   CLIENT_CANCEL   u32 request id: the client gave up the call; nothing answers it
 *   WORKER_READY    u16 credit, u8 n, service (n bytes)
 *   WORKER_REQUEST  u32 token (opaque to the worker, echoed in its reply)
 *   WORKER_STREAM   u32 token, u16 window: a request whose client takes partial replies, `window`
 *                   of them before a WORKER_WINDOW (0: no window, send at will)
 *   WORKER_REPLY    u32 token: the reply, or the FINAL one of a stream; frees the worker's credit
 *   WORKER_PARTIAL  u32 token: one partial reply
 *   WORKER_WINDOW   u32 token, u16 credit: `credit` more partials may go
 *   WORKER_CANCEL   u32 token: nobody waits for the answer any more; the worker still ends it with a
 *                   WORKER_REPLY (which the broker drops), so its credit stays exact
 *   WORKER_CREDIT   u16 credit: a registered worker's new credit; the broker echoes it once applied
 *   HEARTBEAT       (none)        both directions
 *   DISCONNECT      (none)        both directions
 *   PING            u32 nonce     client or worker -> broker, answered at once by
 *   PONG            u32 nonce, u8 flags (bit 0: the broker is draining)
 *
 * Nothing here throws on bad input: decoders return a Rejection.
 */
import { reject, type Rejection } from './codec.js';
import { latin1Name } from './latin1-cache.js';

/**
 * A CLIENT_REQUEST whose request id could be read but whose other fields are
 * broken. To every other reader it is an ordinary Rejection; the broker,
 * which can address an answer with the id, answers it 400 instead of leaving
 * the client to time out.
 */
export interface ClientRequestRejection extends Rejection {
  readonly requestId: number;
}

export function isClientRequestRejection(r: Rejection): r is ClientRequestRejection {
  return typeof (r as { requestId?: unknown }).requestId === 'number';
}

export const SW_VERSION = 0x01;

export const enum Kind {
  ClientRequest = 0x11,
  ClientReply = 0x12,
  /** A CLIENT_REQUEST whose caller does not wait for a worker to register: 404 when none serves it. */
  ClientRequestNoWait = 0x13,
  /** A request the broker indexes by id: it may be cancelled, and may stream (flags). */
  ClientCall = 0x14,
  ClientPartial = 0x15,
  ClientWindow = 0x16,
  ClientCancel = 0x17,
  WorkerReady = 0x21,
  WorkerRequest = 0x22,
  WorkerReply = 0x23,
  WorkerCredit = 0x24,
  WorkerPartial = 0x25,
  WorkerCancel = 0x26,
  /** A WORKER_REQUEST whose client takes partial replies, with the window. */
  WorkerStream = 0x27,
  WorkerWindow = 0x28,
  Heartbeat = 0x31,
  Disconnect = 0x32,
  Ping = 0x33,
  Pong = 0x34,
}

/** PONG flag: the broker is draining (refuses new requests); send elsewhere. */
export const PONG_DRAINING = 0x01;

/** CLIENT_CALL flags. */
export const CALL_NOWAIT = 0x01;
export const CALL_STREAM = 0x02;
const CALL_FLAGS = CALL_NOWAIT | CALL_STREAM;

/** Largest window a unit carries (u16). */
export const MAX_WINDOW = 0xffff;

const FIXED = 5;
const INLINE = 0;
const NO_BODY = 255;
const MAX_PARTS = 254;
const MAX_SERVICE = 255;
const MAX_CREDIT = 10_000;

/** Bodies of one frame up to this size travel inside the header frame: a copy is cheaper than a part. */
export const INLINE_MAX = 4096;

/** True when a frame starts a compact header (checked before any other dialect). */
export function isStewardHeader(frame: Buffer): boolean {
  return frame.length >= FIXED && frame[0] === 0x53 && frame[1] === 0x57 && frame[2] === SW_VERSION;
}

// ---- encoders: each returns the unit's frames ----

/** Writes the fixed part and lays the body out inline or as parts. `fields` writes at offset 5. */
function unit(kind: Kind, fieldBytes: number, fields: (b: Buffer) => void, body: readonly Buffer[]): Buffer[] {
  const single = body.length === 1 ? (body[0] as Buffer) : undefined;
  const inline = single !== undefined && single.length <= INLINE_MAX;
  const b = Buffer.allocUnsafe(FIXED + fieldBytes + (inline ? single.length : 0));
  b[0] = 0x53;
  b[1] = 0x57;
  b[2] = SW_VERSION;
  b[3] = kind;
  fields(b);
  if (inline) {
    b[4] = INLINE;
    single.copy(b, FIXED + fieldBytes);
    return [b];
  }
  if (body.length === 0) {
    b[4] = NO_BODY;
    return [b];
  }
  if (body.length > MAX_PARTS) throw new RangeError(`a body has at most ${MAX_PARTS} frames, got ${body.length}`);
  b[4] = body.length;
  return [b, ...body];
}

/** `wait` false: the broker answers 404 at once when no worker serves `service` (CLIENT_REQUEST_NOWAIT). */
export function clientRequestUnit(requestId: number, expiresAt: number, service: string, body: readonly Buffer[], wait = true): Buffer[] {
  const n = Buffer.byteLength(service, 'latin1');
  return unit(
    wait ? Kind.ClientRequest : Kind.ClientRequestNoWait,
    4 + 8 + 1 + n,
    (b) => {
      b.writeUInt32BE(requestId >>> 0, 5);
      b.writeDoubleBE(expiresAt, 9);
      b[17] = n;
      b.write(service, 18, 'latin1');
    },
    body,
  );
}

export interface CallOptions {
  /** Answer 404 at once when no worker serves the service (as CLIENT_REQUEST_NOWAIT). */
  readonly noWait?: boolean;
  /** Partial replies wanted: this many before the client refills the window (1..65535). */
  readonly window?: number;
}

/** A CLIENT_CALL: indexed by the broker, so it can be cancelled, and a stream when `window` is given. */
export function clientCallUnit(requestId: number, expiresAt: number, service: string, body: readonly Buffer[], options: CallOptions = {}): Buffer[] {
  const n = Buffer.byteLength(service, 'latin1');
  const window = options.window ?? 0;
  const flags = (options.noWait === true ? CALL_NOWAIT : 0) | (window > 0 ? CALL_STREAM : 0);
  return unit(
    Kind.ClientCall,
    4 + 8 + 2 + 1 + 1 + n,
    (b) => {
      b.writeUInt32BE(requestId >>> 0, 5);
      b.writeDoubleBE(expiresAt, 9);
      b.writeUInt16BE(window, 17);
      b[19] = flags;
      b[20] = n;
      b.write(service, 21, 'latin1');
    },
    body,
  );
}

export function clientPartialUnit(requestId: number, body: readonly Buffer[]): Buffer[] {
  return unit(Kind.ClientPartial, 4, (b) => b.writeUInt32BE(requestId >>> 0, 5), body);
}

export function clientWindowUnit(requestId: number, credit: number): Buffer[] {
  return unit(
    Kind.ClientWindow,
    6,
    (b) => {
      b.writeUInt32BE(requestId >>> 0, 5);
      b.writeUInt16BE(credit, 9);
    },
    [],
  );
}

export function clientCancelUnit(requestId: number): Buffer[] {
  return unit(Kind.ClientCancel, 4, (b) => b.writeUInt32BE(requestId >>> 0, 5), []);
}

export function clientReplyUnit(requestId: number, status: number, body: readonly Buffer[]): Buffer[] {
  return unit(
    Kind.ClientReply,
    6,
    (b) => {
      b.writeUInt32BE(requestId >>> 0, 5);
      b.writeUInt16BE(status, 9);
    },
    body,
  );
}

export function workerReadyUnit(service: string, credit: number): Buffer[] {
  const n = Buffer.byteLength(service, 'latin1');
  return unit(
    Kind.WorkerReady,
    2 + 1 + n,
    (b) => {
      b.writeUInt16BE(credit, 5);
      b[7] = n;
      b.write(service, 8, 'latin1');
    },
    [],
  );
}

export function workerRequestUnit(token: number, body: readonly Buffer[]): Buffer[] {
  return unit(Kind.WorkerRequest, 4, (b) => b.writeUInt32BE(token >>> 0, 5), body);
}

/** A request whose client takes partial replies: `window` of them before a WORKER_WINDOW (0: no limit). */
export function workerStreamUnit(token: number, window: number, body: readonly Buffer[]): Buffer[] {
  return unit(
    Kind.WorkerStream,
    6,
    (b) => {
      b.writeUInt32BE(token >>> 0, 5);
      b.writeUInt16BE(window, 9);
    },
    body,
  );
}

export function workerReplyUnit(token: number, body: readonly Buffer[]): Buffer[] {
  return unit(Kind.WorkerReply, 4, (b) => b.writeUInt32BE(token >>> 0, 5), body);
}

export function workerPartialUnit(token: number, body: readonly Buffer[]): Buffer[] {
  return unit(Kind.WorkerPartial, 4, (b) => b.writeUInt32BE(token >>> 0, 5), body);
}

export function workerWindowUnit(token: number, credit: number): Buffer[] {
  return unit(
    Kind.WorkerWindow,
    6,
    (b) => {
      b.writeUInt32BE(token >>> 0, 5);
      b.writeUInt16BE(credit, 9);
    },
    [],
  );
}

export function workerCancelUnit(token: number): Buffer[] {
  return unit(Kind.WorkerCancel, 4, (b) => b.writeUInt32BE(token >>> 0, 5), []);
}

export function workerCreditUnit(credit: number): Buffer[] {
  return unit(Kind.WorkerCredit, 2, (b) => b.writeUInt16BE(credit, 5), []);
}

export function pingUnit(nonce: number): Buffer[] {
  return unit(Kind.Ping, 4, (b) => b.writeUInt32BE(nonce >>> 0, 5), []);
}

export function pongUnit(nonce: number, flags: number): Buffer[] {
  return unit(
    Kind.Pong,
    5,
    (b) => {
      b.writeUInt32BE(nonce >>> 0, 5);
      b[9] = flags;
    },
    [],
  );
}

const HEARTBEAT_UNIT = unit(Kind.Heartbeat, 0, () => undefined, []);
const DISCONNECT_UNIT = unit(Kind.Disconnect, 0, () => undefined, []);

export function heartbeatUnit(): Buffer[] {
  return HEARTBEAT_UNIT;
}

export function disconnectUnit(): Buffer[] {
  return DISCONNECT_UNIT;
}

/** Most parts in one message when units are batched: far below any receiver's frame limit. */
export const MAX_MESSAGE_FRAMES = 128;

/** Concatenates units into as few messages as the frame cap allows (one message carries many units). */
export function mergeUnits(units: readonly Buffer[][]): Buffer[][] {
  if (units.length <= 1) return units as Buffer[][];
  const out: Buffer[][] = [];
  let current: Buffer[] = [];
  for (const u of units) {
    if (current.length > 0 && current.length + u.length > MAX_MESSAGE_FRAMES) {
      out.push(current);
      current = [];
    }
    for (let i = 0; i < u.length; i++) current.push(u[i] as Buffer);
  }
  if (current.length > 0) out.push(current);
  return out;
}

// ---- decoders ----

export type StewardMessage =
  | {
      readonly kind: Kind.ClientRequest;
      readonly requestId: number;
      /** False for CLIENT_REQUEST_NOWAIT: the caller wants 404 at once rather than wait for a worker. */
      readonly wait: boolean;
      /** Sent as CLIENT_CALL: the broker indexes it by id (cancel, window). */
      readonly call: boolean;
      /** Partials wanted before a refill; 0 when the caller takes one reply only. */
      readonly window: number;
      readonly expiresAt: number;
      readonly service: string;
      /** The service name's bytes inside the header frame (no copy). */
      readonly serviceBytes: Buffer;
      readonly body: Buffer[];
    }
  | { readonly kind: Kind.ClientReply; readonly requestId: number; readonly status: number; readonly body: Buffer[] }
  | { readonly kind: Kind.ClientPartial; readonly requestId: number; readonly body: Buffer[] }
  | { readonly kind: Kind.ClientWindow; readonly requestId: number; readonly credit: number }
  | { readonly kind: Kind.ClientCancel; readonly requestId: number }
  | { readonly kind: Kind.WorkerReady; readonly credit: number; readonly service: string }
  /** WORKER_REQUEST, or WORKER_STREAM (`stream` true, with its window; 0 for none). */
  | { readonly kind: Kind.WorkerRequest; readonly token: number; readonly stream: boolean; readonly window: number; readonly body: Buffer[] }
  | { readonly kind: Kind.WorkerReply; readonly token: number; readonly body: Buffer[] }
  | { readonly kind: Kind.WorkerPartial; readonly token: number; readonly body: Buffer[] }
  | { readonly kind: Kind.WorkerWindow; readonly token: number; readonly credit: number }
  | { readonly kind: Kind.WorkerCancel; readonly token: number }
  | { readonly kind: Kind.WorkerCredit; readonly credit: number }
  | { readonly kind: Kind.Heartbeat }
  | { readonly kind: Kind.Disconnect }
  | { readonly kind: Kind.Ping; readonly nonce: number }
  | { readonly kind: Kind.Pong; readonly nonce: number; readonly flags: number };

const KINDS: ReadonlySet<number> = new Set([
  Kind.ClientRequest,
  Kind.ClientReply,
  Kind.ClientRequestNoWait,
  Kind.ClientCall,
  Kind.ClientPartial,
  Kind.ClientWindow,
  Kind.ClientCancel,
  Kind.WorkerReady,
  Kind.WorkerRequest,
  Kind.WorkerReply,
  Kind.WorkerCredit,
  Kind.WorkerPartial,
  Kind.WorkerCancel,
  Kind.WorkerStream,
  Kind.WorkerWindow,
  Kind.Heartbeat,
  Kind.Disconnect,
  Kind.Ping,
  Kind.Pong,
]);

/** Bytes of fields before the inline body, per kind; -1 when the kind is unknown or the header too short. */
function fieldsEnd(b: Buffer): number {
  switch (b[3]) {
    case Kind.ClientRequest:
    case Kind.ClientRequestNoWait:
      return b.length >= FIXED + 13 ? FIXED + 13 + (b[17] as number) : -1;
    case Kind.ClientCall:
      return b.length >= FIXED + 16 ? FIXED + 16 + (b[20] as number) : -1;
    case Kind.ClientReply:
    case Kind.ClientWindow:
    case Kind.WorkerStream:
    case Kind.WorkerWindow:
      return FIXED + 6;
    case Kind.WorkerReady:
      return b.length >= FIXED + 3 ? FIXED + 3 + (b[7] as number) : -1;
    case Kind.WorkerRequest:
    case Kind.WorkerReply:
    case Kind.WorkerPartial:
    case Kind.WorkerCancel:
    case Kind.ClientPartial:
    case Kind.ClientCancel:
    case Kind.Ping:
      return FIXED + 4;
    case Kind.WorkerCredit:
      return FIXED + 2;
    case Kind.Pong:
      return FIXED + 5;
    case Kind.Heartbeat:
    case Kind.Disconnect:
      return FIXED;
    default:
      return -1;
  }
}

/**
 * Decodes the units of a message, from `frames[start]` on, calling `emit`
 * for each unit or rejection. A malformed unit ends the walk (its length is
 * unknown), after what was already decoded.
 */
export function decodeUnits(frames: readonly Buffer[], start: number, emit: (m: StewardMessage | Rejection) => void): void {
  let i = start;
  while (i < frames.length) {
    const b = frames[i] as Buffer;
    if (!isStewardHeader(b)) {
      emit(reject('sw_not_a_unit'));
      return;
    }
    if (!KINDS.has(b[3] as number)) {
      emit(reject('sw_unknown_kind'));
      return;
    }
    const end = fieldsEnd(b);
    if (end < 0 || end > b.length) {
      emit(reject('sw_short_header'));
      return;
    }
    const parts = b[4] as number;
    let body: Buffer[];
    if (parts === INLINE) body = [b.subarray(end)];
    else {
      if (b.length !== end) {
        emit(reject('sw_trailing_bytes'));
        return;
      }
      if (parts === NO_BODY) body = [];
      else {
        if (i + parts >= frames.length) {
          emit(reject('sw_missing_parts'));
          return;
        }
        body = frames.slice(i + 1, i + 1 + parts) as Buffer[];
      }
    }
    i += 1 + (parts === INLINE || parts === NO_BODY ? 0 : parts);
    emit(decodeFields(b, body));
  }
}

function service(b: Buffer, at: number): string | undefined {
  const n = b[at] as number;
  if (n === 0 || n > MAX_SERVICE) return undefined;
  return latin1Name(b, at + 1, at + 1 + n);
}

function decodeFields(b: Buffer, body: Buffer[]): StewardMessage | Rejection {
  switch (b[3]) {
    case Kind.ClientRequest:
    case Kind.ClientRequestNoWait: {
      const requestId = b.readUInt32BE(5);
      const expiresAt = b.readDoubleBE(9);
      if (!Number.isFinite(expiresAt) || expiresAt < 0) {
        return { ...reject('sw_bad_expiration', 'the expiration must be finite Unix ms, not negative (0 for none)'), requestId };
      }
      const name = service(b, 17);
      if (name === undefined) return { ...reject('bad_service_name', 'the service name is empty'), requestId };
      return {
        kind: Kind.ClientRequest,
        requestId,
        wait: b[3] === Kind.ClientRequest,
        call: false,
        window: 0,
        expiresAt,
        service: name,
        serviceBytes: b.subarray(18, 18 + (b[17] as number)),
        body,
      };
    }
    case Kind.ClientCall: {
      const requestId = b.readUInt32BE(5);
      const expiresAt = b.readDoubleBE(9);
      if (!Number.isFinite(expiresAt) || expiresAt < 0) {
        return { ...reject('sw_bad_expiration', 'the expiration must be finite Unix ms, not negative (0 for none)'), requestId };
      }
      const flags = b[19] as number;
      if ((flags & ~CALL_FLAGS) !== 0) return { ...reject('sw_bad_flags', 'unknown call flags'), requestId };
      const stream = (flags & CALL_STREAM) !== 0;
      const window = b.readUInt16BE(17);
      if (stream && window === 0) return { ...reject('sw_bad_window', 'a stream needs a window of 1 to 65535 partial replies'), requestId };
      const name = service(b, 20);
      if (name === undefined) return { ...reject('bad_service_name', 'the service name is empty'), requestId };
      return {
        kind: Kind.ClientRequest,
        requestId,
        wait: (flags & CALL_NOWAIT) === 0,
        call: true,
        window: stream ? window : 0,
        expiresAt,
        service: name,
        serviceBytes: b.subarray(21, 21 + (b[20] as number)),
        body,
      };
    }
    case Kind.ClientReply:
      return { kind: Kind.ClientReply, requestId: b.readUInt32BE(5), status: b.readUInt16BE(9), body };
    case Kind.ClientPartial:
      return { kind: Kind.ClientPartial, requestId: b.readUInt32BE(5), body };
    case Kind.ClientWindow:
      return { kind: Kind.ClientWindow, requestId: b.readUInt32BE(5), credit: b.readUInt16BE(9) };
    case Kind.ClientCancel:
      return { kind: Kind.ClientCancel, requestId: b.readUInt32BE(5) };
    case Kind.WorkerReady: {
      const credit = b.readUInt16BE(5);
      if (credit < 1 || credit > MAX_CREDIT) return reject('bad_credit');
      const name = service(b, 7);
      if (name === undefined) return reject('bad_service_name');
      return { kind: Kind.WorkerReady, credit, service: name };
    }
    case Kind.WorkerRequest:
      return { kind: Kind.WorkerRequest, token: b.readUInt32BE(5), stream: false, window: 0, body };
    case Kind.WorkerStream:
      return { kind: Kind.WorkerRequest, token: b.readUInt32BE(5), stream: true, window: b.readUInt16BE(9), body };
    case Kind.WorkerReply:
      return { kind: Kind.WorkerReply, token: b.readUInt32BE(5), body };
    case Kind.WorkerPartial:
      return { kind: Kind.WorkerPartial, token: b.readUInt32BE(5), body };
    case Kind.WorkerWindow:
      return { kind: Kind.WorkerWindow, token: b.readUInt32BE(5), credit: b.readUInt16BE(9) };
    case Kind.WorkerCancel:
      return { kind: Kind.WorkerCancel, token: b.readUInt32BE(5) };
    case Kind.WorkerCredit: {
      const credit = b.readUInt16BE(5);
      if (credit < 1 || credit > MAX_CREDIT) return reject('bad_credit');
      return { kind: Kind.WorkerCredit, credit };
    }
    case Kind.Ping:
      return { kind: Kind.Ping, nonce: b.readUInt32BE(5) };
    case Kind.Pong:
      return { kind: Kind.Pong, nonce: b.readUInt32BE(5), flags: b[9] as number };
    case Kind.Heartbeat:
      return { kind: Kind.Heartbeat };
    default:
      return { kind: Kind.Disconnect };
  }
}
