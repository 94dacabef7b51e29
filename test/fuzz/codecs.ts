/**
 * Every decoder of untrusted bytes in `src/protocol/`, as one table: how to
 * call it on a message, what well-formed messages look like, and which
 * result types mean "accepted" and which "refused". The properties in
 * codecs.test.ts run over every row; a new protocol (the gateway's uwsgi and
 * HTTP head codecs) is one more row here.
 */
import fc from 'fast-check';
import { BATCH, packUnits, unitSize, type BatchUnit } from '../../src/protocol/blastbeat/batch.js';
import { BACKEND_KINDS, GATEWAY_KINDS, KIND_FRAME, backendFrames, decodeBackendFrames, decodeGatewayFrames } from '../../src/protocol/blastbeat/message.js';
import { DEFAULT_BROKER_WIRE_LIMITS, decodeBrokerFrames, type MalformedRequest } from '../../src/protocol/broker-wire.js';
import { butlerHeartbeat, butlerReady, butlerReply } from '../../src/protocol/butler.js';
import type { Rejection } from '../../src/protocol/codec.js';
import { parseJson, type JsonValue } from '../../src/protocol/json.js';
import { parseJsonWithin } from '../../src/protocol/json-limits.js';
import {
  ERROR_CODES,
  broadcastFrames,
  decodeBroadcast,
  decodeDispatcherRequest,
  decodeRegistryRequest,
  decodeReply,
  errorReply,
  grantPayload,
  isRejected,
  locationPayload,
  namesPayload,
  okReply,
  parseGrant,
  parseIdentify,
  parseLocation,
  parseNames,
  parseValue,
  request,
  syncMarkFrames,
  valuePayload,
} from '../../src/protocol/keywords.js';
import { descriptorToJson, type KeywordDescriptor } from '../../src/protocol/ktl-types.js';
import { MAX_CREDIT, brokerDisconnect, brokerHeartbeat, brokerRequest, clientRequest, workerDisconnect, workerHeartbeat, workerReady, workerReply } from '../../src/protocol/mdp.js';
import { clientRequest2, workerDisconnect2, workerFinal2, workerHeartbeat2, workerPartial2, workerReady2 } from '../../src/protocol/mdp2.js';
import {
  clientCallUnit,
  clientCancelUnit,
  clientRequestUnit,
  clientWindowUnit,
  heartbeatUnit,
  pingUnit,
  workerCancelUnit,
  workerCreditUnit,
  workerPartialUnit,
  workerReadyUnit,
  workerReplyUnit,
  workerRequestUnit,
  workerStreamUnit,
  workerWindowUnit,
} from '../../src/protocol/steward-wire.js';
import { decodeRpcReply, decodeRpcRequest, encodeRpcException, encodeRpcRequest, encodeRpcResult } from '../../src/protocol/rpc.js';
import { decodeSinkFrames, encodeSinkEvent } from '../../src/protocol/sink.js';
import { STIRR_ERROR_REASONS, decodeStirrFrames, decodeStirrReply, encodeStirrRequest, stirrErrorBody, type StirrErrorReason, type StirrRequest } from '../../src/protocol/stirr.js';
import { parseTagHeader, taggedRequest } from '../../src/protocol/tagged.js';
import { decodeWorkerFrames } from '../../src/protocol/worker-wire.js';
import { b, peerArb } from './frames.js';

export interface DecodeResult {
  readonly type: string;
}

/**
 * The broker and worker wires may decode one message into several (steward's
 * compact wire batches units): a fuzzed message counts as refused when any
 * part of it was, with that part's reason, else as accepted.
 */
export function one(decoded: DecodeResult | readonly DecodeResult[]): DecodeResult {
  if (!Array.isArray(decoded)) return decoded as DecodeResult;
  const list = decoded as readonly DecodeResult[];
  return list.find((d) => d.type === 'rejected') ?? list[0] ?? { type: 'rejected', reason: 'empty' } as DecodeResult;
}

export interface CodecUnderFuzz {
  readonly name: string;
  /** The decoder, called with frames exactly as its socket delivers them. */
  readonly decode: (frames: Buffer[]) => DecodeResult;
  /** Well-formed messages, which mutations start from. */
  readonly valid: fc.Arbitrary<Buffer[]>;
  /** Frame 0 is a routing id added by a ROUTER: mutations leave it alone. */
  readonly routed: boolean;
  readonly accepted: readonly string[];
  /** Result types that refuse the message: a Rejection ('rejected') or a typed answerable error. */
  readonly refused: readonly string[];
  /** Checks the fields of a refusal (a reason usable as a metric label, a known error code...). */
  readonly checkRefusal?: (result: DecodeResult) => string | undefined;
}

