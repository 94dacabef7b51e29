/**
 * Streamed replies and cancellation between steward's Client, broker and
 * Worker, over real sockets on 127.0.0.1: a generator handler's partials in
 * order then its final reply; the window holding a fast worker to a slow
 * reader (the worker's generator waits, the broker holds nothing); a reader
 * that goes away; AbortSignal on call and stream (the queue forgets, the
 * worker's handler sees it); and expiry while a worker holds a request.
 */
import * as zmq from 'zeromq';
import { describe, expect, it } from 'vitest';
import { Client } from '../../src/api/client.js';
import { BrokerError } from '../../src/api/errors.js';
import { Worker, type WorkerRequest } from '../../src/api/worker.js';
import { clientCallUnit, decodeUnits, Kind } from '../../src/protocol/steward-wire.js';
import { testScope } from '../helpers/scope.js';
import { eventually, receiveWithin } from '../helpers/zmq.js';

const scope = testScope();

async function worker(options: Parameters<typeof Worker.start>[0]) {
  const w = Worker.start({ drainTimeoutMs: 500, ...options });
  scope.defer(() => w.stop());
  await w.registered();
  return w;
}

function client(options: ConstructorParameters<typeof Client>[0]) {
  const c = new Client({ waitForWorker: true, ...options });
  scope.defer(() => c.close());
  return c;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A handler that streams `n` parts ("part i"), then returns "done n", counting what it produced. */
function counting(n: number) {
  const seen = { yielded: 0, finished: false, aborted: false };
  const handler = async function* (req: WorkerRequest) {
    try {
      for (let i = 0; i < n; i++) {
        seen.yielded += 1;
        yield `part ${i}`;
      }
      return `done ${n}`;
    } finally {
      seen.finished = true;
      seen.aborted = req.signal.aborted;
    }
  };
  return { seen, handler };
}

describe('streamed replies', () => {
  it('should read a generator handler: its partials in order, then the final reply, last', async () => {
    const { frontend, backend } = await scope.broker();
    const { handler } = counting(50);
    await worker({ broker: backend, service: 'count', handler });
    const c = client({ broker: frontend });
    const parts = await c.stream('count', 'go', { window: 4 }).collect();
    expect(parts.map((p) => p.text())).toEqual([...Array.from({ length: 50 }, (_, i) => `part ${i}`), 'done 50']);
    expect(parts.map((p) => p.final)).toEqual([...Array.from({ length: 50 }, () => false), true]);
  });

  it('should answer a unary call to a streaming handler with its final reply alone, nothing else sent', async () => {
    const { b, frontend, backend } = await scope.broker();
    const { seen, handler } = counting(10);
    await worker({ broker: backend, service: 'count', handler });
    const c = client({ broker: frontend });
    expect((await c.call('count', 'go')).map(String)).toEqual(['done 10']);
    expect(seen.yielded).toBe(10);
    // The worker knew the caller takes one reply: it sent no partial for the broker to drop.
    expect(b.core()?.stats.partials).toBe(0);
  });

  it('should end a stream with one final part when the worker does not stream', async () => {
    const { frontend, backend } = await scope.broker();
    await worker({ broker: backend, service: 'plain', handler: (req) => `plain ${req.text()}` });
    const c = client({ broker: frontend });
    const parts = await c.stream('plain', 'x').collect();
    expect(parts.map((p) => [p.text(), p.final])).toEqual([['plain x', true]]);
  });

  it('should stream RPC: each yielded value, then the result', async () => {
    const { frontend, backend } = await scope.broker();
    await worker({
      broker: backend,
      service: 'rpc.count',
      rpc: {
        async *upTo(n: number) {
          for (let i = 1; i <= n; i++) yield { i };
          return { total: n };
        },
      },
    });
    const c = client({ broker: frontend });
    const got: unknown[] = [];
    for await (const part of c.invokeStream('rpc.count', 'upTo', [3])) got.push([part.value, part.final]);
    expect(got).toEqual([
      [{ i: 1 }, false],
      [{ i: 2 }, false],
      [{ i: 3 }, false],
      [{ total: 3 }, true],
    ]);
  });

  it('should fail a stream whose worker is lost after it sent partials, without sending it again', async () => {
    const { frontend, backend } = await scope.broker({ heartbeatIntervalMs: 100, liveness: 3 });
    let calls = 0;
    const w = await worker({
      broker: backend,
      service: 'dies',
      heartbeatIntervalMs: 100,
      handler: async function* () {
        calls += 1;
        yield 'first';
        await pause(60_000);
        return 'never';
      },
    });
    const c = client({ broker: frontend, timeout: 10_000, retries: 3 });
    const stream = c.stream('dies', 'go');
    const first = await stream.next();
    expect(first.value?.text()).toBe('first');
    // The worker goes silent (its actor stops without a goodbye): the broker purges it and tells the client 410.
    w.actor.stop();
    const error = await stream.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).status).toBe(410);
    expect((error as BrokerError).message).toContain('after 1 partial replies');
    expect(calls).toBe(1);
  });
});

