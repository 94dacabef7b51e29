/**
 * MDP/0.2 (RFC 18) interop with peers written in Python from the RFC
 * (test/peers/mdp2_client.py, mdp2_worker.py), independent of steward's
 * code, through steward's broker beside MDP/0.1 and steward's own peers:
 * each row of the dialect-pair table in docs/wires.md that involves 0.2.
 */
import { describe, expect, it } from 'vitest';
import { Client } from '../../src/api/client.js';
import { BrokerError } from '../../src/api/errors.js';
import { Worker } from '../../src/api/worker.js';
import { Metrics } from '../../src/metrics/registry.js';
import { PythonPeer, runPython, startPython } from '../helpers/python.js';
import { testScope } from '../helpers/scope.js';
import { eventually } from '../helpers/zmq.js';

const scope = testScope();

async function pyWorker(script: string, args: string[]) {
  const child = await startPython(script, args);
  scope.defer(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}

function client(frontend: string) {
  const c = new Client({ broker: frontend, timeout: 5000, waitForWorker: true });
  scope.defer(() => c.close());
  return c;
}

/** Waits until the broker has a worker for `service` (a Python worker registers on its own schedule). */
async function served(c: Client, service: string) {
  await eventually(() => c.available(service), 10_000, 20);
}

describe('MDP/0.2 interop with Python peers written from RFC 18', () => {
  it('should stream a Python 0.2 worker to a Python 0.2 client: PARTIALs, then the FINAL', async () => {
    const { frontend, backend } = await scope.broker();
    await pyWorker('mdp2_worker.py', [backend, 'py2.echo', '3']);
    await served(client(frontend), 'py2.echo');
    const result = await runPython('mdp2_client.py', [frontend, 'py2.echo', 'hello']);
    expect(result).toMatchObject({ code: 0, stdout: 'PARTIAL py:0:HELLO\nPARTIAL py:1:HELLO\nPARTIAL py:2:HELLO\nFINAL py:done:3\n' });
  });

  it("should stream a steward worker's generator to a Python 0.2 client", async () => {
    const { frontend, backend } = await scope.broker();
    const w = Worker.start({
      broker: backend,
      service: 'ts.count',
      handler: async function* (req) {
        for (let i = 1; i <= 3; i++) yield [`${req.text()}`, String(i)];
        return 'ts:done';
      },
    });
    scope.defer(() => w.stop());
    await w.registered();
    const result = await runPython('mdp2_client.py', [frontend, 'ts.count', 'n']);
    expect(result).toMatchObject({ code: 0, stdout: 'PARTIAL n 1\nPARTIAL n 2\nPARTIAL n 3\nFINAL ts:done\n' });
  });

  it('should stream a Python 0.2 worker to client.stream()', async () => {
    const { frontend, backend } = await scope.broker();
    await pyWorker('mdp2_worker.py', [backend, 'py2.echo', '5']);
    const c = client(frontend);
    await served(c, 'py2.echo');
    const parts = await c.stream('py2.echo', 'abc', { window: 2 }).collect();
    expect(parts.map((p) => [p.text(), p.final])).toEqual([
      ['py:0:ABC', false],
      ['py:1:ABC', false],
      ['py:2:ABC', false],
      ['py:3:ABC', false],
      ['py:4:ABC', false],
      ['py:done:5', true],
    ]);
  });

  it('should give a Python 0.1 client the FINAL of a 0.2 worker alone, and count the partials it dropped', async () => {
    const metrics = new Metrics('broker');
    const { frontend, backend } = await scope.broker({ metrics });
    await pyWorker('mdp2_worker.py', [backend, 'py2.echo', '4']);
    await served(client(frontend), 'py2.echo');
    expect(await runPython('mdp_client.py', [frontend, 'py2.echo', 'x'])).toMatchObject({ code: 0, stdout: 'py:done:4\n' });
    await eventually(async () => (await metrics.value('steward_dropped_total', { socket: 'broker', reason: 'partial_to_unary' })) === 4, 5_000);
  });

  it('should give a Python 0.2 client the reply of a Python 0.1 worker as its FINAL', async () => {
    const { frontend, backend } = await scope.broker();
    await pyWorker('mdp_worker.py', [backend, 'py1.echo']);
    await served(client(frontend), 'py1.echo');
    expect(await runPython('mdp2_client.py', [frontend, 'py1.echo', 'a', 'b'])).toMatchObject({ code: 0, stdout: 'FINAL py:A py:B\n' });
  });

  it('should answer MMI to a Python 0.2 client as a FINAL', async () => {
    const { frontend, backend } = await scope.broker();
    await pyWorker('mdp2_worker.py', [backend, 'py2.echo']);
    await served(client(frontend), 'py2.echo');
    expect(await runPython('mdp2_client.py', [frontend, 'mmi.service', 'py2.echo'])).toMatchObject({ code: 0, stdout: 'FINAL 200\n' });
    expect(await runPython('mdp2_client.py', [frontend, 'mmi.service', 'absent'])).toMatchObject({ code: 0, stdout: 'FINAL 404\n' });
  });

  it('should bound what the broker holds for a reader slower than a 0.2 worker, which knows no window: 507, and the worker freed', async () => {
    const maxStreamBytes = 64 * 1024;
    const metrics = new Metrics('broker');
    const { b, frontend, backend } = await scope.broker({ maxStreamBytes, metrics });
    // 1,000 parts of 1 KiB, as fast as the worker's socket takes them.
    await pyWorker('mdp2_worker.py', [backend, 'py2.flood', '1000', '1024']);
    const c = client(frontend);
    await served(c, 'py2.flood');
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, b.core()?.streamHeldBytes ?? 0)), 1);
    scope.defer(() => clearInterval(sampler));
    // The reader takes two parts, then stops reading for a while: the window (4) closes.
    const stream = c.stream('py2.flood', 'go', { window: 4 });
    await stream.next();
    await stream.next();
    await eventually(() => (b.core()?.stats.cancelled.overflow ?? 0) === 1, 10_000);
    const error = await stream.collect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).status).toBe(507);
    expect(peak).toBeLessThanOrEqual(maxStreamBytes);
    expect(b.core()?.streamHeldBytes).toBe(0);
    expect(await metrics.value('steward_limit_hits_total', { limit: 'stream_bytes' })).toBe(1);
    // The worker's FINAL freed it (its partials after the overflow were dropped): the next call is served.
    await eventually(() => b.core()?.inFlightCount === 0, 10_000);
    expect((await c.call('py2.flood', 'again')).map(String)).toEqual(['py:done:1000']);
  });

  it('should send a 0.2 worker nothing for a cancelled request, drop its FINAL, and give it the next one', async () => {
    const { b, frontend, backend } = await scope.broker();
    const peer = new PythonPeer('mdp2_worker.py', [backend, 'py2.slow', '1']);
    scope.defer(() => peer.kill());
    await peer.waitForLine((l) => l === 'READY');
    const c = client(frontend);
    await served(c, 'py2.slow');
    const controller = new AbortController();
    const first = c.call('py2.slow', 'slow', { signal: controller.signal });
    await eventually(() => b.core()?.inFlightCount === 1, 5_000);
    controller.abort();
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    expect((await c.call('py2.slow', 'next')).map(String)).toEqual(['py:done:1']);
    await peer.waitForLine((l) => l === 'SERVED 2');
    expect(b.core()?.stats.cancelled.client).toBe(1);
  });
});
