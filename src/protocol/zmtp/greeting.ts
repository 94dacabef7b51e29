/**
 * The ZMTP 3.x greeting (ZeroMQ RFC 23 and 37): the 64 bytes each peer sends
 * first, before any frame.
 *
 *   bytes 0-9    signature: 0xFF, 8 bytes of padding, 0x7F
 *   byte 10      version major (3)
 *   byte 11      version minor (1)
 *   bytes 12-31  mechanism, ASCII, null padded ("NULL")
 *   byte 32      as-server (0 for NULL)
 *   bytes 33-63  filler, zeros
 *
 * Only what steward's own ZMTP transport needs: the NULL mechanism, peers
 * of ZMTP 3.0 and later (libzmq 4.x and every binding on it). A peer that
 * announces an older version or another mechanism is refused: the caller
 * closes the connection, as libzmq does. Pure: no sockets.
 */
import { reject, type Rejection } from '../codec.js';

export const GREETING_SIZE = 64;
export const NULL_MECHANISM = 'NULL';

const MECHANISM_AT = 12;
const MECHANISM_SIZE = 20;

/** Ours: ZMTP 3.1, NULL, not a server in the security sense (the NULL mechanism has no roles). */
export function encodeGreeting(mechanism: string = NULL_MECHANISM): Buffer {
  const out = Buffer.alloc(GREETING_SIZE);
  out[0] = 0xff;
  out[9] = 0x7f;
  out[10] = 3;
  out[11] = 1;
  out.write(mechanism, MECHANISM_AT, MECHANISM_SIZE, 'ascii');
  return out;
}

export interface Greeting {
  readonly type: 'zmtp.greeting';
  readonly major: number;
  readonly minor: number;
  readonly mechanism: string;
  readonly asServer: boolean;
}

/**
 * Reads a peer's greeting from its first bytes: `undefined` while fewer than
 * 64 have come (after a check of what has: an old peer is refused at once,
 * not after waiting for bytes it will never send).
 */
export function readGreeting(bytes: Buffer): Greeting | Rejection | undefined {
  if (bytes.length > 0 && bytes[0] !== 0xff) return reject('zmtp_bad_signature', 'ZMTP 1.0 peer or not ZMTP');
  // ZMTP 2.0 and later end the signature with 0x7F (bit 0 set); ZMTP 1.0 sent a length there.
  if (bytes.length > 9 && ((bytes[9] as number) & 1) === 0) return reject('zmtp_bad_signature', 'ZMTP 1.0 peer');
  if (bytes.length > 10 && (bytes[10] as number) < 3) return reject('zmtp_old_version', `ZMTP ${bytes[10]}.x peer, 3.0 or later needed`);
  if (bytes.length < GREETING_SIZE) return undefined;
  let end = MECHANISM_AT;
  while (end < MECHANISM_AT + MECHANISM_SIZE && bytes[end] !== 0) end++;
  return {
    type: 'zmtp.greeting',
    major: bytes[10] as number,
    minor: bytes[11] as number,
    mechanism: bytes.toString('ascii', MECHANISM_AT, end),
    asServer: bytes[32] === 1,
  };
}
