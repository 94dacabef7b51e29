/**
 * Frames a broker ROUTER socket receives, decoded into typed messages. One
 * decoder serves both the frontend and the backend (they may be one
 * endpoint): peers are told apart by their first frames, MDPC01 / MDPW01 /
 * `<tag>:<id>` after an empty delimiter, MDPC02 / MDPW02 with none (RFC 18),
 * a butler worker's one-byte command with no delimiter, or a compact header. Every malformed message becomes a Rejection with
 * a reason the adapter counts, except a tagged or compact client request
 * that still says who sent it and which attempt it is: that becomes a
 * MalformedRequest, which the broker answers 400. Nothing here throws.
 */
import { ButlerCommand } from './butler.js';
import { reject, type Decoded, type Rejection } from './codec.js';
import { MAX_CREDIT, MDPC01, MDPW01, MdpCommand } from './mdp.js';
import { MDPC02, MDPW02, Mdp2Client, Mdp2Worker } from './mdp2.js';
import { MAX_MESSAGE_FRAMES, decodeUnits, isClientRequestRejection, isStewardHeader, Kind } from './steward-wire.js';
import { isStewardTag, parseTagHeader } from './tagged.js';

/** mdp: RFC 7 clients; mdp2: RFC 18 clients; tagged: butler/ebwrkapi (and STW1) clients; steward: the compact wire. */
export type ClientDialect = 'mdp' | 'mdp2' | 'tagged' | 'steward';

/** How a worker frames its messages: MDP/0.1 (with the steward credit extension), MDP/0.2, butler's, or steward's compact wire. */
export type WorkerWire = 'mdp' | 'mdp2' | 'butler' | 'steward';

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
  /** Compact CLIENT_CALL: indexed by (peer, replyId), so the client can cancel it or refill its window. */
  readonly call: boolean;
  /** The client takes partial replies (MDP/0.2, or a compact CLIENT_CALL with the STREAM flag). */
  readonly stream: boolean;
  /** Partials the client takes before it refills the window; 0: no window (MDP/0.2 has none). */
  readonly window: number;
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

/** A worker's reply: the only one (MDP/0.1 REPLY, butler REPLY, WORKER_REPLY) or the last of a stream (MDP/0.2 FINAL). */
export interface WorkerReply {
  readonly type: 'worker.reply';
  readonly peer: Buffer;
  readonly wire: WorkerWire;
  /** The broker's token for the request, read from the envelope (MDP, butler) or the header (steward); -1 if malformed. */
  readonly token: number;
  readonly body: Buffer[];
}

/** One partial reply of a stream (MDP/0.2 PARTIAL, WORKER_PARTIAL); the request stays the worker's until its final reply. */
export interface WorkerPartial {
  readonly type: 'worker.partial';
  readonly peer: Buffer;
  readonly wire: WorkerWire;
  readonly token: number;
  readonly body: Buffer[];
}

/** A compact-wire client read `credit` more partials of the stream `replyId` (0: it is still there). */
export interface ClientWindow {
  readonly type: 'client.window';
  readonly peer: Buffer;
  readonly replyId: number;
  readonly credit: number;
}

/** A compact-wire client gave up the call `replyId`: drop it, or tell the worker holding it. */
export interface ClientCancel {
  readonly type: 'client.cancel';
  readonly peer: Buffer;
  readonly replyId: number;
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
export type MalformedReason = 'tagged_too_few_frames' | 'bad_service_name' | 'bad_expiration' | 'sw_bad_expiration' | 'sw_bad_flags' | 'sw_bad_window';

const ANSWERABLE: ReadonlySet<string> = new Set<MalformedReason>(['sw_bad_expiration', 'bad_service_name', 'sw_bad_flags', 'sw_bad_window']);

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
  readonly message: ClientRequest | MalformedRequest | WorkerReply | WorkerPartial | undefined;
}

export type BrokerInbound =
  | ClientRequest
  | MalformedRequest
  | WorkerReady
  | WorkerReply
  | WorkerPartial
  | ClientWindow
  | ClientCancel
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
      if (isClientRequestRejection(m) && ANSWERABLE.has(m.reason)) {
        out.push(malformedSteward(peer, m.requestId, m.reason as MalformedReason, m.detail ?? m.reason));
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
            call: m.call,
            stream: m.window > 0,
            window: m.window,
            body: m.body,
          });
        break;
      case Kind.ClientWindow:
        out.push({ type: 'client.window', peer, replyId: m.requestId, credit: m.credit });
        break;
      case Kind.ClientCancel:
        out.push({ type: 'client.cancel', peer, replyId: m.requestId });
        break;
      case Kind.WorkerReady:
        if (m.service.length > limits.maxServiceLength) out.push(reject('bad_service_name'));
        else out.push({ type: 'worker.ready', peer, wire: 'steward', service: m.service, credit: m.credit });
        break;
      case Kind.WorkerReply:
        out.push({ type: 'worker.reply', peer, wire: 'steward', token: m.token, body: m.body });
        break;
      case Kind.WorkerPartial:
        out.push({ type: 'worker.partial', peer, wire: 'steward', token: m.token, body: m.body });
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