const STIRR_REASONS = STIRR_ERROR_REASONS;

/** A drop reason becomes a Prometheus label: it must be a short fixed word, never data from the peer. */
export function badReason(result: DecodeResult): string | undefined {
  if (result.type !== 'rejected') return undefined;
  const { reason } = result as Rejection;
  return typeof reason === 'string' && /^[a-z][a-z0-9_]{0,47}$/.test(reason) ? undefined : `reason ${JSON.stringify(reason)} is not a label`;
}

/** An answerable keywords refusal carries one of the protocol's error codes, never free text. */
function knownErrorCode(result: DecodeResult): string | undefined {
  if (result.type !== 'keywords.invalid') return undefined;
  const { code } = result as unknown as { code: string };
  return (ERROR_CODES as readonly string[]).includes(code) ? undefined : `unknown error code ${code}`;
}

/** A 400 the broker sends: its reason is a label like a drop's, its detail a bounded sentence, never the peer's bytes. */
function malformedRequestFault(result: DecodeResult): string | undefined {
  if (result.type !== 'client.malformed') return undefined;
  const { reason, detail, dialect, header } = result as MalformedRequest;
  const label = badReason({ type: 'rejected', reason } as Rejection);
  if (label) return label;
  if (typeof detail !== 'string' || detail.length === 0 || detail.length > 200) return `detail ${JSON.stringify(detail)}`;
  if (dialect === 'tagged' && (header === undefined || parseTagHeader(header) === undefined)) return 'a tagged 400 without a header to address it';
  return undefined;
}

const parsed = <T>(result: T | Rejection): DecodeResult => (isRejected(result) ? result : { type: 'parsed' });

// ---- names and values the protocols accept ----

export const serviceArb = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,30}$/);
export const keywordArb = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,15}$/);
export const idArb = fc.stringMatching(/^[a-z0-9]{1,12}$/);
export const tokenArb = fc.stringMatching(/^[!-~]{1,24}$/);
const smallFrame = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u));
const bodyArb = fc.array(smallFrame, { maxLength: 4 });
const portArb = fc.integer({ min: 1, max: 65_535 });
const endpointArb = fc.tuple(fc.constantFrom('127.0.0.1', 'localhost', '10.0.0.7'), portArb).map(([h, p]) => `tcp://${h}:${p}`);

const routed = (arb: fc.Arbitrary<Buffer[]>) => fc.tuple(peerArb, arb).map(([peer, frames]) => [peer, ...frames]);

// ---- broker (frontend and backend ROUTERs) ----

const u32 = fc.nat({ max: 0xffffffff });
const envelopeArb = u32.map((t) => {
  const e = Buffer.alloc(4);
  e.writeUInt32BE(t);
  return e;
});
const expirationArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 45 }));

/** steward's compact wire, as clients and workers send it: one unit, or a few batched in one message. */
const compactUnitArb: fc.Arbitrary<Buffer[]> = fc.oneof(
  fc.tuple(u32, expirationArb, serviceArb, bodyArb, fc.boolean()).map(([id, exp, s, body, wait]) => clientRequestUnit(id, exp, s, body, wait)),
  fc
    .tuple(u32, expirationArb, serviceArb, bodyArb, fc.boolean(), fc.option(fc.integer({ min: 1, max: 0xffff })))
    .map(([id, exp, s, body, noWait, window]) => clientCallUnit(id, exp, s, body, { noWait, ...(window === null ? {} : { window }) })),
  fc.tuple(u32, fc.nat({ max: 0xffff })).map(([id, credit]) => clientWindowUnit(id, credit)),
  u32.map((id) => clientCancelUnit(id)),
  fc.tuple(serviceArb, fc.integer({ min: 1, max: MAX_CREDIT })).map(([s, credit]) => workerReadyUnit(s, credit)),
  fc.tuple(u32, bodyArb).map(([t, body]) => workerReplyUnit(t, body)),
  fc.tuple(u32, bodyArb).map(([t, body]) => workerPartialUnit(t, body)),
  fc.integer({ min: 1, max: MAX_CREDIT }).map((credit) => workerCreditUnit(credit)),
  u32.map((n) => pingUnit(n)),
  fc.constant(heartbeatUnit()),
);
const compactMessageArb = fc.array(compactUnitArb, { minLength: 1, maxLength: 4 }).map((units) => units.flat());

