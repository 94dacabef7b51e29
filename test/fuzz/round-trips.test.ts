import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBrokerFrames, type ClientRequest, type WorkerReady, type WorkerReply } from '../../src/protocol/broker-wire.js';
import { butlerReady, butlerReply } from '../../src/protocol/butler.js';
import {
  broadcastFrames,
  decodeBroadcast,
  decodeDispatcherRequest,
  decodeRegistryRequest,
  decodeReply,
  ERROR_CODES,
  errorReply,
  grantPayload,
  locationPayload,
  namesPayload,
  okReply,
  parseGrant,
  parseLocation,
  parseNames,
  parseValue,
  request,
  syncMarkFrames,
  valuePayload,
} from '../../src/protocol/keywords.js';
import { descriptorToJson, fromAscii, fromBinary, parseDescriptor } from '../../src/protocol/ktl-types.js';
import { MAX_CREDIT, brokerRequest, clientRequest, workerReady, workerReply } from '../../src/protocol/mdp.js';
import { decodeRpcReply, decodeRpcRequest, encodeRpcException, encodeRpcRequest, encodeRpcResult } from '../../src/protocol/rpc.js';
import type { JsonValue } from '../../src/protocol/json.js';
import { decodeSinkFrames, encodeSinkEvent } from '../../src/protocol/sink.js';
import { STIRR_DEFAULTS, type StirrRequest, decodeStirrFrames, decodeStirrReply, encodeStirrReply, encodeStirrRequest, stirrErrorBody } from '../../src/protocol/stirr.js';
import { parseTagHeader, tagHeader, taggedRequest } from '../../src/protocol/tagged.js';
import { decodeWorkerFrames } from '../../src/protocol/worker-wire.js';
import { descriptorArb, idArb, keywordArb, serviceArb, tokenArb } from './codecs.js';
import { FUZZ_RUNS, FUZZ_SEED, b, peerArb } from './frames.js';

const opts = { seed: FUZZ_SEED, numRuns: FUZZ_RUNS };
const bytes = fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u));
const body = fc.array(bytes, { maxLength: 5 });
const json = fc.jsonValue({ maxDepth: 4 });
/** What a value looks like after a trip through JSON text (-0 becomes 0, and so on). */
const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
const port = fc.integer({ min: 1, max: 65_535 });
const endpoint = port.map((p) => `tcp://127.0.0.1:${p}`);

