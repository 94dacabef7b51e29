import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Client } from '../../src/api/client.js';
import { CRASH_INJECT, executions, ledger, runCounted } from '../helpers/counting.js';
import { FaultMesh, SERVICE, faultTestScope, brokerSaid, ids, type MeshWorker } from '../helpers/fault-mesh.js';
import { freePorts } from '../helpers/ports.js';

const faults = faultTestScope();

function client(frontend: string, timeout: number, retries: number): Client {
  return faults.client({ broker: frontend, timeout, retries, waitForWorker: true });
}

const time = (l: { [key: string]: unknown }) => Number(l['time']);

describe('process faults: the broker (real processes)', () => {
  it('should have workers register again within two heartbeat intervals of a broker restarted after SIGKILL, and clients with retries succeed', async () => {
    const heartbeat = 500;
    const [fp, bp] = await freePorts(2);
    const args = ['--frontend', `tcp://127.0.0.1:${fp}`, '--backend', `tcp://127.0.0.1:${bp}`, '--heartbeat', String(heartbeat)];
    const first = await faults.mesh.broker(args);
    const workers: MeshWorker[] = ['phoenix-a', 'phoenix-b'].map((id) => faults.mesh.worker(first.backend, id, { delayMs: 50, heartbeatMs: heartbeat }));
    for (const w of workers) await brokerSaid(first.proc, 'worker registered', w.identity);

    const c = client(first.frontend, 1_000, 8);
    let killed: Promise<void> | undefined;
    const run = runCounted(c, SERVICE, ids('restart', 40), 4, (done) => {
      if (done === 10 && !killed) {
        first.proc.signal('SIGKILL');
        killed = (async () => {
          await first.proc.exit();
        })();
      }
    });
    while (!killed) await new Promise((r) => setTimeout(r, 5));
    await killed;
    const second = await faults.mesh.broker(args);
    const listening = time(second.listening);
    for (const w of workers) {
      const registered = await brokerSaid(second.proc, 'worker registered', w.identity, 0, 10_000);
      const after = time(registered) - listening;
      console.log(`${w.identity} registered with the restarted broker ${after} ms after it listened (heartbeat ${heartbeat} ms)`);
      expect(after).toBeLessThanOrEqual(2 * heartbeat);
    }
    const outcomes = await run;
    const l = ledger(outcomes, executions(workers.map((w) => w.record)), faults.tap);
    expect(l.problems).toEqual([]);
    expect(l.answered).toBe(40);
    console.log(`broker restart: 40 answered, ${l.executedTwice} executed twice (answers lost with the broker, retried)`);
  });

  it('should restart a crashed socket actor under its supervisor and keep serving', async () => {
    faults.use(new FaultMesh({ NODE_OPTIONS: `--import=${pathToFileURL(CRASH_INJECT).href}`, STEWARD_TEST_CRASH: 'once' }));
    const broker = await faults.mesh.broker(['--heartbeat', '200']);
    const worker = faults.mesh.worker(broker.backend, 'steady', { heartbeatMs: 200 });
    await brokerSaid(broker.proc, 'worker registered', 'steady');
    const c = client(broker.frontend, 1_000, 5);
    const run = runCounted(c, SERVICE, ids('crash', 30), 2);
    await new Promise((r) => setTimeout(r, 200));
    broker.proc.signal('SIGUSR2');
    // The oldest pending receive fails: the frontend's or the backend's, whichever waited longer.
    const exited = await broker.proc.waitForLog((l) => l.msg === 'child exited' && l['reason'] === 'error');
    expect(exited).toMatchObject({ supervisor: 'broker', willRestart: true, error: expect.stringContaining('injected receive failure') });
    expect(['frontend', 'backend']).toContain(exited['child']);
    await broker.proc.waitForLog((l) => l.msg === 'child restarted' && l['child'] === exited['child']);
    // rest_for_one restarted the routing machine too: the worker learns it from the protocol and registers again.
    await brokerSaid(broker.proc, 'worker registered', 'steady', broker.proc.logs.indexOf(exited));
    const outcomes = await run;
    const l = ledger(outcomes, executions([worker.record]), faults.tap);
    expect(l.problems).toEqual([]);
    expect(l.answered).toBe(30);
    expect(broker.proc.child.exitCode).toBeNull();
  });

  it('should give up on a crash loop beyond the restart intensity: exit code 1 and "supervision tree gave up"', async () => {
    faults.use(new FaultMesh({ NODE_OPTIONS: `--import=${pathToFileURL(CRASH_INJECT).href}`, STEWARD_TEST_CRASH: 'loop' }));
    const broker = await faults.mesh.broker();
    broker.proc.signal('SIGUSR2');
    const code = await broker.proc.exit(20_000);
    expect(code).toBe(1);
    const restarts = broker.proc.logs.filter((l) => l.msg === 'child restarted' && l['child'] === 'frontend').length;
    expect(broker.proc.logs.some((l) => l.msg === 'restart intensity exceeded; giving up')).toBe(true);
    expect(broker.proc.logs.some((l) => l.msg === 'supervision tree gave up' && l.level === 60)).toBe(true);
    console.log(`crash loop: ${restarts} restarts, then the tree gave up and the process exited ${code}`);
  });
});
