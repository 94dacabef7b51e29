/**
 * The client side of one HTTP/1.1 connection as a stream of items: request
 * heads, body pieces (views into the received buffers, never copies) and
 * body ends, in order, with keep-alive and pipelining. The reader asks for a
 * head only when it is ready for the next request, so pipelined requests wait
 * in the buffer while a response is in flight. A head sent a byte at a time
 * costs O(n): arriving bytes are scanned once for the blank line and joined
 * only when it is found. Pure: no sockets, no XState.
 */
import { ByteQueue } from './byte-queue.js';
import { ChunkedDecoder } from './chunked.js';
import { DEFAULT_HEAD_LIMITS, parseRequestHead, type HeadLimits, type HeadRejection, type RequestHead } from './http-head.js';

export type BodyItem =
  | { readonly kind: 'data'; readonly data: Buffer }
  | { readonly kind: 'end' }
  /** A malformed chunked coding or a body over the limit: the connection's byte position is lost. */
  | { readonly kind: 'error'; readonly reason: 'bad_chunk' | 'body_too_large'; readonly detail: string };

type BodyState =
  | { readonly kind: 'length'; remaining: number }
  | { readonly kind: 'chunked'; readonly decoder: ChunkedDecoder };

const END: BodyItem = { kind: 'end' };
const MAX_CHUNK_LINE = 4096;

export class RequestStream {
  /** Received bytes not yet consumed. */
  private readonly bytes = new ByteQueue();
  /** How far the current head has been scanned for its blank line, and the match state there. */
  private scanned = 0;
  private lfSeen = 0;
  private body: BodyState | undefined;

  constructor(private readonly limits: HeadLimits = DEFAULT_HEAD_LIMITS) {}

  /** Bytes received and not yet handed out. */
  get buffered(): number {
    return this.bytes.size;
  }

  /** Whether the current request still has body bytes to come. */
  get inBody(): boolean {
    return this.body !== undefined;
  }

  push(data: Buffer): void {
    this.bytes.push(data);
  }

  /**
   * The next request head when a whole one is buffered; undefined when more
   * bytes are needed; a rejection when the head is malformed or too large
   * (the connection is then unusable: its byte position is lost).
   */
  readHead(): { type: 'head'; head: RequestHead } | HeadRejection | undefined {
    if (this.body !== undefined) throw new Error('readHead while a body is pending');
    // A stray CRLF between requests is allowed (RFC 9112 2.2).
    this.skipLeadingNewlines();
    const end = this.findHeadEnd();
    if (end < 0) {
      if (this.bytes.size > this.limits.maxHeadSize) return { type: 'rejected', reason: 'head_too_large', detail: `over ${this.limits.maxHeadSize} bytes` };
      return undefined;
    }
    if (end > this.limits.maxHeadSize) return { type: 'rejected', reason: 'head_too_large', detail: `${end} > ${this.limits.maxHeadSize} bytes` };
    const raw = this.bytes.take(end);
    this.scanned = 0;
    this.lfSeen = 0;
    // Drop the blank line and the line end before it: the parser gets the lines only.
    let textEnd = raw.length;
    while (textEnd > 0 && (raw[textEnd - 1] === 0x0a || raw[textEnd - 1] === 0x0d)) textEnd--;
    const result = parseRequestHead(raw.toString('latin1', 0, textEnd), this.limits);
    if (result.type === 'head') {
      const framing = result.head.body;
      if (framing.kind === 'length') this.body = { kind: 'length', remaining: framing.length };
      else if (framing.kind === 'chunked') {
        this.body = {
          kind: 'chunked',
          decoder: new ChunkedDecoder({
            maxBodySize: this.limits.maxBodySize,
            maxLineLength: MAX_CHUNK_LINE,
            maxTrailerSize: this.limits.maxHeadSize,
          }),
        };
      }
    }
    return result;
  }

  /** The next piece of the current body, its end, a malformed coding, or undefined when more bytes are needed. */
  readBody(): BodyItem | undefined {
    const body = this.body;
    if (body === undefined) return undefined;
    if (body.kind === 'length') {
      if (body.remaining === 0) {
        this.body = undefined;
        return END;
      }
      if (this.bytes.size === 0) return undefined;
      const first = this.bytes.chunk(0);
      const start = this.bytes.start;
      const take = Math.min(body.remaining, first.length - start);
      const data = first.subarray(start, start + take);
      this.bytes.skip(take);
      body.remaining -= take;
      return { kind: 'data', data };
    }
    while (this.bytes.size > 0) {
      const r = body.decoder.next(this.bytes.chunk(0), this.bytes.start);
      if (r.kind === 'error') return r;
      this.bytes.skip(r.consumed);
      if (r.kind === 'data') return { kind: 'data', data: r.data };
      if (r.kind === 'done') {
        this.body = undefined;
        return END;
      }
    }
    return undefined;
  }

  /** Everything buffered, for the protocol that takes over after an upgrade. */
  takeRest(): Buffer {
    return this.bytes.take(this.bytes.size);
  }

  private skipLeadingNewlines(): void {
    while (this.bytes.size > 0 && this.scanned === 0) {
      const c = this.bytes.chunk(0)[this.bytes.start];
      if (c !== 0x0d && c !== 0x0a) return;
      this.bytes.skip(1);
    }
  }

  /** Offset just past the blank line ending the head, or -1; scans each byte once across calls. */
  private findHeadEnd(): number {
    let pos = 0;
    let lf = this.lfSeen;
    const limit = this.limits.maxHeadSize + 4;
    for (let ci = 0; ci < this.bytes.chunkCount; ci++) {
      const chunk = this.bytes.chunk(ci);
      const start = ci === 0 ? this.bytes.start : 0;
      const len = chunk.length - start;
      if (pos + len <= this.scanned) {
        pos += len;
        continue;
      }
      let i = start + (this.scanned > pos ? this.scanned - pos : 0);
      for (; i < chunk.length; i++) {
        const c = chunk[i] as number;
        if (c === 0x0a) {
          if (++lf === 2) {
            this.lfSeen = 0;
            return pos + (i - start) + 1;
          }
        } else if (c !== 0x0d) lf = 0;
        if (pos + (i - start) > limit) break;
      }
      pos += len;
    }
    this.scanned = pos;
    this.lfSeen = lf;
    return -1;
  }
}
