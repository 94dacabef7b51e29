import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KWP_VERSION,
  broadcastFrames,
  broadcastTopic,
  decodeBroadcast,
  decodeDispatcherRequest,
  decodeRegistryRequest,
  decodeReply,
  errorReply,
  grantPayload,
  isRejected,
  okReply,
  parseGrant,
  parseIdentify,
  parseLocation,
  request,
  syncMarkFrames,
} from '../../../src/protocol/keywords.js';

const peer = Buffer.from([0, 1, 2, 3, 4]);
/** What a ROUTER receives for a DEALER's request: the peer's routing id first. */
const inbound = (id: string, command: string, ...args: (string | Buffer)[]) => [peer, ...request(id, command as never, args.map((a) => Buffer.from(a)))];
const B = (s: string) => Buffer.from(s);

describe('registry requests', () => {
  it('should decode register with preferred and avoided ports', () => {
    expect(decodeRegistryRequest(inbound('7', 'register', 'svc', 'tok-1', '127.0.0.1', '6600', '6602,6603'))).toEqual({
      type: 'registry.register',
      peer,
      id: '7',
      service: 'svc',
      token: 'tok-1',
      host: '127.0.0.1',
      prefer: 6600,
      avoid: [6602, 6603],
    });
  });

  it('should decode register without the optional frames', () => {
    expect(decodeRegistryRequest(inbound('1', 'register', 'svc', 't', 'h'))).toMatchObject({ prefer: undefined, avoid: [] });
  });

  it('should decode heartbeat, unregister, lookup and list', () => {
    expect(decodeRegistryRequest(inbound('1', 'heartbeat', 'svc', 't'))).toMatchObject({ type: 'registry.heartbeat', service: 'svc', token: 't' });
    expect(decodeRegistryRequest(inbound('1', 'unregister', 'svc', 't'))).toMatchObject({ type: 'registry.unregister' });
    expect(decodeRegistryRequest(inbound('1', 'lookup', 'svc'))).toMatchObject({ type: 'registry.lookup', service: 'svc' });
    expect(decodeRegistryRequest(inbound('1', 'list'))).toMatchObject({ type: 'registry.list' });
  });

  it('should answer a request that has an id but bad arguments with bad-request, not drop it', () => {
    const cases: Buffer[][] = [
      inbound('1', 'register', 'svc'),
      inbound('1', 'register', 'bad name', 't', 'h'),
      inbound('1', 'register', 'svc', 't', 'h', '70000'),
      inbound('1', 'register', 'svc', 't', 'h', '', '1,x'),
      inbound('1', 'register', 'svc', 't', 'h', '', Array.from({ length: 65 }, (_, i) => String(1000 + i)).join(',')),
      inbound('1', 'register', 'svc', 'has space', 'h'),
      inbound('1', 'lookup'),
      inbound('1', 'lookup', 'svc', 'extra'),
      inbound('1', 'lookup', 'a\0b'),
      inbound('1', 'list', 'x'),
    ];
    for (const frames of cases) expect(decodeRegistryRequest(frames)).toMatchObject({ type: 'keywords.invalid', code: 'bad-request', id: '1' });
  });

  it('should answer an unknown command and a missing command frame', () => {
    expect(decodeRegistryRequest(inbound('1', 'update', 'svc', 'K'))).toMatchObject({ type: 'keywords.invalid', code: 'unknown-command' });
    expect(decodeRegistryRequest([peer, B(''), B(KWP_VERSION), B('9')])).toMatchObject({ type: 'keywords.invalid', code: 'bad-request' });
  });

  it('should answer another protocol version with version-mismatch', () => {
    expect(decodeRegistryRequest([peer, B(''), B('KWP9'), B('1'), B('lookup'), B('svc')])).toMatchObject({ type: 'keywords.invalid', code: 'version-mismatch' });
  });

  it('should reject what cannot be answered: no delimiter, no id, an oversize id, too many frames', () => {
    expect(decodeRegistryRequest([peer])).toMatchObject({ type: 'rejected', reason: 'too_few_frames' });
    expect(decodeRegistryRequest([peer, B('x'), B(KWP_VERSION), B('1'), B('list')])).toMatchObject({ reason: 'missing_delimiter' });
    expect(decodeRegistryRequest([peer, B(''), B(KWP_VERSION), B(''), B('list')])).toMatchObject({ reason: 'bad_request_id' });
    expect(decodeRegistryRequest([peer, B(''), B(KWP_VERSION), B('x'.repeat(65)), B('list')])).toMatchObject({ reason: 'bad_request_id' });
    expect(decodeRegistryRequest([peer, ...Array.from({ length: 20 }, () => B('a'))])).toMatchObject({ reason: 'too_many_frames' });
  });

  it('should never throw, whatever the frames', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }), (arrays) => {
        const frames = arrays.map((a) => Buffer.from(a));
        const r1 = decodeRegistryRequest(frames);
        const r2 = decodeDispatcherRequest(frames);
        const r3 = decodeReply(frames);
        const r4 = decodeBroadcast(frames);
        return [r1, r2, r3, r4].every((r) => typeof r.type === 'string');
      }),
    );
  });
});

