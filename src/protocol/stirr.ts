/**
 * stirr's wire (seed 000), as a ROUTER sees it:
 *
 *   DEALER client -> balancer: [peer, json]              (stirr's own clients)
 *   REQ client    -> balancer: [peer, "", json]          (steward adds these)
 *   balancer -> client:        [envelope..., json]       the same envelope back
 *
 * The request is one JSON object `{"group", "type", "algorithm", "args"}`,
 * each field optional. The reply is the chosen backend's `configuration`, or
 * `{"error": "...", "reason": "..."}`. `reason` is steward's addition (a stable
 * code for typed client errors); stirr clients look only at `error`.
 *
 * Everything a peer can get wrong is answered with an error reply naming the
 * cause, because a stirr client blocks until it hears back. Only messages
 * that cannot be answered at all (no frames, too many frames) are rejected.
 * Nothing here throws.
 */
import { reject, type Codec, type Rejection } from './codec.js';
import { isJsonObject, jsonTypeName, parseJsonWithin, type JsonValue } from './json-limits.js';

export interface StirrRequest {
  readonly group: string;
  readonly type: string;
  readonly algorithm: string;
  readonly args: readonly JsonValue[];
}

export const STIRR_DEFAULTS: StirrRequest = { group: 'default', type: 'Base', algorithm: 'Casual', args: [] };

/** The backend types a request's `type` may name, and a configuration's backends may have. */
export const BACKEND_TYPES = ['Base', 'Tcp', 'Http', 'MySQL', 'Redis'] as const;
export type BackendTypeName = (typeof BACKEND_TYPES)[number];

export function isBackendType(name: string): name is BackendTypeName {
  return (BACKEND_TYPES as readonly string[]).includes(name);
}

/** Every cause of an error reply: the request's own faults, then the balancer's answers. */
export type StirrErrorReason =
  | 'empty_request'
  | 'bad_frames'
  | 'too_large'
  | 'too_deep'
  | 'bad_json'
  | 'not_object'
  | 'bad_field'
  | 'unknown_group'
  | 'unknown_type'
  | 'no_backend'
  | 'unknown_algorithm'
  | 'all_down'
  | 'zero_weights'
  | 'shutting_down';

export interface StirrRequestMessage {
  readonly type: 'stirr.request';
  /** Routing frames to send back before the reply: the peer id, and for REQ peers everything up to the empty delimiter. */
  readonly envelope: readonly Buffer[];
  readonly request: StirrRequest;
}

export interface StirrInvalidMessage {
  readonly type: 'stirr.invalid';
  readonly envelope: readonly Buffer[];
  readonly reason: StirrErrorReason;
  readonly error: string;
}

export type StirrInbound = StirrRequestMessage | StirrInvalidMessage;

export interface StirrReply {
  readonly envelope: readonly Buffer[];
  /** One JSON text: a configuration, or an error object. */
  readonly body: Buffer;
}

export interface StirrLimits {
  /** Frames in one message, routing frames included. */
  readonly maxFrames: number;
  /** Bytes of the JSON request frame. Keep it below the socket's maxMessageSize, or an oversized request is cut off by libzmq instead of answered. */
  readonly maxRequestBytes: number;
  readonly maxDepth: number;
  /** Characters of group, type and algorithm. */
  readonly maxNameLength: number;
  readonly maxArgs: number;
}

export const DEFAULT_STIRR_LIMITS: StirrLimits = {
  maxFrames: 16,
  maxRequestBytes: 64 * 1024,
  maxDepth: 32,
  maxNameLength: 255,
  maxArgs: 64,
};

const FIELDS = ['group', 'type', 'algorithm', 'args'] as const;

function invalid(envelope: readonly Buffer[], reason: StirrErrorReason, error: string): StirrInvalidMessage {
  return { type: 'stirr.invalid', envelope, reason, error };
}

/** The envelope ends at the first empty frame (REQ peers, proxies); without one it is the peer id alone (DEALER peers). */
function splitEnvelope(frames: Buffer[]): { envelope: Buffer[]; body: Buffer[] } {
  for (let i = 1; i < frames.length; i++) {
    if ((frames[i] as Buffer).length === 0) return { envelope: frames.slice(0, i + 1), body: frames.slice(i + 1) };
  }
  return { envelope: frames.slice(0, 1), body: frames.slice(1) };
}

function readName(
  object: { readonly [key: string]: JsonValue },
  field: 'group' | 'type' | 'algorithm',
  limits: StirrLimits,
): string | { error: string } {
  const value = object[field];
  if (value === undefined || value === null) return STIRR_DEFAULTS[field];
  if (typeof value !== 'string') return { error: `"${field}" must be a string, got ${jsonTypeName(value)}` };
  if (value.length === 0) return { error: `"${field}" must not be empty` };
  if (value.length > limits.maxNameLength) return { error: `"${field}" is longer than ${limits.maxNameLength} characters` };
  return value;
}

