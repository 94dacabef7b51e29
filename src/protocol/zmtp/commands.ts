/**
 * ZMTP commands (RFC 37): a single frame with the COMMAND flag whose body is
 * `u8 name length | name | data`. The NULL handshake is one READY each way,
 * carrying metadata properties (`u8 name length | name | u32 BE value length
 * | value`); PING asks for a PONG carrying its context (ZMTP 3.1 heartbeats).
 * Pure: no sockets.
 */
import { reject, type Rejection } from '../codec.js';
import { FLAG_COMMAND, FLAG_LONG } from './frames.js';

export interface ZmtpCommand {
  readonly type: 'zmtp.command';
  readonly name: string;
  readonly data: Buffer;
}

/** The whole command frame: flags, size, body. */
export function encodeCommand(name: string, data: Buffer): Buffer {
  const bodySize = 1 + name.length + data.length;
  const long = bodySize > 255;
  const header = long ? 9 : 2;
  const out = Buffer.allocUnsafe(header + bodySize);
  out[0] = FLAG_COMMAND | (long ? FLAG_LONG : 0);
  if (long) out.writeBigUInt64BE(BigInt(bodySize), 1);
  else out[1] = bodySize;
  out[header] = name.length;
  out.write(name, header + 1, 'ascii');
  data.copy(out, header + 1 + name.length);
  return out;
}

/** A command frame's body as name and data, or why it is not one. */
export function readCommand(body: Buffer): ZmtpCommand | Rejection {
  if (body.length === 0) return reject('zmtp_bad_command', 'empty');
  const nameLength = body[0] as number;
  if (nameLength === 0 || 1 + nameLength > body.length) return reject('zmtp_bad_command', 'name overruns the frame');
  return { type: 'zmtp.command', name: body.toString('ascii', 1, 1 + nameLength), data: body.subarray(1 + nameLength) };
}

/** Metadata properties by lower-cased name (RFC 37: names are compared without case). */
export interface Metadata {
  readonly type: 'zmtp.metadata';
  readonly properties: ReadonlyMap<string, Buffer>;
}

export function encodeMetadata(properties: ReadonlyArray<readonly [name: string, value: Buffer]>): Buffer {
  let size = 0;
  for (const [name, value] of properties) size += 1 + name.length + 4 + value.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [name, value] of properties) {
    out[at++] = name.length;
    at += out.write(name, at, 'ascii');
    out.writeUInt32BE(value.length, at);
    at += 4;
    at += value.copy(out, at);
  }
  return out;
}

/** Reads READY's properties; names are lower-cased (they are case-insensitive). */
export function readMetadata(data: Buffer): Metadata | Rejection {
  const properties = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const nameLength = data[at] as number;
    if (nameLength === 0 || at + 1 + nameLength + 4 > data.length) return reject('zmtp_bad_metadata', 'property truncated');
    const name = data.toString('ascii', at + 1, at + 1 + nameLength).toLowerCase();
    at += 1 + nameLength;
    const valueLength = data.readUInt32BE(at);
    at += 4;
    if (at + valueLength > data.length) return reject('zmtp_bad_metadata', `value of ${name} overruns the command`);
    properties.set(name, data.subarray(at, at + valueLength));
    at += valueLength;
  }
  return { type: 'zmtp.metadata', properties };
}

/** READY with our socket type: the whole NULL handshake from this side. */
export function encodeReady(socketType: string, identity?: Buffer): Buffer {
  const properties: Array<[string, Buffer]> = [['Socket-Type', Buffer.from(socketType, 'ascii')]];
  if (identity !== undefined && identity.length > 0) properties.push(['Identity', identity]);
  return encodeCommand('READY', encodeMetadata(properties));
}

/**
 * A PING (ZMTP 3.1 heartbeat): its TTL tells the peer to close the connection when it hears nothing
 * for that long (sent in tenths of a second, at most 6553.5 s; 0 for none), then up to 16 bytes of context.
 */
export function encodePing(ttlMs: number, context: Buffer = Buffer.alloc(0)): Buffer {
  const data = Buffer.allocUnsafe(2 + Math.min(context.length, 16));
  data.writeUInt16BE(Math.min(0xffff, Math.max(0, Math.floor(ttlMs / 100))), 0);
  context.copy(data, 2, 0, 16);
  return encodeCommand('PING', data);
}

/** PONG answers a PING with the PING's context (bytes after its 2-byte TTL), at most 16 bytes. */
export function pongFor(ping: Buffer): Buffer {
  const context = ping.length > 2 ? ping.subarray(2, Math.min(ping.length, 18)) : Buffer.alloc(0);
  return encodeCommand('PONG', context);
}

/** Which peer socket types may talk to which (RFC 37's table), for the types steward's transport plays. */
export const VALID_PEERS: Readonly<Record<string, readonly string[]>> = {
  ROUTER: ['DEALER', 'REQ', 'ROUTER'],
  DEALER: ['REP', 'DEALER', 'ROUTER'],
};