describe('round trips: broker wire (MDP/0.1, tagged, butler)', () => {
  it('should decode an MDP client request to the service and body it was built from', () => {
    fc.assert(
      fc.property(peerArb, serviceArb, body, (peer, service, frames) => {
        const m = decodeBrokerFrames([peer, ...clientRequest(service, frames)]) as ClientRequest;
        expect(m).toMatchObject({ type: 'client.request', dialect: 'mdp', service, expiresAt: 0 });
        expect(m.peer.equals(peer)).toBe(true);
        expect(m.body).toEqual(frames);
      }),
      opts,
    );
  });

  it('should decode a tagged request to its tag, id (colons kept), service, expiration and body', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('STW1', 'EBv1', '0.3.0'),
        fc.stringMatching(/^[a-z0-9:]{0,40}$/),
        serviceArb,
        fc.nat({ max: 2 ** 50 }),
        body,
        (tag, id, service, expiresAt, frames) => {
          const m = decodeBrokerFrames([b('p'), ...taggedRequest(tag, id, service, expiresAt, frames)]) as ClientRequest;
          expect(m).toMatchObject({ type: 'client.request', dialect: 'tagged', requestId: id, service, expiresAt, steward: tag === 'STW1' });
          expect(m.body).toEqual(frames);
        },
      ),
      opts,
    );
  });

  it('should decode READY with its credit and REPLY with its envelope and body, for MDP and butler workers', () => {
    fc.assert(
      fc.property(serviceArb, fc.integer({ min: 1, max: MAX_CREDIT }), bytes, body, (service, credit, envelope, frames) => {
        expect(decodeBrokerFrames([b('w'), ...workerReady(service, credit)])).toMatchObject({ type: 'worker.ready', wire: 'mdp', service, credit });
        expect(decodeBrokerFrames([b('w'), ...butlerReady(service)])).toMatchObject({ type: 'worker.ready', wire: 'butler', service, credit: 1 });
        const mdp = decodeBrokerFrames([b('w'), ...workerReply(envelope, frames)]) as WorkerReply;
        expect(mdp.token).toBe(envelope.length === 4 ? envelope.readUInt32BE(0) : -1);
        expect(mdp.body).toEqual(frames);
        const one = frames[0] ?? Buffer.alloc(0);
        const butler = decodeBrokerFrames([b('w'), ...butlerReply(envelope, b('EBv1:1'), one)]) as WorkerReply;
        expect(butler).toMatchObject({ type: 'worker.reply', wire: 'butler' });
        expect(butler.token).toBe(envelope.length === 4 ? envelope.readUInt32BE(0) : -1);
        expect(butler.body).toEqual([one]);
      }),
      opts,
    );
  });

  it('should refuse a credit of zero or above the maximum, never clamp it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(0), fc.integer({ min: MAX_CREDIT + 1, max: 2 ** 40 })), (credit) => {
        const frames = [b('w'), ...workerReady('svc'), b(String(credit))];
        expect((decodeBrokerFrames(frames) as WorkerReady | { type: 'rejected' }).type).toBe('rejected');
      }),
      opts,
    );
  });

  it('should hand an MDP worker the envelope and body the broker put in REQUEST', () => {
    fc.assert(
      fc.property(bytes, body, (envelope, frames) => {
        const m = decodeWorkerFrames(brokerRequest(b('w'), envelope, frames).slice(1));
        expect(m).toEqual({ type: 'broker.request', envelope, token: -1, stream: false, window: 0, body: frames });
      }),
      opts,
    );
  });

  it('should split a tag header at the first colon', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9.]{1,32}$/), fc.stringMatching(/^[ -~]{0,64}$/), (tag, id) => {
        expect(parseTagHeader(tagHeader(tag, id))).toEqual({ tag, id });
      }),
      opts,
    );
  });
});

describe('round trips: stirr', () => {
  it('should decode a request to the fields sent, with stirr defaults for the rest, from DEALER and REQ peers', () => {
    const field = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}$/);
    fc.assert(
      fc.property(
        fc.record({ group: field, type: field, algorithm: field, args: fc.array(json, { maxLength: 4 }) }, { requiredKeys: [] }),
        fc.boolean(),
        (req, viaReq) => {
          const frame = encodeStirrRequest(req as Partial<StirrRequest>);
          const envelope = viaReq ? [b('peer'), Buffer.alloc(0)] : [b('peer')];
          const m = decodeStirrFrames([...envelope, frame]);
          expect(m).toEqual({ type: 'stirr.request', envelope, request: viaJson({ ...STIRR_DEFAULTS, ...req }) });
          expect(encodeStirrReply({ envelope, body: b('x') })).toEqual([...envelope, b('x')]);
        },
      ),
      opts,
    );
  });

  it('should read back an error reply as that error, and any other JSON as a configuration', () => {
    fc.assert(
      fc.property(fc.constantFrom('bad_json' as const, 'unknown_group' as const, 'all_down' as const), fc.string(), json, (reason, error, config) => {
        const limits = { maxDepth: 32, maxReplyBytes: 1 << 20 };
        expect(decodeStirrReply(stirrErrorBody(reason, error), limits)).toEqual({ ok: false, reason, error });
        const looksLikeError = typeof config === 'object' && config !== null && typeof (config as { error?: unknown }).error === 'string';
        if (!looksLikeError) expect(decodeStirrReply(Buffer.from(JSON.stringify(config)), limits)).toEqual({ ok: true, configuration: viaJson(config) });
      }),
      opts,
    );
  });
});

