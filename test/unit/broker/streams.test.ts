/**
 * The broker core's streams and cancellation, events in, frames out: partial
 * replies between every pair of dialects, the per-stream window and what is
 * held for slow readers (bounded), cancel of a queued or a held request, and
 * expiry in flight. The dialect-pair table in docs/wires.md is what these
 * check.
 */
import { describe, expect, it } from 'vitest';
import { BrokerCore } from '../../../src/machines/broker/broker-core.js';
import { decodeBrokerFrames, type BrokerInbound } from '../../../src/protocol/broker-wire.js';
import { butlerReady, butlerReply } from '../../../src/protocol/butler.js';
import { clientRequest, workerReady, workerReply } from '../../../src/protocol/mdp.js';
import { clientRequest2, workerFinal2, workerPartial2, workerReady2 } from '../../../src/protocol/mdp2.js';
import {
  Kind,
  clientCallUnit,
  clientCancelUnit,
  clientRequestUnit,
  clientWindowUnit,
  decodeUnits,
  heartbeatUnit,
  workerPartialUnit,
  workerReadyUnit,
  workerReplyUnit,
} from '../../../src/protocol/steward-wire.js';
import { taggedRequest } from '../../../src/protocol/tagged.js';

const B = (s: string) => Buffer.from(s);
const FAR = 1e13;

function msgs(...frames: Buffer[]): BrokerInbound[] {
  const m = decodeBrokerFrames(frames);
  const list = Array.isArray(m) ? m : [m];
  for (const x of list) if (x.type === 'rejected') throw new Error(x.reason);
  return list as BrokerInbound[];
}

type Unit = Record<string, unknown> & { peer: string; kind: number; text: string };
/** Compact units sent on `via`, with the peer each went to and its body as text; drains that socket's outbox. */
function units(core: BrokerCore, via: string): Unit[] {
  const list: Unit[] = [];
  for (const frames of core.out.get(via) ?? []) {
    decodeUnits(frames, 1, (m) => {
      const body = 'body' in m ? (m.body as Buffer[]) : [];
      list.push({ ...(m as object), peer: frames[0]!.toString(), text: body.map(String).join('|') } as Unit);
    });
  }
  core.out.delete(via);
  return list;
}
/** Classic messages sent on `via`, as strings (one-byte commands as #n); drains that socket's outbox. */
function frames(core: BrokerCore, via: string): string[][] {
  const out = (core.out.get(via) ?? []).map((f) => f.map((b) => (b.length === 1 && b[0]! < 8 ? `#${b[0]}` : b.toString('latin1'))));
  core.out.delete(via);
  return out;
}
const token = (n: number) => {
  const e = Buffer.alloc(4);
  e.writeUInt32BE(n);
  return e;
};
const tokenOf = (env: string) => Buffer.from(env, 'latin1').readUInt32BE(0);