/** A decoded JSON value checked against the request's shape. */
export function validateStirrRequest(value: JsonValue, limits: StirrLimits = DEFAULT_STIRR_LIMITS): StirrRequest | { reason: StirrErrorReason; error: string } {
  if (!isJsonObject(value)) return { reason: 'not_object', error: `the request must be a JSON object, got ${jsonTypeName(value)}` };
  const group = readName(value, 'group', limits);
  if (typeof group !== 'string') return { reason: 'bad_field', error: group.error };
  const type = readName(value, 'type', limits);
  if (typeof type !== 'string') return { reason: 'bad_field', error: type.error };
  const algorithm = readName(value, 'algorithm', limits);
  if (typeof algorithm !== 'string') return { reason: 'bad_field', error: algorithm.error };
  const rawArgs = value['args'];
  let args: readonly JsonValue[] = STIRR_DEFAULTS.args;
  if (rawArgs !== undefined && rawArgs !== null) {
    if (!Array.isArray(rawArgs)) return { reason: 'bad_field', error: `"args" must be an array, got ${jsonTypeName(rawArgs)}` };
    if (rawArgs.length > limits.maxArgs) return { reason: 'bad_field', error: `"args" has more than ${limits.maxArgs} items` };
    args = rawArgs as readonly JsonValue[];
  }
  return { group, type, algorithm, args };
}

export function decodeStirrFrames(frames: Buffer[], limits: StirrLimits = DEFAULT_STIRR_LIMITS): StirrInbound | Rejection {
  if (frames.length === 0) return reject('no_frames');
  if (frames.length > limits.maxFrames) return reject('too_many_frames', `${frames.length} > ${limits.maxFrames}`);
  const { envelope, body } = splitEnvelope(frames);
  if (body.length === 0) return invalid(envelope, 'empty_request', 'empty request: send one JSON object in one frame');
  if (body.length > 1) return invalid(envelope, 'bad_frames', `expected one JSON frame, got ${body.length} frames`);
  const json = body[0] as Buffer;
  if (json.length === 0) return invalid(envelope, 'empty_request', 'empty request: send one JSON object in one frame');
  const parsed = parseJsonWithin(json, { maxBytes: limits.maxRequestBytes, maxDepth: limits.maxDepth });
  if (!parsed.ok) {
    const what = parsed.reason === 'bad_json' ? 'the request is not valid JSON' : 'the request is refused';
    return invalid(envelope, parsed.reason, `${what}: ${parsed.detail}`);
  }
  const request = validateStirrRequest(parsed.value, limits);
  if ('reason' in request) return invalid(envelope, request.reason, request.error);
  return { type: 'stirr.request', envelope, request };
}

export function encodeStirrReply(reply: StirrReply): Buffer[] {
  const frames = reply.envelope.slice();
  frames.push(reply.body);
  return frames;
}

/** The JSON body of an error reply. */
export function stirrErrorBody(reason: StirrErrorReason, error: string): Buffer {
  return Buffer.from(JSON.stringify({ error, reason }));
}

/** The JSON frame a client sends; fields left out take stirr's defaults on the balancer. */
export function encodeStirrRequest(request: Partial<StirrRequest>): Buffer {
  const out: Record<string, JsonValue> = {};
  for (const field of FIELDS) {
    const v = request[field];
    if (v !== undefined) out[field] = v as JsonValue;
  }
  return Buffer.from(JSON.stringify(out));
}

/** What a client makes of a reply frame: the configuration, or the error the balancer named. */
export type StirrAnswer =
  | { readonly ok: true; readonly configuration: JsonValue }
  | { readonly ok: false; readonly reason: StirrErrorReason | 'remote' | 'bad_reply'; readonly error: string };

/** Every reason an error reply may name; anything else from a peer reads as 'remote'. */
export const STIRR_ERROR_REASONS: ReadonlySet<string> = new Set<StirrErrorReason>([
  'empty_request',
  'bad_frames',
  'too_large',
  'too_deep',
  'bad_json',
  'not_object',
  'bad_field',
  'unknown_group',
  'unknown_type',
  'no_backend',
  'unknown_algorithm',
  'all_down',
  'zero_weights',
  'shutting_down',
]);

/**
 * stirr's reply carries no status: an object whose `error` is a string is an
 * error. A backend configuration shaped like that is indistinguishable, as in
 * stirr itself.
 */
export function decodeStirrReply(frame: Buffer, limits: Pick<StirrLimits, 'maxDepth'> & { maxReplyBytes: number }): StirrAnswer {
  const parsed = parseJsonWithin(frame, { maxBytes: limits.maxReplyBytes, maxDepth: limits.maxDepth });
  if (!parsed.ok) return { ok: false, reason: 'bad_reply', error: `unreadable reply: ${parsed.detail}` };
  const value = parsed.value;
  if (isJsonObject(value) && typeof value['error'] === 'string') {
    const reason = value['reason'];
    return {
      ok: false,
      reason: typeof reason === 'string' && STIRR_ERROR_REASONS.has(reason) ? (reason as StirrErrorReason) : 'remote',
      error: value['error'],
    };
  }
  return { ok: true, configuration: value };
}

export function stirrCodec(limits: StirrLimits = DEFAULT_STIRR_LIMITS): Codec<StirrInbound, StirrReply> {
  return {
    decode: (frames) => decodeStirrFrames(frames, limits),
    encode: encodeStirrReply,
  };
}