describe('round trips: keywords (KWP1)', () => {
  it('should decode every registry request to the fields it was built from', () => {
    fc.assert(
      fc.property(idArb, serviceArb, tokenArb, fc.option(port), fc.uniqueArray(port, { maxLength: 8 }), (id, service, token, prefer, avoid) => {
        const reg = decodeRegistryRequest([b('p'), ...request(id, 'register', [b(service), b(token), b('127.0.0.1'), b(prefer === null ? '' : String(prefer)), b(avoid.join(','))])]);
        expect(reg).toMatchObject({ type: 'registry.register', id, service, token, host: '127.0.0.1', prefer: prefer ?? undefined, avoid });
        expect(decodeRegistryRequest([b('p'), ...request(id, 'heartbeat', [b(service), b(token)])])).toMatchObject({ type: 'registry.heartbeat', id, service, token });
        expect(decodeRegistryRequest([b('p'), ...request(id, 'unregister', [b(service), b(token)])])).toMatchObject({ type: 'registry.unregister', service, token });
        expect(decodeRegistryRequest([b('p'), ...request(id, 'lookup', [b(service)])])).toMatchObject({ type: 'registry.lookup', id, service });
        expect(decodeRegistryRequest([b('p'), ...request(id, 'list', [])])).toMatchObject({ type: 'registry.list', id });
      }),
      opts,
    );
  });

  it('should decode every dispatcher request, a written value byte for byte', () => {
    fc.assert(
      fc.property(idArb, serviceArb, keywordArb, bytes, tokenArb, (id, service, keyword, value, token) => {
        const peer = b('p');
        expect(decodeDispatcherRequest([peer, ...request(id, 'update', [b(service), b(keyword)])])).toMatchObject({ type: 'keywords.update', id, service, keyword });
        expect(decodeDispatcherRequest([peer, ...request(id, 'identify', [b(service), b(keyword)])])).toMatchObject({ type: 'keywords.identify', keyword });
        const modify = decodeDispatcherRequest([peer, ...request(id, 'modify', [b(service), b(keyword), value])]);
        expect(modify).toMatchObject({ type: 'keywords.modify', service, keyword });
        expect((modify as { value: Buffer }).value.equals(value)).toBe(true);
        expect(decodeDispatcherRequest([peer, ...request(id, 'enumerate', [b(service)])])).toMatchObject({ type: 'keywords.enumerate', service });
        expect(decodeDispatcherRequest([peer, ...request(id, 'sync', [b(service), Buffer.alloc(0), b(token)])])).toMatchObject({ type: 'keywords.sync', keyword: '', token });
      }),
      opts,
    );
  });

  it('should decode ok and error replies, and each reply payload', () => {
    fc.assert(
      fc.property(
        idArb,
        body,
        fc.constantFrom(...ERROR_CODES),
        fc.string({ maxLength: 100 }),
        fc.tuple(endpoint, endpoint, fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 1e9 })),
        fc.array(keywordArb, { maxLength: 10 }),
        bytes,
        (id, payload, code, message, [dispatch, broadcast, heartbeatMs, expiryMs], names, value) => {
          expect(decodeReply(okReply(b('p'), id, payload).slice(1))).toEqual({ type: 'reply', id, ok: true, payload });
          expect(decodeReply(errorReply(b('p'), id, code, message).slice(1))).toEqual({ type: 'reply', id, ok: false, code, message });
          expect(parseGrant(grantPayload({ dispatch, broadcast, heartbeatMs, expiryMs }))).toEqual({ dispatch, broadcast, heartbeatMs, expiryMs });
          expect(parseLocation(locationPayload({ dispatch, broadcast, state: 'suspect' }))).toEqual({ dispatch, broadcast, state: 'suspect' });
          expect(parseNames(namesPayload(names))).toEqual(names);
          expect(parseValue(valuePayload('KW', value), 'KW')).toEqual(value);
        },
      ),
      opts,
    );
  });

  it('should decode a broadcast to its service, keyword, sequence and value, and a sync mark to its token', () => {
    fc.assert(
      fc.property(serviceArb, keywordArb, fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.nat({ max: Number.MAX_SAFE_INTEGER })), bytes, tokenArb, (service, keyword, seq, value, token) => {
        expect(decodeBroadcast(broadcastFrames(service, keyword, seq, value))).toEqual({ type: 'keywords.broadcast', service, keyword, seq, value });
        expect(decodeBroadcast(syncMarkFrames(service, '', token))).toEqual({ type: 'keywords.syncMark', service, keyword: '', token });
      }),
      opts,
    );
  });
});

