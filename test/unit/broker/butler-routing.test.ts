import { describe, expect, it } from 'vitest';
import { BrokerCore } from '../../../src/machines/broker/broker-core.js';
import { decodeBrokerFrames, type BrokerInbound } from '../../../src/protocol/broker-wire.js';
import type { Rejection } from '../../../src/protocol/codec.js';

const f = (...parts: (string | number[])[]) => parts.map((p) => Buffer.from(p as string));
function msg(...parts: (string | number[])[]): BrokerInbound {
  const m = decodeBrokerFrames(f(...parts));
  // MDP and butler frames decode to one message; only the compact wire batches.
  if (Array.isArray(m)) throw new Error('expected one message');
  const one = m as BrokerInbound | Rejection;
  if (one.type === 'rejected') throw new Error(one.reason);
  return one;
}
const butlerReady = (w: string, svc: string) => msg(w, [1], svc);
const butlerHeartbeat = (w: string) => msg(w, [2]);
const butlerReply = (w: string, envelope: string, header: string, body: string) => msg(w, [4], envelope, '', header, body);
const butlerClient = (c: string, id: string, svc: string, exp: number, body = 'x') => msg(c, '', `0.3.0:${id}`, svc, String(exp), body);
const mdpClient = (c: string, svc: string, ...body: string[]) => msg(c, '', 'MDPC01', svc, ...body);

/** Frames sent, as strings, per socket; drains the core's outbox. */
function sent(core: BrokerCore, via: string): string[][] {
  const out = (core.out.get(via) ?? []).map((frames) => frames.map((b) => (b.length === 1 && b[0]! < 8 ? `#${b[0]}` : b.toString('latin1'))));
  core.out.delete(via);
  return out;
}

