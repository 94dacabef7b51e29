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

/**
 * Reads the head at the start of a `headers` message. `requestMethod`
 * decides whether a body may follow (HEAD never has one).
 */
export function parseResponseHead(buf: Buffer, requestMethod: string, limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS): ResponseHead | Rejection {
  const headLength = findBlankLine(buf, limits.maxHeadSize + 4);
  if (headLength < 0) return reject('bad_response_head', buf.length > limits.maxHeadSize ? 'head too large' : 'no blank line ending the head');
  const text = buf.toString('latin1', 0, headLength);
  const lines = text.split('\n');
  const statusLine = (lines[0] as string).replace(/\r$/, '');
  const m = /^HTTP\/1\.[01] ([1-5][0-9][0-9])(?: .*)?$/.exec(statusLine);
  if (!m) return reject('bad_response_head', `status line "${statusLine.slice(0, 64)}"`);
  const status = Number(m[1]);
  let length: number | undefined;
  let chunked = false;
  let close = false;
  for (let i = 1; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length === 0) continue;
    if (line.includes('\r')) return reject('bad_response_head', 'stray CR');
    const colon = line.indexOf(':');
    if (colon <= 0) return reject('bad_response_head', `header line "${line.slice(0, 64)}"`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^[0-9]{1,15}$/.test(value)) return reject('bad_response_head', `Content-Length "${value.slice(0, 32)}"`);
      const n = Number(value);
      if (length !== undefined && length !== n) return reject('bad_response_head', 'conflicting Content-Length');
      length = n;
    } else if (name === 'transfer-encoding') {
      chunked = value.toLowerCase().split(',').some((t) => t.trim() === 'chunked');
    } else if (name === 'connection') {
      close = value.toLowerCase().split(',').some((t) => t.trim() === 'close');
    }
  }
  const informational = status < 200;
  if (status === 101) return reject('bad_response_head', '101 from a backend: the gateway does WebSocket handshakes itself');
  let framing: ResponseFraming;
  if (informational || status === 204 || status === 304 || requestMethod === 'HEAD') framing = { kind: 'none' };
  else if (chunked) framing = { kind: 'chunked' };
  else if (length !== undefined) framing = { kind: 'length', length };
  else framing = { kind: 'close' };
  return { type: 'response.head', status, headLength, framing, close, informational };
}
