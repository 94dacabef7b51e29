/**
 * Frames a broker ROUTER socket receives, decoded into typed messages. One
 * decoder serves both the frontend and the backend (they may be one
 * endpoint): peers are told apart by their first frames, MDPC01 / MDPW01 /
 * `<tag>:<id>` after an empty delimiter, or a butler worker's one-byte
 * command with no delimiter. Every malformed message becomes a Rejection with
 * a reason the adapter counts; nothing here throws.
 */
import { ButlerCommand } from './butler.js';
import { reject, type Rejection } from './codec.js';
import { MAX_CREDIT, MDPC01, MDPW01, MdpCommand } from './mdp.js';
import { isStewardTag, parseTagHeader } from './tagged.js';

export type ClientDialect = 'mdp' | 'tagged';

/** How a worker frames its messages: MDP/0.1 (with the steward credit extension) or butler's. */
export type WorkerWire = 'mdp' | 'butler';

export interface ClientRequest {
  readonly type: 'client.request';
  readonly peer: Buffer;
  readonly dialect: ClientDialect;
  readonly service: string;
  /** The service frame as received, echoed back in MDP replies without re-encoding. */
  readonly serviceFrame: Buffer;
  /** Tagged dialect only: the "<tag>:<id>" frame, echoed back verbatim. */
  readonly header: Buffer | undefined;
  readonly requestId: string | undefined;
  /** Tagged with the steward tag: replies carry a status frame. */
  readonly steward: boolean;
  /** Unix ms after which nobody waits for the answer; 0 for none (MDP). */
  readonly expiresAt: number;
  /** Tagged dialect only: the expiration frame as received, forwarded to butler workers as is. */
  readonly expiration: Buffer | undefined;
  readonly body: Buffer[];
}

export interface WorkerReady {
  readonly type: 'worker.ready';
  readonly peer: Buffer;
  readonly wire: WorkerWire;
  readonly service: string;
  /** How many requests the worker takes at once (steward extension; MDP workers: 1). */
  readonly credit: number;
}

export interface WorkerReply {
  readonly type: 'worker.reply';
  readonly peer: Buffer;
  readonly wire: WorkerWire;
  /** The opaque envelope the broker put where MDP has the client address. */
  readonly envelope: Buffer;
  readonly body: Buffer[];
}

export interface WorkerHeartbeat {
  readonly type: 'worker.heartbeat';
  readonly peer: Buffer;
  readonly wire: WorkerWire;
}

export interface WorkerDisconnect {
  readonly type: 'worker.disconnect';
  readonly peer: Buffer;
}

/** Which of the broker's per-message limits a message broke. */
export type MessageLimit = 'frames' | 'message_size';

/**
 * A message refused for its size or frame count. When its first frames still
 * say who sent it (a client request or a worker reply), `message` holds that
 * head, body cut, so the broker can answer the sender instead of leaving it
 * to time out.
 */
export interface LimitRefusal {
  readonly type: 'limit.refused';
  readonly limit: MessageLimit;
  readonly peer: Buffer;
  /** e.g. "300 frames > 256", "20000000 bytes > 16777216". */
  readonly detail: string;
  readonly message: ClientRequest | WorkerReply | undefined;
}

export type BrokerInbound = ClientRequest | WorkerReady | WorkerReply | WorkerHeartbeat | WorkerDisconnect | LimitRefusal;

export interface BrokerWireLimits {
  /** Frames in one message, routing id included. */
  readonly maxFrames: number;
  readonly maxServiceLength: number;
}

export const DEFAULT_BROKER_WIRE_LIMITS: BrokerWireLimits = { maxFrames: 256, maxServiceLength: 255 };

const MAX_EXPIRATION_DIGITS = 16;

/** Frames that identify any client request or worker reply: peer, delimiter, header, service or envelope, ... */
const HEAD_FRAMES = 6;

function isHeader(frame: Buffer, header: string): boolean {
  // Cheaper than toString() per message: headers are 6 ASCII bytes.
  if (frame.length !== 6) return false;
  for (let i = 0; i < 6; i++) if (frame[i] !== header.charCodeAt(i)) return false;
  return true;
}

