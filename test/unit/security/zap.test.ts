import * as zmq from 'zeromq';
import { describe, expect, it } from 'vitest';
import { answerZap, decideZap, decodeZapRequest, type ZapPolicy } from '../../../src/security/zap.js';
import { z85Decode } from '../../../src/security/z85.js';

const allowed = zmq.curveKeyPair().publicKey;
const stranger = zmq.curveKeyPair().publicKey;
const policy: ZapPolicy = { allowed: new Set([allowed]) };
const B = (s: string) => Buffer.from(s);

/** A ZAP request as libzmq sends it for a CURVE handshake (after the ROUTER envelope). */
function curveRequest(key: string, domain = 'broker#1', id = '7'): Buffer[] {
  return [B('1.0'), B(id), B(domain), B('192.0.2.7'), B(''), B('CURVE'), z85Decode(key)!];
}
const text = (frames: Buffer[] | undefined) => frames?.map((f) => f.toString('latin1'));

describe('ZAP (RFC 27)', () => {
  it('should answer 200 with the key as user id for an allowed key', () => {
    const { reply, decision } = answerZap(curveRequest(allowed), () => policy);
    expect(text(reply)).toEqual(['1.0', '7', '200', 'OK', allowed, '']);
    expect(decision).toEqual({ allowed: true, domain: 'broker#1', address: '192.0.2.7', key: allowed });
  });

  it('should answer 400 for a key not on the list, and say whose', () => {
    const { reply, decision } = answerZap(curveRequest(stranger), () => policy);
    expect(text(reply)).toEqual(['1.0', '7', '400', 'public key not on the allow-list', '', '']);
    expect(decision).toMatchObject({ allowed: false, reason: 'unknown_key', address: '192.0.2.7', key: stranger, mechanism: 'CURVE' });
  });

  it('should refuse a domain nobody registered rather than let the peer in', () => {
    const { reply, decision } = answerZap(curveRequest(allowed, 'gone#9'), () => undefined);
    expect(text(reply)?.[2]).toBe('400');
    expect(decision).toMatchObject({ allowed: false, reason: 'no_policy', domain: 'gone#9' });
  });

  it('should refuse other mechanisms and CURVE without a proper key', () => {
    const nul = [B('1.0'), B('1'), B('d'), B('127.0.0.1'), B(''), B('NULL')];
    expect(answerZap(nul, () => policy).decision).toMatchObject({ allowed: false, reason: 'mechanism', mechanism: 'NULL' });
    const plain = [B('1.0'), B('2'), B('d'), B('127.0.0.1'), B(''), B('PLAIN'), B('user'), B('pass')];
    expect(text(answerZap(plain, () => policy).reply)?.[2]).toBe('400');
    const shortKey = [B('1.0'), B('3'), B('d'), B('127.0.0.1'), B(''), B('CURVE'), B('abc')];
    expect(decideZap(decodeZapRequest(shortKey) as never, policy)).toMatchObject({ allowed: false, reason: 'mechanism', key: undefined });
  });

  it('should answer 500 to a request of another version, and nothing to one without a request id', () => {
    const v2 = [B('2.0'), B('5'), B('d'), B('127.0.0.1'), B(''), B('CURVE'), z85Decode(allowed)!];
    const { reply, decision } = answerZap(v2, () => policy);
    expect(text(reply)?.slice(0, 3)).toEqual(['1.0', '5', '500']);
    expect(decision).toMatchObject({ allowed: false, reason: 'malformed' });
    expect(answerZap([B('1.0')], () => policy).reply).toBeUndefined();
    expect(answerZap([], () => policy).reply).toBeUndefined();
  });

  it('should never throw on random frames', () => {
    for (let i = 0; i < 500; i++) {
      const frames = Array.from({ length: i % 12 }, (_, j) => Buffer.from(Array.from({ length: (i * 7 + j * 13) % 50 }, (_, k) => (i * k + j) & 0xff)));
      expect(() => answerZap(frames, () => policy)).not.toThrow();
    }
  });
});