describe('back-pressure: a slow reader, a fast worker', () => {
  it("should hold the worker's generator to the reader through the window, and the broker holds nothing", async () => {
    const { b, frontend, backend } = await scope.broker();
    const { seen, handler } = counting(1_000);
    await worker({ broker: backend, service: 'fast', handler });
    const c = client({ broker: frontend });
    const window = 8;
    const stream = c.stream('fast', 'go', { window });
    let read = 0;
    let maxAhead = 0;
    let maxHeld = 0;
    for await (const part of stream) {
      if (part.final) break;
      read += 1;
      maxAhead = Math.max(maxAhead, seen.yielded - read);
      maxHeld = Math.max(maxHeld, b.core()?.streamHeldBytes ?? 0);
      // A slow reader: every 50th part it dawdles, long enough for a free-running worker to finish everything.
      if (read % 50 === 0) await pause(20);
    }
    expect(read).toBe(1_000);
    // What the worker produced ahead of the reader never passes the window (plus the part it is on).
    expect(maxAhead).toBeLessThanOrEqual(window + 1);
    expect(maxHeld).toBe(0);
    expect(b.core()?.streamCount).toBe(0);
  });

  it('should end the worker side of a stream whose reader vanished without a word, within the liveness window', async () => {
    const { b, frontend, backend } = await scope.broker({ heartbeatIntervalMs: 100, liveness: 3 });
    const { seen, handler } = counting(1_000_000);
    await worker({ broker: backend, service: 'endless', handler, heartbeatIntervalMs: 100 });
    // A raw compact-wire reader: it asks for a stream with a window of 2, reads nothing, sends nothing more.
    const reader = new zmq.Dealer({ linger: 0 });
    scope.defer(() => reader.close());
    reader.connect(frontend);
    await reader.send(clientCallUnit(1, Date.now() + 60_000, 'endless', [Buffer.from('go')], { window: 2 }));
    const first = await receiveWithin(reader, 5_000);
    const kinds: number[] = [];
    decodeUnits(first, 0, (m) => kinds.push('kind' in m ? m.kind : -1));
    expect(kinds[0]).toBe(Kind.ClientPartial);
    await eventually(() => seen.finished, 5_000);
    expect(seen.aborted).toBe(true);
    expect(seen.yielded).toBeLessThanOrEqual(3);
    expect(b.core()?.stats.cancelled.client_gone).toBe(1);
    await eventually(() => b.core()?.inFlightCount === 0, 5_000);
  });

  it('should stop the worker when the reader breaks out of its loop', async () => {
    const { b, frontend, backend } = await scope.broker();
    const { seen, handler } = counting(1_000_000);
    await worker({ broker: backend, service: 'endless', handler });
    const c = client({ broker: frontend });
    let read = 0;
    for await (const part of c.stream('endless', 'go', { window: 4 })) {
      expect(part.final).toBe(false);
      if (++read === 3) break;
    }
    await eventually(() => seen.finished, 5_000);
    expect(seen.aborted).toBe(true);
    expect(seen.yielded).toBeLessThan(20);
    expect(b.core()?.stats.cancelled.client).toBe(1);
    await eventually(() => b.core()?.inFlightCount === 0, 5_000);
  });
});

