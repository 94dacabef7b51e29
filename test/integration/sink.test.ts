import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { Sink, type SinkMessage } from '../../src/api/sink.js';
import { Worker } from '../../src/api/worker.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { ANY, eventually, withTimeout } from '../helpers/zmq.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function sink(options: Parameters<typeof Sink.start>[0] = {}) {
  const s = await Sink.start({ bind: ANY, ...options });
  cleanups.push(() => s.stop());
  return { s, endpoint: await s.endpoint() };
}

async function take<T>(iterator: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) {
    const next = await withTimeout(iterator.next(), 5000, `event ${out.length + 1} of ${n}`);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describe('sink', () => {
  it('should deliver the events a worker emits in order, through the iterator and the observable', async () => {
    const { s, endpoint } = await sink();
    const seen$: SinkMessage[] = [];
    const subscription = s.events$.subscribe((m) => seen$.push(m));
    cleanups.push(() => subscription.unsubscribe());
    const iterator = s.events();
    // No broker: the worker's link keeps trying, the sink socket is independent of it.
    const w = Worker.start({ broker: 'tcp://127.0.0.1:1', service: 'api.images', sink: endpoint, drainTimeoutMs: 100 });
    cleanups.push(() => w.stop());
    for (let i = 0; i < 200; i++) expect(w.emit({ i, kind: 'resized' })).toBe(true);
    const events = await take(iterator, 200);
    expect(events.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(events.every((e) => e.source === 'api.images')).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await eventually(() => seen$.length === 200);
    expect(seen$).toEqual(events);
  });

  it('should count malformed, oversized and too deep events as drops and keep serving', async () => {
    const metrics = new Metrics('sink');
    const { s, endpoint } = await sink({ metrics, limits: { maxBytes: 1000, maxDepth: 4 } });
    const push = new zmq.Push({ linger: 0 });
    cleanups.push(() => push.close());
    push.connect(endpoint);
    const iterator = s.events();
    await push.send(['not json']);
    await push.send([Buffer.from('x'.repeat(2000))]);
    await push.send([JSON.stringify([[[[['deep']]]]])]);
    await push.send(['a', 'b', 'c']);
    await push.send(['', '{}']);
    await push.send([JSON.stringify({ from: 'pyzmq send_json' })]);
    const [event] = await take(iterator, 1);
    expect(event).toMatchObject({ source: undefined, data: { from: 'pyzmq send_json' }, seq: 1 });
    const dropped = (reason: string) => metrics.value('steward_dropped_total', { socket: 'sink.socket', reason });
    expect(await dropped('malformed_json')).toBe(1);
    expect(await dropped('too_large')).toBe(1);
    expect(await dropped('too_deep')).toBe(1);
    expect(await dropped('bad_frame_count')).toBe(1);
    expect(await dropped('bad_source')).toBe(1);
  });

  it('should end iterators and complete the observable when it stops', async () => {
    const s = await Sink.start({ bind: ANY });
    const iterator = s.events();
    let completed = false;
    s.events$.subscribe({ complete: () => (completed = true) });
    const pending = iterator.next();
    await s.stop();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(completed).toBe(true);
  });

  it('should refuse to emit without a sink, and events with no JSON form', async () => {
    const w = Worker.prepare({ service: 'quiet' });
    expect(() => w.emit({ a: 1 })).toThrow(/has no sink/);
    const { endpoint } = await sink();
    const loud = Worker.prepare({ service: 'loud', sink: endpoint, maxEventBytes: 10 });
    expect(() => loud.emit({ long: 'x'.repeat(100) })).toThrow(RangeError);
    expect(() => loud.emit(undefined as unknown as null)).toThrow(TypeError);
  });
});
