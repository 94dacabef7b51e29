/**
 * Several brokers on loopback, real processes: the client fails over when one
 * is SIGKILLed, takes it back when it returns, and workers registered with
 * both keep serving the survivor. The network-namespace version, with hosts
 * and partitions, is test/faults/hosts.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { executions, ledger, type Outcome } from '../helpers/counting.js';
import { SERVICE, faultTestScope, brokerSaid, type MeshWorker } from '../helpers/fault-mesh.js';
import { freePorts } from '../helpers/ports.js';
import { eventually } from '../helpers/zmq.js';

const faults = faultTestScope();

const HEARTBEAT = 500;

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('several brokers on loopback (real processes)', () => {
  it('should complete 3,000 calls made one at a time when one of two brokers is SIGKILLed after 1.5 s, only the call in flight at the kill waiting out its timeout, and take the broker back once it returns', async () => {
    const [f1, b1, f2, b2, m1] = await freePorts(5);
    const brokerArgs = (f: number, b: number, extra: string[] = []) => ['--frontend', `tcp://127.0.0.1:${f}`, '--backend', `tcp://127.0.0.1:${b}`, '--heartbeat', String(HEARTBEAT), ...extra];
    const one = await faults.mesh.broker(brokerArgs(f1!, b1!, ['--metrics', String(m1)]));
    const two = await faults.mesh.broker(brokerArgs(f2!, b2!));
    const workers: MeshWorker[] = ['both-a', 'both-b'].map((id) =>
      faults.mesh.worker([one.backend, two.backend], id, { heartbeatMs: HEARTBEAT, args: ['--concurrency', '2'] }),
    );
    for (const w of workers) for (const b of [one, two]) await brokerSaid(b.proc, 'worker registered', w.identity);

    const timeout = 1_000;
    const c = faults.client({ broker: [one.frontend, two.frontend], timeout, retries: 3 });
    const outcomes: Outcome[] = [];
    const slow: string[] = [];
    let killedAt = 0;
    const started = Date.now();
    const killer = setTimeout(() => {
      killedAt = Date.now();
      one.proc.signal('SIGKILL');
    }, 1_500);
    for (let i = 0; i < 3_000; i++) {
      const id = `call-${i}`;
      const t0 = Date.now();
      try {
        const [answered, pid] = await c.call(SERVICE, id);
        outcomes.push({ id, ok: true, answeredId: String(answered), pid: Number(String(pid)) });
      } catch (error) {
        outcomes.push({ id, ok: false, error: error as Error });
      }
      // A call that took a whole timeout waited one out: it was in flight to the broker that died.
      if (Date.now() - t0 >= timeout) slow.push(id);
    }
    clearTimeout(killer);
    const elapsed = Date.now() - started;
    const l = ledger(outcomes, executions(workers.map((w) => w.record)), faults.tap);
    console.log(
      `2 brokers, one SIGKILLed ${killedAt - started} ms in: 3000 calls in ${elapsed} ms, ${l.answered} answered, ${l.failed} failed, ` +
        `${slow.length} waited out a timeout (${slow.join(', ')}), ${l.executedTwice} executed twice`,
    );
    expect(killedAt).toBeGreaterThan(0);
    expect(l.problems).toEqual([]);
    expect(l.answered).toBe(3_000);
    // One call at a time: at most the one in flight at the kill waited out a timeout.
    expect(slow.length).toBeLessThanOrEqual(1);
    expect(c.brokerStates().map((b) => b.state === 'alive')).toEqual([false, true]);

    // The broker comes back on its ports: the client takes it back, and it gets calls again.
    await one.proc.exit();
    const again = await faults.mesh.broker(brokerArgs(f1!, b1!, ['--metrics', String(m1)]));
    for (const w of workers) await brokerSaid(again.proc, 'worker registered', w.identity, 0, 10_000);
    await eventually(() => c.brokerStates()[0]!.state === 'alive', 10_000, 20);
    const more: Outcome[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `back-${i}`;
      const [answered] = await c.call(SERVICE, id);
      more.push({ id, ok: true, answeredId: String(answered), pid: 0 });
    }
    expect(more.every((o) => o.ok && o.answeredId === o.id)).toBe(true);
    // Round-robin over two live brokers: the returned one served its half.
    expect(await metric(m1!, 'steward_broker_requests_total')).toBeGreaterThanOrEqual(10);
  }, 120_000);

  it('should keep a worker on two brokers within its concurrency across both, and serve through the other while one is away', async () => {
    const one = await faults.mesh.broker(['--heartbeat', String(HEARTBEAT)]);
    const two = await faults.mesh.broker(['--heartbeat', String(HEARTBEAT)]);
    const w = faults.mesh.worker([one.backend, two.backend], 'capped', { heartbeatMs: HEARTBEAT, delayMs: 50, args: ['--concurrency', '3'] });
    for (const b of [one, two]) await brokerSaid(b.proc, 'worker registered', w.identity);
    // Clients on each broker alone, each with more in flight than the worker takes: both brokers have work waiting.
    const c1 = faults.client({ broker: one.frontend, timeout: 20_000, retries: 0 });
    const c2 = faults.client({ broker: two.frontend, timeout: 20_000, retries: 0 });
    const calls = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? c1 : c2).call(SERVICE, `cap-${i}`));
    const replies = await Promise.all(calls);
    expect(replies.map((r) => String(r[0]))).toEqual(Array.from({ length: 60 }, (_, i) => `cap-${i}`));
    // The counting handler records how many ran at once (STEWARD_TEST_RECORD_PEAK).
    const peak = Math.max(...[...executions([`${w.record}.peak`]).keys()].map(Number));
    console.log(`worker with --concurrency 3 on two brokers: at most ${peak} at once`);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThanOrEqual(2);

    // One broker goes away: the worker notices, serves the other meanwhile, and registers again on its own when it returns.
    const from = one.proc.logs.length;
    two.proc.signal('SIGSTOP');
    await w.proc.waitForLog((l) => l.msg === 'broker lost; waiting for it to answer again', 10_000);
    const during = await Promise.all(Array.from({ length: 10 }, (_, i) => c1.call(SERVICE, `alone-${i}`)));
    expect(during.map((r) => String(r[0]))).toEqual(Array.from({ length: 10 }, (_, i) => `alone-${i}`));
    two.proc.signal('SIGCONT');
    // The paused broker purges the worker, which noticed the silence and registers again once it answers.
    const left = await brokerSaid(two.proc, 'worker left', w.identity, 0, 15_000);
    await brokerSaid(two.proc, 'worker registered', w.identity, two.proc.logs.indexOf(left), 15_000);
    expect(String((await c2.call(SERVICE, 'back'))[0])).toBe('back');
    // The broker that stayed never lost the worker.
    expect(one.proc.logs.slice(from).filter((l) => l.msg === 'worker left')).toEqual([]);
  }, 60_000);
});