describe('dispatcher requests', () => {
  it('should decode update, modify, identify, enumerate and sync', () => {
    expect(decodeDispatcherRequest(inbound('a', 'update', 'svc', 'TEMP'))).toMatchObject({ type: 'keywords.update', service: 'svc', keyword: 'TEMP' });
    expect(decodeDispatcherRequest(inbound('a', 'identify', 'svc', 'TEMP'))).toMatchObject({ type: 'keywords.identify' });
    expect(decodeDispatcherRequest(inbound('a', 'enumerate', 'svc'))).toMatchObject({ type: 'keywords.enumerate' });
    expect(decodeDispatcherRequest(inbound('a', 'sync', 'svc', '', 'tok'))).toMatchObject({ type: 'keywords.sync', keyword: '', token: 'tok' });
  });

  it('should keep a modify value as opaque bytes: ":" , NUL and invalid UTF-8 included', () => {
    const value = Buffer.from([0x3a, 0x00, 0xff, 0xfe, 0x3a]);
    const m = decodeDispatcherRequest([peer, ...request('a', 'modify', [B('svc'), B('K'), value])]);
    expect(m.type).toBe('keywords.modify');
    expect((m as { value: Buffer }).value.equals(value)).toBe(true);
  });

  it('should refuse a value over the size limit with bad-request', () => {
    const big = Buffer.alloc(2048);
    const m = decodeDispatcherRequest([peer, ...request('a', 'modify', [B('svc'), B('K'), big])], {
      maxFrames: 16,
      maxIdLength: 64,
      maxValueBytes: 1024,
      maxHostLength: 255,
      maxAvoid: 64,
      maxListEntries: 100,
    });
    expect(m).toMatchObject({ type: 'keywords.invalid', code: 'bad-request' });
  });

  it('should answer bad names and unknown commands', () => {
    expect(decodeDispatcherRequest(inbound('a', 'update', 'svc', 'no spaces'))).toMatchObject({ code: 'bad-request' });
    expect(decodeDispatcherRequest(inbound('a', 'modify', 'svc', 'K'))).toMatchObject({ code: 'bad-request' });
    expect(decodeDispatcherRequest(inbound('a', 'register', 'svc', 't', 'h'))).toMatchObject({ code: 'unknown-command' });
  });
});

