import { describe, expect, it } from 'vitest';
import type { Client } from '../../src/api/client.js';
import { BrokerError, TimeoutError } from '../../src/api/errors.js';
import { executions, ledger, runCounted } from '../helpers/counting.js';
import { SERVICE, faultTestScope, brokerSaid, ids } from '../helpers/fault-mesh.js';
import { eventually, withTimeout } from '../helpers/zmq.js';

const HEARTBEAT = 200;

const faults = faultTestScope();

function client(timeout: number, retries: number): Client {
  return faults.client({ broker: brokerFrontend, timeout, retries, waitForWorker: true });
}

let brokerFrontend = '';

async function brokerWith(...workers: Array<{ identity: string; delayMs: number }>) {
  const broker = await faults.mesh.broker(['--heartbeat', String(HEARTBEAT)]);
  brokerFrontend = broker.frontend;
  const started = workers.map((w) => faults.mesh.worker(broker.backend, w.identity, { delayMs: w.delayMs, heartbeatMs: HEARTBEAT }));
  for (const w of started) await brokerSaid(broker.proc, 'worker registered', w.identity);
  return { broker, workers: started };
}

describe('process faults: workers (real processes, counted requests)', () => {
  it('should answer every request of a client with retries when a worker is SIGKILLed holding one and a second worker is alive', async () => {
    const { workers } = await brokerWith({ identity: 'doomed', delayMs: 200 }, { identity: 'survivor', delayMs: 200 });
    const [doomed, survivor] = workers as [(typeof workers)[0], (typeof workers)[0]];
    const c = client(2_000, 3);
    const run = runCounted(c, SERVICE, ids('kill', 12), 4);
    // The handler records an id before it works on it: once one shows up, the worker holds it.
    await eventually(() => executions([doomed.record]).size > 0, 10_000, 5);
    const held = new Set(executions([doomed.record]).keys());
    doomed.proc.signal('SIGKILL');
    const outcomes = await run;
    const l = ledger(outcomes, executions([doomed.record, survivor.record]), faults.tap);
    expect(l.problems).toEqual([]);
    expect(l.answered).toBe(12);
    // The request the killed worker held was answered by the survivor, after a retry.
    const survivorPid = survivor.proc.child.pid;
    expect(outcomes.some((o) => o.ok && held.has(o.id) && o.pid === survivorPid)).toBe(true);
  });

  it('should fail clearly within timeout x attempts when the only worker is SIGKILLed holding the request', async () => {
    const { workers } = await brokerWith({ identity: 'alone', delayMs: 10_000 });
    const [alone] = workers as [(typeof workers)[0]];
    const timeout = 500;
    const retries = 2;
    const c = client(timeout, retries);
    const started = Date.now();
    const call = c.call(SERVICE, 'orphan').then(
      () => undefined,
      (error: unknown) => error,
    );
    await eventually(() => executions([alone.record]).has('orphan'), 10_000, 5);
    alone.proc.signal('SIGKILL');
    // Bounded: the call settles on its own within its attempts, with room for one broker tick and one client sweep.
    const error = await withTimeout(call, timeout * (retries + 1) + 2_000, 'the call to fail');
    const elapsed = Date.now() - started;
    expect(error instanceof TimeoutError || error instanceof BrokerError).toBe(true);
    expect((error as Error).message).toContain(SERVICE);
    console.log(`only worker killed: ${(error as Error).name} "${(error as Error).message}" after ${elapsed} ms (timeout ${timeout} x ${retries + 1} attempts)`);
    expect(faults.tap.counts.size).toBeLessThanOrEqual(retries + 1);
    expect([...faults.tap.counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('should purge a SIGSTOPped worker after the heartbeat expiry without stranding its requests, and take it back after SIGCONT', async () => {
    const { broker, workers } = await brokerWith({ identity: 'frozen', delayMs: 200 }, { identity: 'thawed', delayMs: 200 });
    const [frozen, other] = workers as [(typeof workers)[0], (typeof workers)[0]];
    const c = client(3_000, 3);
    const run = runCounted(c, SERVICE, ids('freeze', 12), 4);
    await eventually(() => executions([frozen.record]).size > 0, 10_000, 5);
    const held = new Set(executions([frozen.record]).keys());
    frozen.proc.signal('SIGSTOP');
    const left = await brokerSaid(broker.proc, 'worker left', 'frozen', 0, 10_000, (l) => l['reason'] === 'expired');
    const outcomes = await run;
    const l = ledger(outcomes, executions([frozen.record, other.record]), faults.tap);
    expect(l.problems).toEqual([]);
    expect(l.answered).toBe(12);
    // What the frozen worker held was answered by the other one, long before the frozen one could.
    expect(outcomes.some((o) => o.ok && held.has(o.id) && o.pid === other.proc.child.pid)).toBe(true);

    frozen.proc.signal('SIGCONT');
    await brokerSaid(broker.proc, 'worker registered', 'frozen', broker.proc.logs.indexOf(left));
    // It serves again: its late reply to the request it held went nowhere (the faults.tap saw no second answer).
    const again = await runCounted(client(2_000, 2), SERVICE, ids('after', 8), 4);
    const l2 = ledger(again, executions([frozen.record, other.record]), faults.tap);
    expect(l2.problems).toEqual([]);
    expect(again.some((o) => o.ok && o.pid === frozen.proc.child.pid)).toBe(true);
    frozen.proc.signal('SIGTERM');
    expect(await frozen.proc.exit()).toBe(0);
  });
});
