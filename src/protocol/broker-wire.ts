/**
 * Frames a broker ROUTER socket receives, decoded into typed messages. One
 * decoder serves both the frontend and the backend (they may be one
 * endpoint): peers are told apart by their first frames, MDPC01 / MDPW01 /
 * `<tag>:<id>` after an empty delimiter, or a butler worker's one-byte
 * command with no delimiter. Every malformed message becomes a Rejection with
 * a reason the adapter counts, except a tagged or compact client request
 * that still says who sent it and which attempt it is: that becomes a
 * MalformedRequest, which the broker answers 400. Nothing here throws.
 */
import { ButlerCommand } from './butler.js';
import { reject, type Decoded, type Rejection } from './codec.js';
import { MAX_CREDIT, MDPC01, MDPW01, MdpCommand } from './mdp.js';
import { MAX_MESSAGE_FRAMES, decodeUnits, isClientRequestRejection, isStewardHeader, Kind } from './steward-wire.js';
import { isStewardTag, parseTagHeader } from './tagged.js';

/** mdp: RFC 7 clients; tagged: butler/ebwrkapi (and STW1) clients; steward: the compact wire. */
export type ClientDialect = 'mdp' | 'tagged' | 'steward';

/** How a worker frames its messages: MDP/0.1 (with the steward credit extension), butler's, or steward's compact wire. */
export type WorkerWire = 'mdp' | 'butler' | 'steward';

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
  /** Steward dialect only: the numeric request id echoed in the reply header (0 otherwise). */
  readonly replyId: number;
  /**
   * Wait in the queue for a worker when none serves the service (MDP, butler, and the
   * compact CLIENT_REQUEST); false for CLIENT_REQUEST_NOWAIT, answered 404 at once instead.
   */
  readonly wait: boolean;
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
  /** The broker's token for the request, read from the envelope (MDP, butler) or the header (steward); -1 if malformed. */
  readonly token: number;
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

/** A registered steward worker's new credit (WORKER_CREDIT); the broker echoes it once applied. */
export interface WorkerCredit {
  readonly type: 'worker.credit';
  readonly peer: Buffer;
  readonly credit: number;
}

/** A compact-wire PING from a client or a worker: answered PONG at once, whoever sent it. */
export interface PeerPing {
  readonly type: 'peer.ping';
  readonly peer: Buffer;
  readonly nonce: number;
}

/** Why a client request that still says who sent it and which attempt it is was refused. */
export type MalformedReason = 'tagged_too_few_frames' | 'bad_service_name' | 'bad_expiration' | 'sw_bad_expiration';

/**
 * A tagged or compact-wire client request that is broken but addressable:
 * its `<tag>:<id>` frame (or its compact request id) was read, so the broker
 * answers 400 with `detail` instead of leaving the client to time out. A
 * message without them is a Rejection, dropped and counted: the client could
 * not tell which attempt an answer was for. MDP/0.1 has no way to say it
 * either, so a malformed MDP request stays a Rejection too.
 */
export interface MalformedRequest {
  readonly type: 'client.malformed';
  readonly peer: Buffer;
  readonly dialect: 'tagged' | 'steward';
  /** Tagged only: the "<tag>:<id>" frame, echoed back verbatim. */
  readonly header: Buffer | undefined;
  /** Tagged with the steward tag: the answer carries a status frame. */
  readonly steward: boolean;
  /** Compact wire only: the request id the answer carries (0 otherwise). */
  readonly replyId: number;
  /** A fixed word for the drop counter. */
  readonly reason: MalformedReason;
  /** What is wrong, for the client to read; never the peer's own bytes. */
  readonly detail: string;
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
  readonly message: ClientRequest | MalformedRequest | WorkerReply | undefined;
}

export type BrokerInbound =
  | ClientRequest
  | MalformedRequest
  | WorkerReady
  | WorkerReply
  | WorkerHeartbeat
  | WorkerDisconnect
  | WorkerCredit
  | PeerPing
  | LimitRefusal;

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

/** Says what is wrong with a service frame; never echoes it (it may be a megabyte of anything). */
function serviceProblem(length: number, max: number): string {
  return length === 0 ? 'the service name is empty' : `the service name is ${length} bytes, more than ${max}`;
}

function malformedTagged(peer: Buffer, header: Buffer, tag: string, reason: MalformedReason, detail: string): MalformedRequest {
  return { type: 'client.malformed', peer, dialect: 'tagged', header, steward: isStewardTag(tag), replyId: 0, reason, detail };
}

function malformedSteward(peer: Buffer, requestId: number, reason: MalformedReason, detail: string): MalformedRequest {
  return { type: 'client.malformed', peer, dialect: 'steward', header: undefined, steward: true, replyId: requestId, reason, detail };
}

