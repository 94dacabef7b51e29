/**
 * A body as a library user gives it, a request's (`client.call`) or a
 * reply's (a worker's handler): text, bytes, or several frames of either.
 */
export type ReplyBody = Buffer | Uint8Array | string | readonly (Buffer | Uint8Array | string)[];

/** A body's frames, as they go on the wire: text as UTF-8, bytes without a copy. */
export function toFrames(body: ReplyBody): Buffer[] {
  if (typeof body === 'string') return [Buffer.from(body)];
  if (Buffer.isBuffer(body)) return [body];
  if (body instanceof Uint8Array) return [Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
  return (body as readonly (Buffer | Uint8Array | string)[]).map((b) =>
    typeof b === 'string' ? Buffer.from(b) : Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}
