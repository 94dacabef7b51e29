import { describe, expect, it } from 'vitest';
import { BrokerCore, REQUEST_OVERHEAD_BYTES } from '../../../src/machines/broker/broker-core.js';
import { DEFAULT_BROKER_WIRE_LIMITS, decodeBrokerFrames, decodeBrokerMessage, type BrokerInbound } from '../../../src/protocol/broker-wire.js';
import type { Decoded, Rejection } from '../../../src/protocol/codec.js';
import { clientRequestUnit, decodeUnits, Kind } from '../../../src/protocol/steward-wire.js';

const f = (...parts: (string | number[])[]) => parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)));
/** The one message a classic (non-batched) decode gives. */
function one(m: Decoded<BrokerInbound>): BrokerInbound | Rejection {
  if (Array.isArray(m)) throw new Error('expected one message');
  return m as BrokerInbound | Rejection;
}
function msg(...parts: (string | number[])[]): BrokerInbound {
  const m = one(decodeBrokerFrames(f(...parts)));
  if (m.type === 'rejected') throw new Error(m.reason);
  return m;
}
const ready = (w: string, svc: string, credit?: number) => msg(w, '', 'MDPW01', [1], svc, ...(credit ? [String(credit)] : []));
const FAR = Date.now() + 3_600_000;
const tagged = (c: string, id: string, svc: string, body = 'x') => msg(c, '', `STW1:${id}`, svc, String(FAR), body);

function sent(core: BrokerCore, via: string): string[][] {
  const out = (core.out.get(via) ?? []).map((frames) => frames.map((b) => (b.length === 1 && b[0]! < 8 ? `#${b[0]}` : b.toString('latin1'))));
  core.out.delete(via);
  return out;
}
/** decodeBrokerMessage for a message the test knows decodes (a refusal, here). */
function limited(frames: Buffer[], maxBytes = 1024): BrokerInbound {
  const m = one(decodeBrokerMessage(frames, DEFAULT_BROKER_WIRE_LIMITS, maxBytes));
  if (m.type === 'rejected') throw new Error(m.reason);
  return m;
}

function drops(core: BrokerCore): string[] {
  const d = [...core.drops];
  core.drops.length = 0;
  return d;
}

