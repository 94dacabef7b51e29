import { describe, expect, it } from 'vitest';
import { BrokerCore } from '../../../src/machines/broker/broker-core.js';
import { decodeBrokerFrames, decodeBrokerMessage, type BrokerInbound } from '../../../src/protocol/broker-wire.js';
import type { Rejection } from '../../../src/protocol/codec.js';
import { clientRequestUnit, decodeUnits, workerReadyUnit, workerReplyUnit } from '../../../src/protocol/steward-wire.js';

const f = (...parts: (string | number[])[]) => parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)));
function msg(...parts: (string | number[])[]): BrokerInbound {
  const m = decodeBrokerFrames(f(...parts));
  // MDP and butler frames decode to one message; only the compact wire batches.
  if (Array.isArray(m)) throw new Error('expected one message');
  const one = m as BrokerInbound | Rejection;
  if (one.type === 'rejected') throw new Error(one.reason);
  return one;
}
const ready = (w: string, svc: string, credit?: number) => msg(w, '', 'MDPW01', [1], svc, ...(credit ? [String(credit)] : []));
const request = (c: string, svc: string, body = 'x') => msg(c, '', 'MDPC01', svc, body);
const tagged = (c: string, id: string, svc: string, exp: number) => msg(c, '', `STW1:${id}`, svc, String(exp), 'x');

/** Frames sent, as strings, per socket; drains the core's outbox. */
function sent(core: BrokerCore, via = 'be'): string[][] {
  const out = (core.out.get(via) ?? []).map((frames) => frames.map((b) => (b.length === 1 && b[0]! < 8 ? `#${b[0]}` : b.toString('latin1'))));
  core.out.delete(via);
  return out;
}

