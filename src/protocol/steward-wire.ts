/**
 * steward's compact wire, spoken between steward's own clients, workers and
 * brokers. MDP/0.1 and butler stay on the same sockets for everyone else;
 * this exists because zeromq.js pays per message part: a request and its
 * reply cross the broker as 25 parts in MDP (with the tagged client) and as
 * 12 here, which is most of the broker's cost per request.
 *
 * Every message is [header, body...]; through a ROUTER the peer's routing id
 * comes first. The header is binary, big-endian:
 *
 *   0  'S' 'W'          magic
 *   2  0x01             version
 *   3  kind             one of Kind below
 *   4  fields of the kind
 *
 *   CLIENT_REQUEST  u32 request id, f64 expiration (Unix ms, 0 = none), u8 n, service (n bytes)
 *   CLIENT_REPLY    u32 request id, u16 status (200 ok, 404/410/501/503/504 as in tagged.ts), then body
 *   WORKER_READY    u16 credit, u8 n, service (n bytes)
 *   WORKER_REQUEST  u32 token (opaque to the worker, echoed in its reply)
 *   WORKER_REPLY    u32 token
 *   HEARTBEAT       (none)        both directions
 *   DISCONNECT      (none)        both directions
 *
 * Nothing here throws on bad input: decoders return a Rejection.
 */
import { reject, type Rejection } from './codec.js';

export const SW_VERSION = 0x01;

export const enum Kind {
  ClientRequest = 0x11,
  ClientReply = 0x12,
  WorkerReady = 0x21,
  WorkerRequest = 0x22,
  WorkerReply = 0x23,
  Heartbeat = 0x31,
  Disconnect = 0x32,
}

const HEAD = 4;
const MAX_SERVICE = 255;
const MAX_CREDIT = 10_000;

/** True when a frame starts a compact header (checked before any other dialect). */
export function isStewardHeader(frame: Buffer): boolean {
  return frame.length >= HEAD && frame[0] === 0x53 && frame[1] === 0x57 && frame[2] === SW_VERSION;
}

function head(kind: Kind, extra: number): Buffer {
  const b = Buffer.allocUnsafe(HEAD + extra);
  b[0] = 0x53;
  b[1] = 0x57;
  b[2] = SW_VERSION;
  b[3] = kind;
  return b;
}

const HEARTBEAT_FRAME = head(Kind.Heartbeat, 0);
const DISCONNECT_FRAME = head(Kind.Disconnect, 0);

// ---- encoders ----

export function clientRequestHeader(requestId: number, expiresAt: number, service: string): Buffer {
  const n = Buffer.byteLength(service, 'latin1');
  const b = head(Kind.ClientRequest, 4 + 8 + 1 + n);
  b.writeUInt32BE(requestId >>> 0, 4);
  b.writeDoubleBE(expiresAt, 8);
  b[16] = n;
  b.write(service, 17, 'latin1');
  return b;
}

export function clientReplyHeader(requestId: number, status: number): Buffer {
  const b = head(Kind.ClientReply, 6);
  b.writeUInt32BE(requestId >>> 0, 4);
  b.writeUInt16BE(status, 8);
  return b;
}

export function workerReadyHeader(service: string, credit: number): Buffer {
  const n = Buffer.byteLength(service, 'latin1');
  const b = head(Kind.WorkerReady, 2 + 1 + n);
  b.writeUInt16BE(credit, 4);
  b[6] = n;
  b.write(service, 7, 'latin1');
  return b;
}

export function workerRequestHeader(token: number): Buffer {
  const b = head(Kind.WorkerRequest, 4);
  b.writeUInt32BE(token >>> 0, 4);
  return b;
}

export function workerReplyHeader(token: number): Buffer {
  const b = head(Kind.WorkerReply, 4);
  b.writeUInt32BE(token >>> 0, 4);
  return b;
}

export function heartbeatHeader(): Buffer {
  return HEARTBEAT_FRAME;
}

export function disconnectHeader(): Buffer {
  return DISCONNECT_FRAME;
}

// ---- decoders ----

export type StewardMessage =
  | { readonly kind: Kind.ClientRequest; readonly requestId: number; readonly expiresAt: number; readonly service: string }
  | { readonly kind: Kind.ClientReply; readonly requestId: number; readonly status: number }
  | { readonly kind: Kind.WorkerReady; readonly credit: number; readonly service: string }
  | { readonly kind: Kind.WorkerRequest; readonly token: number }
  | { readonly kind: Kind.WorkerReply; readonly token: number }
  | { readonly kind: Kind.Heartbeat }
  | { readonly kind: Kind.Disconnect };

function service(b: Buffer, at: number): string | undefined {
  if (b.length < at + 1) return undefined;
  const n = b[at] as number;
  if (n === 0 || n > MAX_SERVICE || b.length !== at + 1 + n) return undefined;
  return b.toString('latin1', at + 1, at + 1 + n);
}

/** Decodes a compact header frame (call `isStewardHeader` first). */
export function decodeStewardHeader(b: Buffer): StewardMessage | Rejection {
  switch (b[3]) {
    case Kind.ClientRequest: {
      if (b.length < 17) return reject('sw_short_header');
      const expiresAt = b.readDoubleBE(8);
      if (!Number.isFinite(expiresAt) || expiresAt < 0) return reject('sw_bad_expiration');
      const name = service(b, 16);
      if (name === undefined) return reject('bad_service_name');
      return { kind: Kind.ClientRequest, requestId: b.readUInt32BE(4), expiresAt, service: name };
    }
    case Kind.ClientReply:
      if (b.length !== 10) return reject('sw_short_header');
      return { kind: Kind.ClientReply, requestId: b.readUInt32BE(4), status: b.readUInt16BE(8) };
    case Kind.WorkerReady: {
      if (b.length < 8) return reject('sw_short_header');
      const credit = b.readUInt16BE(4);
      if (credit < 1 || credit > MAX_CREDIT) return reject('bad_credit');
      const name = service(b, 6);
      if (name === undefined) return reject('bad_service_name');
      return { kind: Kind.WorkerReady, credit, service: name };
    }
    case Kind.WorkerRequest:
      return b.length === 8 ? { kind: Kind.WorkerRequest, token: b.readUInt32BE(4) } : reject('sw_short_header');
    case Kind.WorkerReply:
      return b.length === 8 ? { kind: Kind.WorkerReply, token: b.readUInt32BE(4) } : reject('sw_short_header');
    case Kind.Heartbeat:
      return b.length === HEAD ? { kind: Kind.Heartbeat } : reject('sw_bad_heartbeat');
    case Kind.Disconnect:
      return b.length === HEAD ? { kind: Kind.Disconnect } : reject('sw_bad_disconnect');
    default:
      return reject('sw_unknown_kind');
  }
}