describe('broker message limits (decodeBrokerMessage)', () => {
  const limits = { ...DEFAULT_BROKER_WIRE_LIMITS, maxFrames: 8 };

  it('should decode messages within the limits as before', () => {
    expect(one(decodeBrokerMessage(f('C', '', 'STW1:1', 'svc', String(FAR), 'body'), limits, 1024))).toMatchObject({ type: 'client.request', service: 'svc' });
  });

  it('should refuse too many frames, keeping the head of a tagged request so its client can be told', () => {
    const frames = f('C', '', 'STW1:1', 'svc', String(FAR), ...Array.from({ length: 10 }, () => 'b'));
    const m = one(decodeBrokerMessage(frames, limits, 1024));
    expect(m).toMatchObject({ type: 'limit.refused', limit: 'frames', detail: '15 frames > 8', message: { type: 'client.request', requestId: '1', service: 'svc' } });
  });

  it('should refuse a message whose frames together pass the size limit', () => {
    const m = one(decodeBrokerMessage(f('C', '', 'STW1:2', 'svc', String(FAR), 'a'.repeat(600), 'b'.repeat(600)), limits, 1024));
    expect(m).toMatchObject({ type: 'limit.refused', limit: 'message_size', message: { type: 'client.request' } });
    expect((m as { detail: string }).detail).toMatch(/^\d+ bytes > 1024$/);
  });

  it('should keep the head of a worker reply, and of nothing it cannot read', () => {
    const reply = one(decodeBrokerMessage(f('W', '', 'MDPW01', [3], [0, 0, 0, 1], '', 'x'.repeat(2000)), limits, 1024));
    expect(reply).toMatchObject({ type: 'limit.refused', message: { type: 'worker.reply' } });
    const junk = one(decodeBrokerMessage(f('P', 'garbage', ...Array.from({ length: 10 }, () => 'z')), limits, 1024));
    expect(junk).toMatchObject({ type: 'limit.refused', limit: 'frames', message: undefined });
    expect(decodeBrokerMessage([], limits, 1024)).toMatchObject({ type: 'rejected' });
  });

  it('should hold each unit of a compact-wire batch to the limits as if it travelled alone', () => {
    const small = Array.from({ length: 20 }, (_, i) => clientRequestUnit(i + 1, FAR, 'svc', [Buffer.from('hi')]));
    const big = clientRequestUnit(99, FAR, 'svc', [Buffer.alloc(2000)]);
    const batch = [Buffer.from('C'), ...small.flat(), ...big];
    // 22 frames in all, over maxFrames 8, yet each unit is 3 frames: only the big one is refused, for its size.
    const out = decodeBrokerMessage(batch, limits, 1024) as readonly { type: string; limit?: string; message?: { replyId: number } }[];
    expect(out).toHaveLength(21);
    expect(out.slice(0, 20).every((m) => m.type === 'client.request')).toBe(true);
    expect(out[20]).toMatchObject({ type: 'limit.refused', limit: 'message_size', message: { replyId: 99 } });
  });

  it('should refuse a compact-wire unit with too many parts, and a batch past the batch cap', () => {
    const many = clientRequestUnit(5, FAR, 'svc', Array.from({ length: 10 }, () => Buffer.from('p')));
    expect(one(decodeBrokerMessage([Buffer.from('C'), ...many], limits, 1024))).toMatchObject({ type: 'limit.refused', limit: 'frames', detail: '12 frames > 8', message: { replyId: 5 } });
    const flood = [Buffer.from('C'), ...Array.from({ length: 200 }, (_, i) => clientRequestUnit(i + 1, FAR, 's', [Buffer.from('x')])).flat()];
    expect(one(decodeBrokerMessage(flood, limits, 1024))).toMatchObject({ type: 'limit.refused', limit: 'frames', message: undefined });
  });
});

