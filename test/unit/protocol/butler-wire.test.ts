import { describe, expect, it } from 'vitest';
import { decodeBrokerFrames } from '../../../src/protocol/broker-wire.js';

const f = (...parts: (string | number[])[]) => parts.map((p) => Buffer.from(p as string));
const peer = 'PEER';

describe('broker wire decoder: butler workers (frames written out by hand from seed 001)', () => {
  it('should decode READY ["\\x01", service] with credit 1', () => {
    expect(decodeBrokerFrames(f(peer, [1], 'api.images'))).toMatchObject({ type: 'worker.ready', wire: 'butler', service: 'api.images', credit: 1 });
  });

  it('should decode HEARTBEAT ["\\x02"]', () => {
    expect(decodeBrokerFrames(f(peer, [2]))).toMatchObject({ type: 'worker.heartbeat', wire: 'butler' });
  });

  it('should decode REPLY ["\\x04", envelope, "", "<api>:<id>", body]', () => {
    const m = decodeBrokerFrames(f(peer, [4], [0, 0, 1, 2], '', '0.3.0:7', '"done"'));
    expect(m).toMatchObject({ type: 'worker.reply', wire: 'butler', token: 258 });
    const reply = m as { body: Buffer[] };
    expect(reply.body.map(String)).toEqual(['"done"']);
  });

  it('should still tell MDP workers and clients apart by their empty second frame', () => {
    expect(decodeBrokerFrames(f(peer, '', 'MDPW01', [1], 'svc'))).toMatchObject({ type: 'worker.ready', wire: 'mdp' });
    expect(decodeBrokerFrames(f(peer, '', 'MDPW01', [4]))).toMatchObject({ type: 'worker.heartbeat', wire: 'mdp' });
    expect(decodeBrokerFrames(f(peer, '', '0.3.0:1', 'svc', '0', 'b'))).toMatchObject({ type: 'client.request', dialect: 'tagged' });
  });

  it('should keep the expiration frame of a tagged request to forward it to butler workers', () => {
    const m = decodeBrokerFrames(f(peer, '', 'EBv1:9', 'svc', '1700000000000', 'b')) as { expiration: Buffer };
    expect(String(m.expiration)).toBe('1700000000000');
  });

  it.each([
    ['READY without a service', f(peer, [1]), 'butler_bad_ready'],
    ['READY with extra frames', f(peer, [1], 'svc', '5'), 'butler_bad_ready'],
    ['READY with an empty service', f(peer, [1], ''), 'bad_service_name'],
    ['HEARTBEAT with extra frames', f(peer, [2], 'x'), 'butler_bad_heartbeat'],
    ['REPLY too short', f(peer, [4], 'ENV', ''), 'butler_bad_reply'],
    ['REPLY without its delimiter', f(peer, [4], 'ENV', 'x', 'EBv1:1', 'b'), 'bad_reply_delimiter'],
    ['RECONNECT sent by a worker', f(peer, [3]), 'butler_unexpected_reconnect'],
    ['an unknown one-byte command', f(peer, [9], 'x'), 'missing_delimiter'],
    ['a routing id alone', f(peer), 'too_few_frames'],
  ])('should reject %s', (_name, frames, reason) => {
    expect(decodeBrokerFrames(frames)).toMatchObject({ type: 'rejected', reason });
  });
});
