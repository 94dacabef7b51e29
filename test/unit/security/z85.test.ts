import * as zmq from 'zeromq';
import { describe, expect, it } from 'vitest';
import { isZ85Key, z85Decode, z85Encode } from '../../../src/security/z85.js';

describe('Z85 (RFC 32)', () => {
  it('should encode and decode the RFC test vector', () => {
    const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe('HelloWorld');
    expect(z85Decode('HelloWorld')).toEqual(bytes);
  });

  it('should round-trip keys made by libzmq', () => {
    const { publicKey, secretKey } = zmq.curveKeyPair();
    for (const key of [publicKey, secretKey]) {
      const raw = z85Decode(key);
      expect(raw).toHaveLength(32);
      expect(z85Encode(raw!)).toBe(key);
      expect(isZ85Key(key)).toBe(true);
    }
  });

  it('should refuse text that is no encoding, without throwing', () => {
    expect(z85Decode('Hello')).toEqual(Buffer.from([0x86, 0x4f, 0xd2, 0x6f]));
    expect(z85Decode('Hell')).toBeUndefined();
    expect(z85Decode('Hello Worl')).toBeUndefined();
    expect(z85Decode('#####')).toBeUndefined(); // 84 * (85^4 + ... + 1) > 2^32
    expect(z85Decode('héllo')).toBeUndefined();
    expect(z85Encode(Buffer.from([1, 2, 3]))).toBeUndefined();
    expect(isZ85Key('x'.repeat(39))).toBe(false);
    expect(isZ85Key(' '.repeat(40))).toBe(false);
    // The largest 4 bytes spell "%nSc0": no key can open with '#' (a comment in key and allow-list files).
    expect(z85Encode(Buffer.alloc(4, 0xff))).toBe('%nSc0');
  });
});
