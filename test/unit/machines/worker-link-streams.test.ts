/**
 * A worker link's streams and cancellation, pure: broker messages in (as the
 * worker wire decodes them), units out. A generator is pulled only while its
 * window allows; WORKER_CANCEL aborts the handler's signal (whenever the
 * handler looks), returns a generator, skips a request still waiting for a
 * slot, and the worker still answers each with a final reply so the broker
 * frees the credit only then.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { CreditPool } from '../../../src/machines/worker/credit-pool.js';
import type { Handler } from '../../../src/machines/worker/request.js';
import { WorkerLink } from '../../../src/machines/worker/worker-link.js';
import { Kind, decodeUnits, workerCancelUnit, workerRequestUnit, workerStreamUnit, workerWindowUnit } from '../../../src/protocol/steward-wire.js';
import { decodeWorkerFrames, type WorkerInbound } from '../../../src/protocol/worker-wire.js';

const B = (s: string) => Buffer.from(s);
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
};

/** A registered compact-wire link with `credit`, what it sent as decoded units. */
function link(handler: Handler, credit = 4) {
  const sent: Array<{ kind: number; token?: number; text: string }> = [];
  const send = (frames: Buffer[]) =>
    decodeUnits(frames, 0, (m) => {
      if ('type' in m) throw new Error(m.reason);
      const body = 'body' in m ? m.body : [];
      sent.push({ kind: m.kind, ...('token' in m ? { token: m.token } : {}), text: body.map(String).join('|') });
    });
  const l = new WorkerLink('svc', new CreditPool(credit, 1, 'shared', 0), 0, handler, send, () => undefined, silentLogger, 0, 'steward');
  l.ready(0);
  l.handle([{ type: 'broker.pong', nonce: 1, draining: false }], 0);
  sent.length = 0;
  const deliver = (...units: Buffer[][]) => {
    const decoded = decodeWorkerFrames(units.flat());
    l.handle((Array.isArray(decoded) ? decoded : [decoded]) as WorkerInbound[], 1);
  };
  return { l, sent, deliver };
}

describe('worker link: streams and cancellation', () => {
  it('should pull a generator only while its window allows, and send its return value as the final reply', async () => {
    let pulled = 0;
    const { sent, deliver } = link(async function* () {
      for (let i = 0; i < 5; i++) {
        pulled += 1;
        yield `p${i}`;
      }
      return 'end';
    });
    deliver(workerStreamUnit(7, 2, [B('go')]));
    await settle();
    expect(sent.map((u) => [u.kind, u.text])).toEqual([
      [Kind.WorkerPartial, 'p0'],
      [Kind.WorkerPartial, 'p1'],
    ]);
    // Not pulled past the window: the generator waits at its second yield, the third part not begun.
    expect(pulled).toBe(2);
    deliver(workerWindowUnit(7, 10));
    await settle();
    expect(sent.map((u) => [u.kind, u.token, u.text]).slice(2)).toEqual([
      [Kind.WorkerPartial, 7, 'p2'],
      [Kind.WorkerPartial, 7, 'p3'],
      [Kind.WorkerPartial, 7, 'p4'],
      [Kind.WorkerReply, 7, 'end'],
    ]);
  });

  it('should send a unary caller only what a generator returns', async () => {
    const { l, sent, deliver } = link(async function* () {
      yield 'not sent';
      return 'the reply';
    });
    deliver(workerRequestUnit(3, [B('go')]));
    await settle();
    expect(sent).toEqual([{ kind: Kind.WorkerReply, token: 3, text: 'the reply' }]);
    expect(l.partials).toBe(0);
  });

  it("should abort the handler's signal on WORKER_CANCEL even when it looks only after an await, and still answer (empty)", async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const seen: boolean[] = [];
    const { l, sent, deliver } = link(async (req) => {
      await gate;
      seen.push(req.signal.aborted);
      return 'late';
    });
    deliver(workerRequestUnit(9, [B('x')]));
    await settle();
    deliver(workerCancelUnit(9));
    release();
    await settle();
    expect(seen).toEqual([true]);
    expect(sent).toEqual([{ kind: Kind.WorkerReply, token: 9, text: '' }]);
    expect(l.cancelled).toBe(1);
    expect(l.inFlight).toBe(0);
  });

  it('should return a cancelled generator (its finally runs) while it waits for window', async () => {
    const state = { finally: false, aborted: false };
    const { sent, deliver } = link(async function* (req) {
      try {
        for (;;) yield 'part';
      } finally {
        state.finally = true;
        state.aborted = req.signal.aborted;
      }
    });
    deliver(workerStreamUnit(5, 1, []));
    await settle();
    deliver(workerCancelUnit(5));
    await settle();
    expect(state).toEqual({ finally: true, aborted: true });
    expect(sent.map((u) => [u.kind, u.text])).toEqual([
      [Kind.WorkerPartial, 'part'],
      [Kind.WorkerReply, ''],
    ]);
  });

  it('should never run a request cancelled while it waited for a slot, and answer it when the slot frees', async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const ran: string[] = [];
    const { sent, deliver } = link(async (req) => {
      ran.push(req.text());
      await gate;
      return 'done';
    }, 1);
    deliver(workerRequestUnit(1, [B('first')]), workerRequestUnit(2, [B('second')]));
    deliver(workerCancelUnit(2));
    release();
    await settle();
    expect(ran).toEqual(['first']);
    expect(sent.map((u) => [u.token, u.text])).toEqual([
      [1, 'done'],
      [2, ''],
    ]);
  });

  it("should cancel everything it runs when the broker is lost, aborting each handler's signal", async () => {
    const aborted: string[] = [];
    const { l, deliver } = link(async (req) => {
      await new Promise<void>((r) => req.signal.addEventListener('abort', () => r(), { once: true }));
      aborted.push(req.text());
      return '';
    });
    deliver(workerRequestUnit(1, [B('a')]), workerRequestUnit(2, [B('b')]));
    await settle();
    // Silent past the liveness window: the link gives the broker up.
    l.tick(100_000, 1_000);
    await settle();
    expect(aborted.sort()).toEqual(['a', 'b']);
  });
});