/** What broker peers send (clients and workers of every dialect), before the ROUTER adds the routing id. */
export const brokerMessages: fc.Arbitrary<Buffer[]> = fc.oneof(
    fc.tuple(serviceArb, bodyArb).map(([s, body]) => clientRequest(s, body)),
    fc.tuple(serviceArb, bodyArb).map(([s, body]) => clientRequest2(s, body)),
    serviceArb.map((s) => workerReady2(s)),
    fc.tuple(envelopeArb, bodyArb).map(([env, body]) => workerPartial2(env, body)),
    fc.tuple(envelopeArb, bodyArb).map(([env, body]) => workerFinal2(env, body)),
    fc.constant(workerHeartbeat2()),
    fc.constant(workerDisconnect2()),
    compactMessageArb,
    fc
      .tuple(fc.constantFrom('STW1', 'EBv1', '0.3.0'), idArb, serviceArb, fc.nat({ max: 2 ** 45 }), bodyArb)
      .map(([tag, id, s, exp, body]) => taggedRequest(tag, id, s, exp, body)),
    fc.tuple(serviceArb, fc.integer({ min: 1, max: MAX_CREDIT })).map(([s, credit]) => workerReady(s, credit)),
    fc.tuple(smallFrame, bodyArb).map(([env, body]) => workerReply(env, body)),
    fc.constant(workerHeartbeat()),
    fc.constant(workerDisconnect()),
    serviceArb.map((s) => butlerReady(s)),
    fc.constant(butlerHeartbeat()),
    fc.tuple(smallFrame, idArb, smallFrame).map(([env, id, body]) => butlerReply(env, b(`EBv1:${id}`), body)),
);

/** What stirr clients send: one JSON frame, after an empty delimiter for REQ peers. */
export const stirrMessages: fc.Arbitrary<Buffer[]> = fc
  .tuple(
    fc.record(
      { group: serviceArb, type: fc.constantFrom('Base', 'MySQL', 'Tcp'), algorithm: fc.constantFrom('Casual', 'Weighted'), args: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }) },
      { requiredKeys: [] },
    ),
    fc.boolean(),
  )
  .map(([req, viaReq]) => (viaReq ? [Buffer.alloc(0), encodeStirrRequest(req as Partial<StirrRequest>)] : [encodeStirrRequest(req as Partial<StirrRequest>)]));

// ---- blastbeat (the gateway's backend ROUTER) ----

/**
 * What a BlastBeat node sends, before the ROUTER adds its routing id:
 * `[sid, type, body]` for a session (16-byte sids, as the gateway makes
 * them), presence with an empty sid (a pong may offer batches), and
 * steward's batches of session messages.
 */
export const blastbeatNodeMessages: fc.Arbitrary<Buffer[]> = fc.oneof(
  fc
    .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom(...BACKEND_KINDS), smallFrame)
    .map(([sid, kind, body]) => backendFrames(Buffer.from(sid), kind, body)),
  fc.tuple(fc.constantFrom('ping' as const, 'pong' as const), fc.constantFrom(Buffer.alloc(0), BATCH)).map(([kind, body]) => backendFrames(Buffer.alloc(0), kind, body)),
  batchOf(BACKEND_KINDS),
);

// ---- keywords (registry and dispatcher ROUTERs, client DEALERs, subscribers) ----

export const registryMessages: fc.Arbitrary<Buffer[]> = fc.oneof(
    fc
      .tuple(idArb, serviceArb, tokenArb, fc.constantFrom('127.0.0.1', 'host-a'), fc.option(portArb), fc.array(portArb, { maxLength: 5 }))
      .map(([id, s, token, host, prefer, avoid]) =>
        request(id, 'register', [b(s), b(token), b(host), b(prefer === null ? '' : String(prefer)), b(avoid.join(','))]),
      ),
    fc.tuple(idArb, fc.constantFrom('heartbeat' as const, 'unregister' as const), serviceArb, tokenArb).map(([id, cmd, s, t]) => request(id, cmd, [b(s), b(t)])),
    fc.tuple(idArb, serviceArb).map(([id, s]) => request(id, 'lookup', [b(s)])),
    idArb.map((id) => request(id, 'list', [])),
);