describe('broker routing core with butler workers', () => {
  it('should send a butler client request to a butler worker as the 6-frame request and the reply back with its id', () => {
    const core = new BrokerCore();
    core.handle([butlerReady('W1', 'api.images')], 'be', 0);
    expect(core.sessions).toEqual([expect.objectContaining({ type: 'session.start', service: 'api.images', credit: 1, wire: 'butler' })]);
    core.handle([butlerClient('C1', '42', 'api.images', 100_000, '{"method":"info"}')], 'fe', 1);
    const [toWorker] = sent(core, 'be');
    expect(toWorker).toHaveLength(7);
    expect([toWorker![0], ...toWorker!.slice(2)]).toEqual(['W1', '', '0.3.0:42', 'api.images', '100000', '{"method":"info"}']);
    expect(toWorker![1]).toHaveLength(4);
    core.handle([butlerReply('W1', toWorker![1]!, '0.3.0:42', '{"format":"png"}')], 'be', 2);
    expect(sent(core, 'fe')).toEqual([['C1', '', '0.3.0:42', '{"format":"png"}']]);
  });

  it('should give an MDP client request a synthetic id and an expiration when it reaches a butler worker', () => {
    const core = new BrokerCore({ mdpRequestTtlMs: 30_000 });
    core.handle([butlerReady('W1', 'svc')], 'be', 0);
    core.handle([mdpClient('C1', 'svc', 'only')], 'fe', 1_000);
    const [toWorker] = sent(core, 'be');
    expect(toWorker!.slice(2)).toEqual(['', expect.stringMatching(/^MDPC01:\d+$/), 'svc', '31000', 'only']);
    core.handle([butlerReply('W1', toWorker![1]!, toWorker![3]!, 'ANSWER')], 'be', 2_000);
    expect(sent(core, 'fe')).toEqual([['C1', '', 'MDPC01', 'svc', 'ANSWER']]);
  });

  it('should refuse, never cut, a request with several body frames that would go to a butler worker', () => {
    const core = new BrokerCore();
    core.handle([butlerReady('W1', 'svc')], 'be', 0);
    // MDP cannot be told: dropped and counted; the worker keeps its place and gets the next request.
    core.handle([mdpClient('C1', 'svc', 'first', 'second')], 'fe', 1);
    expect(sent(core, 'be')).toEqual([]);
    expect(sent(core, 'fe')).toEqual([]);
    expect(core.drops).toEqual(['multi_frame_to_butler']);
    // A tagged client is told 415 with its request id.
    core.handle([msg('C2', '', '0.3.0:7', 'svc', '100000', 'a', 'b')], 'fe', 2);
    expect(sent(core, 'fe')).toEqual([
      ['C2', '', '0.3.0:7', "415:the worker serving svc speaks butler's wire, which carries one body frame; the request has 2"],
    ]);
    expect(core.errors.get(415)).toBe(2);
    expect(core.clientCount).toBe(0);
    core.handle([mdpClient('C1', 'svc', 'one')], 'fe', 3);
    expect(sent(core, 'be')).toHaveLength(1);
  });

  it('should send an empty body frame for an MDP request without a body', () => {
    const core = new BrokerCore();
    core.handle([butlerReady('W1', 'svc')], 'be', 0);
    core.handle([mdpClient('C1', 'svc')], 'fe', 1);
    const [toWorker] = sent(core, 'be');
    expect(toWorker).toHaveLength(7);
    expect(toWorker![6]).toBe('');
  });

  it('should let a butler client reach an MDP worker, and an MDP client a butler worker, side by side', () => {
    const core = new BrokerCore();
    core.handle([msg('M1', '', 'MDPW01', [1], 'mdp.svc'), butlerReady('B1', 'butler.svc')], 'be', 0);
    core.handle([butlerClient('C1', '1', 'mdp.svc', 100_000, 'to-mdp'), mdpClient('C2', 'butler.svc', 'to-butler')], 'fe', 1);
    const [toMdp, toButler] = sent(core, 'be');
    expect(toMdp!.slice(0, 4)).toEqual(['M1', '', 'MDPW01', '#2']);
    expect(toMdp!.at(-1)).toBe('to-mdp');
    expect(toButler![0]).toBe('B1');
    expect(toButler!.at(-1)).toBe('to-butler');
    core.handle([msg('M1', '', 'MDPW01', [3], toMdp![4]!, '', 'from-mdp'), butlerReply('B1', toButler![1]!, toButler![3]!, 'from-butler')], 'be', 2);
    expect(sent(core, 'fe')).toEqual([
      ['C1', '', '0.3.0:1', 'from-mdp'],
      ['C2', '', 'MDPC01', 'butler.svc', 'from-butler'],
    ]);
  });

  it('should heartbeat butler workers with ["\\x02"] on the tick and answer each of their heartbeats', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 1000, liveness: 3 });
    core.handle([butlerReady('W1', 'svc'), msg('M1', '', 'MDPW01', [1], 'svc')], 'be', 0);
    core.tick(1_000);
    expect(sent(core, 'be')).toEqual([
      ['W1', '#2'],
      ['M1', '', 'MDPW01', '#4'],
    ]);
    core.handle([butlerHeartbeat('W1')], 'be', 1_500);
    expect(sent(core, 'be')).toEqual([['W1', '#2']]);
  });

  it('should send RECONNECT ["\\x03"] to an unknown butler worker that heartbeats, and to a purged one', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 1000, liveness: 3 });
    core.handle([butlerHeartbeat('STRANGER')], 'be', 0);
    expect(sent(core, 'be')).toEqual([['STRANGER', '#3']]);
    expect(core.drops).toContain('unknown_worker');
    core.handle([butlerReady('W1', 'svc')], 'be', 0);
    core.handle([butlerClient('C1', 'r1', 'svc', 100_000)], 'fe', 10);
    sent(core, 'be');
    core.tick(3_500);
    expect(sent(core, 'be')).toEqual([['W1', '#3']]);
    expect(sent(core, 'fe')).toEqual([['C1', '', '0.3.0:r1', '410:the worker serving svc was lost (expired)']]);
  });

  it('should re-register a butler worker that sends READY again under the same identity, not delete it', () => {
    const core = new BrokerCore();
    core.handle([butlerReady('W1', 'svc')], 'be', 0);
    core.handle([butlerReady('W1', 'svc')], 'be', 1);
    expect(core.workerCount).toBe(1);
    expect(core.sessions.map((s) => s.type)).toEqual(['session.start', 'session.end', 'session.start']);
    core.handle([butlerClient('C1', '1', 'svc', 100_000)], 'fe', 2);
    expect(sent(core, 'be').map((m) => m[0])).toEqual(['W1']);
    core.handle([butlerClient('C1', '2', 'mmi.svc', 0)], 'fe', 3);
    expect(sent(core, 'fe')).toEqual([['C1', '', '0.3.0:2', '200']]);
  });

  it('should queue a butler request while no worker is idle and hand it out when one frees', () => {
    const core = new BrokerCore();
    core.handle([butlerReady('W1', 'svc')], 'be', 0);
    core.handle([butlerClient('C1', '1', 'svc', 100_000, 'a'), butlerClient('C1', '2', 'svc', 100_000, 'b')], 'fe', 1);
    const first = sent(core, 'be');
    expect(first.map((m) => m.at(-1))).toEqual(['a']);
    core.handle([butlerReply('W1', first[0]![1]!, '0.3.0:1', 'A')], 'be', 2);
    expect(sent(core, 'be').map((m) => m.at(-1))).toEqual(['b']);
  });

  it('should answer an expired butler request "504:..." with its id and never hand it out', () => {
    const core = new BrokerCore();
    core.handle([butlerReady('W1', 'svc')], 'be', 0);
    core.handle([butlerClient('C1', 'old', 'svc', 50)], 'fe', 100);
    expect(sent(core, 'be')).toEqual([]);
    expect(sent(core, 'fe')).toEqual([['C1', '', '0.3.0:old', '504:request for svc expired before a worker took it']]);
  });

  it('should drop a butler reply for a token the worker does not hold, and one from a stranger', () => {
    const core = new BrokerCore();
    core.handle([butlerReady('W1', 'svc')], 'be', 0);
    core.handle([butlerReply('W1', 'XXXX', '0.3.0:1', 'forged'), butlerReply('W2', 'XXXX', '0.3.0:1', 'stranger')], 'be', 1);
    expect(sent(core, 'fe')).toEqual([]);
    expect(core.drops).toEqual(['stale_reply', 'unknown_worker']);
  });

  it('should send RECONNECT to a butler worker registering an mmi. name and to all of them when the drain ends', () => {
    const core = new BrokerCore();
    core.handle([butlerReady('W1', 'mmi.evil')], 'be', 0);
    expect(sent(core, 'be')).toEqual([['W1', '#3']]);
    core.handle([butlerReady('W2', 'svc')], 'be', 0);
    core.startDrain();
    core.finishDrain();
    expect(sent(core, 'be')).toEqual([['W2', '#3']]);
  });
});
