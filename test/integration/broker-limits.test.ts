import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker, type BrokerOptions } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { BrokerError } from '../../src/api/errors.js';
import { Worker } from '../../src/api/worker.js';
import { LIMIT_HITS_METRIC } from '../../src/metrics/limits.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { ANY, eventually, receiveWithin } from '../helpers/zmq.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function broker(options: Partial<BrokerOptions>) {
  const metrics = new Metrics('broker');
  const b = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200, metrics, ...options });
  cleanup.push(() => b.stop());
  return { broker: b, metrics, ...(await b.endpoints()) };
}

function client(frontend: string, timeout = 2_000) {
  const c = new Client({ broker: frontend, timeout, retries: 0, waitForWorker: true });
  cleanup.push(() => c.close());
  return c;
}

function mdpClient(frontend: string) {
  const raw = new zmq.Dealer({ linger: 0 });
  cleanup.push(() => raw.close());
  raw.connect(frontend);
  return raw;
}

async function brokerError(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerError);
  return error as BrokerError;
}

const hits = (metrics: Metrics, limit: string) => metrics.value(LIMIT_HITS_METRIC, { limit });
const dropped = (metrics: Metrics, reason: string) => metrics.value('steward_dropped_total', { socket: 'broker', reason });

describe('broker limits', () => {
  it('should answer a steward client 413 for a request over --max-message-size, and count an MDP one', async () => {
    const { frontend, metrics } = await broker({ maxMessageSize: 4096 });
    const error = await brokerError(client(frontend).call('svc', Buffer.alloc(5000)));
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/request for svc exceeds the broker's message size limit \(\d+ bytes > 4096\)/);
    expect(await hits(metrics, 'message_size')).toBe(1);

    const raw = mdpClient(frontend);
    await raw.send(['', 'MDPC01', 'svc', Buffer.alloc(5000)]);
    await expect(receiveWithin(raw, 300)).rejects.toThrow(/timed out/);
    await eventually(async () => (await hits(metrics, 'message_size')) === 2);
    expect(await dropped(metrics, 'message_too_large')).toBe(2);
  });

  it('should answer a butler (tagged) client "413:<message>", and count an MDP client over --max-queue', async () => {
    const { frontend, metrics } = await broker({ maxMessageSize: 4096, maxQueuePerService: 1 });
    const butler = mdpClient(frontend);
    await butler.send(['', '0.3.0:7', 'svc', String(Date.now() + 60_000), Buffer.alloc(5000)]);
    const [, header, body] = await receiveWithin(butler, 5_000);
    expect(header!.toString()).toBe('0.3.0:7');
    expect(body!.toString()).toMatch(/^413:request for svc exceeds the broker's message size limit/);

    const mdp = mdpClient(frontend);
    await mdp.send(['', 'MDPC01', 'svc', 'first waits']);
    await mdp.send(['', 'MDPC01', 'svc', 'second is refused']);
    await eventually(async () => (await hits(metrics, 'queue')) === 1);
    expect(await dropped(metrics, 'queue_full')).toBe(1);
    await expect(receiveWithin(mdp, 300)).rejects.toThrow(/timed out/);
  });

    it('should answer 413 for a request over --max-frames', async () => {
    const { frontend, metrics } = await broker({ limits: { maxFrames: 16 } });
    const error = await brokerError(client(frontend).call('svc', Array.from({ length: 20 }, () => 'f')));
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/frame count limit \(22 frames > 16\)/);
    expect(await hits(metrics, 'frames')).toBe(1);

    const raw = mdpClient(frontend);
    await raw.send(['', 'MDPC01', 'svc', ...Array.from({ length: 20 }, () => 'f')]);
    await eventually(async () => (await hits(metrics, 'frames')) === 2);
  });

  it('should tell the client when the worker\'s reply is over the limit', async () => {
    const { frontend, backend, metrics } = await broker({ maxMessageSize: 4096 });
    const worker = Worker.start({ broker: backend, service: 'big', heartbeatIntervalMs: 200, handler: () => Buffer.alloc(6000) });
    cleanup.push(() => worker.stop());
    const c = client(frontend);
    await eventually(() => c.available('big'), 10_000, 50);
    const error = await brokerError(c.call('big', 'x'));
    expect(error.status).toBe(413);
    expect(error.message).toContain('the reply of big exceeds');
    expect(await hits(metrics, 'message_size')).toBe(1);
  });

  it('should answer 503 when a service queue is full (--max-queue)', async () => {
    const { frontend, metrics } = await broker({ maxQueuePerService: 1 });
    const c = client(frontend, 5_000);
    const first = c.call('svc', 'waits');
    first.catch(() => undefined);
    const error = await brokerError(c.call('svc', 'refused'));
    expect(error).toMatchObject({ status: 503 });
    expect(error.message).toContain('queue for svc is full (1 waiting)');
    expect(await hits(metrics, 'queue')).toBe(1);
  });

  it('should answer 503 to a client beyond --max-clients, and serve it once the others are done', async () => {
    const { frontend, backend, metrics } = await broker({ maxClients: 1 });
    const a = client(frontend, 5_000);
    const waiting = a.call('slow', 'a');
    waiting.catch(() => undefined);
    await eventually(async () => (await metrics.value('steward_broker_requests_total')) >= 1);
    const error = await brokerError(client(frontend).call('slow', 'b'));
    expect(error).toMatchObject({ status: 503 });
    expect(error.message).toContain('too many clients (the broker serves 1 at once)');
    expect(await hits(metrics, 'clients')).toBe(1);

    const worker = Worker.start({ broker: backend, service: 'slow', heartbeatIntervalMs: 200, handler: (req) => req.body as Buffer[] });
    cleanup.push(() => worker.stop());
    expect((await waiting)[0]!.toString()).toBe('a');
    expect((await client(frontend).call('slow', 'b'))[0]!.toString()).toBe('b');
  });

  it('should answer 503 for a service beyond --max-services', async () => {
    const { frontend, metrics } = await broker({ maxServices: 1 });
    const c = client(frontend, 5_000);
    const first = c.call('one', 'x');
    first.catch(() => undefined);
    const error = await brokerError(c.call('two', 'x'));
    expect(error.message).toContain('too many services (the broker tracks 1)');
    expect(await hits(metrics, 'services')).toBe(1);
  });
});