export const dispatcherMessages: fc.Arbitrary<Buffer[]> = fc.oneof(
    fc.tuple(idArb, fc.constantFrom('update' as const, 'identify' as const), serviceArb, keywordArb).map(([id, cmd, s, k]) => request(id, cmd, [b(s), b(k)])),
    fc.tuple(idArb, serviceArb, keywordArb, smallFrame).map(([id, s, k, v]) => request(id, 'modify', [b(s), b(k), v])),
    fc.tuple(idArb, serviceArb).map(([id, s]) => request(id, 'enumerate', [b(s)])),
    fc.tuple(idArb, serviceArb, fc.option(keywordArb), tokenArb).map(([id, s, k, t]) => request(id, 'sync', [b(s), b(k ?? ''), b(t)])),
);

const replyValid = fc
  .oneof(
    fc.tuple(idArb, bodyArb).map(([id, payload]) => okReply(b('peer'), id, payload)),
    fc.tuple(idArb, fc.constantFrom(...ERROR_CODES), fc.string({ maxLength: 40 })).map(([id, code, msg]) => errorReply(b('peer'), id, code, msg)),
  )
  .map((frames) => frames.slice(1));

const broadcastValid = fc.oneof(
  fc.tuple(serviceArb, keywordArb, fc.nat({ max: 1e12 }), smallFrame).map(([s, k, seq, v]) => broadcastFrames(s, k, seq, v)),
  fc.tuple(serviceArb, fc.option(keywordArb), tokenArb).map(([s, k, t]) => syncMarkFrames(s, k ?? '', t)),
);

export const descriptorArb: fc.Arbitrary<KeywordDescriptor> = fc.oneof(
  fc.record({ name: keywordArb, readonly: fc.boolean(), type: fc.constant('string' as const), maxLength: fc.nat({ max: 1 << 20 }) }),
  fc.record({ name: keywordArb, readonly: fc.boolean(), type: fc.constant('boolean' as const) }),
  fc
    .tuple(keywordArb, fc.boolean(), fc.constantFrom('integer' as const, 'double' as const, 'float' as const), fc.integer({ min: -1e6, max: 0 }), fc.integer({ min: 0, max: 1e6 }))
    .map(([name, ro, type, min, max]) => ({ name, readonly: ro, type, min, max })),
  fc
    .record({ name: keywordArb, readonly: fc.boolean(), enumerators: fc.uniqueArray(fc.stringMatching(/^[A-Za-z][a-z0-9]{0,9}$/), { minLength: 1, maxLength: 8, selector: (s) => s.toLowerCase() }) })
    .map((r) => ({ ...r, type: 'enumerated' as const })),
);

// ---- sink, RPC, JSON ----

const jsonArb = fc.jsonValue({ maxDepth: 4 });

export const sinkMessages: fc.Arbitrary<Buffer[]> = fc.oneof(
  fc.tuple(serviceArb, jsonArb).map(([s, data]) => encodeSinkEvent(s, data as JsonValue)),
  jsonArb.map((data) => [Buffer.from(JSON.stringify(data))]),
);

const rpcLimits = { maxBytes: 1024 * 1024, maxDepth: 32 };

const rpcRequestValid = fc
  .tuple(fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/), fc.array(jsonArb, { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 8 }), jsonArb, { maxKeys: 3 }))
  .map(([m, args, kwargs]) => [encodeRpcRequest(m, args, kwargs)]);

const rpcReplyValid = fc.oneof(
  jsonArb.map((v) => [Buffer.from(encodeRpcResult(v) ?? 'null')]),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })).map(([name, message]) => {
    const e = new Error(message);
    e.name = name || 'Error';
    return [encodeRpcException(e)];
  }),
  fc.constant([b('404')]),
) as fc.Arbitrary<Buffer[]>;

/** steward's batch extension: `[empty sid, 'batch', units]` of one side's types. */
function batchOf(kinds: readonly (keyof typeof KIND_FRAME)[]): fc.Arbitrary<Buffer[]> {
  return fc
    .array(fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom(...kinds), smallFrame), { minLength: 1, maxLength: 8 })
    .map((units) => {
      const list: BatchUnit[] = units.map(([sid, kind, body]) => [Buffer.from(sid), KIND_FRAME[kind], body]);
      return [Buffer.alloc(0), BATCH, packUnits(list, 0, list.length, list.reduce((n, u) => n + unitSize(u), 0))];
    });
}

