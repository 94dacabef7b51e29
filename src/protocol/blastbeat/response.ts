/**
 * What the gateway must know about a backend's response to keep the client's
 * connection in step: where the head ends, and how the body is delimited
 * (Content-Length, chunked `chunk` messages, or the connection's end). The
 * head is forwarded byte for byte; only these fields are read. A head that
 * could desynchronise the client (conflicting lengths, a stray CR) is
 * refused, and the client gets a 502 instead. Pure: no sockets, no XState.
 */
import { reject, type Rejection } from '../codec.js';

export type ResponseFraming =
  /** Exactly `length` body bytes follow the head. */
  | { readonly kind: 'length'; readonly length: number }
  /** The backend sends `chunk` messages; an empty one ends the body. */
  | { readonly kind: 'chunked' }
  /** No length: the body runs until the backend sends `end` (the connection closes then). */
  | { readonly kind: 'close' }
  /** No body at all (HEAD, 1xx, 204, 304). */
  | { readonly kind: 'none' };

export interface ResponseHead {
  readonly type: 'response.head';
  readonly status: number;
  /** Bytes of the head, blank line included; body bytes may follow in the same message. */
  readonly headLength: number;
  readonly framing: ResponseFraming;
  /** The backend asked to close the connection after this response. */
  readonly close: boolean;
  /** 1xx: informational, the final response is still to come (101 is refused). */
  readonly informational: boolean;
}

export interface ResponseLimits {
  readonly maxHeadSize: number;
}

export const DEFAULT_RESPONSE_LIMITS: ResponseLimits = { maxHeadSize: 64 * 1024 };

function findBlankLine(buf: Buffer, limit: number): number {
  const end = Math.min(buf.length, limit);
  for (let i = buf.indexOf(0x0a); i >= 0 && i < end; i = buf.indexOf(0x0a, i + 1)) {
    const next = buf[i + 1];
    if (next === 0x0a) return i + 2;
    if (next === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

const lower = (c: number) => c | 0x20;

/** Whether the field name at `at` (up to the colon at `colon`) is `name` (lower case), ignoring case. */
function nameIs(buf: Buffer, at: number, colon: number, name: string): boolean {
  if (colon - at !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (lower(buf[at + i] as number) !== name.charCodeAt(i)) return false;
  return true;
}

const isOws = (c: number) => c === 0x20 || c === 0x09;

/** A Content-Length value read from the bytes (1 to 15 digits between optional spaces or tabs), or -1. */
function lengthValue(buf: Buffer, from: number, to: number): number {
  let a = from;
  let b = to;
  while (a < b && isOws(buf[a] as number)) a++;
  while (b > a && isOws(buf[b - 1] as number)) b--;
  if (b === a || b - a > 15) return -1;
  let n = 0;
  for (let i = a; i < b; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function hasToken(value: string, token: string): boolean {
  for (const t of value.toLowerCase().split(',')) if (t.trim() === token) return true;
  return false;
}

/**
 * Reads the head at the start of a `headers` message. `requestMethod`
 * decides whether a body may follow (HEAD never has one). Only the fields
 * that frame the body are decoded; the rest is scanned for stray CRs and
 * colons, byte by byte, without building strings.
 */
export function parseResponseHead(buf: Buffer, requestMethod: string, limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS): ResponseHead | Rejection {
  const headLength = findBlankLine(buf, limits.maxHeadSize + 4);
  if (headLength < 0) return reject('bad_response_head', buf.length > limits.maxHeadSize ? 'head too large' : 'no blank line ending the head');
  // Status line: "HTTP/1.x SSS" then end of line or a space and a reason.
  const okPrefix =
    buf.length > 12 &&
    buf[0] === 0x48 && buf[1] === 0x54 && buf[2] === 0x54 && buf[3] === 0x50 && buf[4] === 0x2f && buf[5] === 0x31 && buf[6] === 0x2e &&
    (buf[7] === 0x30 || buf[7] === 0x31) && buf[8] === 0x20;
  const d0 = (buf[9] as number) - 0x30;
  const d1 = (buf[10] as number) - 0x30;
  const d2 = (buf[11] as number) - 0x30;
  const after = buf[12];
  if (!okPrefix || d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || (after !== 0x20 && after !== 0x0d && after !== 0x0a)) {
    return reject('bad_response_head', `status line "${buf.toString('latin1', 0, Math.min(64, buf.indexOf(0x0a) < 0 ? 64 : buf.indexOf(0x0a))).trim()}"`);
  }
  const status = d0 * 100 + d1 * 10 + d2;
  let length: number | undefined;
  let chunked = false;
  let close = false;
  let at = buf.indexOf(0x0a) + 1;
  while (at < headLength) {
    let eol = buf.indexOf(0x0a, at);
    if (eol < 0 || eol >= headLength) eol = headLength - 1;
    let end = eol;
    if (end > at && buf[end - 1] === 0x0d) end -= 1;
    if (end === at) break;
    let colon = -1;
    for (let i = at; i < end; i++) {
      const c = buf[i] as number;
      if (c === 0x0d) return reject('bad_response_head', 'stray CR');
      if (colon < 0 && c === 0x3a) colon = i;
    }
    if (colon <= at) return reject('bad_response_head', `header line "${buf.toString('latin1', at, Math.min(end, at + 64))}"`);
    const first = lower(buf[at] as number);
    if (first === 0x63 /* c */ || first === 0x74 /* t */) {
      if (nameIs(buf, at, colon, 'content-length')) {
        const n = lengthValue(buf, colon + 1, end);
        if (n < 0) return reject('bad_response_head', `Content-Length "${buf.toString('latin1', colon + 1, Math.min(end, colon + 33)).trim()}"`);
        if (length !== undefined && length !== n) return reject('bad_response_head', 'conflicting Content-Length');
        length = n;
      } else if (nameIs(buf, at, colon, 'transfer-encoding')) {
        chunked = hasToken(buf.toString('latin1', colon + 1, end), 'chunked');
      } else if (nameIs(buf, at, colon, 'connection')) {
        close = hasToken(buf.toString('latin1', colon + 1, end), 'close');
      }
    }
    at = eol + 1;
  }
  const informational = status < 200;
  if (status === 101) return reject('bad_response_head', '101 from a backend: the gateway does WebSocket handshakes itself');
  let framing: ResponseFraming;
  if (informational || status === 204 || status === 304 || requestMethod === 'HEAD') framing = NONE;
  else if (chunked) framing = CHUNKED;
  else if (length !== undefined) framing = { kind: 'length', length };
  else framing = CLOSE;
  return { type: 'response.head', status, headLength, framing, close, informational };
}

const NONE: ResponseFraming = { kind: 'none' };
const CHUNKED: ResponseFraming = { kind: 'chunked' };
const CLOSE: ResponseFraming = { kind: 'close' };
