import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_STIRR_LIMITS,
  decodeStirrFrames,
  decodeStirrReply,
  encodeStirrReply,
  encodeStirrRequest,
  stirrErrorBody,
  type StirrInbound,
} from '../../../src/protocol/stirr.js';
import { jsonDepth } from '../../../src/protocol/json-limits.js';

const peer = Buffer.from('peer-1');
const empty = Buffer.alloc(0);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function decode(frames: Buffer[]): StirrInbound {
  const out = decodeStirrFrames(frames);
  if (out.type === 'rejected') throw new Error(`rejected: ${out.reason}`);
  return out;
}

function invalidReason(frames: Buffer[]): string {
  const out = decode(frames);
  if (out.type !== 'stirr.invalid') throw new Error('expected an invalid message');
  return out.reason;
}

describe('stirr codec', () => {
  it('should decode a DEALER request (one JSON frame) with stirr defaults for missing fields', () => {
    const out = decode([peer, json({})]);
    expect(out).toEqual({
      type: 'stirr.request',
      envelope: [peer],
      request: { group: 'default', type: 'Base', algorithm: 'Casual', args: [] },
    });
  });

  it('should decode a REQ request, keeping the empty delimiter in the envelope', () => {
    const out = decode([peer, empty, json({ group: 'db', type: 'MySQL', algorithm: 'Weighted', args: [1] })]);
    expect(out.envelope).toEqual([peer, empty]);
    expect(out.type === 'stirr.request' && out.request).toEqual({ group: 'db', type: 'MySQL', algorithm: 'Weighted', args: [1] });
  });

  it('should keep a proxied envelope up to the first empty frame', () => {
    const out = decode([peer, Buffer.from('hop'), empty, json({})]);
    expect(out.envelope.map(String)).toEqual(['peer-1', 'hop', '']);
  });

  it('should treat null fields as absent, as stirr did', () => {
    const out = decode([peer, json({ group: null, args: null })]);
    expect(out.type === 'stirr.request' && out.request.group).toBe('default');
  });

  it('should answer non-JSON with bad_json', () => {
    expect(invalidReason([peer, Buffer.from('not json')])).toBe('bad_json');
    expect(invalidReason([peer, Buffer.from('{"group": ')])).toBe('bad_json');
    expect(invalidReason([peer, Buffer.from([0xff, 0xfe, 0x00])])).toBe('bad_json');
  });

  it('should answer JSON that is not an object with not_object', () => {
    for (const v of [[1, 2], 'x', 3, true, null]) expect(invalidReason([peer, json(v)])).toBe('not_object');
  });

  it('should answer wrong field types with bad_field naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ group: 1 }, '"group"'],
      [{ type: ['MySQL'] }, '"type"'],
      [{ algorithm: {} }, '"algorithm"'],
      [{ args: 'x' }, '"args"'],
      [{ group: '' }, '"group"'],
      [{ group: 'g'.repeat(256) }, '"group"'],
      [{ args: new Array(65).fill(0) }, '"args"'],
    ];
    for (const [request, field] of cases) {
      const out = decode([peer, json(request)]);
      expect(out.type).toBe('stirr.invalid');
      if (out.type === 'stirr.invalid') {
        expect(out.reason).toBe('bad_field');
        expect(out.error).toContain(field);
      }
    }
  });

  it('should answer an oversized frame with too_large, without parsing it', () => {
    const big = Buffer.alloc(DEFAULT_STIRR_LIMITS.maxRequestBytes + 1, 0x20);
    expect(invalidReason([peer, big])).toBe('too_large');
  });

  it('should answer deep nesting with too_deep', () => {
    const deep = Buffer.from(`{"args":${'['.repeat(100)}${']'.repeat(100)}}`);
    expect(invalidReason([peer, deep])).toBe('too_deep');
  });

  it('should not count brackets inside strings as nesting', () => {
    expect(jsonDepth(Buffer.from('{"a":"[[[[[\\"[[["}'))).toBe(1);
  });

  it('should answer an empty request and a multi-frame request', () => {
    expect(invalidReason([peer, empty])).toBe('empty_request');
    expect(invalidReason([peer, empty, empty])).toBe('empty_request');
    expect(invalidReason([peer, json({}), json({})])).toBe('bad_frames');
  });

  it('should reject what cannot be answered: no frames, too many frames', () => {
    expect(decodeStirrFrames([]).type).toBe('rejected');
    expect(decodeStirrFrames(new Array(DEFAULT_STIRR_LIMITS.maxFrames + 1).fill(peer)).type).toBe('rejected');
  });

  it('should never throw, whatever the frames', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (frames) => {
        const out = decodeStirrFrames(frames.map((f) => Buffer.from(f)));
        expect(['stirr.request', 'stirr.invalid', 'rejected']).toContain(out.type);
      }),
    );
  });

  it('should never throw on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const out = decodeStirrFrames([peer, json(v)]);
        expect(['stirr.request', 'stirr.invalid']).toContain(out.type);
      }),
    );
  });

  it('should encode a reply behind its envelope', () => {
    const frames = encodeStirrReply({ envelope: [peer, empty], body: json({ a: 1 }) });
    expect(frames.map(String)).toEqual(['peer-1', '', '{"a":1}']);
  });

  it('should round-trip requests and read error replies back with their reason', () => {
    const out = decode([peer, encodeStirrRequest({ group: 'g', algorithm: 'RoundRobin' })]);
    expect(out.type === 'stirr.request' && out.request).toEqual({ group: 'g', type: 'Base', algorithm: 'RoundRobin', args: [] });
    const limits = { maxReplyBytes: 1024, maxDepth: 8 };
    expect(decodeStirrReply(stirrErrorBody('unknown_group', 'unknown group "g"'), limits)).toEqual({
      ok: false,
      reason: 'unknown_group',
      error: 'unknown group "g"',
    });
    expect(decodeStirrReply(json({ error: 'stirr said no' }), limits)).toEqual({ ok: false, reason: 'remote', error: 'stirr said no' });
    expect(decodeStirrReply(json({ host: 'h' }), limits)).toEqual({ ok: true, configuration: { host: 'h' } });
    expect(decodeStirrReply(Buffer.from('{'), limits).ok).toBe(false);
  });
});
