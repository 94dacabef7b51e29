/**
 * The uwsgi packet BlastBeat sends as a request head (docs/gateway.md "The uwsgi packet"):
 *
 *   byte 0      modifier1 = 0
 *   bytes 1-2   uint16 little-endian TOTAL packet length, this 4-byte header
 *               included (BlastBeat's quirk: standard uwsgi counts only the vars)
 *   byte 3      modifier2 = 0
 *   then pairs  uint16 LE key length, key bytes, uint16 LE value length, value bytes
 *
 * Strings are written as latin1 so that header bytes pass through unchanged
 * (HTTP heads are parsed as latin1 too). Pure: no sockets, no XState.
 */
import { reject, type Rejection } from '../codec.js';

export const UWSGI_HEADER_SIZE = 4;
/** The length field is 16 bits and counts the whole packet. */
export const UWSGI_MAX_PACKET = 0xffff;

export type UwsgiVar = readonly [key: string, value: string];

export interface UwsgiPacket {
  readonly type: 'uwsgi';
  readonly vars: UwsgiVar[];
}

/** Which length convention a packet uses: BlastBeat's (total) or uwsgi's own (vars only). */
export type UwsgiLengthConvention = 'blastbeat' | 'standard';

function length16(n: number): string {
  return String.fromCharCode(n & 0xff, n >>> 8);
}

/**
 * Encodes the vars in order; a packet that would not fit 16 bits is refused,
 * never truncated. Strings are latin1: one byte per character (a character
 * above U+00FF would keep only its low byte; HTTP heads parsed as latin1 have
 * none). The packet is built as one latin1 string and written once, which is
 * several times faster than a write per key and value.
 */
export function encodeUwsgi(vars: readonly UwsgiVar[], convention: UwsgiLengthConvention = 'blastbeat'): Buffer | Rejection {
  let body = '';
  for (let i = 0; i < vars.length; i++) {
    const pair = vars[i] as UwsgiVar;
    const k = pair[0];
    const v = pair[1];
    if (k.length > UWSGI_MAX_PACKET || v.length > UWSGI_MAX_PACKET) return reject('uwsgi_var_too_large', k.slice(0, 64));
    body += length16(k.length) + k + length16(v.length) + v;
    if (body.length > UWSGI_MAX_PACKET) break;
  }
  if (UWSGI_HEADER_SIZE + body.length > UWSGI_MAX_PACKET) return reject('uwsgi_too_large', `over ${UWSGI_MAX_PACKET} bytes`);
  return uwsgiPacket(body, convention);
}

/** The header and the already encoded vars (a latin1 string of pairs, at most 65531 bytes). */
export function uwsgiPacket(vars: string, convention: UwsgiLengthConvention = 'blastbeat'): Buffer {
  const size = UWSGI_HEADER_SIZE + vars.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = 0;
  out.writeUInt16LE(convention === 'blastbeat' ? size : size - UWSGI_HEADER_SIZE, 1);
  out[3] = 0;
  out.write(vars, UWSGI_HEADER_SIZE, 'latin1');
  return out;
}

export interface UwsgiDecodeOptions {
  readonly convention?: UwsgiLengthConvention;
  /** Vars accepted at most in one packet. */
  readonly maxVars?: number;
}

/**
 * Walks a whole packet, handing each var to `visit`; every inconsistency is
 * a Rejection naming it. One string conversion for the whole packet: latin1
 * maps byte offsets to string offsets one to one.
 */
export function visitUwsgi(packet: Buffer, visit: (key: string, value: string) => void, options: UwsgiDecodeOptions = {}): Rejection | undefined {
  const convention = options.convention ?? 'blastbeat';
  const maxVars = options.maxVars ?? 1024;
  if (packet.length < UWSGI_HEADER_SIZE) return reject('uwsgi_truncated', `${packet.length} bytes, header needs 4`);
  if (packet[0] !== 0) return reject('uwsgi_bad_modifier', `modifier1 ${packet[0]}`);
  const declared = packet.readUInt16LE(1);
  const expected = convention === 'blastbeat' ? packet.length : packet.length - UWSGI_HEADER_SIZE;
  if (declared !== expected) {
    return reject('uwsgi_bad_length', `header says ${declared}, packet has ${expected} (${convention} convention)`);
  }
  const text = packet.toString('latin1');
  let count = 0;
  let at = UWSGI_HEADER_SIZE;
  while (at < packet.length) {
    if (count >= maxVars) return reject('uwsgi_too_many_vars', `more than ${maxVars}`);
    if (at + 2 > packet.length) return reject('uwsgi_truncated', 'key length');
    const kLen = (packet[at] as number) | ((packet[at + 1] as number) << 8);
    at += 2;
    if (at + kLen > packet.length) return reject('uwsgi_truncated', 'key');
    if (kLen === 0) return reject('uwsgi_empty_key');
    const key = text.slice(at, at + kLen);
    at += kLen;
    if (at + 2 > packet.length) return reject('uwsgi_truncated', `value length of ${key}`);
    const vLen = (packet[at] as number) | ((packet[at + 1] as number) << 8);
    at += 2;
    if (at + vLen > packet.length) return reject('uwsgi_truncated', `value of ${key}`);
    visit(key, text.slice(at, at + vLen));
    count += 1;
    at += vLen;
  }
  return undefined;
}

/** Decodes a whole packet into its vars, in order. */
export function decodeUwsgi(packet: Buffer, options: UwsgiDecodeOptions = {}): UwsgiPacket | Rejection {
  const vars: UwsgiVar[] = [];
  const failed = visitUwsgi(packet, (k, v) => vars.push([k, v]), options);
  return failed ?? { type: 'uwsgi', vars };
}

/** Decodes a whole packet into a record (a repeated key keeps its last value, as WSGI environs do). */
export function decodeUwsgiRecord(packet: Buffer, options: UwsgiDecodeOptions = {}): { readonly type: 'uwsgi.record'; readonly vars: Record<string, string> } | Rejection {
  const vars: Record<string, string> = {};
  const failed = visitUwsgi(
    packet,
    (k, v) => {
      vars[k] = v;
    },
    options,
  );
  return failed ?? { type: 'uwsgi.record', vars };
}

/** The vars as a record (a repeated key keeps its last value, as WSGI environs do). */
export function uwsgiRecord(vars: readonly UwsgiVar[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < vars.length; i++) {
    const pair = vars[i] as UwsgiVar;
    out[pair[0]] = pair[1];
  }
  return out;
}