describe('broker routing core (events in, frames out)', () => {
  it('should give no new request to a worker silent for 1.5 heartbeat intervals, and take it back when it speaks', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 1000, liveness: 3 });
    core.handle([ready('W1', 'svc'), ready('W2', 'svc')], 'be', 0);
    core.sessions.length = 0;
    // W1 went quiet (a host cut off); W2 keeps heartbeating.
    core.handle([msg('W2', '', 'MDPW01', [4])], 'be', 1_400);
    core.handle([request('C1', 'svc', 'a'), request('C2', 'svc', 'b')], 'fe', 1_600);
    const handed = sent(core, 'be');
    expect(handed.map((m) => m[0])).toEqual(['W2']);
    // Still registered: only its liveness (3 intervals) purges it.
    expect(core.workerCount).toBe(2);
    // W1 speaks again and takes the request that waited.
    core.handle([msg('W1', '', 'MDPW01', [4])], 'be', 1_700);
    expect(sent(core, 'be').map((m) => [m[0], m[m.length - 1]])).toEqual([['W1', 'b']]);
  });

  it('should hand a request to an idle worker and the reply back to the client', () => {
    const core = new BrokerCore();
    core.handle([ready('W1', 'svc')], 'be', 0);
    expect(core.sessions).toEqual([expect.objectContaining({ type: 'session.start', service: 'svc', credit: 1 })]);
    core.handle([request('C1', 'svc', 'hello')], 'fe', 1);
    const [toWorker] = sent(core, 'be');
    expect(toWorker!.slice(0, 4)).toEqual(['W1', '', 'MDPW01', '#2']);
    expect(toWorker!.slice(5)).toEqual(['', 'hello']);
    core.handle([msg('W1', '', 'MDPW01', [3], toWorker![4]!, '', 'HELLO')], 'be', 2);
    expect(sent(core, 'fe')).toEqual([['C1', '', 'MDPC01', 'svc', 'HELLO']]);
  });

  it('should queue requests while no worker is free and give them out least recently used first', () => {
    const core = new BrokerCore();
    core.handle([request('C1', 'svc', 'a'), request('C1', 'svc', 'b'), request('C1', 'svc', 'c')], 'fe', 0);
    expect(sent(core, 'be')).toEqual([]);
    core.handle([ready('W1', 'svc'), ready('W2', 'svc')], 'be', 1);
    const first = sent(core, 'be');
    expect(first.map((m) => [m[0], m.at(-1)])).toEqual([
      ['W1', 'a'],
      ['W2', 'b'],
    ]);
    // W2 answers first, so it is the least recently used when W1 is still busy: c goes to W2.
    core.handle([msg('W2', '', 'MDPW01', [3], first[1]![4]!, '', 'B')], 'be', 2);
    expect(sent(core, 'be').map((m) => [m[0], m.at(-1)])).toEqual([['W2', 'c']]);
  });

  it('should keep up to the announced credit in flight to one worker', () => {
    const core = new BrokerCore();
    core.handle([ready('W1', 'svc', 3)], 'be', 0);
    core.handle([1, 2, 3, 4, 5].map((i) => request('C', 'svc', String(i))), 'fe', 1);
    expect(sent(core, 'be')).toHaveLength(3);
    expect(core.inFlightCount).toBe(3);
  });

  it('should purge a silent worker on the tick, answer what it held 410 to tagged clients, and drop it from MMI', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 1000, liveness: 3 });
    core.handle([ready('W1', 'svc')], 'be', 0);
    core.handle([tagged('C1', 'r1', 'svc', 100_000)], 'fe', 10);
    sent(core, 'be');
    core.tick(2_000);
    expect(sent(core, 'be')).toEqual([['W1', '', 'MDPW01', '#4']]);
    core.tick(3_500);
    expect(sent(core, 'be')).toEqual([['W1', '', 'MDPW01', '#5']]);
    expect(sent(core, 'fe')).toEqual([['C1', '', 'STW1:r1', '410', 'the worker serving svc was lost (expired)']]);
    core.handle([msg('C2', '', 'MDPC01', 'mmi.service', 'svc')], 'fe', 3_600);
    expect(sent(core, 'fe')).toEqual([['C2', '', 'MDPC01', 'mmi.service', '404']]);
  });

  it('should answer an expired tagged request 504 and never dispatch it', () => {
    const core = new BrokerCore();
    core.handle([tagged('C1', 'r1', 'svc', 50)], 'fe', 100);
    expect(sent(core, 'fe')).toEqual([['C1', '', 'STW1:r1', '504', 'request for svc expired before a worker took it']]);
    core.handle([tagged('C1', 'r2', 'svc', 200)], 'fe', 100);
    core.handle([ready('W1', 'svc')], 'be', 300);
    expect(sent(core, 'be')).toEqual([]);
    expect(sent(core, 'fe')).toEqual([['C1', '', 'STW1:r2', '504', 'request for svc expired before a worker took it']]);
  });

  it('should drop a reply whose token the worker does not hold', () => {
    const core = new BrokerCore();
    core.handle([ready('W1', 'svc')], 'be', 0);
    core.handle([msg('W1', '', 'MDPW01', [3], 'XXXX', '', 'forged')], 'be', 1);
    expect(sent(core, 'fe')).toEqual([]);
    expect(core.drops).toContain('stale_reply');
  });

  it('should re-register a worker that sends READY again under the same identity', () => {
    const core = new BrokerCore();
    core.handle([ready('W1', 'old')], 'be', 0);
    core.handle([ready('W1', 'new')], 'be', 1);
    expect(core.workerCount).toBe(1);
    expect(core.summary().find((s) => s.name === 'new')?.workers).toBe(1);
    expect(core.summary().find((s) => s.name === 'old')?.workers ?? 0).toBe(0);
  });

  it('should let a departing worker answer what it holds but give it nothing new', () => {
    const core = new BrokerCore();
    core.handle([ready('W1', 'svc')], 'be', 0);
    core.handle([request('C1', 'svc', 'a')], 'fe', 1);
    const [req] = sent(core, 'be');
    core.handle([msg('W1', '', 'MDPW01', [5])], 'be', 2);
    core.handle([request('C1', 'svc', 'b')], 'fe', 3);
    expect(sent(core, 'be')).toEqual([]);
    core.handle([msg('W1', '', 'MDPW01', [3], req![4]!, '', 'A')], 'be', 4);
    expect(sent(core, 'fe')).toEqual([['C1', '', 'MDPC01', 'svc', 'A']]);
    expect(core.inFlightCount).toBe(0);
  });

  it('should refuse queued and new requests while draining, and disconnect workers when done', () => {
    const core = new BrokerCore();
    core.handle([tagged('C1', 'r1', 'svc', 10_000)], 'fe', 0);
    core.handle([ready('W1', 'other')], 'be', 0);
    core.startDrain();
    expect(sent(core, 'fe')).toEqual([['C1', '', 'STW1:r1', '503', 'broker is shutting down']]);
    core.finishDrain();
    expect(sent(core, 'be')).toEqual([['W1', '', 'MDPW01', '#5']]);
  });

  it('should answer butler-framed mmi.<service> with 200 or 400 and the request id', () => {
    const core = new BrokerCore();
    core.handle([ready('W1', 'api.images')], 'be', 0);
    core.handle([msg('C', '', '0.3.0:9', 'mmi.api.images', '0'), msg('C', '', '0.3.0:10', 'mmi.nope', '0')], 'fe', 1);
    expect(sent(core, 'fe')).toEqual([
      ['C', '', '0.3.0:9', '200'],
      ['C', '', '0.3.0:10', '400'],
    ]);
  });

  it('should answer a malformed tagged request 400 with what is wrong, queue nothing, and count it', () => {
    const core = new BrokerCore({ maxClients: 1 });
    core.handle(
      [msg('C1', '', 'STW1:r1', 'svc', 'soon'), msg('C2', '', 'EBv1:r2', ''), msg('C3', '', '0.3.0:r3', '', '0', 'b')],
      'fe',
      0,
    );
    expect(sent(core, 'fe')).toEqual([
      ['C1', '', 'STW1:r1', '400', 'malformed request: the expiration must be Unix time in ms, 1 to 16 ASCII digits (0 for none)'],
      ['C2', '', 'EBv1:r2', '400:malformed request: a service frame and an expiration frame must follow the request id'],
      ['C3', '', '0.3.0:r3', '400:malformed request: the service name is empty'],
    ]);
    expect([...core.drops]).toEqual(['bad_expiration', 'tagged_too_few_frames', 'bad_service_name']);
    expect(core.errors.get(400)).toBe(3);
    // Nothing was taken in: no client counts against maxClients, no request was counted or queued.
    expect(core.clientCount).toBe(0);
    expect(core.stats.requests).toBe(0);
    expect(core.summary()).toEqual([]);
    core.handle([ready('W1', 'svc')], 'be', 1);
    core.handle([tagged('C1', 'r4', 'svc', 10_000)], 'fe', 2);
    expect(sent(core, 'be')).toHaveLength(1);
  });

  it('should answer a malformed request over a limit 413, the limit first', () => {
    const core = new BrokerCore();
    const frames = f('C1', '', 'STW1:r1', 'svc', 'soon', ...Array.from({ length: 300 }, () => 'x'));
    const refusal = decodeBrokerMessage(frames) as BrokerInbound;
    expect(refusal).toMatchObject({ type: 'limit.refused', message: { type: 'client.malformed' } });
    core.handle([refusal], 'fe', 0);
    expect(sent(core, 'fe')).toEqual([['C1', '', 'STW1:r1', '413', "request exceeds the broker's frame count limit (305 frames > 256)"]]);
  });
});

