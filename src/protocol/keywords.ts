/**
 * The keyword protocol (KWP1) spoken by the registry, dispatchers and
 * clients; `docs/keywords-protocol.md` is its frame-by-frame reference.
 *
 *   request  (DEALER -> ROUTER): "", "KWP1", request id, command, args...
 *   reply    (ROUTER -> DEALER): "", "KWP1", request id, "ok", payload...
 *                                "", "KWP1", request id, error code, message
 *   broadcast (PUB -> SUB):      "<service>\0<keyword>\0", "KWP1", sequence, "broadcast", service, keyword, value
 *
 * Values are opaque bytes (a ':' or a NUL is just a byte). Decoders never
 * throw: garbage that cannot be answered is a Rejection (counted, dropped);
 * a request that carries an id but is otherwise wrong becomes an `invalid`
 * message, so its sender gets an error reply instead of a timeout.
 */
import { decodingCodec, reject, sendOnlyCodec, type Codec, type Rejection } from './codec.js';
import { isValidName, parseDescriptor, type KeywordDescriptor } from './ktl-types.js';

export const KWP_VERSION = 'KWP1';
const VERSION_FRAME = Buffer.from(KWP_VERSION);
const EMPTY = Buffer.alloc(0);
const OK = 'ok';
const OK_FRAME = Buffer.from(OK);

export const REGISTRY_COMMANDS = ['register', 'heartbeat', 'unregister', 'lookup', 'list'] as const;
export type RegistryCommand = (typeof REGISTRY_COMMANDS)[number];
export const DISPATCHER_COMMANDS = ['update', 'modify', 'identify', 'enumerate', 'sync'] as const;
export type DispatcherCommand = (typeof DISPATCHER_COMMANDS)[number];
export type KeywordsCommand = RegistryCommand | DispatcherCommand;

/** Error codes a registry or dispatcher answers with, in place of "ok". */
export const ERROR_CODES = [
  'bad-request',
  'version-mismatch',
  'unknown-command',
  'no-such-service',
  'service-taken',
  'ports-exhausted',
  'no-such-keyword',
  'read-only',
  'invalid-value',
  'wrong-service',
  'unavailable',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: string): value is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(value);
}

export interface KeywordsLimits {
  /** Frames in one message, routing id included. */
  readonly maxFrames: number;
  readonly maxIdLength: number;
  /** Largest keyword value, in bytes. */
  readonly maxValueBytes: number;
  readonly maxHostLength: number;
  /** Ports a dispatcher may ask the registry to avoid in one register. */
  readonly maxAvoid: number;
  /** Names in one list/enumerate reply. */
  readonly maxListEntries: number;
}

export const DEFAULT_KEYWORDS_LIMITS: KeywordsLimits = {
  maxFrames: 16,
  maxIdLength: 64,
  maxValueBytes: 1024 * 1024,
  maxHostLength: 255,
  maxAvoid: 64,
  maxListEntries: 10_000,
};

/** True for the Rejection of a payload parser (whose results need not carry a `type`). */
export function isRejected<T>(result: T | Rejection): result is Rejection {
  return typeof result === 'object' && result !== null && (result as { type?: unknown }).type === 'rejected';
}

// ---- requests, as a ROUTER receives them ----

interface Addressed {
  readonly peer: Buffer;
  readonly id: string;
}

export interface RegisterRequest extends Addressed {
  readonly type: 'registry.register';
  readonly service: string;
  /** Names one dispatcher instance: a dispatcher registering again with its token gets its own pair back. */
  readonly token: string;
  /** Where the dispatcher binds; the granted endpoints use it. */
  readonly host: string;
  /** A dispatch port the dispatcher already holds (after a registry restart), granted again if free. */
  readonly prefer: number | undefined;
  /** Ports the dispatcher could not bind: the registry sets them aside. */
  readonly avoid: readonly number[];
}

export interface HeartbeatRequest extends Addressed {
  readonly type: 'registry.heartbeat';
  readonly service: string;
  readonly token: string;
}