/** MDP/0.2 client (RFC 18): [peer, "MDPC02", 0x01, service, body...]; PARTIAL and FINAL only ever go to clients. */
function decodeMdp2Client(frames: Buffer[], limits: BrokerWireLimits): BrokerInbound | Rejection {
  const n = frames.length;
  if (n < 3) return reject('mdp2_client_without_command');
  const command = frames[2] as Buffer;
  if (command.length !== 1) return reject('bad_command_frame');
  if (command[0] !== Mdp2Client.Request) return reject('mdp2_unexpected_command', `0x${(command[0] as number).toString(16)}`);
  if (n < 4) return reject('mdp_client_without_service');
  const serviceFrame = frames[3] as Buffer;
  if (serviceFrame.length === 0 || serviceFrame.length > limits.maxServiceLength) return reject('bad_service_name');
  // Partials go to an MDP/0.2 client as they come: RFC 18 has no window.
  return mdpClientRequest(frames[0] as Buffer, 'mdp2', serviceFrame, frames.slice(4));
}

/** An MDP client's request (0.1, or 0.2, which takes partials): no id, no expiration of its own, always queued. */
function mdpClientRequest(peer: Buffer, dialect: 'mdp' | 'mdp2', serviceFrame: Buffer, body: Buffer[]): ClientRequest {
  return {
    type: 'client.request',
    peer,
    dialect,
    service: serviceFrame.toString('latin1'),
    serviceFrame,
    header: undefined,
    requestId: undefined,
    steward: false,
    expiresAt: 0,
    expiration: undefined,
    replyId: 0,
    wait: true,
    call: false,
    stream: dialect === 'mdp2',
    window: 0,
    body,
  };
}

/** MDP/0.2 worker (RFC 18): [peer, "MDPW02", command, ...]; REQUEST only ever goes to workers. */
function decodeMdp2Worker(frames: Buffer[], limits: BrokerWireLimits): BrokerInbound | Rejection {
  const n = frames.length;
  if (n < 3) return reject('mdp_worker_without_command');
  const peer = frames[0] as Buffer;
  const command = frames[2] as Buffer;
  if (command.length !== 1) return reject('bad_command_frame');
  switch (command[0]) {
    case Mdp2Worker.Ready: {
      // RFC 18: exactly three frames; 0.2 has no credit extension (a worker holds one request at a time).
      if (n !== 4) return reject('bad_ready');
      const service = frames[3] as Buffer;
      if (service.length === 0 || service.length > limits.maxServiceLength) return reject('bad_service_name');
      return { type: 'worker.ready', peer, wire: 'mdp2', service: service.toString('latin1'), credit: 1 };
    }
    case Mdp2Worker.Partial:
    case Mdp2Worker.Final: {
      if (n < 5) return reject('bad_reply');
      if ((frames[4] as Buffer).length !== 0) return reject('bad_reply_delimiter');
      const token = envelopeToken(frames[3] as Buffer);
      const body = frames.slice(5);
      return command[0] === Mdp2Worker.Final
        ? { type: 'worker.reply', peer, wire: 'mdp2', token, body }
        : { type: 'worker.partial', peer, wire: 'mdp2', token, body };
    }
    case Mdp2Worker.Heartbeat:
      return n === 3 ? { type: 'worker.heartbeat', peer, wire: 'mdp2' } : reject('bad_heartbeat');
    case Mdp2Worker.Disconnect:
      return { type: 'worker.disconnect', peer };
    default:
      // REQUEST (0x02) only ever goes from the broker.
      return reject('unknown_command', `0x${(command[0] as number).toString(16)}`);
  }
}

export function decodeBrokerFrames(frames: Buffer[], limits: BrokerWireLimits = DEFAULT_BROKER_WIRE_LIMITS): Decoded<BrokerInbound> {
  const n = frames.length;
  if (n > limits.maxFrames) return reject('too_many_frames', `${n} > ${limits.maxFrames}`);
  if (n < 2) return reject('too_few_frames', `${n}`);
  if (isStewardHeader(frames[1] as Buffer)) return decodeSteward(frames, limits);
  const butler = butlerCommand(frames[1] as Buffer);
  if (butler !== undefined) return decodeButlerWorker(frames, butler, limits);
  if (isHeader(frames[1] as Buffer, MDPC02)) return decodeMdp2Client(frames, limits);
  if (isHeader(frames[1] as Buffer, MDPW02)) return decodeMdp2Worker(frames, limits);
  if (n < 3) return reject('too_few_frames', `${n}`);
  const peer = frames[0] as Buffer;
  if ((frames[1] as Buffer).length !== 0) return reject('missing_delimiter');
  const header = frames[2] as Buffer;

  if (isHeader(header, MDPC01)) {
    if (n < 4) return reject('mdp_client_without_service');
    const serviceFrame = frames[3] as Buffer;
    if (serviceFrame.length === 0 || serviceFrame.length > limits.maxServiceLength) return reject('bad_service_name');
    return mdpClientRequest(peer, 'mdp', serviceFrame, frames.slice(4));
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
      call: false,
      stream: false,
      window: 0,
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
    !Array.isArray(head) &&
    'type' in head &&
    (head.type === 'client.request' || head.type === 'client.malformed' || head.type === 'worker.reply' || head.type === 'worker.partial')
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
  if (m.type !== 'client.request' && m.type !== 'worker.reply' && m.type !== 'worker.partial') return m;
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
