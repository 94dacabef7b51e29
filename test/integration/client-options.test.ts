import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { clientReplyUnit, decodeUnits, Kind, pongUnit, type StewardMessage } from '../../src/protocol/steward-wire.js';
import { Broker, type BrokerOptions } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { BrokerError, TimeoutError } from '../../src/api/errors.js';
import { Worker, type IncomingRequest } from '../../src/api/worker.js';
import { RawMdpWorker } from '../helpers/mdp-peers.js';
import { ANY, eventually, receiveWithin, withTimeout } from '../helpers/zmq.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function broker(options: BrokerOptions = {}) {
  const b = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200, ...options });
  cleanups.push(() => b.stop());
  return { b, ...(await b.endpoints()) };
}

/** These tests start workers and call at once: the calls wait for the worker to register (no "no worker" race). */
function client(options: ConstructorParameters<typeof Client>[0]) {
  const c = new Client({ waitForWorker: true, ...options });
  cleanups.push(() => c.close());
  return c;
}

/** A worker answered by hand: the test decides when (and in which order) each request is answered. */
function manualWorker(backend: string, service: string, concurrency = 4) {
  const w = Worker.start({ broker: backend, service, concurrency, drainTimeoutMs: 100 });
  cleanups.push(() => w.stop());
  const requests = w.requests();
  return {
    next: async (): Promise<IncomingRequest> => {
      const r = await withTimeout(requests.next(), 5000, `a request for ${service}`);
      if (r.done) throw new Error('worker stopped');
      return r.value;
    },
  };
}

/** A broker stand-in that shows the client's routing id and request ids, and answers in steward's compact wire. */
async function fakeBroker() {
  const router = new zmq.Router({ linger: 0 });
  cleanups.push(() => router.close());
  await router.bind(ANY);
  return {
    endpoint: router.lastEndpoint!,
    async nextRequest() {
      const units: StewardMessage[] = [];
      let frames: Buffer[] = [];
      // The client pings its brokers; this stand-in never answers (so the client knows nothing of its liveness).
      while (units.length === 0) {
        frames = await receiveWithin(router, 5000);
        decodeUnits(frames, 1, (m) => {
          if (!('type' in m) && m.kind !== Kind.Ping) units.push(m);
        });
      }
      const decoded = units[0];
      if (units.length !== 1 || decoded?.kind !== Kind.ClientRequest) throw new Error('not one steward client request');
      return { peer: frames[0]!, header: decoded.requestId, service: decoded.service, body: decoded.body.map(String) };
    },
    async answer(peer: Buffer, requestId: number, body: string, status = 200) {
      await router.send([peer, ...clientReplyUnit(requestId, status, [Buffer.from(body)])]);
    },
  };
}

const text = (frames: Buffer[]) => frames.map(String);