describe('broker streams: partial replies across dialects', () => {
  it('should pass an MDP/0.2 worker stream to an MDP/0.2 client as PARTIALs then a FINAL', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W'), ...workerReady2('svc')), 'be', 0);
    core.handle(msgs(B('C'), ...clientRequest2('svc', [B('go')])), 'fe', 1);
    const [req] = frames(core, 'be');
    expect(req).toEqual(['W', 'MDPW02', '#2', expect.any(String), '', 'go']);
    const t = tokenOf(req![3]!);
    core.handle([...msgs(B('W'), ...workerPartial2(token(t), [B('p1')])), ...msgs(B('W'), ...workerPartial2(token(t), [B('p2')]))], 'be', 2);
    core.handle(msgs(B('W'), ...workerFinal2(token(t), [B('done')])), 'be', 3);
    expect(frames(core, 'fe')).toEqual([
      ['C', 'MDPC02', '#2', 'svc', 'p1'],
      ['C', 'MDPC02', '#2', 'svc', 'p2'],
      ['C', 'MDPC02', '#3', 'svc', 'done'],
    ]);
    expect(core.stats.partials).toBe(2);
    expect(core.streamCount).toBe(0);
  });

  it('should give an MDP/0.1 client only the FINAL of a 0.2 worker, the partials dropped and counted', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W'), ...workerReady2('svc')), 'be', 0);
    core.handle(msgs(B('C'), ...clientRequest('svc', [B('go')])), 'fe', 1);
    const t = tokenOf(frames(core, 'be')[0]![3]!);
    core.handle(msgs(B('W'), ...workerPartial2(token(t), [B('p1')])), 'be', 2);
    core.handle(msgs(B('W'), ...workerFinal2(token(t), [B('done')])), 'be', 3);
    expect(frames(core, 'fe')).toEqual([['C', '', 'MDPC01', 'svc', 'done']]);
    expect(core.drops).toEqual(['partial_to_unary']);
  });

  it('should give a butler client, and a steward unary call, only the final reply', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W'), ...workerReady2('svc')), 'be', 0);
    core.handle(msgs(B('C'), ...taggedRequest('EBv1', 'r1', 'svc', FAR, [B('go')])), 'fe', 1);
    let t = tokenOf(frames(core, 'be')[0]![3]!);
    core.handle([...msgs(B('W'), ...workerPartial2(token(t), [B('p')])), ...msgs(B('W'), ...workerFinal2(token(t), [B('done')]))], 'be', 2);
    expect(frames(core, 'fe')).toEqual([['C', '', 'EBv1:r1', 'done']]);
    core.handle(msgs(B('S'), ...clientRequestUnit(5, FAR, 'svc', [B('go')])), 'fe', 3);
    t = tokenOf(frames(core, 'be')[0]![3]!);
    core.handle([...msgs(B('W'), ...workerPartial2(token(t), [B('p')])), ...msgs(B('W'), ...workerFinal2(token(t), [B('done')]))], 'be', 4);
    expect(units(core, 'fe').map((u) => [u.kind, u['requestId'], u['status'], u.text])).toEqual([[Kind.ClientReply, 5, 200, 'done']]);
    expect(core.drops).toEqual(['partial_to_unary', 'partial_to_unary']);
  });

  it('should turn an MDP/0.1 and a butler reply into an MDP/0.2 FINAL', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W1'), ...workerReady('one')), 'be', 0);
    core.handle(msgs(B('W2'), ...butlerReady('two')), 'be', 0);
    core.handle([...msgs(B('C'), ...clientRequest2('one', [B('a')])), ...msgs(B('C'), ...clientRequest2('two', [B('b')]))], 'fe', 1);
    const [toOne, toTwo] = frames(core, 'be');
    core.handle(msgs(B('W1'), ...workerReply(Buffer.from(toOne![4]!, 'latin1'), [B('A')])), 'be', 2);
    core.handle(msgs(B('W2'), ...butlerReply(Buffer.from(toTwo![1]!, 'latin1'), Buffer.from(toTwo![3]!, 'latin1'), B('B'))), 'be', 3);
    expect(frames(core, 'fe')).toEqual([
      ['C', 'MDPC02', '#3', 'one', 'A'],
      ['C', 'MDPC02', '#3', 'two', 'B'],
    ]);
  });

  it('should end a compact stream to an MDP/0.1 or butler worker with their one reply, and hand a steward worker a unary call as no stream', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W1'), ...workerReady('one')), 'be', 0);
    core.handle(msgs(B('W2'), ...butlerReady('two')), 'be', 0);
    core.handle(msgs(B('W3'), ...workerReadyUnit('three', 1)), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(1, FAR, 'one', [B('a')], { window: 4 }), ...clientCallUnit(2, FAR, 'two', [B('b')], { window: 4 })), 'fe', 1);
    const [toOne, toTwo] = frames(core, 'be');
    core.handle(msgs(B('W1'), ...workerReply(Buffer.from(toOne![4]!, 'latin1'), [B('A')])), 'be', 2);
    core.handle(msgs(B('W2'), ...butlerReply(Buffer.from(toTwo![1]!, 'latin1'), Buffer.from(toTwo![3]!, 'latin1'), B('B'))), 'be', 3);
    expect(units(core, 'fe').map((u) => [u.kind, u['requestId'], u['status'], u.text])).toEqual([
      [Kind.ClientReply, 1, 200, 'A'],
      [Kind.ClientReply, 2, 200, 'B'],
    ]);
    expect(core.streamCount).toBe(0);
    core.handle(msgs(B('C'), ...clientCallUnit(3, FAR, 'three', [B('c')])), 'fe', 4);
    expect(units(core, 'be')).toEqual([expect.objectContaining({ kind: Kind.WorkerRequest, stream: false, window: 0, text: 'c' })]);
  });

  it('should hand a steward worker an MDP/0.2 stream with no window, and its partials on as PARTIALs', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W'), ...workerReadyUnit('svc', 4)), 'be', 0);
    core.handle(msgs(B('C'), ...clientRequest2('svc', [B('go')])), 'fe', 1);
    const [req] = units(core, 'be');
    expect(req).toMatchObject({ kind: Kind.WorkerRequest, stream: true, window: 0, text: 'go' });
    core.handle(msgs(B('W'), ...workerPartialUnit(req!['token'] as number, [B('p')]), ...workerReplyUnit(req!['token'] as number, [B('f')])), 'be', 2);
    expect(frames(core, 'fe')).toEqual([
      ['C', 'MDPC02', '#2', 'svc', 'p'],
      ['C', 'MDPC02', '#3', 'svc', 'f'],
    ]);
  });
});

