/**
 * Received bytes waiting to be parsed, as a list of chunks: pushing never
 * copies, and bytes are joined only when a caller takes a span that crosses
 * chunks. Keeps a frame that arrives in many small reads O(n).
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private offset = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** How many received chunks are held (for scanners that walk them in place). */
  get chunkCount(): number {
    return this.chunks.length;
  }

  /** Chunk i, oldest first; its bytes before `start` have been consumed when i is 0. */
  chunk(i: number): Buffer {
    return this.chunks[i] as Buffer;
  }

  /** Where the unconsumed bytes of the first chunk begin. */
  get start(): number {
    return this.offset;
  }

  push(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.count += data.length;
  }

  /** The byte at position i from the start, or -1 past the end. */
  byteAt(i: number): number {
    let at = i + this.offset;
    for (const chunk of this.chunks) {
      if (at < chunk.length) return chunk[at] as number;
      at -= chunk.length;
    }
    return -1;
  }

  /** The next n bytes (n <= size) as one buffer: a view when they sit in one chunk, a copy otherwise. */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0] as Buffer;
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const take = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + take);
      filled += take;
      this.skip(take);
    }
    return out;
  }

  skip(n: number): void {
    this.count -= n;
    this.offset += n;
    while (this.chunks.length > 0 && this.offset >= (this.chunks[0] as Buffer).length) {
      this.offset -= (this.chunks[0] as Buffer).length;
      this.chunks.shift();
    }
    if (this.chunks.length === 0) {
      this.offset = 0;
      // An emptied array keeps its backing store; a connection that goes idle should not (an idle WebSocket
      // keeps two of these queues for its whole life).
      this.chunks = [];
    }
  }
}
