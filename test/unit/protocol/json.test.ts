import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds, parseJson, type JsonValue } from '../../../src/protocol/json.js';

function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (typeof value === 'object' && value !== null) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

describe('bounded JSON', () => {
  it('should count nesting like a walk of the parsed value, ignoring brackets inside strings', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, limit) => {
        const bytes = Buffer.from(JSON.stringify(value));
        expect(jsonDepthExceeds(bytes, limit)).toBe(depthOf(value) > limit);
      }),
    );
  });

  it('should not be fooled by escaped quotes and brackets in strings', () => {
    expect(jsonDepthExceeds(Buffer.from(JSON.stringify(['[[[\\"{{{', '"]]]'])), 1)).toBe(false);
  });

  it('should refuse documents too large, too deep or malformed, without parsing them', () => {
    expect(parseJson('[1,2,3]', { maxBytes: 3, maxDepth: 5 })).toMatchObject({ ok: false, reason: 'too_large' });
    expect(parseJson('['.repeat(100_000) + ']'.repeat(100_000), { maxBytes: 1e6, maxDepth: 32 })).toMatchObject({ ok: false, reason: 'too_deep' });
    expect(parseJson('{"a":', { maxBytes: 100, maxDepth: 5 })).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseJson('{"a":[1,{"b":null}]}', { maxBytes: 100, maxDepth: 3 })).toEqual({ ok: true, value: { a: [1, { b: null }] } as JsonValue });
  });
});
