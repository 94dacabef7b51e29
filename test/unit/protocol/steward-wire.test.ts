import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  INLINE_MAX,
  Kind,
  MAX_MESSAGE_FRAMES,
  clientReplyUnit,
  clientRequestUnit,
  decodeUnits,
  disconnectUnit,
  heartbeatUnit,
  isStewardHeader,
  mergeUnits,
  pingUnit,
  pongUnit,
  workerCreditUnit,
  workerReadyUnit,
  workerReplyUnit,
  workerRequestUnit,
  clientCallUnit,
  clientCancelUnit,
  clientPartialUnit,
  clientWindowUnit,
  workerCancelUnit,
  workerPartialUnit,
  workerStreamUnit,
  workerWindowUnit,
  type StewardMessage,
} from '../../../src/protocol/steward-wire.js';
import type { Rejection } from '../../../src/protocol/codec.js';
import { decodeBrokerFrames } from '../../../src/protocol/broker-wire.js';
import { decodeWorkerFrames } from '../../../src/protocol/worker-wire.js';

const all = (frames: Buffer[]) => {
  const out: (StewardMessage | Rejection)[] = [];
  decodeUnits(frames, 0, (m) => out.push(m));
  return out;
};
const b = (s: string) => Buffer.from(s);

describe("steward's compact wire", () => {
  it('should lay out a client request with an inline body byte by byte', () => {
    const [h] = clientRequestUnit(258, 1_700_000_000_000, 'echo', [b('hi')]);
    expect([...h!.subarray(0, 9)]).toEqual([0x53, 0x57, 0x01, 0x11, 0x00, 0, 0, 1, 2]);
    expect(h!.readDoubleBE(9)).toBe(1_700_000_000_000);
    expect(h![17]).toBe(4);
    expect(h!.subarray(18, 22).toString()).toBe('echo');
    expect(h!.subarray(22).toString()).toBe('hi');
  });

  it('should carry a body inline, as parts, or not at all', () => {
    expect(clientReplyUnit(1, 200, [b('small')])).toHaveLength(1);
    const big = Buffer.alloc(INLINE_MAX + 1, 1);
    const parts = clientReplyUnit(1, 200, [big]);
    expect(parts).toHaveLength(2);
    expect(parts[0]![4]).toBe(1);
    expect(clientReplyUnit(1, 200, [b('a'), b('b')])[0]![4]).toBe(2);
    expect(clientReplyUnit(1, 200, [])[0]![4]).toBe(255);
    expect(all(clientReplyUnit(1, 200, []))).toEqual([{ kind: Kind.ClientReply, requestId: 1, status: 200, body: [] }]);
    expect(all(parts)).toMatchObject([{ kind: Kind.ClientReply, body: [big] }]);
  });

  it('should round-trip every kind, several units in one message', () => {
    const message = [
      ...clientRequestUnit(7, 123, 'svc', [b('x')]),
      ...clientReplyUnit(7, 504, [b('a'), b('b')]),
      ...workerReadyUnit('svc', 100),
      ...workerRequestUnit(0xffffffff, [b('r')]),
      ...workerReplyUnit(9, []),
      ...heartbeatUnit(),
      ...disconnectUnit(),
      ...clientRequestUnit(8, 0, 'svc', [], false),
      ...workerCreditUnit(42),
      ...pingUnit(0xfffffffe),
      ...pongUnit(3, 1),
      ...clientCallUnit(10, 5, 'svc', [b('c')], { window: 16 }),
      ...clientCallUnit(11, 0, 'svc', [], { noWait: true }),
      ...clientPartialUnit(10, [b('p')]),
      ...clientWindowUnit(10, 0xffff),
      ...clientCancelUnit(11),
      ...workerStreamUnit(12, 16, [b('s')]),
      ...workerPartialUnit(12, [b('a'), b('b')]),
      ...workerWindowUnit(12, 3),
      ...workerCancelUnit(12),
    ];
    const got = all(message).map((m) => JSON.parse(JSON.stringify(m, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString() : v))));
    expect(got).toEqual([
      { kind: Kind.ClientRequest, requestId: 7, wait: true, call: false, window: 0, expiresAt: 123, service: 'svc', serviceBytes: 'svc', body: ['x'] },
      { kind: Kind.ClientReply, requestId: 7, status: 504, body: ['a', 'b'] },
      { kind: Kind.WorkerReady, credit: 100, service: 'svc' },
      { kind: Kind.WorkerRequest, token: 0xffffffff, stream: false, window: 0, body: ['r'] },
      { kind: Kind.WorkerReply, token: 9, body: [] },
      { kind: Kind.Heartbeat },
      { kind: Kind.Disconnect },
      { kind: Kind.ClientRequest, requestId: 8, wait: false, call: false, window: 0, expiresAt: 0, service: 'svc', serviceBytes: 'svc', body: [] },
      { kind: Kind.WorkerCredit, credit: 42 },
      { kind: Kind.Ping, nonce: 0xfffffffe },
      { kind: Kind.Pong, nonce: 3, flags: 1 },
      { kind: Kind.ClientRequest, requestId: 10, wait: true, call: true, window: 16, expiresAt: 5, service: 'svc', serviceBytes: 'svc', body: ['c'] },
      { kind: Kind.ClientRequest, requestId: 11, wait: false, call: true, window: 0, expiresAt: 0, service: 'svc', serviceBytes: 'svc', body: [] },
      { kind: Kind.ClientPartial, requestId: 10, body: ['p'] },
      { kind: Kind.ClientWindow, requestId: 10, credit: 0xffff },
      { kind: Kind.ClientCancel, requestId: 11 },
      { kind: Kind.WorkerRequest, token: 12, stream: true, window: 16, body: ['s'] },
      { kind: Kind.WorkerPartial, token: 12, body: ['a', 'b'] },
      { kind: Kind.WorkerWindow, token: 12, credit: 3 },
      { kind: Kind.WorkerCancel, token: 12 },
    ]);
  });

  it('should lay out a stream call byte by byte and refuse one without a window, answerably', () => {
    const [h] = clientCallUnit(258, 1_700_000_000_000, 'echo', [b('hi')], { window: 513, noWait: true });
    expect([...h!.subarray(0, 9)]).toEqual([0x53, 0x57, 0x01, 0x14, 0x00, 0, 0, 1, 2]);
    expect(h!.readDoubleBE(9)).toBe(1_700_000_000_000);
    expect(h!.readUInt16BE(17)).toBe(513);
    expect(h![19]).toBe(0x03);
    expect(h![20]).toBe(4);
    expect(h!.subarray(21, 25).toString()).toBe('echo');
    expect(h!.subarray(25).toString()).toBe('hi');
    const noWindow = Buffer.from(h!);
    noWindow.writeUInt16BE(0, 17);
    expect(decodeBrokerFrames([b('C'), noWindow])).toMatchObject({ type: 'client.malformed', replyId: 258, reason: 'sw_bad_window' });
    const badFlags = Buffer.from(h!);
    badFlags[19] = 0x80;
    expect(decodeBrokerFrames([b('C'), badFlags])).toMatchObject({ type: 'client.malformed', replyId: 258, reason: 'sw_bad_flags' });
    expect(decodeBrokerFrames([b('C'), ...clientCallUnit(3, 0, 's', [b('x')], { window: 2 })])).toMatchObject({
      type: 'client.request',
      dialect: 'steward',
      call: true,
      stream: true,
      window: 2,
      wait: true,
    });
  });

  it('should decode what a stream and a cancel carry, for the broker and for workers', () => {
    expect(decodeBrokerFrames([b('C'), ...clientWindowUnit(4, 7)])).toEqual({ type: 'client.window', peer: b('C'), replyId: 4, credit: 7 });
    expect(decodeBrokerFrames([b('C'), ...clientCancelUnit(4)])).toEqual({ type: 'client.cancel', peer: b('C'), replyId: 4 });
    expect(decodeBrokerFrames([b('W'), ...workerPartialUnit(9, [b('x')])])).toMatchObject({ type: 'worker.partial', wire: 'steward', token: 9 });
    expect(decodeWorkerFrames(workerStreamUnit(9, 0, [b('x')]))).toMatchObject({ type: 'broker.request', token: 9, stream: true, window: 0 });
    expect(decodeWorkerFrames(workerWindowUnit(9, 2))).toEqual({ type: 'broker.window', token: 9, credit: 2 });
    expect(decodeWorkerFrames(workerCancelUnit(9))).toEqual({ type: 'broker.cancel', token: 9 });
    // Units only ever sent the other way are refused, never taken for something else.
    expect(decodeBrokerFrames([b('W'), ...workerCancelUnit(9)])).toMatchObject({ type: 'rejected', reason: 'sw_unexpected_kind' });
    expect(decodeWorkerFrames(clientWindowUnit(9, 2))).toMatchObject({ type: 'rejected', reason: 'sw_unexpected_kind' });
  });

  it('should tell a request that waits for a worker from one that does not by its kind alone', () => {
    expect(clientRequestUnit(1, 0, 's', [])[0]![3]).toBe(0x11);
    expect(clientRequestUnit(1, 0, 's', [], false)[0]![3]).toBe(0x13);
    expect(decodeBrokerFrames([b('C'), ...clientRequestUnit(1, 0, 's', [], false)])).toMatchObject({ type: 'client.request', wait: false });
    expect(decodeBrokerFrames([b('C'), ...clientRequestUnit(1, 0, 's', [])])).toMatchObject({ type: 'client.request', wait: true });
  });

  it('should decode pings for the broker, and pongs and credit echoes for workers', () => {
    expect(decodeBrokerFrames([b('C'), ...pingUnit(9)])).toMatchObject({ type: 'peer.ping', nonce: 9 });
    expect(decodeBrokerFrames([b('W'), ...workerCreditUnit(5)])).toMatchObject({ type: 'worker.credit', credit: 5 });
    expect(decodeWorkerFrames(pongUnit(9, 1))).toEqual({ type: 'broker.pong', nonce: 9, draining: true });
    expect(decodeWorkerFrames(workerCreditUnit(5))).toEqual({ type: 'broker.credit', credit: 5 });
    expect(decodeBrokerFrames([b('C'), ...pongUnit(9, 0)])).toMatchObject({ type: 'rejected', reason: 'sw_unexpected_kind' });
  });

  it('should never be mistaken for MDP, tagged or butler frames', () => {
    expect(isStewardHeader(b('MDPC01'))).toBe(false);
    expect(isStewardHeader(b('SW:1x'))).toBe(false);
    expect(isStewardHeader(Buffer.from([0x01]))).toBe(false);
  });

  it.each([
    ['a truncated request', [clientRequestUnit(1, 0, 'svc', [])[0]!.subarray(0, 12)], 'sw_short_header'],
    ['missing parts', [clientReplyUnit(1, 200, [b('a'), b('b')])[0]!, b('a')], 'sw_missing_parts'],
    ['a non-unit after a unit', [...heartbeatUnit(), b('junk')], 'sw_not_a_unit'],
    ['an unknown kind', [Buffer.from([0x53, 0x57, 0x01, 0x7f, 0])], 'sw_unknown_kind'],
    ['zero credit', [workerReadyUnit('svc', 1)[0]!.fill(0, 5, 7)], 'bad_credit'],
    ['a zero credit change', [workerCreditUnit(1)[0]!.fill(0, 5, 7)], 'bad_credit'],
    ['a short ping', [pingUnit(1)[0]!.subarray(0, 7)], 'sw_short_header'],
  ])('should reject %s', (_name, frames, reason) => {
    expect(all(frames).at(-1)).toMatchObject({ type: 'rejected', reason });
  });

  it('should merge units into messages under the frame cap', () => {
    const units = Array.from({ length: 300 }, (_, i) => workerReplyUnit(i, [b('r')]));
    const messages = mergeUnits(units);
    expect(messages.every((m) => m.length <= MAX_MESSAGE_FRAMES)).toBe(true);
    expect(messages.flatMap((m) => all(m)).map((m) => (m as { token: number }).token)).toEqual(units.map((_, i) => i));
  });

  it('should decode any bytes after the magic without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 4 }), (tail, extra) => {
        const frame = Buffer.concat([Buffer.from([0x53, 0x57, 0x01]), Buffer.from(tail)]);
        const rest = Array.from({ length: extra }, () => b('p'));
        expect(() => all([frame, ...rest])).not.toThrow();
        expect(() => decodeBrokerFrames([b('P'), frame, ...rest])).not.toThrow();
        expect(() => decodeWorkerFrames([frame, ...rest])).not.toThrow();
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('should decode what the broker receives into the same typed messages as the other wires', () => {
    const peer = b('C');
    expect(decodeBrokerFrames([peer, ...clientRequestUnit(5, 99, 'echo', [b('x')])])).toMatchObject({
      type: 'client.request',
      dialect: 'steward',
      service: 'echo',
      replyId: 5,
      expiresAt: 99,
    });
    expect(decodeBrokerFrames([peer, ...workerReadyUnit('echo', 3)])).toMatchObject({ type: 'worker.ready', wire: 'steward', credit: 3 });
    const batch = decodeBrokerFrames([peer, ...workerReplyUnit(11, [b('r')]), ...workerReplyUnit(12, [b('s')])]);
    expect(batch).toMatchObject([
      { type: 'worker.reply', token: 11 },
      { type: 'worker.reply', token: 12 },
    ]);
    expect(decodeBrokerFrames([peer, ...clientReplyUnit(1, 200, [])])).toMatchObject({ type: 'rejected', reason: 'sw_unexpected_kind' });
  });
});