describe('replies', () => {
  it('should round-trip ok and error replies through a ROUTER to a DEALER', () => {
    const ok = okReply(peer, 'r1', [B('x'), B('y')]).slice(1);
    expect(decodeReply(ok)).toEqual({ type: 'reply', id: 'r1', ok: true, payload: [B('x'), B('y')] });
    const err = errorReply(peer, 'r2', 'no-such-keyword', 'nope').slice(1);
    expect(decodeReply(err)).toEqual({ type: 'reply', id: 'r2', ok: false, code: 'no-such-keyword', message: 'nope' });
  });

  it('should reject replies of another version or without a delimiter', () => {
    expect(decodeReply([B(''), B('KWP2'), B('1'), B('ok')])).toMatchObject({ type: 'rejected', reason: 'version_mismatch' });
    expect(decodeReply([B('x'), B(KWP_VERSION), B('1'), B('ok')])).toMatchObject({ type: 'rejected', reason: 'missing_delimiter' });
  });

  it('should parse grants and locations, refusing malformed ones', () => {
    const grant = { dispatch: 'tcp://127.0.0.1:6600', broadcast: 'tcp://127.0.0.1:6601', heartbeatMs: 1000, expiryMs: 3000 };
    expect(parseGrant(grantPayload(grant))).toEqual(grant);
    expect(isRejected(parseGrant([B('ipc://x'), B('tcp://h:1'), B('1'), B('1')]))).toBe(true);
    expect(isRejected(parseGrant([B('tcp://h:1')]))).toBe(true);
    expect(parseLocation([B('tcp://h:1'), B('tcp://h:2'), B('suspect')])).toEqual({ dispatch: 'tcp://h:1', broadcast: 'tcp://h:2', state: 'suspect' });
    expect(isRejected(parseLocation([B('tcp://h:1'), B('tcp://h:2'), B('dead')]))).toBe(true);
  });

  it('should parse identify replies and refuse bad JSON or descriptors', () => {
    expect(parseIdentify([B('{"name":"T","type":"integer","readonly":true}')])).toEqual({ name: 'T', type: 'integer', readonly: true });
    expect(isRejected(parseIdentify([B('{')]))).toBe(true);
    expect(isRejected(parseIdentify([B('{"name":"T","type":"wat"}')]))).toBe(true);
  });
});

describe('broadcasts', () => {
  it('should frame the topic so "svc" can never prefix-match "svc2", nor "K" match "K2"', () => {
    const svc = broadcastTopic('svc');
    const svc2Frames = broadcastFrames('svc2', 'K', 1, B('v'));
    expect(svc2Frames[0]!.subarray(0, svc.length).equals(svc)).toBe(false);
    const k = broadcastTopic('svc', 'K');
    const k2Frames = broadcastFrames('svc', 'K2', 1, B('v'));
    expect(k2Frames[0]!.subarray(0, k.length).equals(k)).toBe(false);
    // ...while the whole-service topic does prefix every keyword's.
    expect(broadcastFrames('svc', 'K', 1, B('v'))[0]!.subarray(0, svc.length).equals(svc)).toBe(true);
  });

  it('should round-trip a broadcast carrying arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 1e9 }), (bytes, seq) => {
        const value = Buffer.from(bytes);
        const b = decodeBroadcast(broadcastFrames('svc', 'KW', seq, value));
        return b.type === 'keywords.broadcast' && b.value.equals(value) && b.seq === seq && b.keyword === 'KW';
      }),
    );
  });

  it('should decode sync marks for one keyword and for the whole service', () => {
    expect(decodeBroadcast(syncMarkFrames('svc', 'K', 'tok'))).toEqual({ type: 'keywords.syncMark', service: 'svc', keyword: 'K', token: 'tok' });
    expect(decodeBroadcast(syncMarkFrames('svc', '', 'tok'))).toMatchObject({ keyword: '' });
  });

  it('should reject a broadcast whose topic does not match its service and keyword frames', () => {
    const frames = broadcastFrames('svc', 'K', 1, B('v'));
    frames[0] = broadcastTopic('other', 'K');
    expect(decodeBroadcast(frames)).toMatchObject({ type: 'rejected', reason: 'topic_mismatch' });
  });

  it('should reject bad sequence numbers and unknown kinds', () => {
    const frames = broadcastFrames('svc', 'K', 1, B('v'));
    frames[2] = B('x');
    expect(decodeBroadcast(frames)).toMatchObject({ reason: 'bad_sequence' });
    frames[2] = B('1');
    frames[3] = B('shout');
    expect(decodeBroadcast(frames)).toMatchObject({ reason: 'unknown_broadcast' });
  });
});
