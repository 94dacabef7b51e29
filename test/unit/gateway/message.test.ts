import { describe, expect, it } from 'vitest';
import { backendFrames, decodeBackendFrames, decodeGatewayFrames, KIND_FRAME } from '../../../src/protocol/blastbeat/message.js';

const b = (s: string) => Buffer.from(s);

describe('BlastBeat message codec', () => {
  it('should decode [node, sid, type, body] from the ROUTER', () => {
    const m = decodeBackendFrames([b('node1'), b('sid'), b('headers'), b('HTTP/1.1 200 OK\r\n\r\n')]);
    expect(m).toMatchObject({ type: 'backend.message', kind: 'headers', node: b('node1'), sid: b('sid') });
  });

  it('should accept a pong with an empty sid', () => {
    expect(decodeBackendFrames([b('n'), Buffer.alloc(0), b('pong'), Buffer.alloc(0)])).toMatchObject({ kind: 'pong' });
  });

  it('should drop a message with more frames than expected whole', () => {
    expect(decodeBackendFrames([b('n'), b('s'), b('body'), b('x'), b('y')])).toMatchObject({ type: 'rejected', reason: 'too_many_frames' });
  });

  it('should drop a message with too few frames', () => {
    expect(decodeBackendFrames([b('n'), b('s'), b('end')])).toMatchObject({ type: 'rejected', reason: 'too_few_frames' });
  });

  it('should drop unknown and gateway-only types', () => {
    expect(decodeBackendFrames([b('n'), b('s'), b('bogus'), b('')])).toMatchObject({ reason: 'unknown_type' });
    expect(decodeBackendFrames([b('n'), b('s'), b('uwsgi'), b('')])).toMatchObject({ reason: 'unknown_type' });
    expect(decodeBackendFrames([b('n'), b('s'), Buffer.alloc(100, 0x41), b('')])).toMatchObject({ reason: 'unknown_type' });
  });

  it('should drop an oversized sid', () => {
    expect(decodeBackendFrames([b('n'), Buffer.alloc(300), b('body'), b('')])).toMatchObject({ reason: 'bad_sid' });
  });

  it('should decode [sid, type, body] on a backend DEALER and refuse extra frames', () => {
    expect(decodeGatewayFrames([b('s'), b('uwsgi'), b('x')])).toMatchObject({ type: 'gateway.message', kind: 'uwsgi' });
    expect(decodeGatewayFrames([b('s'), b('uwsgi'), b('x'), b('y')])).toMatchObject({ reason: 'too_many_frames' });
  });

  it('should build backend frames with shared type frames', () => {
    const frames = backendFrames(b('s'), 'pong');
    expect(frames[1]).toBe(KIND_FRAME.pong);
    expect(frames[2]!.length).toBe(0);
  });
});
