import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { BrokerError, NoWorkerError } from '../../src/api/errors.js';
import { Worker } from '../../src/api/worker.js';
import { RawMdpWorker } from '../helpers/mdp-peers.js';
import * as zmq from 'zeromq';
import { STEWARD_TAG, taggedRequest } from '../../src/protocol/tagged.js';
import { ANY, eventually, receiveWithin } from '../helpers/zmq.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function broker(options: Parameters<typeof Broker.start>[0] = {}) {
  const b = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200, ...options });
  cleanups.push(() => b.stop());
  return { b, ...(await b.endpoints()) };
}

function worker(options: Parameters<typeof Worker.start>[0]) {
  const w = Worker.start({ drainTimeoutMs: 500, ...options });
  cleanups.push(() => w.stop());
  return w;
}

/** These tests start workers and call at once: the calls wait for the worker to register (no "no worker" race). */
function client(options: ConstructorParameters<typeof Client>[0]) {
  const c = new Client({ waitForWorker: true, ...options });
  cleanups.push(() => c.close());
  return c;
}

const text = (frames: Buffer[]) => frames.map((f) => f.toString());

describe('Worker and Client through the broker', () => {
  it('should echo through a steward worker', async () => {
    const { frontend, backend } = await broker();
    worker({ broker: backend, service: 'echo', handler: (req) => req.body as Buffer[] });
    const c = client({ broker: frontend });
    expect(text(await c.call('echo', ['a', 'b']))).toEqual(['a', 'b']);
  });

  it('should serve a worker speaking MDP/0.1 (the wire other Majordomo brokers understand) the same way', async () => {
    const { frontend, backend } = await broker();
    worker({ broker: backend, service: 'mdp.echo', wire: 'mdp', concurrency: 4, handler: (req) => [`mdp:${req.text()}`] });
    const c = client({ broker: frontend });
    const replies = await Promise.all(['a', 'b', 'c'].map((x) => c.call('mdp.echo', x)));
    expect(replies.map(text)).toEqual([['mdp:a'], ['mdp:b'], ['mdp:c']]);
  });

  it('should run many concurrent calls on one client against a worker with credit', async () => {
    const { frontend, backend } = await broker();
    let running = 0;
    let peak = 0;
    worker({
      broker: backend,
      service: 'slow',
      concurrency: 10,
      handler: async (req) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running -= 1;
        return `done ${req.text()}`;
      },
    });
    const c = client({ broker: frontend });
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => c.call('slow', String(i))));
    expect(replies.map((r) => r[0]!.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `done ${i}`));
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(10);
  });

  it('should take requests one by one from requests()', async () => {
    const { frontend, backend } = await broker();
    const w = worker({ broker: backend, service: 'manual' });
    void (async () => {
      for await (const req of w.requests()) req.reply(`got ${req.text()}`);
    })();
    const c = client({ broker: frontend });
    expect(text(await c.call('manual', 'x'))).toEqual(['got x']);
  });

  it('should say whether a service is available', async () => {
    const { frontend, backend } = await broker();
    const c = client({ broker: frontend });
    expect(await c.available('echo')).toBe(false);
    worker({ broker: backend, service: 'echo', handler: (req) => req.body as Buffer[] });
    await eventually(() => c.available('echo'), 3000, 20);
  });

  it('should time out with a TimeoutError naming the attempts when nobody serves and the call waits for a worker', async () => {
    const { frontend } = await broker();
    const c = client({ broker: frontend, timeout: 100, retries: 2 });
    const error = await c.call('nobody', 'x').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError', attempts: 3 });
    expect((error as Error).message).toContain('is up, but no worker answered in time (the call waits for a worker');
  });

  it('should fail at once with a NoWorkerError naming the service and the broker when nobody serves and the call does not wait', async () => {
    const { frontend, backend } = await broker();
    const c = client({ broker: frontend, timeout: 60_000, retries: 2, waitForWorker: false });
    const error = await c.call('nobody', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoWorkerError);
    expect(error).toMatchObject({ name: 'NoWorkerError', service: 'nobody', brokers: [frontend] });
    expect((error as Error).message).toBe(`no worker serves nobody (broker ${frontend} said so; pass waitForWorker to wait for one)`);
    // Per call: this one waits, and is served once a worker registers.
    const waiting = c.call('late', 'x', { waitForWorker: true });
    const w = worker({ broker: backend, service: 'late', handler: () => 'served' });
    await w.registered();
    expect(text(await waiting)).toEqual(['served']);
    // A call that does not wait reaches the worker once it is registered.
    expect(text(await c.call('late', 'y'))).toEqual(['served']);
  });

  it('should say that workers exist when a call that does not wait times out', async () => {
    const { frontend, backend } = await broker();
    const w = worker({ broker: backend, service: 'stuck', handler: () => new Promise<string>(() => undefined) });
    await w.registered();
    const c = client({ broker: frontend, timeout: 100, retries: 0, waitForWorker: false });
    const error = await c.call('stuck', 'x').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError', attempts: 1 });
    expect((error as Error).message).toContain('is up and has workers for it, but none answered in time');
  });

  it('should answer an already expired request with 504 and never deliver it', async () => {
    const { frontend, backend } = await broker();
    const raw = new RawMdpWorker(backend);
    cleanups.push(() => raw.close());
    await raw.ready('svc');
    const dealer = new zmq.Dealer({ linger: 0 });
    cleanups.push(() => dealer.close());
    dealer.connect(frontend);
    await dealer.send(taggedRequest(STEWARD_TAG, 'r1', 'svc', Date.now() - 1, [Buffer.from('late')]));
    expect(text(await receiveWithin(dealer, 2000))).toEqual(['', 'STW1:r1', '504', 'request for svc expired before a worker took it']);
    await expect(raw.nextRequest(300)).rejects.toThrow(/timed out/);
  });

  it('should expire a queued request instead of handing it to a worker that frees up later', async () => {
    const { frontend, backend } = await broker({ heartbeatIntervalMs: 50, liveness: 100 });
    const raw = new RawMdpWorker(backend);
    cleanups.push(() => raw.close());
    await raw.ready('stuck');
    const c = client({ broker: frontend, retries: 0 });
    const first = c.call('stuck', '1', { timeout: 3000 });
    const held = await raw.nextRequest();
    const second = await c.call('stuck', '2', { timeout: 100 }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 150)); // a broker tick purges the expired request
    await raw.reply(held.envelope, ['one']);
    expect(text(await first)).toEqual(['one']);
    await expect(raw.nextRequest(300)).rejects.toThrow(/timed out/);
  });

  it('should retry on another worker when the one holding the request dies', async () => {
    const { frontend, backend } = await broker({ heartbeatIntervalMs: 100 });
    const doomed = new RawMdpWorker(backend);
    await doomed.ready('svc');
    await new Promise((r) => setTimeout(r, 50));
    const c = client({ broker: frontend, timeout: 3000, retries: 2 });
    const reply = c.call('svc', 'hello');
    await doomed.nextRequest();
    worker({ broker: backend, service: 'svc', handler: () => 'from the survivor', heartbeatIntervalMs: 100 });
    doomed.close(); // dies holding the request: purged after liveness, its request answered 410, retried
    expect(text(await reply)).toEqual(['from the survivor']);
  });

  it('should reply with the exception when a handler throws', async () => {
    const { frontend, backend } = await broker();
    worker({
      broker: backend,
      service: 'boom',
      handler: () => {
        throw new TypeError('bad input');
      },
    });
    const c = client({ broker: frontend });
    const [reply] = await c.call('boom', 'x');
    expect(reply!.toString()).toMatch(/^500:exception:\{"name":"TypeError","message":"bad input"/);
  });

  it('should register again after the broker restarts', async () => {
    const { b, frontend, backend } = await broker({ heartbeatIntervalMs: 100 });
    worker({ broker: backend, service: 'phoenix', handler: () => 'alive', heartbeatIntervalMs: 100 });
    const c = client({ broker: frontend, timeout: 500, retries: 10 });
    expect(text(await c.call('phoenix'))).toEqual(['alive']);
    await b.stop();
    const again = await Broker.start({ frontend, backend, heartbeatIntervalMs: 100, drainTimeoutMs: 200 });
    cleanups.push(() => again.stop());
    expect(text(await c.call('phoenix'))).toEqual(['alive']);
  });

  it('should let a stopping worker finish the request it holds', async () => {
    const { frontend, backend } = await broker();
    let release: () => void = () => undefined;
    const w = Worker.start({
      broker: backend,
      service: 'finish',
      drainTimeoutMs: 3000,
      handler: () => new Promise<string>((r) => (release = () => r('finished'))),
    });
    const c = client({ broker: frontend, timeout: 3000, retries: 0 });
    await eventually(() => c.available('finish'), 3000, 20);
    const reply = c.call('finish', 'x');
    await eventually(() => (w.actor.getSnapshot().status === 'active' ? releaseReady() : false), 3000, 10);
    const stopping = w.stop();
    await new Promise((r) => setTimeout(r, 50));
    release();
    expect(text(await reply)).toEqual(['finished']);
    await stopping;
    function releaseReady() {
      return release.toString() !== '() => undefined';
    }
  });

  it('should reject with a BrokerError when the service queue is full', async () => {
    const { frontend } = await broker({ maxQueuePerService: 1 });
    const c = client({ broker: frontend, timeout: 1000, retries: 0 });
    const first = c.call('q', '1').catch(() => undefined);
    await expect(c.call('q', '2')).rejects.toBeInstanceOf(BrokerError);
    await first;
  });
});

describe('broker under its supervisor', () => {
  it('should restart a crashed broker machine with its sockets still bound, and workers register again', async () => {
    const { b, frontend, backend } = await broker({ heartbeatIntervalMs: 100 });
    worker({ broker: backend, service: 'svc', handler: () => 'ok', heartbeatIntervalMs: 100 });
    const c = client({ broker: frontend, timeout: 500, retries: 10 });
    expect(text(await c.call('svc'))).toEqual(['ok']);
    const before = b.core();
    // An injected crash: a burst the routing core cannot read makes the broker machine throw.
    b.actor.system.get(b.ids.broker)!.send({ type: 'zmq.batch', socket: b.ids.frontend, messages: [null] });
    // A new routing core: the old one's tables are gone. (Its worker count is not checked here: with 100 ms
    // heartbeats the worker may already have registered again by the time the new core is seen.)
    await eventually(() => b.core() !== undefined && b.core() !== before, 3000);
    expect(text(await c.call('svc'))).toEqual(['ok']);
    expect(b.core()!.workerCount).toBe(1);
  });
});
