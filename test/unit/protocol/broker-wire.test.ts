import { describe, expect, it } from 'vitest';
import { decodeBrokerFrames } from '../../../src/protocol/broker-wire.js';

const f = (...parts: (string | number[])[]) => parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)));
const peer = 'PEER';

describe('broker wire decoder (frames written out by hand from RFC 7)', () => {
  it('should decode an MDP client request with a multi-frame body', () => {
    const m = decodeBrokerFrames(f(peer, '', 'MDPC01', 'echo', 'a', 'b'));
    expect(m).toMatchObject({ type: 'client.request', dialect: 'mdp', service: 'echo', expiresAt: 0 });
    expect((m as { body: Buffer[] }).body.map(String)).toEqual(['a', 'b']);
  });

  it('should decode worker READY, with and without the credit extension', () => {
    expect(decodeBrokerFrames(f(peer, '', 'MDPW01', [1], 'echo'))).toMatchObject({ type: 'worker.ready', service: 'echo', credit: 1 });
    expect(decodeBrokerFrames(f(peer, '', 'MDPW01', [1], 'echo', '16'))).toMatchObject({ credit: 16 });
  });

  it('should decode REPLY, HEARTBEAT and DISCONNECT', () => {
    const reply = decodeBrokerFrames(f(peer, '', 'MDPW01', [3], [0, 0, 0, 7], '', 'x'));
    expect(reply).toMatchObject({ type: 'worker.reply', token: 7 });
    // An envelope the broker never made (not 4 bytes) cannot name a request.
    expect(decodeBrokerFrames(f(peer, '', 'MDPW01', [3], 'ENV', '', 'x'))).toMatchObject({ type: 'worker.reply', token: -1 });
    expect(decodeBrokerFrames(f(peer, '', 'MDPW01', [4]))).toMatchObject({ type: 'worker.heartbeat' });
    expect(decodeBrokerFrames(f(peer, '', 'MDPW01', [5]))).toMatchObject({ type: 'worker.disconnect' });
  });

  it('should decode a tagged (butler/steward) request, keeping a ":" in the request id', () => {
    const m = decodeBrokerFrames(f(peer, '', 'EBv1:a:b', 'svc', '1700000000000', 'body'));
    expect(m).toMatchObject({ type: 'client.request', dialect: 'tagged', requestId: 'a:b', steward: false, expiresAt: 1700000000000 });
    expect(decodeBrokerFrames(f(peer, '', 'STW1:7', 'svc', '0'))).toMatchObject({ steward: true, body: [] });
  });

  it.each([
    ['too few frames', f(peer, ''), 'too_few_frames'],
    ['no delimiter', f(peer, 'x', 'MDPC01', 'svc'), 'missing_delimiter'],
    ['MDP client without service', f(peer, '', 'MDPC01'), 'mdp_client_without_service'],
    ['empty service', f(peer, '', 'MDPC01', ''), 'bad_service_name'],
    ['unknown command byte', f(peer, '', 'MDPW01', [9]), 'unknown_command'],
    ['two-byte command', f(peer, '', 'MDPW01', [1, 1], 'svc'), 'bad_command_frame'],
    ['READY without service', f(peer, '', 'MDPW01', [1]), 'bad_ready'],
    ['READY with zero credit', f(peer, '', 'MDPW01', [1], 'svc', '0'), 'bad_credit'],
    ['REPLY without delimiter', f(peer, '', 'MDPW01', [3], 'ENV', 'x'), 'bad_reply_delimiter'],
    ['HEARTBEAT with extra frames', f(peer, '', 'MDPW01', [4], 'x'), 'bad_heartbeat'],
    ['wrong header', f(peer, '', 'MDPX01', 'svc'), 'unknown_protocol'],
    ['tagged with a bad expiration', f(peer, '', 'EBv1:1', 'svc', '12a', 'b'), 'bad_expiration'],
  ])('should reject %s', (_name, frames, reason) => {
    expect(decodeBrokerFrames(frames)).toMatchObject({ type: 'rejected', reason });
  });

  it('should reject a message with more frames than the limit', () => {
    const frames = f(peer, '', 'MDPC01', 'svc', ...Array.from({ length: 300 }, () => 'x'));
    expect(decodeBrokerFrames(frames)).toMatchObject({ type: 'rejected', reason: 'too_many_frames' });
  });
});
