import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BROKER_WIRE_LIMITS, decodeBrokerFrames, decodeBrokerMessage, type BrokerInbound } from '../../../src/protocol/broker-wire.js';
import type { Rejection } from '../../../src/protocol/codec.js';
import { clientRequest, workerReply } from '../../../src/protocol/mdp.js';
import {
  MDPC02,
  MDPW02,
  brokerClientFinal2,
  brokerClientPartial2,
  brokerRequest2,
  clientRequest2,
  workerDisconnect2,
  workerFinal2,
  workerHeartbeat2,
  workerPartial2,
  workerReady2,
} from '../../../src/protocol/mdp2.js';

const b = (s: string) => Buffer.from(s);
const one = (frames: Buffer[]) => decodeBrokerFrames(frames) as BrokerInbound | Rejection;
const token = (n: number) => {
  const e = Buffer.alloc(4);
  e.writeUInt32BE(n);
  return e;
};
const service = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,30}$/);
const body = fc.array(fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)), { maxLength: 5 });
const peer = fc.uint8Array({ minLength: 1, maxLength: 8 }).map((u) => Buffer.from(u));

describe('MDP/0.2 (RFC 18) on the broker wire', () => {
  it("should lay out RFC 18's frames: no empty frame before the header, one command byte", () => {
    expect(clientRequest2('echo', [b('hi')]).map(String)).toEqual([MDPC02, '\x01', 'echo', 'hi']);
    expect(workerReady2('echo').map(String)).toEqual([MDPW02, '\x01', 'echo']);
    expect(workerPartial2(b('E'), [b('p')]).map(String)).toEqual([MDPW02, '\x03', 'E', '', 'p']);
    expect(workerFinal2(b('E'), [b('f')]).map(String)).toEqual([MDPW02, '\x04', 'E', '', 'f']);
    expect(workerHeartbeat2().map(String)).toEqual([MDPW02, '\x05']);
    expect(workerDisconnect2().map(String)).toEqual([MDPW02, '\x06']);
    expect(brokerRequest2(b('W'), b('E'), [b('r')]).map(String)).toEqual(['W', MDPW02, '\x02', 'E', '', 'r']);
    expect(brokerClientPartial2(b('C'), b('svc'), [b('p')]).map(String)).toEqual(['C', MDPC02, '\x02', 'svc', 'p']);
    expect(brokerClientFinal2(b('C'), b('svc'), [b('f')]).map(String)).toEqual(['C', MDPC02, '\x03', 'svc', 'f']);
  });

  it('should decode a 0.2 client request as a stream with no window', () => {
    expect(one([b('C'), ...clientRequest2('svc', [b('a'), b('b')])])).toMatchObject({
      type: 'client.request',
      dialect: 'mdp2',
      service: 'svc',
      stream: true,
      window: 0,
      expiresAt: 0,
      body: [b('a'), b('b')],
    });
  });

  it('should decode every worker command, PARTIAL and FINAL with their tokens', () => {
    expect(one([b('W'), ...workerReady2('svc')])).toEqual({ type: 'worker.ready', peer: b('W'), wire: 'mdp2', service: 'svc', credit: 1 });
    expect(one([b('W'), ...workerPartial2(token(7), [b('p')])])).toEqual({ type: 'worker.partial', peer: b('W'), wire: 'mdp2', token: 7, body: [b('p')] });
    expect(one([b('W'), ...workerFinal2(token(7), [])])).toEqual({ type: 'worker.reply', peer: b('W'), wire: 'mdp2', token: 7, body: [] });
    expect(one([b('W'), ...workerHeartbeat2()])).toEqual({ type: 'worker.heartbeat', peer: b('W'), wire: 'mdp2' });
    expect(one([b('W'), ...workerDisconnect2()])).toEqual({ type: 'worker.disconnect', peer: b('W') });
    // An envelope that is not the broker's 4-byte token still decodes (it is checked against what the worker holds).
    expect(one([b('W'), ...workerFinal2(b('xyz'), [])])).toMatchObject({ type: 'worker.reply', token: -1 });
  });

  it('should refuse malformed 0.2 messages with a reason, never throw', () => {
    const cases: Array<[Buffer[], string]> = [
      [[b('C'), b(MDPC02)], 'mdp2_client_without_command'],
      [[b('C'), b(MDPC02), b('\x01')], 'mdp_client_without_service'],
      [[b('C'), b(MDPC02), b('\x01'), b('')], 'bad_service_name'],
      [[b('C'), b(MDPC02), b('\x01\x01'), b('svc')], 'bad_command_frame'],
      [[b('C'), b(MDPC02), b('\x02'), b('svc')], 'mdp2_unexpected_command'],
      [[b('C'), b(MDPC02), b('\x03'), b('svc')], 'mdp2_unexpected_command'],
      [[b('W'), b(MDPW02), b('\x01')], 'bad_ready'],
      [[b('W'), b(MDPW02), b('\x01'), b('svc'), b('5')], 'bad_ready'],
      [[b('W'), b(MDPW02), b('\x01'), b('x'.repeat(256))], 'bad_service_name'],
      [[b('W'), b(MDPW02), b('\x02'), token(1), b('')], 'unknown_command'],
      [[b('W'), b(MDPW02), b('\x03'), token(1)], 'bad_reply'],
      [[b('W'), b(MDPW02), b('\x04'), token(1), b('x')], 'bad_reply_delimiter'],
      [[b('W'), b(MDPW02), b('\x05'), b('x')], 'bad_heartbeat'],
      [[b('W'), b(MDPW02), b('\x07')], 'unknown_command'],
      [[b('W'), b(MDPW02)], 'mdp_worker_without_command'],
    ];
    for (const [frames, reason] of cases) expect(one(frames), reason).toMatchObject({ type: 'rejected', reason });
  });

  it('should keep the same size and frame limits as the other dialects, answering nothing (0.2 has no error reply)', () => {
    const big = [b('C'), ...clientRequest2('svc', [Buffer.alloc(2048)])];
    expect(decodeBrokerMessage(big, DEFAULT_BROKER_WIRE_LIMITS, 1024)).toMatchObject({ type: 'limit.refused', limit: 'message_size', message: { dialect: 'mdp2' } });
    const many = [b('C'), ...clientRequest2('svc', Array.from({ length: 300 }, () => b('x')))];
    expect(decodeBrokerMessage(many)).toMatchObject({ type: 'limit.refused', limit: 'frames' });
    const partial = [b('W'), ...workerPartial2(token(3), [Buffer.alloc(2048)])];
    expect(decodeBrokerMessage(partial, DEFAULT_BROKER_WIRE_LIMITS, 1024)).toMatchObject({ type: 'limit.refused', message: { type: 'worker.partial', token: 3 } });
  });

  it('should round-trip any service and body, client and worker side', () => {
    fc.assert(
      fc.property(peer, service, body, fc.nat({ max: 0xffffffff }), (p, s, frames, t) => {
        expect(one([p, ...clientRequest2(s, frames)])).toMatchObject({ type: 'client.request', dialect: 'mdp2', service: s, body: frames });
        expect(one([p, ...workerReady2(s)])).toMatchObject({ type: 'worker.ready', wire: 'mdp2', service: s });
        expect(one([p, ...workerPartial2(token(t), frames)])).toMatchObject({ type: 'worker.partial', wire: 'mdp2', token: t, body: frames });
        expect(one([p, ...workerFinal2(token(t), frames)])).toMatchObject({ type: 'worker.reply', wire: 'mdp2', token: t, body: frames });
      }),
    );
  });

  it('should never take 0.1 for 0.2 or 0.2 for 0.1', () => {
    fc.assert(
      fc.property(peer, service, body, (p, s, frames) => {
        expect(one([p, ...clientRequest(s, frames)])).toMatchObject({ dialect: 'mdp' });
        expect(one([p, ...workerReply(token(1), frames)])).toMatchObject({ type: 'worker.reply', wire: 'mdp' });
        // A 0.2 client behind a REQ socket would get an empty frame first: that is 0.1's layout, and 0.2's header is no 0.1 header.
        expect(one([p, b(''), ...clientRequest2(s, frames)])).toMatchObject({ type: 'rejected', reason: 'unknown_protocol' });
      }),
    );
  });

  it('should decode any frames after a 0.2 header to a message or a labelled rejection', () => {
    const frame = fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u));
    fc.assert(
      fc.property(peer, fc.constantFrom(MDPC02, MDPW02), fc.array(frame, { maxLength: 6 }), (p, header, rest) => {
        const m = one([p, b(header), ...rest]);
        if (m.type === 'rejected') expect(m.reason).toMatch(/^[a-z][a-z0-9_]{0,47}$/);
        else expect(['client.request', 'worker.ready', 'worker.partial', 'worker.reply', 'worker.heartbeat', 'worker.disconnect']).toContain(m.type);
      }),
    );
  });
});