describe('broker routing limits', () => {
  it('should answer a tagged request over a limit 413 with the limit named, and an MDP one not at all', () => {
    const core = new BrokerCore();
    const big = limited(f('C', '', 'STW1:9', 'svc', String(FAR), 'x'.repeat(2000)));
    core.handle([big], 'fe', 0);
    const [reply] = sent(core, 'fe');
    expect(reply!.slice(0, 4)).toEqual(['C', '', 'STW1:9', '413']);
    expect(reply![4]).toMatch(/request for svc exceeds the broker's message size limit \(\d+ bytes > 1024\)/);
    expect(drops(core)).toEqual(['message_too_large']);

    const mdp = limited(f('M', '', 'MDPC01', 'svc', ...Array.from({ length: 300 }, () => 'x')));
    core.handle([mdp], 'fe', 1);
    expect(sent(core, 'fe')).toEqual([]);
    expect(drops(core)).toEqual(['too_many_frames']);
  });

  it('should answer a compact-wire request over a limit with a 413 reply unit', () => {
    const core = new BrokerCore();
    const big = limited([Buffer.from('C'), ...clientRequestUnit(7, FAR, 'svc', [Buffer.alloc(3000)])]);
    core.handle([big], 'fe', 0);
    const frames = core.out.get('fe')![0]!;
    const replies: Array<{ requestId: number; status: number; body: string }> = [];
    decodeUnits(frames, 1, (m) => {
      if (!('type' in m) && m.kind === Kind.ClientReply) replies.push({ requestId: m.requestId, status: m.status, body: m.body.join('') });
    });
    expect(replies).toEqual([{ requestId: 7, status: 413, body: expect.stringMatching(/request for svc exceeds the broker's message size limit/) }]);
  });

  it('should tell the client when its worker\'s reply is over a limit, and give the worker its credit back', () => {
    const core = new BrokerCore();
    core.handle([ready('W1', 'svc')], 'be', 0);
    core.handle([tagged('C', '1', 'svc'), tagged('C', '2', 'svc')], 'fe', 1);
    const [toWorker] = sent(core, 'be');
    const envelope = toWorker![4]!;
    const huge = limited([Buffer.from('W1'), Buffer.alloc(0), Buffer.from('MDPW01'), Buffer.from([3]), Buffer.from(envelope, 'latin1'), Buffer.alloc(0), Buffer.alloc(4096)]);
    core.handle([huge], 'be', 2);
    const [answer] = sent(core, 'fe');
    expect(answer!.slice(2, 4)).toEqual(['STW1:1', '413']);
    expect(answer![4]).toContain('the reply of svc exceeds');
    // The worker is free again: the second request goes to it.
    expect(sent(core, 'be')).toHaveLength(1);
    expect(core.inFlightCount).toBe(1);
  });

  it('should refuse a new client beyond maxClients (503), and take it once another client is answered', () => {
    const core = new BrokerCore({ maxClients: 2 });
    core.handle([tagged('A', '1', 'svc'), tagged('B', '1', 'svc'), tagged('A', '2', 'svc')], 'fe', 0);
    expect(core.clientCount).toBe(2);
    core.handle([tagged('C', '1', 'svc')], 'fe', 1);
    const [refused] = sent(core, 'fe');
    expect(refused!.slice(0, 5)).toEqual(['C', '', 'STW1:1', '503', 'too many clients (the broker serves 2 at once)']);
    expect(drops(core)).toEqual(['too_many_clients']);

    // B's request is served: B no longer counts, so C gets in.
    core.handle([ready('W1', 'svc', 10)], 'be', 2);
    const toWorker = sent(core, 'be');
    expect(toWorker).toHaveLength(3); // A1, B1, A2 in queue order
    const forB = toWorker[1]!;
    core.handle([msg('W1', '', 'MDPW01', [3], forB[4]!, '', 'done')], 'be', 3);
    expect(core.clientCount).toBe(1);
    core.handle([tagged('C', '2', 'svc')], 'fe', 4);
    expect(drops(core)).toEqual([]);
    expect(core.clientCount).toBe(2);
  });

  it('should stop counting a client whose requests expired, were lost or refused at shutdown', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 1000, liveness: 1 });
    const soon = Date.now() + 10;
    core.handle([msg('A', '', 'STW1:1', 'svc', String(soon), 'x')], 'fe', soon - 5);
    core.tick(soon + 1);
    expect(core.clientCount).toBe(0);
    core.handle([ready('W1', 'svc'), tagged('B', '1', 'svc')], 'fe', 0);
    expect(core.clientCount).toBe(1);
    core.tick(5_000); // W1 silent: purged, B's request lost (410)
    expect(core.clientCount).toBe(0);
    core.handle([tagged('C', '1', 'none')], 'fe', 5_001);
    core.startDrain();
    expect(core.clientCount).toBe(0);
  });

  it('should refuse a worker registering a service beyond maxServices, with a DISCONNECT', () => {
    const core = new BrokerCore({ maxServices: 1 });
    core.handle([ready('W1', 'one')], 'be', 0);
    core.handle([ready('W2', 'two')], 'be', 1);
    expect(sent(core, 'be')).toEqual([['W2', '', 'MDPW01', '#5']]);
    expect(drops(core)).toEqual(['too_many_services']);
    core.handle([tagged('C', '1', 'three')], 'fe', 2);
    expect(sent(core, 'fe')[0]!.slice(3)).toEqual(['503', 'too many services (the broker tracks 1)']);
  });

  it('should name the limit when a queue is full', () => {
    const core = new BrokerCore({ maxQueuePerService: 1 });
    core.handle([tagged('C', '1', 'svc'), tagged('C', '2', 'svc')], 'fe', 0);
    expect(sent(core, 'fe')[0]!.slice(2)).toEqual(['STW1:2', '503', 'queue for svc is full (1 waiting)']);
    expect(drops(core)).toEqual(['queue_full']);
  });

  it('should bound all queues together by bytes, refuse past it with 503, and account every way a request leaves', () => {
    // Each request: overhead + peer 'C' + service 'svc' + body 'x'.
    const cost = REQUEST_OVERHEAD_BYTES + 1 + 3 + 1;
    const core = new BrokerCore({ maxQueueBytes: cost * 4 });
    core.handle([tagged('C', '1', 'svc'), tagged('C', '2', 'svc'), tagged('C', '3', 'svc'), tagged('C', '4', 'svc')], 'fe', 0);
    expect(core.queuedBytes).toBe(cost * 4);
    core.handle([tagged('C', '5', 'svc')], 'fe', 1);
    expect(sent(core, 'fe')).toEqual([['C', '', 'STW1:5', '503', "the broker's queues are full (0.0 MiB of 0.0 MiB queued)"]]);
    expect(drops(core)).toEqual(['queue_memory_full']);
    // Handed to a worker: out of the queue.
    core.handle([ready('W', 'svc')], 'be', 2);
    expect(core.queuedBytes).toBe(cost * 3);
    // Expired on the tick, then refused on shutdown: out of the queue.
    core.handle([msg('C', '', 'STW1:6', 'svc', '10', 'x')], 'fe', 3);
    expect(core.queuedBytes).toBe(cost * 4);
    core.tick(20);
    expect(sent(core, 'fe')).toEqual([['C', '', 'STW1:6', '504', 'request for svc expired before a worker took it']]);
    expect(core.queuedBytes).toBe(cost * 3);
    core.startDrain();
    expect(core.queuedBytes).toBe(0);
  });

  it('should ask for back-pressure past three quarters of maxQueueBytes and release it below half', () => {
    const cost = REQUEST_OVERHEAD_BYTES + 1 + 3 + 1;
    const core = new BrokerCore({ maxQueueBytes: cost * 8 });
    core.handle([1, 2, 3, 4, 5].map((i) => tagged('C', String(i), 'svc')), 'fe', 0);
    expect(core.pressure).toBe(false);
    core.handle([tagged('C', '6', 'svc')], 'fe', 1);
    expect(core.pressure).toBe(true);
    core.handle([ready('W', 'svc', 1)], 'be', 2);
    const answer = () => {
      const [request] = sent(core, 'be');
      core.handle([msg('W', '', 'MDPW01', [3], request![4]!, '', 'ok')], 'be', 3);
    };
    expect(core.queuedBytes).toBe(cost * 5);
    expect(core.pressure).toBe(true);
    answer();
    expect(core.queuedBytes).toBe(cost * 4);
    expect(core.pressure).toBe(false);
    expect(drops(core)).toEqual([]);
  });

  it('should let MDP requests, which cannot be told, pass the limit up to twice it when the frontend can push back', () => {
    const mdp = (c: string, body: string) => msg(c, '', 'MDPC01', 'svc', body);
    const cost = REQUEST_OVERHEAD_BYTES + 1 + 3 + 1;
    const pushing = new BrokerCore({ maxQueueBytes: cost * 2, backPressure: true });
    pushing.handle([mdp('C', '1'), mdp('C', '2'), mdp('C', '3'), mdp('C', '4'), mdp('C', '5')], 'fe', 0);
    expect(pushing.queuedBytes).toBe(cost * 4);
    expect(drops(pushing)).toEqual(['queue_memory_full']);
    const shared = new BrokerCore({ maxQueueBytes: cost * 2 });
    shared.handle([mdp('C', '1'), mdp('C', '2'), mdp('C', '3')], 'fe', 0);
    expect(shared.queuedBytes).toBe(cost * 2);
    expect(drops(shared)).toEqual(['queue_memory_full']);
  });
});