describe("broker routing core with steward's compact wire", () => {
  function swMsgs(...frames: Buffer[]): BrokerInbound[] {
    const m = decodeBrokerFrames(frames);
    const list = Array.isArray(m) ? m : [m];
    for (const x of list) if (x.type === 'rejected') throw new Error(x.reason);
    return list as BrokerInbound[];
  }
  const units = (frames: Buffer[]) => {
    const out: unknown[] = [];
    decodeUnits(frames, 1, (m) => out.push(m));
    return out as Array<Record<string, unknown>>;
  };
  const B = (s: string) => Buffer.from(s);

  it('should route compact requests to a compact worker and replies back, a burst per peer in one message', () => {
    const core = new BrokerCore();
    core.handle(swMsgs(B('W1'), ...workerReadyUnit('svc', 10)), 'be', 0);
    core.handle(swMsgs(B('C1'), ...clientRequestUnit(41, 10_000, 'svc', [B('a')]), ...clientRequestUnit(42, 10_000, 'svc', [B('b')])), 'fe', 1);
    const toWorker = core.out.get('be')!;
    core.out.clear();
    expect(toWorker).toHaveLength(1);
    expect(toWorker[0]!).toHaveLength(3); // peer + two units with inline bodies
    const tokens = units(toWorker[0]!).map((u) => u['token'] as number);
    core.handle(swMsgs(B('W1'), ...workerReplyUnit(tokens[1]!, [B('B')]), ...workerReplyUnit(tokens[0]!, [B('A')])), 'be', 2);
    const toClient = core.out.get('fe')!;
    expect(toClient).toHaveLength(1);
    expect(units(toClient[0]!).map((u) => [u['requestId'], u['status'], String((u['body'] as Buffer[])[0])])).toEqual([
      [42, 200, 'B'],
      [41, 200, 'A'],
    ]);
  });

  it('should let a compact client reach an MDP worker and an MDP client reach a compact worker', () => {
    const core = new BrokerCore();
    core.handle([ready('MW', 'mdp-svc'), ...swMsgs(B('SW'), ...workerReadyUnit('sw-svc', 1))], 'be', 0);
    core.handle([...swMsgs(B('C1'), ...clientRequestUnit(1, 10_000, 'mdp-svc', [B('a')])), request('C2', 'sw-svc', 'b')], 'fe', 1);
    const out = core.out.get('be')!.map((m) => m[0]!.toString());
    expect(out.sort()).toEqual(['MW', 'SW']);
  });

  it('should answer a malformed compact request with a 400 unit and serve the good units beside it', () => {
    const core = new BrokerCore();
    core.handle(swMsgs(B('W1'), ...workerReadyUnit('svc', 10)), 'be', 0);
    const bad = clientRequestUnit(7, 0, 'svc', [B('x')]);
    bad[0]!.writeDoubleBE(-1, 9);
    core.handle(swMsgs(B('C1'), ...bad, ...clientRequestUnit(8, 10_000, 'svc', [B('y')])), 'fe', 1);
    const [u] = units(core.out.get('fe')![0]!);
    expect([u!['requestId'], u!['status'], String((u!['body'] as Buffer[])[0])]).toEqual([
      7,
      400,
      'malformed request: the expiration must be finite Unix ms, not negative (0 for none)',
    ]);
    expect(units(core.out.get('be')![0]!).map((w) => String((w['body'] as Buffer[])[0]))).toEqual(['y']);
    expect([...core.drops]).toEqual(['sw_bad_expiration']);
  });

  it('should answer compact clients with a status the broker made (504 expired)', () => {
    const core = new BrokerCore();
    core.handle(swMsgs(B('C1'), ...clientRequestUnit(3, 50, 'svc', [B('x')])), 'fe', 100);
    const [u] = units(core.out.get('fe')![0]!);
    expect([u!['requestId'], u!['status'], String((u!['body'] as Buffer[])[0])]).toEqual([3, 504, 'request for svc expired before a worker took it']);
  });
});