describe('client options against slow, dead and late workers', () => {
  it('should default to butler\'s 2500 ms timeout', () => {
    const c = client({ broker: 'tcp://127.0.0.1:1' });
    expect(c.timeout).toBe(2500);
  });

  it('timeout: should reject a call to a slow worker with a TimeoutError, and never take its late reply for the next call\'s', async () => {
    const { frontend, backend } = await broker();
    const worker = manualWorker(backend, 'slow');
    const c = client({ broker: frontend, retries: 0 });
    await eventually(() => c.available('slow'), 3000, 20);
    const first = c.call('slow', 'first', { timeout: 200 });
    const held = await worker.next();
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ attempts: 1, timeoutMs: 200 });
    const second = c.call('slow', 'second', { timeout: 5000 });
    const next = await worker.next();
    held.reply('late answer to first'); // reaches the client before the second's answer
    next.reply(`answer to ${next.text()}`);
    expect(text(await second)).toEqual(['answer to second']);
  });

  it('retries: should send a new attempt after a timeout and resolve with its answer, dropping the late answer to the first', async () => {
    const { frontend, backend } = await broker();
    const worker = manualWorker(backend, 'slow');
    const c = client({ broker: frontend, timeout: 300, retries: 1 });
    await eventually(() => c.available('slow'), 3000, 20);
    const call = c.call('slow', 'x');
    const attempt1 = await worker.next();
    const attempt2 = await worker.next(); // arrives once the first attempt timed out
    expect([attempt1.text(), attempt2.text()]).toEqual(['x', 'x']);
    attempt1.reply('stale');
    attempt2.reply('fresh');
    expect(text(await call)).toEqual(['fresh']);
  });

  it('retries: should give up with a TimeoutError naming every attempt when the worker is always too slow', async () => {
    const { frontend, backend } = await broker();
    const w = Worker.start({ broker: backend, service: 'slower', concurrency: 8, rpc: { work: () => new Promise((r) => setTimeout(() => r('late'), 1000)) } });
    cleanups.push(() => w.stop());
    const c = client({ broker: frontend });
    await eventually(async () => (await c.send('mmi.slower')) === '200', 3000, 20);
    await expect(c.rpc('slower', { timeout: 100, retries: 2 })['work']!()).rejects.toMatchObject({ name: 'TimeoutError', attempts: 3, timeoutMs: 100 });
  });

  it('retries: should retry on a live worker when the one holding the request dies, and report the loss without retries', async () => {
    const { frontend, backend } = await broker({ heartbeatIntervalMs: 100 });
    const doomed = new RawMdpWorker(backend);
    await doomed.ready('svc');
    const c = client({ broker: frontend, timeout: 5000 });
    const lost = c.call('svc', 'a', { retries: 0 }).catch((e: unknown) => e);
    await doomed.nextRequest();
    doomed.close();
    expect(await lost).toBeInstanceOf(BrokerError);
    expect(await lost).toMatchObject({ status: 410 });

    const doomedToo = new RawMdpWorker(backend);
    cleanups.push(() => doomedToo.close());
    await doomedToo.ready('svc');
    const retried = c.call('svc', 'b', { retries: 1 });
    await doomedToo.nextRequest();
    const survivor = Worker.start({ broker: backend, service: 'svc', handler: (r) => `survivor got ${r.text()}`, heartbeatIntervalMs: 100 });
    cleanups.push(() => survivor.stop());
    doomedToo.close();
    expect(text(await retried)).toEqual(['survivor got b']);
  });

  it('retries: should reach a worker that comes up late, after earlier attempts expired in the broker\'s queue', async () => {
    const { b, frontend, backend } = await broker({ heartbeatIntervalMs: 50 });
    const c = client({ broker: frontend, timeout: 300, retries: 20 });
    let served = 0;
    const call = c.call('late', 'x');
    await eventually(() => (b.core()?.stats.expired ?? 0) >= 1, 5000, 10);
    const w = Worker.start({ broker: backend, service: 'late', handler: () => `served ${++served}` });
    cleanups.push(() => w.stop());
    expect(text(await call)[0]).toMatch(/^served \d+$/);
    expect(served).toBeGreaterThanOrEqual(1);
  });

  it('persistent (default): should retry on the same connection, with a new request id, dropping the late reply to the old one', async () => {
    const fake = await fakeBroker();
    const c = client({ broker: fake.endpoint, timeout: 200, retries: 1 });
    const call = c.call('svc', 'x');
    const first = await fake.nextRequest();
    const second = await fake.nextRequest();
    expect(second.peer.equals(first.peer)).toBe(true);
    expect(second.header).not.toBe(first.header);
    expect(first.header).toBeGreaterThan(0);
    await fake.answer(first.peer, first.header, 'stale');
    await fake.answer(second.peer, second.header, 'fresh');
    expect(text(await call)).toEqual(['fresh']);
  });

  it('persistent: false should reconnect before each retry, so a reply to an abandoned attempt cannot even arrive', async () => {
    const fake = await fakeBroker();
    const c = client({ broker: fake.endpoint, timeout: 200, retries: 2, persistent: false });
    expect(c.persistent).toBe(false);
    const call = c.call('svc', 'x');
    const first = await fake.nextRequest();
    const second = await fake.nextRequest();
    expect(second.peer.equals(first.peer)).toBe(false);
    expect(second.header).not.toBe(first.header);
    await fake.answer(first.peer, first.header, 'stale'); // to a closed connection: lost
    await fake.answer(second.peer, second.header, 'fresh');
    expect(text(await call)).toEqual(['fresh']);
  });

  it('should take a 504 (expired in the broker\'s queue) for that attempt timing out: retry, then TimeoutError', async () => {
    const fake = await fakeBroker();
    const c = client({ broker: fake.endpoint, timeout: 5000, retries: 1 });
    const call = c.call('svc', 'x').catch((e: unknown) => e);
    const first = await fake.nextRequest();
    await fake.answer(first.peer, first.header, 'request for svc expired before a worker took it', 504);
    const second = await fake.nextRequest();
    expect(second.header).not.toBe(first.header);
    await fake.answer(second.peer, second.header, 'expired again', 504);
    expect(await call).toMatchObject({ name: 'TimeoutError', attempts: 2, timeoutMs: 5000 });
  });

  it('persistent: false should still time out after every attempt when nobody answers', async () => {
    const fake = await fakeBroker();
    const c = client({ broker: fake.endpoint, timeout: 100, retries: 2, persistent: false });
    const call = c.call('svc', 'x').catch((e: unknown) => e);
    const peers = [await fake.nextRequest(), await fake.nextRequest(), await fake.nextRequest()].map((r) => r.peer.toString('hex'));
    expect(new Set(peers).size).toBe(3);
    expect(await call).toMatchObject({ name: 'TimeoutError', attempts: 3 });
  });
});

describe('client heartbeats', () => {
  it('should ping no broker that answered within the interval, and ping again once the traffic stops', async () => {
    // A broker stand-in that answers every call at once and every PING with a PONG, counting the PINGs.
    const router = new zmq.Router({ linger: 0 });
    cleanups.push(() => router.close());
    await router.bind(ANY);
    const seen = { pings: 0 };
    void (async () => {
      for await (const frames of router) {
        const peer = frames[0] as Buffer;
        const out: Buffer[] = [];
        decodeUnits(frames, 1, (m) => {
          if ('type' in m) return;
          if (m.kind === Kind.Ping) {
            seen.pings += 1;
            out.push(...pongUnit(m.nonce, 0));
          } else if ('requestId' in m) out.push(...clientReplyUnit(m.requestId, 200, [Buffer.from('ok')]));
        });
        if (out.length > 0) await router.send([peer, ...out]);
      }
    })().catch(() => undefined);
    const c = client({ broker: router.lastEndpoint!, heartbeat: 50 });
    expect((await c.call('svc', 'first')).map(String)).toEqual(['ok']);
    // Calls every 10 ms for at least twelve intervals: a PING per interval would be twelve or more (a loaded
    // machine may leave an interval without an answer, so a couple may still go).
    const busyFrom = seen.pings;
    for (let i = 0; i < 60; i++) {
      await c.call('svc', `n${i}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(seen.pings - busyFrom).toBeLessThanOrEqual(2);
    const quietFrom = seen.pings;
    await eventually(() => seen.pings - quietFrom >= 2, 2_000);
  });
});