describe('cancellation', () => {
  it("should reject an aborted call at once and abort the worker handler's own signal", async () => {
    const { b, frontend, backend } = await scope.broker();
    let started = (): void => undefined;
    const running = new Promise<void>((r) => (started = r));
    const seen: { aborted?: boolean; reason?: string } = {};
    await worker({
      broker: backend,
      service: 'slow',
      handler: async (req) => {
        started();
        await new Promise<void>((resolve) => req.signal.addEventListener('abort', () => resolve(), { once: true }));
        seen.aborted = req.signal.aborted;
        seen.reason = (req.signal.reason as Error).name;
        return 'too late';
      },
    });
    const c = client({ broker: frontend, timeout: 30_000 });
    const controller = new AbortController();
    const call = c.call('slow', 'x', { signal: controller.signal });
    await running;
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    await eventually(() => seen.aborted === true, 5_000);
    expect(seen.reason).toBe('AbortError');
    await eventually(() => b.core()?.inFlightCount === 0, 5_000);
    expect(b.core()?.stats.cancelled.client).toBe(1);
    // The worker's credit is back: the next call runs.
    const controller2 = new AbortController();
    const again = c.call('slow', 'y', { signal: controller2.signal, timeout: 30_000 });
    await eventually(() => b.core()?.inFlightCount === 1, 5_000);
    controller2.abort();
    await expect(again).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('should make the queue forget a cancelled request: the worker that comes later never sees it', async () => {
    const { b, frontend, backend } = await scope.broker();
    const c = client({ broker: frontend, timeout: 30_000 });
    const controller = new AbortController();
    const call = c.call('later', 'forget me', { signal: controller.signal });
    await eventually(() => (b.core()?.queuedBytes ?? 0) > 0, 5_000);
    controller.abort(new Error('changed my mind'));
    await expect(call).rejects.toThrow('changed my mind');
    await eventually(() => b.core()?.queuedBytes === 0, 5_000);
    const got: string[] = [];
    await worker({ broker: backend, service: 'later', handler: (req) => (got.push(req.text()), 'ok') });
    expect((await c.call('later', 'keep me')).map(String)).toEqual(['ok']);
    expect(got).toEqual(['keep me']);
  });

  it('should cancel a stream by its signal: the reader gets the reason, the generator is returned', async () => {
    const { frontend, backend } = await scope.broker();
    const { seen, handler } = counting(1_000_000);
    await worker({ broker: backend, service: 'endless', handler });
    const c = client({ broker: frontend });
    const controller = new AbortController();
    const stream = c.stream('endless', 'go', { signal: controller.signal, window: 2 });
    expect((await stream.next()).value?.text()).toBe('part 0');
    controller.abort();
    await expect(stream.collect()).rejects.toMatchObject({ name: 'AbortError' });
    await eventually(() => seen.finished, 5_000);
    expect(seen.aborted).toBe(true);
  });

  it('should reject at once, sending nothing, when the signal was aborted before the call', async () => {
    const { b, frontend } = await scope.broker();
    const c = client({ broker: frontend });
    await expect(c.call('any', 'x', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(c.stream('any', 'x', { signal: AbortSignal.abort() }).next()).rejects.toMatchObject({ name: 'AbortError' });
    expect(b.core()?.stats.requests).toBe(0);
  });

  it("should cancel at the worker a request that expires while it holds it: the handler's signal aborts", async () => {
    const { b, frontend, backend } = await scope.broker({ heartbeatIntervalMs: 100 });
    let aborted = false;
    await worker({
      broker: backend,
      service: 'slow',
      heartbeatIntervalMs: 100,
      handler: async (req) => {
        await new Promise<void>((resolve) => req.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = true;
        return 'late';
      },
    });
    const c = client({ broker: frontend, timeout: 300, retries: 0 });
    await expect(c.call('slow', 'x')).rejects.toMatchObject({ name: 'TimeoutError' });
    await eventually(() => aborted, 5_000);
    expect(b.core()?.stats.cancelled.expired).toBe(1);
    await eventually(() => b.core()?.inFlightCount === 0, 5_000);
  });
});

describe('partial replies from a manual loop (worker.requests())', () => {
  /** A worker answered by a loop: `parts` partials per streamed request, then "done"; what each push waited for is recorded. */
  async function loopWorker(backend: string, parts: number) {
    const w = Worker.start({ broker: backend, service: 'loop', drainTimeoutMs: 500 });
    scope.defer(() => w.stop());
    await w.registered();
    const seen = { pushed: 0, aborted: false };
    void (async () => {
      for await (const req of w.requests()) {
        for (let i = 0; i < parts && !req.signal.aborted; i++) {
          await req.partial(`part ${i}`);
          seen.pushed += 1;
        }
        seen.aborted = req.signal.aborted;
        req.reply('done');
      }
    })();
    return seen;
  }

  it('should stream what the loop sends with partial(), then its reply; a unary caller gets the reply alone', async () => {
    const { b, frontend, backend } = await scope.broker();
    await loopWorker(backend, 20);
    const c = client({ broker: frontend });
    const parts = await c.stream('loop', 'go', { window: 4 }).collect();
    expect(parts.map((p) => [p.text(), p.final])).toEqual([...Array.from({ length: 20 }, (_, i) => [`part ${i}`, false]), ['done', true]]);
    expect((await c.call('loop', 'go')).map(String)).toEqual(['done']);
    expect(b.core()?.stats.partials).toBe(20);
  });

  it("should pace the loop by the stream's window: each partial() resolves once its part is on its way", async () => {
    const { frontend, backend } = await scope.broker();
    const seen = await loopWorker(backend, 500);
    const c = client({ broker: frontend });
    const window = 8;
    let read = 0;
    let maxAhead = 0;
    for await (const part of c.stream('loop', 'go', { window })) {
      if (part.final) break;
      read += 1;
      maxAhead = Math.max(maxAhead, seen.pushed - read);
      if (read % 50 === 0) await pause(20);
    }
    expect(read).toBe(500);
    // The loop never gets further ahead of the reader than the window (plus the part it is pushing).
    expect(maxAhead).toBeLessThanOrEqual(window + 1);
  });

  it("should abort the request's signal when the reader stops, and drop what the loop sends after", async () => {
    const { b, frontend, backend } = await scope.broker();
    const seen = await loopWorker(backend, 1_000_000);
    const c = client({ broker: frontend });
    let read = 0;
    for await (const part of c.stream('loop', 'go', { window: 4 })) {
      expect(part.final).toBe(false);
      if (++read === 3) break;
    }
    await eventually(() => seen.aborted, 5_000);
    expect(seen.pushed).toBeLessThan(20);
    await eventually(() => b.core()?.inFlightCount === 0, 5_000);
  });
});