export interface UnregisterRequest extends Addressed {
  readonly type: 'registry.unregister';
  readonly service: string;
  readonly token: string;
}

export interface LookupRequest extends Addressed {
  readonly type: 'registry.lookup';
  readonly service: string;
}

export interface ListRequest extends Addressed {
  readonly type: 'registry.list';
}

/** A request with an id that cannot be served as sent: answered with `code`. */
export interface InvalidRequest extends Addressed {
  readonly type: 'keywords.invalid';
  readonly code: 'bad-request' | 'version-mismatch' | 'unknown-command';
  readonly message: string;
}

export type RegistryInbound = RegisterRequest | HeartbeatRequest | UnregisterRequest | LookupRequest | ListRequest | InvalidRequest;

export interface UpdateRequest extends Addressed {
  readonly type: 'keywords.update';
  readonly service: string;
  readonly keyword: string;
}

export interface ModifyRequest extends Addressed {
  readonly type: 'keywords.modify';
  readonly service: string;
  readonly keyword: string;
  readonly value: Buffer;
}

export interface IdentifyRequest extends Addressed {
  readonly type: 'keywords.identify';
  readonly service: string;
  readonly keyword: string;
}

export interface EnumerateRequest extends Addressed {
  readonly type: 'keywords.enumerate';
  readonly service: string;
}

/** Asks the dispatcher to publish a mark with `token`: a subscriber that sees it knows its subscription is live. */
export interface SyncRequest extends Addressed {
  readonly type: 'keywords.sync';
  readonly service: string;
  /** '' marks the topic of the whole service. */
  readonly keyword: string;
  readonly token: string;
}

export type DispatcherInbound = UpdateRequest | ModifyRequest | IdentifyRequest | EnumerateRequest | SyncRequest | InvalidRequest;

type Header = { peer: Buffer; id: string; command: string; args: Buffer[] };

/** The common part of every request: envelope, version, id, command. */
function decodeHeader(frames: Buffer[], limits: KeywordsLimits): Header | InvalidRequest | Rejection {
  const n = frames.length;
  if (n > limits.maxFrames) return reject('too_many_frames', `${n} > ${limits.maxFrames}`);
  if (n < 4) return reject('too_few_frames', `${n}`);
  const peer = frames[0] as Buffer;
  if ((frames[1] as Buffer).length !== 0) return reject('missing_delimiter');
  const idFrame = frames[3] as Buffer;
  if (idFrame.length === 0 || idFrame.length > limits.maxIdLength) return reject('bad_request_id');
  const id = idFrame.toString('latin1');
  if (!(frames[2] as Buffer).equals(VERSION_FRAME)) {
    return invalid(peer, id, 'version-mismatch', `this peer speaks ${KWP_VERSION}`);
  }
  if (n < 5) return invalid(peer, id, 'bad-request', 'missing command frame');
  const commandFrame = frames[4] as Buffer;
  if (commandFrame.length > 16) return invalid(peer, id, 'unknown-command', 'command frame too long');
  return { peer, id, command: commandFrame.toString('latin1'), args: frames.slice(5) };
}

function invalid(peer: Buffer, id: string, code: InvalidRequest['code'], message: string): InvalidRequest {
  return { type: 'keywords.invalid', peer, id, code, message };
}

function isFailure(x: Header | InvalidRequest | Rejection): x is InvalidRequest | Rejection {
  return (x as { type?: string }).type !== undefined;
}

function nameArg(frame: Buffer | undefined): string | undefined {
  if (frame === undefined || frame.length === 0 || frame.length > 64) return undefined;
  const s = frame.toString('latin1');
  return isValidName(s) ? s : undefined;
}

function tokenArg(frame: Buffer | undefined, max: number): string | undefined {
  if (frame === undefined || frame.length === 0 || frame.length > max) return undefined;
  const s = frame.toString('latin1');
  return /^[\x21-\x7e]+$/.test(s) ? s : undefined;
}

