/**
 * BlastBeat's backend wire (seed 004, docs/gateway.md "The backend wire"): every message is three
 * frames, `[sid, type, body]`. The gateway's ROUTER sees the node's routing id
 * in front: `[node, sid, type, body]`. A message with any other frame count is
 * dropped whole (never realigned), and so is an unknown type: a backend that
 * speaks something else must not be able to make the gateway misread a body as
 * a type. Pure: no sockets, no XState.
 */
import { reject, type Codec, type Rejection } from '../codec.js';
import { BATCH, unpackUnits } from './batch.js';

/** Types a backend may send to the gateway. */
export const BACKEND_KINDS = ['headers', 'body', 'chunk', 'end', 'websocket', 'websocket-binary', 'pong', 'ping'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

/** Types the gateway sends to a backend. */
export const GATEWAY_KINDS = ['uwsgi', 'body', 'end', 'websocket', 'websocket-binary', 'ping', 'pong'] as const;
export type GatewayKind = (typeof GATEWAY_KINDS)[number];

/** A backend's message as the gateway's ROUTER receives it. */
export interface BackendMessage {
  readonly type: 'backend.message';
  /** The node's routing id (its name). */
  readonly node: Buffer;
  /** Empty for presence (`ping`, `pong`). */
  readonly sid: Buffer;
  readonly kind: BackendKind;
  readonly body: Buffer;
}

/** What the gateway sends through its ROUTER: the node's routing id first. */
export type GatewayOutbound = readonly [node: Buffer, sid: Buffer, kind: Buffer, body: Buffer];

export interface MessageLimits {
  /** The gateway's own sids are 16 bytes; a backend may not invent huge ones. */
  readonly maxSidLength: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = { maxSidLength: 255 };

export const EMPTY = Buffer.alloc(0);

/** One preallocated frame per type, so the hot path never encodes type names. */
export const KIND_FRAME: Readonly<Record<GatewayKind | BackendKind, Buffer>> = Object.freeze({
  uwsgi: Buffer.from('uwsgi'),
  headers: Buffer.from('headers'),
  body: Buffer.from('body'),
  chunk: Buffer.from('chunk'),
  end: Buffer.from('end'),
  websocket: Buffer.from('websocket'),
  'websocket-binary': Buffer.from('websocket-binary'),
  ping: Buffer.from('ping'),
  pong: Buffer.from('pong'),
});

const LONGEST_KIND = 16;

/** Type names by length, as bytes: a type frame is matched without making a string of it (this runs per message). */
type KindTable<K extends string> = ReadonlyArray<ReadonlyArray<readonly [Buffer, K]>>;

function kindTable<K extends string>(kinds: readonly K[]): KindTable<K> {
  const table: Array<Array<readonly [Buffer, K]>> = Array.from({ length: LONGEST_KIND + 1 }, () => []);
  for (const k of kinds) (table[k.length] as Array<readonly [Buffer, K]>).push([Buffer.from(k, 'latin1'), k]);
  return table;
}

const backendKinds = kindTable(BACKEND_KINDS);
const gatewayKinds = kindTable(GATEWAY_KINDS);

function kindOf<K extends string>(frame: Buffer, table: KindTable<K>): K | undefined {
  if (frame.length === 0 || frame.length > LONGEST_KIND) return undefined;
  const candidates = table[frame.length] as ReadonlyArray<readonly [Buffer, K]>;
  for (let c = 0; c < candidates.length; c++) {
    const [name, kind] = candidates[c] as readonly [Buffer, K];
    let i = 0;
    while (i < name.length && name[i] === frame[i]) i++;
    if (i === name.length) return kind;
  }
  return undefined;
}

/**
 * The units of a batch (`batch.ts`) as messages of one type table: all of
 * them, or a Rejection when any unit is malformed or of an unknown type.
 */
function decodeBatch<M>(packed: Buffer, limits: MessageLimits, make: (sid: Buffer, kind: Buffer, body: Buffer) => M | undefined): readonly M[] | Rejection {
  const messages: M[] = [];
  let unknown: string | undefined;
  const problem = unpackUnits(packed, limits.maxSidLength, (sid, kind, body) => {
    const m = make(sid, kind, body);
    if (m === undefined) unknown ??= `unit ${messages.length}: unknown type ${kind.subarray(0, LONGEST_KIND).toString('latin1')}`;
    else messages.push(m);
  });
  if (problem !== undefined) return problem;
  if (unknown !== undefined) return reject('bad_batch', unknown);
  return messages;
}

/** `[node, sid, type, body]` from the ROUTER (or a batch of them), or why it was dropped. */
export function decodeBackendFrames(frames: Buffer[], limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): BackendMessage | readonly BackendMessage[] | Rejection {
  if (frames.length > 4) return reject('too_many_frames', `${frames.length - 1} frames after the routing id, expected 3`);
  if (frames.length < 4) return reject('too_few_frames', `${frames.length - 1} frames after the routing id, expected 3`);
  const node = frames[0] as Buffer;
  const sid = frames[1] as Buffer;
  if (sid.length > limits.maxSidLength) return reject('bad_sid', `${sid.length} bytes`);
  const typeFrame = frames[2] as Buffer;
  const kind = kindOf(typeFrame, backendKinds);
  if (kind !== undefined) return { type: 'backend.message', node, sid, kind, body: frames[3] as Buffer };
  if (sid.length === 0 && typeFrame.equals(BATCH)) {
    return decodeBatch(frames[3] as Buffer, limits, (unitSid, unitKind, body) => {
      const k = kindOf(unitKind, backendKinds);
      return k === undefined ? undefined : { type: 'backend.message', node, sid: unitSid, kind: k, body };
    });
  }
  return reject('unknown_type', typeFrame.subarray(0, LONGEST_KIND).toString('latin1'));
}

/** The ROUTER-side codec: encoding is the identity, frames are built once by the sender. */
export function backendCodec(limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): Codec<BackendMessage, GatewayOutbound> {
  return {
    decode: (frames) => decodeBackendFrames(frames, limits),
    encode: (message) => [message[0], message[1], message[2], message[3]],
  };
}

/** A gateway message as a backend's DEALER receives it. */
export interface GatewayMessage {
  readonly type: 'gateway.message';
  readonly sid: Buffer;
  readonly kind: GatewayKind;
  readonly body: Buffer;
}

/** `[sid, type, body]` on a backend's DEALER (or a batch of them), or why it was dropped. */
export function decodeGatewayFrames(frames: Buffer[], limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): GatewayMessage | readonly GatewayMessage[] | Rejection {
  if (frames.length > 3) return reject('too_many_frames', `${frames.length} frames, expected 3`);
  if (frames.length < 3) return reject('too_few_frames', `${frames.length} frames, expected 3`);
  const sid = frames[0] as Buffer;
  if (sid.length > limits.maxSidLength) return reject('bad_sid', `${sid.length} bytes`);
  const typeFrame = frames[1] as Buffer;
  const kind = kindOf(typeFrame, gatewayKinds);
  if (kind !== undefined) return { type: 'gateway.message', sid, kind, body: frames[2] as Buffer };
  if (sid.length === 0 && typeFrame.equals(BATCH)) {
    return decodeBatch(frames[2] as Buffer, limits, (unitSid, unitKind, body) => {
      const k = kindOf(unitKind, gatewayKinds);
      return k === undefined ? undefined : { type: 'gateway.message', sid: unitSid, kind: k, body };
    });
  }
  return reject('unknown_type', typeFrame.subarray(0, LONGEST_KIND).toString('latin1'));
}

/** What a backend sends: `[sid, type, body]`. */
export function backendFrames(sid: Buffer, kind: BackendKind, body: Buffer = EMPTY): Buffer[] {
  return [sid, KIND_FRAME[kind], body];
}