describe('round trips: KTL types', () => {
  it('should read a descriptor back from its identify JSON', () => {
    fc.assert(
      fc.property(descriptorArb, (desc) => {
        expect(parseDescriptor(JSON.parse(descriptorToJson(desc)))).toEqual({ ok: true, descriptor: desc });
      }),
      opts,
    );
  });

  it('should cast any bytes to a canonical value that casts to itself, in both forms, or to a reason', () => {
    fc.assert(
      fc.property(descriptorArb, fc.oneof(bytes, fc.stringMatching(/^ ?[+-]?(0x)?[0-9a-fA-F.eE+-]{0,12} ?$/).map(b)), (desc, input) => {
        const first = fromAscii(desc, input);
        if (!first.ok) {
          expect(typeof first.reason).toBe('string');
          return;
        }
        const again = fromAscii(desc, first.value.ascii);
        expect(again).toEqual(first);
        expect(fromBinary(desc, first.value.binary)).toEqual(first);
      }),
      opts,
    );
  });

  it('should refuse any non-descriptor without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), descriptorArb.chain((d) => fc.record({ ...Object.fromEntries(Object.keys(d).map((k) => [k, fc.anything()])) }))), (raw) => {
        const result = parseDescriptor(raw);
        expect(typeof result.ok).toBe('boolean');
      }),
      opts,
    );
  });
});

describe('round trips: sink and RPC', () => {
  it('should decode a sink event to its source and data', () => {
    fc.assert(
      fc.property(serviceArb, json, (source, data) => {
        expect(decodeSinkFrames(encodeSinkEvent(source, data as JsonValue))).toEqual({ type: 'sink.event', source, data: viaJson(data) });
      }),
      opts,
    );
  });

  it('should decode an RPC request to its method, args and kwargs', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z_][a-z0-9_]{0,30}$/), fc.array(json, { maxLength: 5 }), fc.dictionary(fc.string({ maxLength: 10 }), json, { maxKeys: 4 }), (method, args, kwargs) => {
        const m = decodeRpcRequest([encodeRpcRequest(method, args, kwargs)], { maxBytes: 1 << 20, maxDepth: 32 });
        expect(m).toEqual({ type: 'rpc.request', method, args: viaJson(args), kwargs: viaJson(kwargs) });
      }),
      opts,
    );
  });

  it('should decode an RPC result to the same JSON value (404 included) and an exception to its name and message', () => {
    const limits = { maxBytes: 1 << 20, maxDepth: 32 };
    fc.assert(
      fc.property(json, fc.stringMatching(/^[A-Za-z]{1,20}$/), fc.string({ maxLength: 60 }), (value, name, message) => {
        expect(decodeRpcReply([Buffer.from(encodeRpcResult(value) as string)], limits)).toEqual({ type: 'rpc.result', value: viaJson(value) });
        expect(decodeRpcReply([Buffer.from(encodeRpcResult(404) as string)], limits)).toEqual({ type: 'rpc.result', value: 404 });
        const error = new Error(message);
        error.name = name;
        expect(decodeRpcReply([encodeRpcException(error)], limits)).toMatchObject({ type: 'rpc.exception', exception: { name, message } });
      }),
      opts,
    );
  });
});