function parseCredit(frame: Buffer | undefined): number | undefined {
  if (frame === undefined) return 1;
  const n = parseExpiration(frame);
  if (n === undefined || n < 1 || n > MAX_CREDIT) return undefined;
  return n;
}

/** The envelope the broker put where MDP has the client address is a 4-byte token. */
function envelopeToken(envelope: Buffer): number {
  return envelope.length === 4 ? envelope.readUInt32BE(0) : -1;
}

/** steward's compact wire: [peer, units...] (protocol/steward-wire.ts); one message may carry many. */
function decodeSteward(frames: Buffer[], limits: BrokerWireLimits): Decoded<BrokerInbound> {
  const peer = frames[0] as Buffer;
  const out: (BrokerInbound | Rejection)[] = [];
  decodeUnits(frames, 1, (m) => {
    if ('type' in m) {
      // A request whose id was read can be answered; the decoder only knows the reasons it gives such requests.
      if (isClientRequestRejection(m) && (m.reason === 'sw_bad_expiration' || m.reason === 'bad_service_name')) {
        out.push(malformedSteward(peer, m.requestId, m.reason, m.detail ?? m.reason));
      } else out.push(m);
      return;
    }
    switch (m.kind) {
      case Kind.ClientRequest:
        if (m.service.length > limits.maxServiceLength) {
          out.push(malformedSteward(peer, m.requestId, 'bad_service_name', serviceProblem(m.service.length, limits.maxServiceLength)));
        } else
          out.push({
            type: 'client.request',
            peer,
            dialect: 'steward',
            service: m.service,
            serviceFrame: m.serviceBytes,
            header: undefined,
            requestId: undefined,
            steward: true,
            expiresAt: m.expiresAt,
            expiration: undefined,
            replyId: m.requestId,
            wait: m.wait,
            body: m.body,
          });
        break;
      case Kind.WorkerReady:
        if (m.service.length > limits.maxServiceLength) out.push(reject('bad_service_name'));
        else out.push({ type: 'worker.ready', peer, wire: 'steward', service: m.service, credit: m.credit });
        break;
      case Kind.WorkerReply:
        out.push({ type: 'worker.reply', peer, wire: 'steward', token: m.token, body: m.body });
        break;
      case Kind.Heartbeat:
        out.push({ type: 'worker.heartbeat', peer, wire: 'steward' });
        break;
      case Kind.Disconnect:
        out.push({ type: 'worker.disconnect', peer });
        break;
      case Kind.WorkerCredit:
        out.push({ type: 'worker.credit', peer, credit: m.credit });
        break;
      case Kind.Ping:
        out.push({ type: 'peer.ping', peer, nonce: m.nonce });
        break;
      default:
        // Replies and worker requests only ever go from the broker.
        out.push(reject('sw_unexpected_kind'));
    }
  });
  return out.length === 1 ? (out[0] as BrokerInbound | Rejection) : out;
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
      return { type: 'worker.reply', peer, wire: 'butler', token: envelopeToken(frames[2] as Buffer), body: frames.slice(5) };
    }
  }
}

export function decodeBrokerFrames(frames: Buffer[], limits: BrokerWireLimits = DEFAULT_BROKER_WIRE_LIMITS): Decoded<BrokerInbound> {
  const n = frames.length;
  if (n > limits.maxFrames) return reject('too_many_frames', `${n} > ${limits.maxFrames}`);
  if (n < 2) return reject('too_few_frames', `${n}`);
  if (isStewardHeader(frames[1] as Buffer)) return decodeSteward(frames, limits);
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
      replyId: 0,
      wait: true,
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
        return { type: 'worker.reply', peer, wire: 'mdp', token: envelopeToken(frames[4] as Buffer), body: frames.slice(6) };
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
    // From here on the client and its attempt are known: what is wrong is answered 400, not dropped.
    if (n < 5) {
      return malformedTagged(peer, header, tagged.tag, 'tagged_too_few_frames', 'a service frame and an expiration frame must follow the request id');
    }
    const serviceFrame = frames[3] as Buffer;
    if (serviceFrame.length === 0 || serviceFrame.length > limits.maxServiceLength) {
      return malformedTagged(peer, header, tagged.tag, 'bad_service_name', serviceProblem(serviceFrame.length, limits.maxServiceLength));
    }
    const expiration = frames[4] as Buffer;
    const expiresAt = parseExpiration(expiration);
    if (expiresAt === undefined) {
      return malformedTagged(peer, header, tagged.tag, 'bad_expiration', 'the expiration must be Unix time in ms, 1 to 16 ASCII digits (0 for none)');
    }
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
      replyId: 0,
      wait: true,
      body: frames.slice(5),
    };
  }
  return reject('unknown_protocol');
}