describe('broker streams: the window', () => {
  it('should give a steward worker the stream with the client window, and pass each refill on', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W'), ...workerReadyUnit('svc', 4)), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(9, FAR, 'svc', [B('go')], { window: 2 })), 'fe', 1);
    const [req] = units(core, 'be');
    expect(req).toMatchObject({ kind: Kind.WorkerRequest, stream: true, window: 2 });
    const t = req!['token'] as number;
    core.handle(msgs(B('W'), ...workerPartialUnit(t, [B('a')]), ...workerPartialUnit(t, [B('b')])), 'be', 2);
    expect(units(core, 'fe').map((u) => [u.kind, u['requestId'], u.text])).toEqual([
      [Kind.ClientPartial, 9, 'a'],
      [Kind.ClientPartial, 9, 'b'],
    ]);
    core.handle(msgs(B('C'), ...clientWindowUnit(9, 2)), 'fe', 3);
    expect(units(core, 'be')).toEqual([expect.objectContaining({ kind: Kind.WorkerWindow, token: t, credit: 2 })]);
    core.handle(msgs(B('W'), ...workerPartialUnit(t, [B('c')]), ...workerReplyUnit(t, [B('end')])), 'be', 4);
    expect(units(core, 'fe').map((u) => [u.kind, u.text])).toEqual([
      [Kind.ClientPartial, 'c'],
      [Kind.ClientReply, 'end'],
    ]);
    expect(core.streamCount).toBe(0);
    expect(core.drops).toEqual([]);
  });

  it('should hold what a worker sends past the window, send it as the client reads, and the final reply behind it', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W'), ...workerReady2('svc')), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(1, FAR, 'svc', [B('go')], { window: 1 })), 'fe', 1);
    const t = tokenOf(frames(core, 'be')[0]![3]!);
    const parts = ['a', 'b', 'c'].map((p) => msgs(B('W'), ...workerPartial2(token(t), [B(p)]))[0]!);
    core.handle([...parts, ...msgs(B('W'), ...workerFinal2(token(t), [B('end')]))], 'be', 2);
    expect(units(core, 'fe').map((u) => u.text)).toEqual(['a']);
    expect(core.streamHeldBytes).toBeGreaterThan(0);
    // The worker is done: its credit is free for the next request while its client still reads.
    expect(core.inFlightCount).toBe(0);
    expect(core.busy).toBe(1);
    core.handle(msgs(B('C'), ...clientWindowUnit(1, 1)), 'fe', 3);
    expect(units(core, 'fe').map((u) => u.text)).toEqual(['b']);
    core.handle(msgs(B('C'), ...clientWindowUnit(1, 5)), 'fe', 4);
    expect(units(core, 'fe').map((u) => [u.kind, u.text])).toEqual([
      [Kind.ClientPartial, 'c'],
      [Kind.ClientReply, 'end'],
    ]);
    expect(core.streamHeldBytes).toBe(0);
    expect(core.busy).toBe(0);
  });

  it('should end a stream whose held parts pass maxStreamBytes with 507, drop the rest, and free the worker at its FINAL', () => {
    const core = new BrokerCore({ maxStreamBytes: 2048 });
    core.handle(msgs(B('W'), ...workerReady2('svc')), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(1, FAR, 'svc', [], { window: 1 })), 'fe', 1);
    core.handle(msgs(B('C'), ...clientRequestUnit(2, FAR, 'svc', [B('next')])), 'fe', 1);
    const t = tokenOf(frames(core, 'be')[0]![3]!);
    const kib = Buffer.alloc(1024, 0x61);
    for (let i = 0; i < 4; i++) core.handle(msgs(B('W'), ...workerPartial2(token(t), [kib])), 'be', 2 + i);
    const told = units(core, 'fe');
    expect(told.map((u) => [u.kind, u['status'] ?? null])).toEqual([
      [Kind.ClientPartial, null],
      [Kind.ClientReply, 507],
    ]);
    expect(String(told[1]!.text)).toContain('outran its reader');
    expect(core.drops).toEqual(['stream_overflow', 'cancelled']);
    expect(core.streamHeldBytes).toBe(0);
    expect(core.stats.cancelled.overflow).toBe(1);
    // MDP/0.2 has no cancel: the worker is sent nothing more for it, and its FINAL frees it for the next request.
    expect(frames(core, 'be')).toEqual([]);
    core.handle(msgs(B('W'), ...workerFinal2(token(t), [B('end')])), 'be', 9);
    expect(units(core, 'fe')).toEqual([]);
    expect(frames(core, 'be').map((f) => f.at(-1))).toEqual(['next']);
  });

  it('should bound all streams together by maxQueueBytes, never pausing the frontend for them', () => {
    const core = new BrokerCore({ maxQueueBytes: 4096, maxStreamBytes: 1_000_000 });
    core.handle(msgs(B('W1'), ...workerReady2('svc')), 'be', 0);
    core.handle(msgs(B('W2'), ...workerReady2('svc')), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(1, FAR, 'svc', [], { window: 1 }), ...clientCallUnit(2, FAR, 'svc', [], { window: 1 })), 'fe', 1);
    const toWorkers = frames(core, 'be');
    const kib = Buffer.alloc(1024);
    for (let i = 0; i < 3; i++) {
      for (const f of toWorkers) core.handle(msgs(B(f[0]!), ...workerPartial2(Buffer.from(f[3]!, 'latin1'), [kib])), 'be', 2);
    }
    expect(core.pressure).toBe(false);
    expect(core.drops).toContain('stream_memory_full');
    expect(core.streamHeldBytes).toBeLessThanOrEqual(4096);
  });
});

