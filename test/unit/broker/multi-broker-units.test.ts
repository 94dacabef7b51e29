/**
 * The broker's side of the compact-wire units that clients and workers on
 * several brokers use: PING/PONG, WORKER_CREDIT, CLIENT_REQUEST_NOWAIT (404).
 * Events in, frames out.
 */
import { describe, expect, it } from 'vitest';
import { BrokerCore } from '../../../src/machines/broker/broker-core.js';
import { decodeBrokerFrames, type BrokerInbound } from '../../../src/protocol/broker-wire.js';
import { clientRequestUnit, decodeUnits, pingUnit, workerCreditUnit, workerReadyUnit, workerReplyUnit } from '../../../src/protocol/steward-wire.js';

const B = (s: string) => Buffer.from(s);
function sw(...frames: Buffer[]): BrokerInbound[] {
  const m = decodeBrokerFrames(frames);
  const list = Array.isArray(m) ? m : [m];
  for (const x of list) if (x.type === 'rejected') throw new Error(x.reason);
  return list as BrokerInbound[];
}
/** Units sent on `via`, with the peer they went to; drains the outbox. */
function out(core: BrokerCore, via: string): Array<Record<string, unknown> & { peer: string }> {
  const list: Array<Record<string, unknown> & { peer: string }> = [];
  for (const frames of core.out.get(via) ?? []) decodeUnits(frames, 1, (m) => list.push({ ...(m as object), peer: frames[0]!.toString() }));
  core.out.delete(via);
  return list;
}
const FAR = 1e13;

describe('broker: units for clients and workers on several brokers', () => {
  it('should answer a PING with a PONG carrying its nonce, and say so when draining', () => {
    const core = new BrokerCore();
    core.handle(sw(B('C1'), ...pingUnit(77)), 'fe', 0);
    expect(out(core, 'fe')).toEqual([{ kind: 0x34, nonce: 77, flags: 0, peer: 'C1' }]);
    core.startDrain();
    core.handle(sw(B('C1'), ...pingUnit(78)), 'fe', 1);
    expect(out(core, 'fe')).toEqual([{ kind: 0x34, nonce: 78, flags: 1, peer: 'C1' }]);
    expect(core.drops).toEqual([]);
  });

  it('should answer a request that will not wait 404 at once when no worker serves its service, and queue one that waits', () => {
    const core = new BrokerCore();
    core.handle(sw(B('C1'), ...clientRequestUnit(1, FAR, 'svc', [B('x')], false), ...clientRequestUnit(2, FAR, 'svc', [B('y')])), 'fe', 0);
    const answers = out(core, 'fe');
    expect(answers.map((u) => [u['requestId'], u['status'], String((u['body'] as Buffer[])[0])])).toEqual([[1, 404, 'no worker serves svc on this broker']]);
    expect(core.drops).toEqual(['no_worker']);
    core.handle(sw(B('W1'), ...workerReadyUnit('svc', 5)), 'be', 1);
    expect(out(core, 'be').map((u) => String((u['body'] as Buffer[])[0]))).toEqual(['y']);
  });

  it('should hand a request that will not wait to a worker when one serves the service', () => {
    const core = new BrokerCore();
    core.handle(sw(B('W1'), ...workerReadyUnit('svc', 1)), 'be', 0);
    core.handle(sw(B('C1'), ...clientRequestUnit(1, FAR, 'svc', [B('a')], false), ...clientRequestUnit(2, FAR, 'svc', [B('b')], false)), 'fe', 1);
    // Credit 1: the second waits in the queue, since a worker exists.
    expect(out(core, 'be').map((u) => String((u['body'] as Buffer[])[0]))).toEqual(['a']);
    expect(out(core, 'fe')).toEqual([]);
  });

  it('should answer queued requests that will not wait 404 when the last worker of their service leaves', () => {
    const core = new BrokerCore({ heartbeatIntervalMs: 100, liveness: 3 });
    core.handle(sw(B('W1'), ...workerReadyUnit('svc', 1)), 'be', 0);
    core.handle(sw(B('C1'), ...clientRequestUnit(1, FAR, 'svc', [B('a')], false), ...clientRequestUnit(2, FAR, 'svc', [B('b')], false), ...clientRequestUnit(3, FAR, 'svc', [B('c')])), 'fe', 1);
    out(core, 'be');
    core.tick(1_000);
    const answers = out(core, 'fe').map((u) => [u['requestId'], u['status']]);
    // 1 was held by the lost worker (410, retry); 2 would not wait (404); 3 waits on.
    expect(answers.sort()).toEqual([
      [1, 410],
      [2, 404],
    ]);
  });

  it('should change a registered worker credit, echo it, and keep to it', () => {
    const core = new BrokerCore();
    core.handle(sw(B('W1'), ...workerReadyUnit('svc', 1)), 'be', 0);
    core.handle(sw(B('C1'), ...[1, 2, 3, 4].flatMap((i) => clientRequestUnit(i, FAR, 'svc', [B(String(i))]))), 'fe', 1);
    const first = out(core, 'be');
    expect(first).toHaveLength(1);
    core.handle(sw(B('W1'), ...workerCreditUnit(3)), 'be', 2);
    const raised = out(core, 'be');
    // The echo first, then the two more requests the new credit allows.
    expect(raised.map((u) => u['kind'])).toEqual([0x24, 0x22, 0x22]);
    expect(raised[0]).toMatchObject({ credit: 3 });
    core.handle(sw(B('W1'), ...workerCreditUnit(1)), 'be', 3);
    expect(out(core, 'be').map((u) => u['kind'])).toEqual([0x24]);
    // Three in flight with credit 1: replies free nothing until fewer than one is held.
    const tokens = [first[0]!, ...raised.slice(1)].map((u) => u['token'] as number);
    core.handle(sw(B('W1'), ...workerReplyUnit(tokens[0]!, [B('r')]), ...workerReplyUnit(tokens[1]!, [B('r')])), 'be', 4);
    expect(out(core, 'be')).toEqual([]);
    core.handle(sw(B('W1'), ...workerReplyUnit(tokens[2]!, [B('r')])), 'be', 5);
    expect(out(core, 'be').map((u) => String((u['body'] as Buffer[])[0]))).toEqual(['4']);
  });

  it('should tell a worker it does not know that changes its credit to register again', () => {
    const core = new BrokerCore();
    core.handle(sw(B('W9'), ...workerCreditUnit(2)), 'be', 0);
    expect(out(core, 'be').map((u) => [u['peer'], u['kind']])).toEqual([['W9', 0x32]]);
  });
});