function parseExpiration(frame: Buffer): number | undefined {
  if (frame.length === 0 || frame.length > MAX_EXPIRATION_DIGITS) return undefined;
  let n = 0;
  for (let i = 0; i < frame.length; i++) {
    const c = frame[i] as number;
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

function parseCredit(frame: Buffer | undefined): number | undefined {
  if (frame === undefined) return 1;
  const n = parseExpiration(frame);
  if (n === undefined || n < 1 || n > MAX_CREDIT) return undefined;
  return n;
}

/** A butler command frame: one byte, 0x01 to 0x04. Anything else is left to the MDP/client checks. */
function butlerCommand(frame: Buffer): number | undefined {
  if (frame.length !== 1) return undefined;
  const c = frame[0] as number;
  return c >= ButlerCommand.Ready && c <= ButlerCommand.Reply ? c : undefined;
}

function decodeButlerWorker(frames: Buffer[], command: number, limits: BrokerWireLimits): BrokerInbound | Rejection {
  const n = frames.length;
  const peer = frames[0] as Buffer;
  switch (command) {
    case ButlerCommand.Ready: {
      if (n !== 3) return reject('butler_bad_ready');
      const service = frames[2] as Buffer;
      if (service.length === 0 || service.length > limits.maxServiceLength) return reject('bad_service_name');
      return { type: 'worker.ready', peer, wire: 'butler', service: service.toString('latin1'), credit: 1 };
    }
    case ButlerCommand.Heartbeat:
      return n === 2 ? { type: 'worker.heartbeat', peer, wire: 'butler' } : reject('butler_bad_heartbeat');
    case ButlerCommand.Reconnect:
      // Only the broker says RECONNECT.
      return reject('butler_unexpected_reconnect');
    default: {
      // REPLY: envelope, "", "<api>:<id>", body. The broker answers from its own record of the
      // request, so the echoed header is not trusted, only checked for presence.
      if (n < 5) return reject('butler_bad_reply');
      if ((frames[3] as Buffer).length !== 0) return reject('bad_reply_delimiter');
      return { type: 'worker.reply', peer, wire: 'butler', envelope: frames[2] as Buffer, body: frames.slice(5) };
    }
  }
}

export function decodeBrokerFrames(frames: Buffer[], limits: BrokerWireLimits = DEFAULT_BROKER_WIRE_LIMITS): BrokerInbound | Rejection {
  const n = frames.length;
  if (n > limits.maxFrames) return reject('too_many_frames', `${n} > ${limits.maxFrames}`);
  if (n < 2) return reject('too_few_frames', `${n}`);
  const butler = butlerCommand(frames[1] as Buffer);
  if (butler !== undefined) return decodeButlerWorker(frames, butler, limits);
  if (n < 3) return reject('too_few_frames', `${n}`);
  const peer = frames[0] as Buffer;
  if ((frames[1] as Buffer).length !== 0) return reject('missing_delimiter');
  const header = frames[2] as Buffer;

  if (isHeader(header, MDPC01)) {
    if (n < 4) return reject('mdp_client_without_service');
    const serviceFrame = frames[3] as Buffer;
    if (serviceFrame.length === 0 || serviceFrame.length > limits.maxServiceLength) return reject('bad_service_name');
    return {
      type: 'client.request',
      peer,
      dialect: 'mdp',
      service: serviceFrame.toString('latin1'),
      serviceFrame,
      header: undefined,
      requestId: undefined,
      steward: false,
      expiresAt: 0,
      expiration: undefined,
      body: frames.slice(4),
    };
  }

  if (isHeader(header, MDPW01)) {
    if (n < 4) return reject('mdp_worker_without_command');
    const command = frames[3] as Buffer;
    if (command.length !== 1) return reject('bad_command_frame');
    switch (command[0]) {
      case MdpCommand.Ready: {
        if (n < 5 || n > 6) return reject('bad_ready');
        const service = frames[4] as Buffer;
        if (service.length === 0 || service.length > limits.maxServiceLength) return reject('bad_service_name');
        const credit = parseCredit(frames[5]);
        if (credit === undefined) return reject('bad_credit');
        return { type: 'worker.ready', peer, wire: 'mdp', service: service.toString('latin1'), credit };
      }
      case MdpCommand.Reply: {
        if (n < 6) return reject('bad_reply');
        if ((frames[5] as Buffer).length !== 0) return reject('bad_reply_delimiter');
        return { type: 'worker.reply', peer, wire: 'mdp', envelope: frames[4] as Buffer, body: frames.slice(6) };
      }
      case MdpCommand.Heartbeat:
        return n === 4 ? { type: 'worker.heartbeat', peer, wire: 'mdp' } : reject('bad_heartbeat');
      case MdpCommand.Disconnect:
        return { type: 'worker.disconnect', peer };
      default:
        return reject('unknown_command', `0x${(command[0] as number).toString(16)}`);
    }
  }

  const tagged = parseTagHeader(header);
  if (tagged) {
    if (n < 5) return reject('tagged_too_few_frames');
    const serviceFrame = frames[3] as Buffer;
    if (serviceFrame.length === 0 || serviceFrame.length > limits.maxServiceLength) return reject('bad_service_name');
    const expiration = frames[4] as Buffer;
    const expiresAt = parseExpiration(expiration);
    if (expiresAt === undefined) return reject('bad_expiration');
    return {
      type: 'client.request',
      peer,
      dialect: 'tagged',
      service: serviceFrame.toString('latin1'),
      serviceFrame,
      header,
      requestId: tagged.id,
      steward: isStewardTag(tagged.tag),
      expiresAt,
      expiration,
      body: frames.slice(5),
    };
  }
  return reject('unknown_protocol');
}

function limitRefusal(frames: Buffer[], limit: MessageLimit, detail: string, limits: BrokerWireLimits): LimitRefusal {
  const head = decodeBrokerFrames(frames.slice(0, HEAD_FRAMES), limits);
  const message = head.type === 'client.request' || head.type === 'worker.reply' ? head : undefined;
  return { type: 'limit.refused', limit, peer: frames[0] as Buffer, detail, message };
}

/**
 * `decodeBrokerFrames` behind the broker's per-message limits: more frames
 * than `maxFrames`, or more bytes in all frames than `maxMessageBytes`, give
 * a LimitRefusal the broker answers; everything else decodes as usual.
 */
export function decodeBrokerMessage(
  frames: Buffer[],
  limits: BrokerWireLimits = DEFAULT_BROKER_WIRE_LIMITS,
  maxMessageBytes = Number.POSITIVE_INFINITY,
): BrokerInbound | Rejection {
  const n = frames.length;
  if (n === 0) return reject('too_few_frames', '0');
  if (n > limits.maxFrames) return limitRefusal(frames, 'frames', `${n} frames > ${limits.maxFrames}`, limits);
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += (frames[i] as Buffer).length;
  if (bytes > maxMessageBytes) return limitRefusal(frames, 'message_size', `${bytes} bytes > ${maxMessageBytes}`, limits);
  return decodeBrokerFrames(frames, limits);
}
