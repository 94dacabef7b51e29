/**
 * How steward's ZMTP sockets (zmtp-router.ts, zmtp-dealer-socket.ts) put a
 * burst of messages on a connection: one write, or one corked writev when
 * some frames are big. Frames up to COPY_LIMIT are copied into one buffer
 * with every header; bigger ones are written as they are beside it, so
 * forwarding a big body never allocates and copies it again: with 16 KiB
 * bodies, a fresh 16 KiB buffer per message was most of a broker's
 * garbage-collection time.
 */
import type * as net from 'node:net';
import { writeFrameHeader, writeMessage } from '../protocol/zmtp/frames.js';

export const COPY_LIMIT = 2 * 1024;

/**
 * Writes each message's frames from index `from` (a ROUTER skips the routing id) to `socket`;
 * `total` is their encoded size (`encodedSize(frames, from)` summed).
 */
export function writeMessages(socket: net.Socket, messages: readonly Buffer[][], from: number, total: number): void {
  let bigBytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Buffer[];
    for (let f = from; f < m.length; f++) {
      const n = (m[f] as Buffer).length;
      if (n > COPY_LIMIT) bigBytes += n;
    }
  }
  if (bigBytes > 0) {
    writeMixed(socket, messages, from, total - bigBytes);
    return;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < messages.length; i++) at = writeMessage(out, at, messages[i] as Buffer[], from);
  socket.write(out);
}

/**
 * Messages with big frames, as one writev: headers and small frames copied in order into one buffer of
 * `smallBytes`, each big frame written as it is between the pieces of that buffer (the socket is corked).
 */
function writeMixed(socket: net.Socket, messages: readonly Buffer[][], from: number, smallBytes: number): void {
  const small = Buffer.allocUnsafe(smallBytes);
  let at = 0;
  let start = 0;
  socket.cork();
  for (let i = 0; i < messages.length; i++) {
    const frames = messages[i] as Buffer[];
    const last = frames.length - 1;
    for (let f = from; f <= last; f++) {
      const frame = frames[f] as Buffer;
      at = writeFrameHeader(small, at, frame.length, f < last);
      if (frame.length <= COPY_LIMIT) {
        at += frame.copy(small, at);
        continue;
      }
      socket.write(small.subarray(start, at));
      socket.write(frame);
      start = at;
    }
  }
  if (at > start) socket.write(small.subarray(start, at));
  socket.uncork();
}