export const CODECS: readonly CodecUnderFuzz[] = [
  {
    name: 'broker wire (MDP/0.1 and 0.2 clients and workers, butler worker, tagged client, compact units)',
    decode: (frames) => one(decodeBrokerFrames(frames, DEFAULT_BROKER_WIRE_LIMITS)),
    valid: routed(brokerMessages),
    routed: true,
    accepted: [
      'client.request',
      'client.window',
      'client.cancel',
      'worker.ready',
      'worker.reply',
      'worker.partial',
      'worker.heartbeat',
      'worker.disconnect',
      'worker.credit',
      'peer.ping',
    ],
    // A malformed tagged or compact request whose sender and attempt are known is answered 400, not dropped.
    refused: ['rejected', 'client.malformed'],
    checkRefusal: malformedRequestFault,
  },
  {
    name: 'worker wire (what an MDP or compact-wire worker DEALER receives)',
    decode: (frames) => one(decodeWorkerFrames(frames)),
    valid: fc.oneof(
      fc.tuple(smallFrame, bodyArb).map(([env, body]) => brokerRequest(b('w'), env, body).slice(1)),
      fc.constant(brokerHeartbeat(b('w')).slice(1)),
      fc.constant(brokerDisconnect(b('w')).slice(1)),
      fc.tuple(u32, bodyArb).map(([t, body]) => workerRequestUnit(t, body)),
      fc.tuple(u32, fc.nat({ max: 0xffff }), bodyArb).map(([t, window, body]) => workerStreamUnit(t, window, body)),
      fc.tuple(u32, fc.nat({ max: 0xffff })).map(([t, credit]) => workerWindowUnit(t, credit)),
      u32.map((t) => workerCancelUnit(t)),
    ),
    routed: false,
    accepted: ['broker.request', 'broker.window', 'broker.cancel', 'broker.heartbeat', 'broker.disconnect', 'broker.credit', 'broker.pong'],
    refused: ['rejected'],
  },
  {
    name: "blastbeat backend message (the gateway's ROUTER: [node, sid, type, body])",
    decode: (frames) => one(decodeBackendFrames(frames)),
    valid: routed(blastbeatNodeMessages),
    routed: true,
    accepted: ['backend.message'],
    refused: ['rejected'],
  },
  {
    name: "blastbeat gateway message (what a backend node's DEALER receives: [sid, type, body])",
    decode: (frames) => one(decodeGatewayFrames(frames)),
    valid: fc.oneof(
      fc
        .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom(...GATEWAY_KINDS), smallFrame)
        .map(([sid, kind, body]) => [Buffer.from(sid), KIND_FRAME[kind], body]),
      batchOf(GATEWAY_KINDS),
    ),
    routed: false,
    accepted: ['gateway.message'],
    refused: ['rejected'],
  },
  {
    name: 'stirr request (balancer ROUTER)',
    decode: (frames) => decodeStirrFrames(frames),
    valid: routed(stirrMessages),
    routed: true,
    accepted: ['stirr.request'],
    refused: ['rejected', 'stirr.invalid'],
    checkRefusal: (r) => (r.type === 'stirr.invalid' && !STIRR_REASONS.has((r as unknown as { reason: string }).reason) ? 'unknown stirr reason' : undefined),
  },
  {
    name: 'stirr reply (balancer client)',
    decode: ([frame]) => {
      const answer = decodeStirrReply(frame ?? Buffer.alloc(0), { maxDepth: 32, maxReplyBytes: 1024 * 1024 });
      return { type: answer.ok ? 'stirr.configuration' : `stirr.error.${answer.reason}` };
    },
    valid: fc.oneof(
      jsonArb.map((v) => [Buffer.from(JSON.stringify(v))]),
      fc.tuple(fc.constantFrom(...STIRR_REASONS), fc.string({ maxLength: 30 })).map(([r, e]) => [stirrErrorBody(r as StirrErrorReason, e)]),
    ),
    routed: false,
    accepted: ['stirr.configuration', ...[...STIRR_REASONS].map((r) => `stirr.error.${r}`), 'stirr.error.remote'],
    refused: ['stirr.error.bad_reply'],
  },
  {
    name: 'keywords registry request (registry ROUTER)',
    decode: (frames) => decodeRegistryRequest(frames),
    valid: routed(registryMessages),
    routed: true,
    accepted: ['registry.register', 'registry.heartbeat', 'registry.unregister', 'registry.lookup', 'registry.list'],
    refused: ['rejected', 'keywords.invalid'],
    checkRefusal: knownErrorCode,
  },
  {
    name: 'keywords dispatcher request (dispatcher command ROUTER)',
    decode: (frames) => decodeDispatcherRequest(frames),
    valid: routed(dispatcherMessages),
    routed: true,
    accepted: ['keywords.update', 'keywords.modify', 'keywords.identify', 'keywords.enumerate', 'keywords.sync'],
    refused: ['rejected', 'keywords.invalid'],
    checkRefusal: knownErrorCode,
  },
  {
    name: 'keywords reply (client and dispatcher DEALERs)',
    decode: (frames) => decodeReply(frames),
    valid: replyValid,
    routed: false,
    accepted: ['reply'],
    refused: ['rejected'],
  },
  {
    name: 'keywords broadcast (SUB)',
    decode: (frames) => decodeBroadcast(frames),
    valid: broadcastValid,
    routed: false,
    accepted: ['keywords.broadcast', 'keywords.syncMark'],
    refused: ['rejected'],
  },
  {
    name: 'keywords reply payloads (grant, location, names, value, identify)',
    decode: (frames) => {
      const [kind, ...payload] = frames;
      switch ((kind ?? Buffer.alloc(0)).toString('latin1')) {
        case 'grant':
          return parsed(parseGrant(payload));
        case 'location':
          return parsed(parseLocation(payload));
        case 'names':
          return parsed(parseNames(payload));
        case 'value':
          return parsed(parseValue(payload, 'KW'));
        default:
          return parsed(parseIdentify(payload));
      }
    },
    valid: fc.oneof(
      fc.tuple(endpointArb, endpointArb, fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e6 })).map(([d, br, h, e]) => [
        b('grant'),
        ...grantPayload({ dispatch: d, broadcast: br, heartbeatMs: h, expiryMs: e }),
      ]),
      fc.tuple(endpointArb, endpointArb, fc.constantFrom('registered' as const, 'suspect' as const)).map(([d, br, state]) => [
        b('location'),
        ...locationPayload({ dispatch: d, broadcast: br, state }),
      ]),
      fc.array(keywordArb, { maxLength: 6 }).map((names) => [b('names'), ...namesPayload(names)]),
      smallFrame.map((v) => [b('value'), ...valuePayload('KW', v)]),
      descriptorArb.map((d) => [b('identify'), b(descriptorToJson(d))]),
    ),
    routed: false,
    accepted: ['parsed'],
    refused: ['rejected'],
  },
  {
    name: 'sink event (sink PULL)',
    decode: (frames) => decodeSinkFrames(frames),
    valid: sinkMessages,
    routed: false,
    accepted: ['sink.event'],
    refused: ['rejected'],
  },
  {
    name: 'RPC request body (worker)',
    decode: (frames) => decodeRpcRequest(frames, rpcLimits),
    valid: rpcRequestValid,
    routed: false,
    accepted: ['rpc.request'],
    refused: ['rpc.bad_request'],
  },
  {
    name: 'RPC reply body (client)',
    decode: (frames) => decodeRpcReply(frames, rpcLimits),
    valid: rpcReplyValid,
    routed: false,
    // Text that is not JSON is a butler string result, so almost anything is an answer.
    accepted: ['rpc.result', 'rpc.not_found', 'rpc.exception'],
    refused: ['rpc.invalid'],
  },
  {
    name: 'JSON within limits (json.ts and json-limits.ts)',
    decode: ([frame]) => {
      const bytes = frame ?? Buffer.alloc(0);
      const a = parseJson(bytes, { maxBytes: 64 * 1024, maxDepth: 16 });
      const c = parseJsonWithin(bytes, { maxBytes: 64 * 1024, maxDepth: 16 });
      // The two parsers guard the same things and must agree on what they accept.
      if (a.ok !== c.ok) return { type: 'disagreement' };
      return a.ok ? { type: 'json' } : { type: 'rejected', reason: a.reason } as Rejection;
    },
    valid: jsonArb.map((v) => [Buffer.from(JSON.stringify(v))]),
    routed: false,
    accepted: ['json'],
    refused: ['rejected'],
  },
  {
    name: 'tagged header "<tag>:<id>"',
    decode: ([frame]) => (parseTagHeader(frame ?? Buffer.alloc(0)) ? { type: 'header' } : { type: 'rejected', reason: 'bad_header' } as Rejection),
    valid: fc.tuple(fc.constantFrom('STW1', 'EBv1', '0.3.0'), idArb).map(([t, id]) => [b(`${t}:${id}`)]),
    routed: false,
    accepted: ['header'],
    refused: ['rejected'],
  },
];