function portArg(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

function expectArgs(h: Header, min: number, max: number, usage: string): InvalidRequest | undefined {
  if (h.args.length < min || h.args.length > max) {
    return invalid(h.peer, h.id, 'bad-request', `${h.command} takes ${usage}; got ${h.args.length} argument frames`);
  }
  return undefined;
}

export function decodeRegistryRequest(frames: Buffer[], limits: KeywordsLimits = DEFAULT_KEYWORDS_LIMITS): RegistryInbound | Rejection {
  const h = decodeHeader(frames, limits);
  if (isFailure(h)) return h;
  const { peer, id, args } = h;
  const bad = (message: string) => invalid(peer, id, 'bad-request', message);
  switch (h.command) {
    case 'register': {
      const wrong = expectArgs(h, 3, 5, 'service, token, host[, prefer[, avoid]]');
      if (wrong) return wrong;
      const service = nameArg(args[0]);
      if (!service) return bad('bad service name');
      const token = tokenArg(args[1], limits.maxIdLength);
      if (!token) return bad('bad token');
      const host = tokenArg(args[2], limits.maxHostLength);
      if (!host) return bad('bad host');
      const preferText = args[3]?.toString('latin1') ?? '';
      const prefer = preferText === '' ? undefined : portArg(preferText);
      if (preferText !== '' && prefer === undefined) return bad('bad preferred port');
      const avoidFrame = args[4];
      const avoid: number[] = [];
      if (avoidFrame !== undefined && avoidFrame.length > 0) {
        if (avoidFrame.length > limits.maxAvoid * 6) return bad('avoid list too long');
        for (const part of avoidFrame.toString('latin1').split(',')) {
          const p = portArg(part);
          if (p === undefined) return bad('bad port in avoid list');
          avoid.push(p);
        }
        if (avoid.length > limits.maxAvoid) return bad('avoid list too long');
      }
      return { type: 'registry.register', peer, id, service, token, host, prefer, avoid };
    }
    case 'heartbeat':
    case 'unregister': {
      const wrong = expectArgs(h, 2, 2, 'service, token');
      if (wrong) return wrong;
      const service = nameArg(args[0]);
      if (!service) return bad('bad service name');
      const token = tokenArg(args[1], limits.maxIdLength);
      if (!token) return bad('bad token');
      return { type: h.command === 'heartbeat' ? 'registry.heartbeat' : 'registry.unregister', peer, id, service, token };
    }
    case 'lookup': {
      const wrong = expectArgs(h, 1, 1, 'service');
      if (wrong) return wrong;
      const service = nameArg(args[0]);
      if (!service) return bad('bad service name');
      return { type: 'registry.lookup', peer, id, service };
    }
    case 'list': {
      const wrong = expectArgs(h, 0, 0, 'no arguments');
      return wrong ?? { type: 'registry.list', peer, id };
    }
    default:
      return invalid(peer, id, 'unknown-command', `the registry knows ${REGISTRY_COMMANDS.join(', ')}`);
  }
}

export function decodeDispatcherRequest(frames: Buffer[], limits: KeywordsLimits = DEFAULT_KEYWORDS_LIMITS): DispatcherInbound | Rejection {
  const h = decodeHeader(frames, limits);
  if (isFailure(h)) return h;
  const { peer, id, args } = h;
  const bad = (message: string) => invalid(peer, id, 'bad-request', message);
  const service = nameArg(args[0]);
  switch (h.command) {
    case 'update':
    case 'identify': {
      const wrong = expectArgs(h, 2, 2, 'service, keyword');
      if (wrong) return wrong;
      if (!service) return bad('bad service name');
      const keyword = nameArg(args[1]);
      if (!keyword) return bad('bad keyword name');
      return { type: h.command === 'update' ? 'keywords.update' : 'keywords.identify', peer, id, service, keyword };
    }
    case 'modify': {
      const wrong = expectArgs(h, 3, 3, 'service, keyword, value');
      if (wrong) return wrong;
      if (!service) return bad('bad service name');
      const keyword = nameArg(args[1]);
      if (!keyword) return bad('bad keyword name');
      const value = args[2] as Buffer;
      if (value.length > limits.maxValueBytes) return bad(`value longer than ${limits.maxValueBytes} bytes`);
      return { type: 'keywords.modify', peer, id, service, keyword, value };
    }
    case 'enumerate': {
      const wrong = expectArgs(h, 1, 1, 'service');
      if (wrong) return wrong;
      if (!service) return bad('bad service name');
      return { type: 'keywords.enumerate', peer, id, service };
    }
    case 'sync': {
      const wrong = expectArgs(h, 3, 3, 'service, keyword (may be empty), token');
      if (wrong) return wrong;
      if (!service) return bad('bad service name');
      const keyword = (args[1] as Buffer).length === 0 ? '' : nameArg(args[1]);
      if (keyword === undefined) return bad('bad keyword name');
      const token = tokenArg(args[2], limits.maxIdLength);
      if (!token) return bad('bad token');
      return { type: 'keywords.sync', peer, id, service, keyword, token };
    }
    default:
      return invalid(peer, id, 'unknown-command', `a dispatcher knows ${DISPATCHER_COMMANDS.join(', ')}`);
  }
}

// ---- replies, as a ROUTER sends them ----

export function okReply(peer: Buffer, id: string, payload: readonly Buffer[] = []): Buffer[] {
  return [peer, EMPTY, VERSION_FRAME, Buffer.from(id, 'latin1'), OK_FRAME, ...payload];
}

export function errorReply(peer: Buffer, id: string, code: ErrorCode, message: string): Buffer[] {
  return [peer, EMPTY, VERSION_FRAME, Buffer.from(id, 'latin1'), Buffer.from(code), Buffer.from(message)];
}

/** The registry's grant: where the dispatcher binds, and how often it must heartbeat. */
export interface Grant {
  readonly dispatch: string;
  readonly broadcast: string;
  readonly heartbeatMs: number;
  readonly expiryMs: number;
}

export function grantPayload(grant: Grant): Buffer[] {
  return [Buffer.from(grant.dispatch), Buffer.from(grant.broadcast), Buffer.from(String(grant.heartbeatMs)), Buffer.from(String(grant.expiryMs))];
}

export type EntryState = 'registered' | 'suspect';

export interface Location {
  readonly dispatch: string;
  readonly broadcast: string;
  readonly state: EntryState;
}

export function locationPayload(location: Location): Buffer[] {
  return [Buffer.from(location.dispatch), Buffer.from(location.broadcast), Buffer.from(location.state)];
}

export function namesPayload(names: readonly string[]): Buffer[] {
  return names.map((n) => Buffer.from(n));
}

export function valuePayload(keyword: string, value: Buffer): Buffer[] {
  return [Buffer.from(keyword), value];
}

// ---- requests and replies, as a DEALER sends and receives them ----

export function request(id: string, command: KeywordsCommand, args: readonly Buffer[]): Buffer[] {
  return [EMPTY, VERSION_FRAME, Buffer.from(id, 'latin1'), Buffer.from(command), ...args];
}

export type Reply =
  | { readonly type: 'reply'; readonly id: string; readonly ok: true; readonly payload: Buffer[] }
  | { readonly type: 'reply'; readonly id: string; readonly ok: false; readonly code: string; readonly message: string };

export function decodeReply(frames: Buffer[], limits: KeywordsLimits = DEFAULT_KEYWORDS_LIMITS): Reply | Rejection {
  const n = frames.length;
  // Name lists may be long: a reply may carry more frames than a request.
  if (n > limits.maxListEntries + 4) return reject('too_many_frames', `${n}`);
  if (n < 4) return reject('too_few_frames', `${n}`);
  if ((frames[0] as Buffer).length !== 0) return reject('missing_delimiter');
  if (!(frames[1] as Buffer).equals(VERSION_FRAME)) return reject('version_mismatch');
  const idFrame = frames[2] as Buffer;
  if (idFrame.length === 0 || idFrame.length > limits.maxIdLength) return reject('bad_request_id');
  const id = idFrame.toString('latin1');
  const status = frames[3] as Buffer;
  if (status.length > 32) return reject('bad_status');
  const code = status.toString('latin1');
  if (code === OK) return { type: 'reply', id, ok: true, payload: frames.slice(4) };
  const message = frames[4];
  return { type: 'reply', id, ok: false, code, message: message === undefined ? '' : message.toString('utf8', 0, Math.min(message.length, 4096)) };
}

/** `tcp://host:port`, with IPv6 hosts in brackets. */
export function tcpEndpoint(host: string, port: number): string {
  return `tcp://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

const ENDPOINT = /^tcp:\/\/[^\s/]{1,255}:\d{1,5}$/;

function endpointArg(frame: Buffer | undefined): string | undefined {
  if (frame === undefined || frame.length > 300) return undefined;
  const s = frame.toString('latin1');
  return ENDPOINT.test(s) ? s : undefined;
}

function msArg(frame: Buffer | undefined): number | undefined {
  if (frame === undefined || frame.length === 0 || frame.length > 10) return undefined;
  const s = frame.toString('latin1');
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 ? n : undefined;
}

export function parseGrant(payload: readonly Buffer[]): Grant | Rejection {
  if (payload.length !== 4) return reject('bad_grant', `${payload.length} frames`);
  const dispatch = endpointArg(payload[0]);
  const broadcast = endpointArg(payload[1]);
  const heartbeatMs = msArg(payload[2]);
  const expiryMs = msArg(payload[3]);
  if (!dispatch || !broadcast || heartbeatMs === undefined || expiryMs === undefined) return reject('bad_grant');
  return { dispatch, broadcast, heartbeatMs, expiryMs };
}

export function parseLocation(payload: readonly Buffer[]): Location | Rejection {
  if (payload.length !== 3) return reject('bad_location', `${payload.length} frames`);
  const dispatch = endpointArg(payload[0]);
  const broadcast = endpointArg(payload[1]);
  const state = payload[2]?.toString('latin1');
  if (!dispatch || !broadcast || (state !== 'registered' && state !== 'suspect')) return reject('bad_location');
  return { dispatch, broadcast, state };
}

export function parseNames(payload: readonly Buffer[]): string[] | Rejection {
  const names: string[] = [];
  for (const frame of payload) {
    const name = nameArg(frame);
    if (name === undefined) return reject('bad_name');
    names.push(name);
  }
  return names;
}

export function parseValue(payload: readonly Buffer[], keyword: string): Buffer | Rejection {
  if (payload.length !== 2) return reject('bad_value_reply', `${payload.length} frames`);
  if (payload[0]?.toString('latin1') !== keyword) return reject('wrong_keyword');
  return payload[1] as Buffer;
}

export const MAX_DESCRIPTOR_BYTES = 256 * 1024;

export function parseIdentify(payload: readonly Buffer[]): KeywordDescriptor | Rejection {
  const frame = payload[0];
  if (payload.length !== 1 || frame === undefined) return reject('bad_identify', `${payload.length} frames`);
  if (frame.length > MAX_DESCRIPTOR_BYTES) return reject('descriptor_too_large');
  let raw: unknown;
  try {
    raw = JSON.parse(frame.toString('utf8'));
  } catch {
    return reject('bad_json');
  }
  const parsed = parseDescriptor(raw);
  return parsed.ok ? parsed.descriptor : reject('bad_descriptor', `${parsed.field} ${parsed.problem}`);
}

// ---- broadcasts ----

/**
 * The first frame of a broadcast: `service\0keyword\0`. SUB filtering is by
 * prefix, and names never contain NUL, so a subscription to `svc\0` (all of
 * svc) or `svc\0KW\0` (one keyword) can never match `svc2` or `KW2`.
 */
export function broadcastTopic(service: string, keyword?: string): Buffer {
  return Buffer.from(keyword === undefined || keyword === '' ? `${service}\0` : `${service}\0${keyword}\0`);
}

export function broadcastFrames(service: string, keyword: string, seq: number, value: Buffer): Buffer[] {
  return [broadcastTopic(service, keyword), VERSION_FRAME, Buffer.from(String(seq)), Buffer.from('broadcast'), Buffer.from(service), Buffer.from(keyword), value];
}

export function syncMarkFrames(service: string, keyword: string, token: string): Buffer[] {
  return [broadcastTopic(service, keyword), VERSION_FRAME, Buffer.from(token, 'latin1'), Buffer.from('sync'), Buffer.from(service), Buffer.from(keyword)];
}

export type BroadcastInbound =
  | { readonly type: 'keywords.broadcast'; readonly service: string; readonly keyword: string; readonly seq: number; readonly value: Buffer }
  | { readonly type: 'keywords.syncMark'; readonly service: string; readonly keyword: string; readonly token: string };

export function decodeBroadcast(frames: Buffer[], limits: KeywordsLimits = DEFAULT_KEYWORDS_LIMITS): BroadcastInbound | Rejection {
  const n = frames.length;
  if (n !== 6 && n !== 7) return reject('bad_frame_count', `${n}`);
  if (!(frames[1] as Buffer).equals(VERSION_FRAME)) return reject('version_mismatch');
  const service = nameArg(frames[4]);
  if (!service) return reject('bad_service_name');
  const kind = (frames[3] as Buffer).toString('latin1');
  const keywordFrame = frames[5] as Buffer;
  const keyword = kind === 'sync' && keywordFrame.length === 0 ? '' : nameArg(keywordFrame);
  if (keyword === undefined) return reject('bad_keyword_name');
  if (!(frames[0] as Buffer).equals(broadcastTopic(service, keyword))) return reject('topic_mismatch');
  if (kind === 'broadcast' && n === 7) {
    const seqText = (frames[2] as Buffer).toString('latin1');
    // Any sequence a dispatcher can send: up to Number.MAX_SAFE_INTEGER, which has 16 digits.
    if (!/^\d{1,16}$/.test(seqText) || !Number.isSafeInteger(Number(seqText))) return reject('bad_sequence');
    const value = frames[6] as Buffer;
    if (value.length > limits.maxValueBytes) return reject('value_too_large');
    return { type: 'keywords.broadcast', service, keyword, seq: Number(seqText), value };
  }
  if (kind === 'sync' && n === 6) {
    const token = tokenArg(frames[2], limits.maxIdLength);
    if (!token) return reject('bad_token');
    return { type: 'keywords.syncMark', service, keyword, token };
  }
  return reject('unknown_broadcast');
}

/** The registry's ROUTER: requests from dispatchers and clients. */
export function registryCodec(limits: KeywordsLimits = DEFAULT_KEYWORDS_LIMITS): Codec<RegistryInbound, Buffer[]> {
  return decodingCodec((frames) => decodeRegistryRequest(frames, limits));
}

/** A dispatcher's command ROUTER: reads, writes, identify, enumerate. */
export function dispatcherCodec(limits: KeywordsLimits = DEFAULT_KEYWORDS_LIMITS): Codec<DispatcherInbound, Buffer[]> {
  return decodingCodec((frames) => decodeDispatcherRequest(frames, limits));
}

/** A dispatcher's broadcast PUB sends only. */
export const broadcastCodec: Codec<DispatcherInbound, Buffer[]> = sendOnlyCodec('publisher_received');

/** A DEALER's replies from the registry or a dispatcher (the registrar's link). */
export function replyCodec(limits: KeywordsLimits = DEFAULT_KEYWORDS_LIMITS): Codec<Reply, Buffer[]> {
  return decodingCodec((frames) => decodeReply(frames, limits));
}
