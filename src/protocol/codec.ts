/**
 * The contract between a socket adapter and a protocol: frames to a typed
 * message or a Rejection, typed message to frames. Decoders never throw; a
 * Rejection's reason becomes a label on the drop counter.
 */
export interface Rejection {
  readonly type: 'rejected';
  readonly reason: string;
  readonly detail?: string;
}

export const reject = (reason: string, detail?: string): Rejection =>
  detail === undefined ? { type: 'rejected', reason } : { type: 'rejected', reason, detail };

export function isRejection(value: { type: string }): value is Rejection {
  return value.type === 'rejected';
}

/**
 * One message usually decodes to one typed message; a wire that batches
 * (steward's compact wire) may yield several, and rejections among them.
 */
export type Decoded<In> = In | Rejection | readonly (In | Rejection)[];

export interface Codec<In extends { type: string }, Out> {
  decode(frames: Buffer[]): Decoded<In>;
  encode(message: Out): Buffer[];
}

/** Frames in, frames out: for owners that build frames themselves (the broker forwards opaque bodies). */
export const rawCodec: Codec<{ type: 'frames'; frames: Buffer[] }, Buffer[]> = {
  decode: (frames) => ({ type: 'frames', frames }),
  encode: (frames) => frames,
};

/** For owners that build their frames themselves: decodes with `decode`, sends frames as they are. */
export function decodingCodec<In extends { type: string }>(decode: (frames: Buffer[]) => Decoded<In>): Codec<In, Buffer[]> {
  return { decode, encode: (frames) => frames };
}

/** For a socket that only sends (a PUB): whatever it reads is refused with `reason`. */
export function sendOnlyCodec<In extends { type: string }>(reason: string): Codec<In, Buffer[]> {
  return { decode: () => reject(reason), encode: (frames) => frames };
}
