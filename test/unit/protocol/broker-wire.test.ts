import { describe, expect, it } from 'vitest';
import { decodeBrokerFrames } from '../../../src/protocol/broker-wire.js';
import { clientRequestUnit, workerReplyUnit } from '../../../src/protocol/steward-wire.js';

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
    // Without "<tag>:<id>" nobody can be told which attempt failed.
    ['a tag without a request id separator', f(peer, '', 'STW1', 'svc', '0'), 'unknown_protocol'],
    ['a tag longer than 32 characters', f(peer, '', `${'T'.repeat(33)}:1`, 'svc', '0'), 'unknown_protocol'],
  ])('should reject %s', (_name, frames, reason) => {
    expect(decodeBrokerFrames(frames)).toMatchObject({ type: 'rejected', reason });
  });

  it('should reject a message with more frames than the limit', () => {
    const frames = f(peer, '', 'MDPC01', 'svc', ...Array.from({ length: 300 }, () => 'x'));
    expect(decodeBrokerFrames(frames)).toMatchObject({ type: 'rejected', reason: 'too_many_frames' });
  });

  it.each([
    ['too few frames', f(peer, '', 'STW1:7', 'svc'), 'tagged_too_few_frames', /service frame and an expiration frame/],
    ['an empty service', f(peer, '', 'STW1:7', '', '0', 'b'), 'bad_service_name', /service name is empty/],
    ['a service over the limit', f(peer, '', 'STW1:7', 's'.repeat(300), '0'), 'bad_service_name', /300 bytes, more than 255/],
    ['a bad expiration', f(peer, '', 'STW1:7', 'svc', '12a', 'b'), 'bad_expiration', /Unix time in ms/],
    ['an expiration of 17 digits', f(peer, '', 'STW1:7', 'svc', '1'.repeat(17)), 'bad_expiration', /1 to 16 ASCII digits/],
  ])('should keep a malformed tagged request answerable: %s', (_name, frames, reason, detail) => {
    const m = decodeBrokerFrames(frames);
    expect(m).toMatchObject({ type: 'client.malformed', dialect: 'tagged', steward: true, reason, detail: expect.stringMatching(detail) });
    expect(String((m as { header: Buffer }).header)).toBe('STW1:7');
    expect((m as { peer: Buffer }).peer.toString()).toBe(peer);
  });

  it('should answer a butler-tagged malformed request without the steward status frame, and never echo the bad field', () => {
    const m = decodeBrokerFrames(f(peer, '', '0.3.0:a:b', 'svc', 'SECRET'));
    expect(m).toMatchObject({ type: 'client.malformed', dialect: 'tagged', steward: false, reason: 'bad_expiration' });
    expect(String((m as { header: Buffer }).header)).toBe('0.3.0:a:b');
    expect((m as { detail: string }).detail).not.toContain('SECRET');
  });

  it('should keep a malformed compact request answerable by its request id, and the units around it', () => {
    const bad = clientRequestUnit(42, 0, 'svc', [Buffer.from('x')]);
    bad[0]!.writeDoubleBE(Number.NaN, 9);
    const empty = clientRequestUnit(43, 0, '', []);
    const out = decodeBrokerFrames([Buffer.from(peer), ...bad, ...clientRequestUnit(44, 0, 'svc', []), ...empty]);
    expect(out).toMatchObject([
      { type: 'client.malformed', dialect: 'steward', replyId: 42, reason: 'sw_bad_expiration' },
      { type: 'client.request', replyId: 44 },
      { type: 'client.malformed', dialect: 'steward', replyId: 43, reason: 'bad_service_name', detail: 'the service name is empty' },
    ]);
    // A compact service name over a broker's smaller limit is named, not echoed.
    const long = decodeBrokerFrames([Buffer.from(peer), ...clientRequestUnit(45, 0, 'a'.repeat(20), [])], { maxFrames: 256, maxServiceLength: 8 });
    expect(long).toMatchObject({ type: 'client.malformed', replyId: 45, detail: 'the service name is 20 bytes, more than 8' });
    // Other broken compact units cannot be answered: the walk stops at a unit whose length is unknown.
    const cut = clientRequestUnit(46, 0, 'svc', [])[0]!.subarray(0, 12);
    expect(decodeBrokerFrames([Buffer.from(peer), cut])).toMatchObject({ type: 'rejected', reason: 'sw_short_header' });
    expect(decodeBrokerFrames([Buffer.from(peer), ...workerReplyUnit(1, []), Buffer.from('junk')])).toMatchObject([
      { type: 'worker.reply' },
      { type: 'rejected', reason: 'sw_not_a_unit' },
    ]);
  });
});