describe('broker: cancellation and expiry in flight', () => {
  it('should forget a cancelled queued request: no worker ever gets it, its bytes are released', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('C'), ...clientCallUnit(1, FAR, 'svc', [B('drop me')]), ...clientCallUnit(2, FAR, 'svc', [B('keep me')])), 'fe', 0);
    const queued = core.queuedBytes;
    core.handle(msgs(B('C'), ...clientCancelUnit(1)), 'fe', 1);
    expect(core.queuedBytes).toBeLessThan(queued);
    expect(core.stats.cancelled.client).toBe(1);
    expect(core.clientCount).toBe(1);
    core.handle(msgs(B('W'), ...workerReadyUnit('svc', 5)), 'be', 2);
    expect(units(core, 'be').map((u) => u.text)).toEqual(['keep me']);
    expect(units(core, 'fe')).toEqual([]);
  });

  it('should tell a steward worker holding a cancelled request, drop its reply, and keep its credit until then', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W'), ...workerReadyUnit('svc', 1)), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(1, FAR, 'svc', [B('a')]), ...clientCallUnit(2, FAR, 'svc', [B('b')])), 'fe', 1);
    const [req] = units(core, 'be');
    core.handle(msgs(B('C'), ...clientCancelUnit(1)), 'fe', 2);
    expect(units(core, 'be')).toEqual([expect.objectContaining({ kind: Kind.WorkerCancel, token: req!['token'] })]);
    // Its credit is still taken: the worker has not said it stopped.
    expect(core.inFlightCount).toBe(1);
    core.handle(msgs(B('W'), ...workerReplyUnit(req!['token'] as number, [B('late')])), 'be', 3);
    expect(units(core, 'fe')).toEqual([]);
    expect(core.drops).toEqual(['cancelled']);
    expect(units(core, 'be').map((u) => u.text)).toEqual(['b']);
  });

  it('should send an MDP worker nothing for a cancelled request, drop its reply, and only then give it the next', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W'), ...workerReady('svc')), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(1, FAR, 'svc', [B('a')]), ...clientCallUnit(2, FAR, 'svc', [B('b')])), 'fe', 1);
    const [req] = frames(core, 'be');
    core.handle(msgs(B('C'), ...clientCancelUnit(1)), 'fe', 2);
    expect(frames(core, 'be')).toEqual([]);
    core.handle(msgs(B('W'), ...workerReply(Buffer.from(req![4]!, 'latin1'), [B('late')])), 'be', 3);
    expect(units(core, 'fe')).toEqual([]);
    expect(frames(core, 'be').map((f) => f.at(-1))).toEqual(['b']);
  });

  it('should ignore a cancel that crossed its reply, and one for an id it never indexed', () => {
    const core = new BrokerCore();
    core.handle(msgs(B('W'), ...workerReadyUnit('svc', 1)), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(1, FAR, 'svc', [B('a')])), 'fe', 1);
    const [req] = units(core, 'be');
    core.handle(msgs(B('W'), ...workerReplyUnit(req!['token'] as number, [B('A')])), 'be', 2);
    core.handle(msgs(B('C'), ...clientCancelUnit(1), ...clientCancelUnit(77)), 'fe', 3);
    expect(units(core, 'fe').map((u) => u.text)).toEqual(['A']);
    expect(units(core, 'be')).toEqual([]);
    expect(core.stats.cancelled.client).toBe(0);
    expect(core.drops).toEqual([]);
  });

  it('should expire a request in flight at the tick: 504 to the client, CANCEL to the worker, the reply dropped', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 100, liveness: 1000 });
    core.handle(msgs(B('W'), ...workerReadyUnit('svc', 1)), 'be', 0);
    core.handle(msgs(B('C'), ...clientRequestUnit(1, 500, 'svc', [B('slow')])), 'fe', 1);
    const [req] = units(core, 'be');
    core.tick(400);
    expect(units(core, 'fe')).toEqual([]);
    core.tick(600);
    expect(units(core, 'fe').map((u) => [u['requestId'], u['status']])).toEqual([[1, 504]]);
    expect(units(core, 'be')).toEqual(expect.arrayContaining([expect.objectContaining({ kind: Kind.WorkerCancel, token: req!['token'] })]));
    expect(core.stats.cancelled.expired).toBe(1);
    core.handle(msgs(B('W'), ...workerReplyUnit(req!['token'] as number, [B('late')])), 'be', 700);
    expect(units(core, 'fe')).toEqual([]);
  });

  it('should never expire an MDP request in flight (MDP gives no expiration of its own)', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 100, liveness: 1000, mdpRequestTtlMs: 50 });
    core.handle(msgs(B('W'), ...workerReady('svc')), 'be', 0);
    core.handle(msgs(B('C'), ...clientRequest('svc', [B('slow')])), 'fe', 1);
    const [req] = frames(core, 'be');
    core.tick(10_000);
    frames(core, 'be');
    core.handle(msgs(B('W'), ...workerReply(Buffer.from(req![4]!, 'latin1'), [B('done')])), 'be', 10_001);
    expect(frames(core, 'fe')).toEqual([['C', '', 'MDPC01', 'svc', 'done']]);
  });

  it('should keep a stream that has sent partials past its expiration while its client is heard, and end it when the client falls silent', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 100, liveness: 3 });
    core.handle(msgs(B('W'), ...workerReadyUnit('svc', 1)), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(1, 200, 'svc', [], { window: 4 })), 'fe', 0);
    const t = units(core, 'be')[0]!['token'] as number;
    core.handle(msgs(B('W'), ...workerPartialUnit(t, [B('a')])), 'be', 10);
    const beat = (now: number) => core.handle(msgs(B('W'), ...heartbeatUnit()), 'be', now);
    for (let now = 100; now <= 1000; now += 100) {
      beat(now);
      core.handle(msgs(B('C'), ...clientWindowUnit(1, 0)), 'fe', now);
      core.tick(now);
    }
    expect(core.stats.cancelled).toMatchObject({ expired: 0, client_gone: 0 });
    expect(units(core, 'be').filter((u) => u.kind === Kind.WorkerCancel)).toEqual([]);
    // Silent from 1000 on: gone once the liveness window (300 ms) has passed.
    beat(1_200);
    core.tick(1_200);
    expect(core.stats.cancelled.client_gone).toBe(0);
    beat(1_400);
    core.tick(1_400);
    expect(core.stats.cancelled.client_gone).toBe(1);
    expect(units(core, 'be').filter((u) => u.kind === Kind.WorkerCancel)).toEqual([expect.objectContaining({ token: t })]);
    expect(units(core, 'fe').filter((u) => u.kind === Kind.ClientReply)).toEqual([]);
  });

  it('should let a stream reader take the parts held before it hears that the worker was lost', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 100, liveness: 3 });
    core.handle(msgs(B('W'), ...workerReady2('svc')), 'be', 0);
    core.handle(msgs(B('C'), ...clientCallUnit(1, FAR, 'svc', [], { window: 1 })), 'fe', 0);
    const t = tokenOf(frames(core, 'be')[0]![3]!);
    core.handle([...msgs(B('W'), ...workerPartial2(token(t), [B('a')])), ...msgs(B('W'), ...workerPartial2(token(t), [B('b')]))], 'be', 10);
    core.handle(msgs(B('C'), ...clientWindowUnit(1, 0)), 'fe', 300);
    core.tick(400);
    expect(units(core, 'fe').map((u) => [u.kind, u.text])).toEqual([[Kind.ClientPartial, 'a']]);
    core.handle(msgs(B('C'), ...clientWindowUnit(1, 1)), 'fe', 401);
    expect(units(core, 'fe').map((u) => [u.kind, u['status'] ?? null, u.text])).toEqual([
      [Kind.ClientPartial, null, 'b'],
      [Kind.ClientReply, 410, 'the worker serving svc was lost (expired) after 1 partial replies'],
    ]);
  });
});
