import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executions, ledger, runCounted, type Outcome } from '../helpers/counting.js';
import { FaultMesh, SERVICE, brokerSaid, ids, type MeshWorker } from '../helpers/fault-mesh.js';
import { FaultyLink, probeNetns } from '../helpers/netns.js';
import { RemoteClient } from '../helpers/remote-client.js';
import type { CliProcess } from '../helpers/cli.js';

const support = await probeNetns();
if (support.ok) console.log(`network faults: ${support.note}`);
else console.warn(`network-fault tests SKIPPED: ${support.reason}`);

const HEARTBEAT = 500;
const WORKERS = ['net-a', 'net-b'];
const title = support.ok ? `(${support.note})` : `(SKIPPED: ${support.reason})`;

describe.skipIf(!support.ok)(`network faults between the broker and its workers, in separate network namespaces ${title}`, () => {
  let link: FaultyLink;
  let mesh: FaultMesh;
  let broker: CliProcess;
  let workers: MeshWorker[];
  let client: RemoteClient;
  const all: Outcome[] = [];

  beforeAll(async () => {
    if (!support.ok) return;
    link = await FaultyLink.create(support.link);
    mesh = new FaultMesh();
    // Clients sit beside the broker (loopback in its namespace); workers across the faulty link.
    const b = await mesh.broker(['--frontend', 'tcp://127.0.0.1:*', '--backend', `tcp://${link.broker.addr}:*`, '--heartbeat', String(HEARTBEAT)], {}, link.exec(link.broker));
    broker = b.proc;
    workers = WORKERS.map((id) => mesh.worker(b.backend, id, { delayMs: 20, heartbeatMs: HEARTBEAT, prefix: link.exec(link.workers) }));
    for (const w of workers) await brokerSaid(broker, 'worker registered', w.identity, 0, 20_000);
    client = new RemoteClient(link.exec(link.broker), b.frontend, 2_000, 2);
    await client.ready();
  }, 90_000);

  afterAll(async () => {
    // Always, even after a failure: processes first, then the namespaces, devices and qdiscs.
    await client?.close();
    await mesh?.stop();
    await link?.teardown();
  }, 60_000);

  const check = async (outcomes: Outcome[]) => {
    all.push(...outcomes);
    const l = ledger(outcomes, executions(workers.map((w) => w.record)), await client.tap());
    expect(l.problems).toEqual([]);
    return l;
  };

  it('should answer every request with 50 ms of added delay each way', async () => {
    await link.delay(50);
    try {
      const started = Date.now();
      const l = await check(await runCounted(client.with({ timeout: 3_000, retries: 2 }), SERVICE, ids('delay', 20), 4));
      expect(l.answered).toBe(20);
      console.log(`delay 50 ms each way: 20/20 answered in ${Date.now() - started} ms`);
    } finally {
      await link.heal();
    }
  }, 60_000);

  it('should complete or fail clearly with 10% packet loss each way', async () => {
    await link.loss(0.1);
    try {
      const started = Date.now();
      const l = await check(await runCounted(client.with({ timeout: 3_000, retries: 3 }), SERVICE, ids('loss', 30), 4));
      expect(l.answered).toBeGreaterThan(0);
      console.log(`loss 10% each way: ${l.answered}/30 answered, ${l.failed} failed clearly, ${l.executedTwice} executed twice, in ${Date.now() - started} ms`);
    } finally {
      await link.heal();
    }
  }, 60_000);

  it('should fail requests clearly during a partition, purge the unreachable workers, and recover by itself once it heals', async () => {
    const from = broker.logs.length;
    await link.partition();
    let healedAt = from;
    try {
      const during = await check(await runCounted(client.with({ timeout: 1_000, retries: 1 }), SERVICE, ids('cut', 6), 3));
      console.log(`partition: ${during.answered}/6 answered, ${during.failed} failed clearly`);
      expect(during.failed).toBeGreaterThan(0);
      for (const w of workers) await brokerSaid(broker, 'worker left', w.identity, from, 20_000, (l) => l['reason'] === 'expired');
    } finally {
      healedAt = broker.logs.length;
      await link.heal();
    }
    const started = Date.now();
    // Nobody restarts anything: heartbeats resume, the broker says DISCONNECT or the workers time it out, and they register again.
    for (const w of workers) await brokerSaid(broker, 'worker registered', w.identity, healedAt, 45_000);
    console.log(`partition healed: both workers registered again after ${Date.now() - started} ms`);
    const after = await check(await runCounted(client.with({ timeout: 3_000, retries: 2 }), SERVICE, ids('healed', 12), 4));
    expect(after.answered).toBe(12);
  }, 120_000);

  it('should never have delivered a reply twice or to the wrong request, across all of the above', async () => {
    const l = ledger(all, executions(workers.map((w) => w.record)), await client.tap());
    expect(l.problems).toEqual([]);
  });
});