function refusal(limit: MessageLimit, peer: Buffer, detail: string, message: LimitRefusal['message']): LimitRefusal {
  return { type: 'limit.refused', limit, peer, detail, message };
}

/** A classic message over a limit: its first frames still say who sent it (a client request, even a malformed one, or a worker reply). */
function classicRefusal(frames: Buffer[], limit: MessageLimit, detail: string, limits: BrokerWireLimits): LimitRefusal {
  const head = decodeBrokerFrames(frames.slice(0, HEAD_FRAMES), limits);
  const message =
    !Array.isArray(head) && 'type' in head && (head.type === 'client.request' || head.type === 'client.malformed' || head.type === 'worker.reply')
      ? head
      : undefined;
  return refusal(limit, frames[0] as Buffer, detail, message);
}

/**
 * A compact-wire unit is held to the limits as if it travelled alone
 * (routing id, header, body parts), so a client's batching never turns
 * requests that are each within the limits into a refusal.
 */
function checkUnit(m: BrokerInbound | Rejection, limits: BrokerWireLimits, maxMessageBytes: number): BrokerInbound | Rejection {
  if (m.type !== 'client.request' && m.type !== 'worker.reply') return m;
  const frames = 2 + m.body.length;
  if (frames > limits.maxFrames) return refusal('frames', m.peer, `${frames} frames > ${limits.maxFrames}`, m);
  let bytes = m.peer.length + (m.type === 'client.request' ? 18 + m.serviceFrame.length : 9);
  for (let i = 0; i < m.body.length; i++) bytes += (m.body[i] as Buffer).length;
  if (bytes > maxMessageBytes) return refusal('message_size', m.peer, `${bytes} bytes > ${maxMessageBytes}`, m);
  return m;
}

/**
 * The broker's decoder behind its limits. A message over `maxFrames` frames,
 * or over `maxMessageBytes` bytes in all its frames, becomes a LimitRefusal
 * the broker answers (413 to clients that can be told). A compact-wire
 * message may batch many units: each unit is held to the limits, and the
 * message as a whole to the larger of `maxFrames` and a batch's size.
 */
export function brokerMessageDecoder(limits: BrokerWireLimits = DEFAULT_BROKER_WIRE_LIMITS, maxMessageBytes = Number.POSITIVE_INFINITY) {
  const batchLimits: BrokerWireLimits = { ...limits, maxFrames: Math.max(limits.maxFrames, MAX_MESSAGE_FRAMES + 1) };
  return (frames: Buffer[]): Decoded<BrokerInbound> => {
    const n = frames.length;
    if (n === 0) return reject('too_few_frames', '0');
    if (n >= 2 && isStewardHeader(frames[1] as Buffer)) {
      if (n > batchLimits.maxFrames) return refusal('frames', frames[0] as Buffer, `${n} frames > ${batchLimits.maxFrames}`, undefined);
      const decoded = decodeBrokerFrames(frames, batchLimits);
      if (!Array.isArray(decoded)) return checkUnit(decoded as BrokerInbound | Rejection, limits, maxMessageBytes);
      const units = decoded as readonly (BrokerInbound | Rejection)[];
      let out: (BrokerInbound | Rejection)[] | undefined;
      for (let i = 0; i < units.length; i++) {
        const checked = checkUnit(units[i] as BrokerInbound | Rejection, limits, maxMessageBytes);
        // Copied only when a unit is refused: the common batch passes through as decoded.
        if (checked !== units[i] && out === undefined) out = units.slice(0, i);
        out?.push(checked);
      }
      return out ?? units;
    }
    if (n > limits.maxFrames) return classicRefusal(frames, 'frames', `${n} frames > ${limits.maxFrames}`, limits);
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += (frames[i] as Buffer).length;
    if (bytes > maxMessageBytes) return classicRefusal(frames, 'message_size', `${bytes} bytes > ${maxMessageBytes}`, limits);
    return decodeBrokerFrames(frames, limits);
  };
}

/** One message through `brokerMessageDecoder` (for tests and one-off use; the broker keeps one decoder). */
export function decodeBrokerMessage(
  frames: Buffer[],
  limits: BrokerWireLimits = DEFAULT_BROKER_WIRE_LIMITS,
  maxMessageBytes = Number.POSITIVE_INFINITY,
): Decoded<BrokerInbound> {
  return brokerMessageDecoder(limits, maxMessageBytes)(frames);
}
