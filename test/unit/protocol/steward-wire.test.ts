import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Kind,
  clientReplyHeader,
  clientRequestHeader,
  decodeStewardHeader,
  disconnectHeader,
  heartbeatHeader,
  isStewardHeader,
  workerReadyHeader,
  workerReplyHeader,
  workerRequestHeader,
} from '../../../src/protocol/steward-wire.js';
import { decodeBrokerFrames } from '../../../src/protocol/broker-wire.js';
import { decodeWorkerFrames } from '../../../src/protocol/worker-wire.js';

describe("steward's compact wire", () => {
  it('should lay out a client request header byte by byte', () => {
    const h = clientRequestHeader(258, 1_700_000_000_000, 'echo');
    expect([...h.subarray(0, 8)]).toEqual([0x53, 0x57, 0x01, 0x11, 0, 0, 1, 2]);
    expect(h.readDoubleBE(8)).toBe(1_700_000_000_000);
    expect(h[16]).toBe(4);
    expect(h.subarray(17).toString()).toBe('echo');
  });

  it('should round-trip every kind', () => {
    expect(decodeStewardHeader(clientRequestHeader(7, 123, 'svc'))).toEqual({ kind: Kind.ClientRequest, requestId: 7, expiresAt: 123, service: 'svc' });
    expect(decodeStewardHeader(clientReplyHeader(7, 504))).toEqual({ kind: Kind.ClientReply, requestId: 7, status: 504 });
    expect(decodeStewardHeader(workerReadyHeader('svc', 100))).toEqual({ kind: Kind.WorkerReady, credit: 100, service: 'svc' });
    expect(decodeStewardHeader(workerRequestHeader(0xffffffff))).toEqual({ kind: Kind.WorkerRequest, token: 0xffffffff });
    expect(decodeStewardHeader(workerReplyHeader(9))).toEqual({ kind: Kind.WorkerReply, token: 9 });
    expect(decodeStewardHeader(heartbeatHeader())).toEqual({ kind: Kind.Heartbeat });
    expect(decodeStewardHeader(disconnectHeader())).toEqual({ kind: Kind.Disconnect });
  });

  it('should never be mistaken for MDP, tagged or butler frames', () => {
    expect(isStewardHeader(Buffer.from('MDPC01'))).toBe(false);
    expect(isStewardHeader(Buffer.from('SW:1'))).toBe(false);
    expect(isStewardHeader(Buffer.from([0x01]))).toBe(false);
  });

  it.each([
    ['a truncated request', clientRequestHeader(1, 0, 'svc').subarray(0, 12), 'sw_short_header'],
    ['a service length past the end', Buffer.concat([clientRequestHeader(1, 0, 'svc'), Buffer.from('x')]), 'bad_service_name'],
    ['a NaN expiration', (() => { const b = clientRequestHeader(1, 0, 'svc'); b.writeDoubleBE(Number.NaN, 8); return b; })(), 'sw_bad_expiration'],
    ['zero credit', workerReadyHeader('svc', 1).fill(0, 4, 6), 'bad_credit'],
    ['an unknown kind', Buffer.from([0x53, 0x57, 0x01, 0x7f]), 'sw_unknown_kind'],
  ])('should reject %s', (_name, frame, reason) => {
    expect(decodeStewardHeader(frame)).toMatchObject({ type: 'rejected', reason });
  });

  it('should decode any bytes after the magic without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const frame = Buffer.concat([Buffer.from([0x53, 0x57, 0x01]), Buffer.from(tail)]);
        const peer = Buffer.from('P');
        expect(() => decodeStewardHeader(frame)).not.toThrow();
        expect(() => decodeBrokerFrames([peer, frame, Buffer.from('b')])).not.toThrow();
        expect(() => decodeWorkerFrames([frame, Buffer.from('b')])).not.toThrow();
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('should decode what the broker receives into the same typed messages as the other wires', () => {
    const peer = Buffer.from('C');
    expect(decodeBrokerFrames([peer, clientRequestHeader(5, 99, 'echo'), Buffer.from('x')])).toMatchObject({
      type: 'client.request',
      dialect: 'steward',
      service: 'echo',
      replyId: 5,
      expiresAt: 99,
    });
    expect(decodeBrokerFrames([peer, workerReadyHeader('echo', 3)])).toMatchObject({ type: 'worker.ready', wire: 'steward', credit: 3 });
    expect(decodeBrokerFrames([peer, workerReplyHeader(11), Buffer.from('r')])).toMatchObject({ type: 'worker.reply', wire: 'steward', token: 11 });
    expect(decodeBrokerFrames([peer, clientReplyHeader(1, 200)])).toMatchObject({ type: 'rejected', reason: 'sw_unexpected_kind' });
  });
});
