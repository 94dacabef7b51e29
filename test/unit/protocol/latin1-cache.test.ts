import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { latin1Name, peerKey } from '../../../src/protocol/latin1-cache.js';

describe('latin1-cache', () => {
  it("should give exactly toString('latin1') for any bytes, whatever was asked before", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 12 }), { minLength: 1, maxLength: 40 }), (list) => {
        for (const bytes of list) {
          const b = Buffer.from(bytes);
          expect(peerKey(b)).toBe(b.toString('latin1'));
          const framed = Buffer.concat([Buffer.from([9, 9]), b, Buffer.from([7])]);
          expect(latin1Name(framed, 2, 2 + b.length)).toBe(b.toString('latin1'));
        }
      }),
    );
  });

  it('should not take a Buffer whose bytes changed for the one it remembers by content', () => {
    const b = Buffer.from('svc-a');
    expect(latin1Name(b, 0, 5)).toBe('svc-a');
    b.write('svc-b');
    expect(latin1Name(b, 0, 5)).toBe('svc-b');
  });
});
