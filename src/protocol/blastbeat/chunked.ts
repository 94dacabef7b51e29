/**
 * Chunked transfer coding (RFC 9112 7.1): a byte-at-a-time decoder for
 * request bodies that arrive split anywhere, and the encoder that frames a
 * backend's `chunk` messages. Pure: no sockets, no XState.
 */

export interface ChunkedLimits {
  /** The decoded body, all chunks together. */
  readonly maxBodySize: number;
  /** A size line with its extensions, and each trailer line. */
  readonly maxLineLength: number;
  /** All trailer lines together. */
  readonly maxTrailerSize: number;
}

export type ChunkedResult =
  | { readonly kind: 'data'; readonly data: Buffer; readonly consumed: number }
  | { readonly kind: 'more'; readonly consumed: number }
  | { readonly kind: 'done'; readonly consumed: number }
  | { readonly kind: 'error'; readonly reason: 'bad_chunk' | 'body_too_large'; readonly detail: string };

const enum S {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  FinalLf,
  Done,
}

const MAX_SIZE_DIGITS = 12;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Feed it bytes with `next(buf, at)`; it returns the next piece of body data
 * (a view into `buf`, never a copy), asks for more input, or reports the end
 * or a malformed coding. Trailer fields are read and discarded: the gateway
 * has already forwarded the head.
 */
export class ChunkedDecoder {
  private state: S = S.Size;
  private size = 0;
  private digits = 0;
  private remaining = 0;
  private lineLength = 0;
  private trailerBytes = 0;
  private total = 0;

  constructor(private readonly limits: ChunkedLimits) {}

  get done(): boolean {
    return this.state === S.Done;
  }

  next(buf: Buffer, at: number): ChunkedResult {
    let i = at;
    const n = buf.length;
    while (i < n) {
      const c = buf[i] as number;
      switch (this.state) {
        case S.Size: {
          const h = hexValue(c);
          if (h >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) return this.fail('bad_chunk', 'chunk size too long');
            this.size = this.size * 16 + h;
            i++;
            break;
          }
          if (this.digits === 0) return this.fail('bad_chunk', 'missing chunk size');
          if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) {
            this.state = S.Ext;
            this.lineLength = this.digits + 1;
            i++;
          } else if (c === 0x0d) {
            this.state = S.SizeLf;
            i++;
          } else if (c === 0x0a) {
            i++;
            this.endSizeLine();
          } else return this.fail('bad_chunk', `unexpected byte 0x${c.toString(16)} in chunk size`);
          break;
        }
        case S.Ext:
          if (c === 0x0d) this.state = S.SizeLf;
          else if (c === 0x0a) {
            i++;
            this.endSizeLine();
            break;
          } else if (++this.lineLength > this.limits.maxLineLength) return this.fail('bad_chunk', 'chunk extension too long');
          i++;
          break;
        case S.SizeLf:
          if (c !== 0x0a) return this.fail('bad_chunk', 'CR without LF after chunk size');
          i++;
          this.endSizeLine();
          break;
        case S.Data: {
          if (this.total + this.size > this.limits.maxBodySize) {
            return this.fail('body_too_large', `chunked body over ${this.limits.maxBodySize} bytes`);
          }
          const take = Math.min(this.remaining, n - i);
          const data = buf.subarray(i, i + take);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) {
            this.total += this.size;
            this.state = S.DataCr;
          }
          return { kind: 'data', data, consumed: i - at };
        }
        case S.DataCr:
          if (c === 0x0d) this.state = S.DataLf;
          else if (c === 0x0a) this.startSize();
          else return this.fail('bad_chunk', 'chunk data longer than its size');
          i++;
          break;
        case S.DataLf:
          if (c !== 0x0a) return this.fail('bad_chunk', 'CR without LF after chunk data');
          this.startSize();
          i++;
          break;
        case S.TrailerStart:
          if (c === 0x0d) this.state = S.FinalLf;
          else if (c === 0x0a) {
            this.state = S.Done;
            return { kind: 'done', consumed: i + 1 - at };
          } else {
            this.state = S.Trailer;
            this.lineLength = 1;
            this.trailerBytes += 1;
          }
          i++;
          break;
        case S.Trailer:
          if (c === 0x0d) this.state = S.TrailerLf;
          else if (c === 0x0a) this.state = S.TrailerStart;
          else if (++this.lineLength > this.limits.maxLineLength || ++this.trailerBytes > this.limits.maxTrailerSize) {
            return this.fail('bad_chunk', 'trailer too large');
          }
          i++;
          break;
        case S.TrailerLf:
          if (c !== 0x0a) return this.fail('bad_chunk', 'CR without LF in trailer');
          this.state = S.TrailerStart;
          i++;
          break;
        case S.FinalLf:
          if (c !== 0x0a) return this.fail('bad_chunk', 'CR without LF at the end of the body');
          this.state = S.Done;
          return { kind: 'done', consumed: i + 1 - at };
        case S.Done:
          return { kind: 'done', consumed: i - at };
      }
    }
    return { kind: 'more', consumed: i - at };
  }

  private endSizeLine(): void {
    if (this.size === 0) {
      this.state = S.TrailerStart;
      return;
    }
    this.remaining = this.size;
    this.state = S.Data;
  }

  private startSize(): void {
    this.state = S.Size;
    this.size = 0;
    this.digits = 0;
  }

  private fail(reason: 'bad_chunk' | 'body_too_large', detail: string): ChunkedResult {
    return { kind: 'error', reason, detail };
  }
}

const CRLF = Buffer.from('\r\n');
/** The last chunk and an empty trailer: ends a chunked response. */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** The line that opens a chunk of `size` bytes: hex size, CRLF. */
export function chunkHeader(size: number): Buffer {
  return Buffer.from(`${size.toString(16)}\r\n`, 'latin1');
}

/** The CRLF that closes a chunk's data. */
export const CHUNK_END: Buffer = Buffer.from('\r\n');

/** One chunk: hex size, CRLF, data, CRLF, as one buffer (one socket write). */
export function encodeChunk(data: Buffer): Buffer {
  if (data.length === 0) return LAST_CHUNK;
  const size = data.length.toString(16);
  const out = Buffer.allocUnsafe(size.length + 2 + data.length + 2);
  out.write(size, 0, 'latin1');
  CRLF.copy(out, size.length);
  data.copy(out, size.length + 2);
  CRLF.copy(out, size.length + 2 + data.length);
  return out;
}
