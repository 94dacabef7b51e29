import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { Broker } from '../../src/api/broker.js';
import { startMetricsServer } from '../../src/actors/metrics-server.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { RawMdpClient, RawMdpWorker } from '../helpers/mdp-peers.js';
import { ANY, eventually, receiveWithin } from '../helpers/zmq.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function scrape(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, rejectGet) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    }).on('error', rejectGet);
  });
}

/** The value of one sample line, e.g. `steward_broker_workers{role="broker",service="echo"}`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const braces = line.match(/^[^{ ]+(?:\{(.*)\})? (\S+)$/);
    if (!braces) continue;
    const have = Object.fromEntries([...(braces[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(braces[2]);
  }
  return undefined;
}

describe('--metrics endpoint', () => {
  it('should serve the broker counts after known traffic as Prometheus text', async () => {
    const metrics = new Metrics('broker');
    const server = await startMetricsServer({ metrics, port: 0 });
    // Long heartbeats: the counts must be right at scrape time, not only after a tick.
    const broker = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 100, heartbeatIntervalMs: 60_000, metrics });
    cleanup.push(() => server.close(), () => broker.stop());
    const { frontend, backend } = await broker.endpoints();

    const echo1 = new RawMdpWorker(backend, 'echo-1');
    const echo2 = new RawMdpWorker(backend, 'echo-2');
    const img = new RawMdpWorker(backend, 'img-1');
    const client = new RawMdpClient(frontend);
    cleanup.push(() => echo1.close(), () => echo2.close(), () => img.close(), () => client.close());
    // One at a time, so the least-recently-used order is known: echo-1 first.
    await echo1.ready('echo');
    await eventually(() => broker.core()?.workerCount === 1);
    await echo2.ready('echo');
    await eventually(() => broker.core()?.workerCount === 2);
    await img.ready('api.images');

    // 6 echo round trips and 2 api.images ones.
    for (let i = 0; i < 8; i++) {
      const service = i < 6 ? 'echo' : 'api.images';
      await client.request(service, [`${i}`]);
      // Least recently used first: the two echo workers take turns.
      const worker = service === 'api.images' ? img : i % 2 === 0 ? echo1 : echo2;
      const req = await worker.nextRequest();
      await worker.reply(req.envelope, ['ok']);
      const reply = await client.reply();
      expect(reply[1]).toBe(service);
    }
    // 3 requests for a service nobody serves wait in its queue.
    for (let i = 0; i < 3; i++) await client.request('nobody', ['x']);
    // A steward-tagged request that has already expired is answered 504 at once.
    const tagged = new zmq.Dealer({ linger: 0 });
    tagged.connect(frontend);
    cleanup.push(() => tagged.close());
    await tagged.send([Buffer.alloc(0), Buffer.from('STW1:1'), Buffer.from('echo'), Buffer.from(String(Date.now() - 1000)), Buffer.from('late')]);
    const late = await receiveWithin(tagged, 2000);
    expect(late.map(String)).toContain('504');
    // Garbage on the frontend is dropped with a reason.
    const raw = new zmq.Dealer({ linger: 0 });
    raw.connect(frontend);
    cleanup.push(() => raw.close());
    for (let i = 0; i < 4; i++) await raw.send([Buffer.from('junk')]);
    await new Promise((r) => setTimeout(r, 200));

    const res = await scrape(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain');
    const text = res.body;
    expect(sample(text, 'steward_broker_requests_total', { role: 'broker' })).toBe(12);
    expect(sample(text, 'steward_broker_replies_total')).toBe(8);
    expect(sample(text, 'steward_broker_service_requests_total', { service: 'echo' })).toBe(6);
    expect(sample(text, 'steward_broker_service_requests_total', { service: 'api.images' })).toBe(2);
    expect(sample(text, 'steward_broker_service_replies_total', { service: 'echo' })).toBe(6);
    expect(sample(text, 'steward_broker_workers', { service: 'echo' })).toBe(2);
    expect(sample(text, 'steward_broker_workers', { service: 'api.images' })).toBe(1);
    expect(sample(text, 'steward_broker_queue_depth', { service: 'nobody' })).toBe(3);
    expect(sample(text, 'steward_broker_errors_total', { status: '504' })).toBe(1);
    expect(sample(text, 'steward_dropped_total', { socket: 'broker', reason: 'expired' })).toBe(1);
    expect(sample(text, 'steward_dropped_total', { socket: 'broker.frontend' })).toBe(4);
    expect(sample(text, 'steward_broker_request_duration_seconds_count')).toBe(8);
    expect(sample(text, 'steward_broker_in_flight')).toBe(0);
  });

  it('should answer only GET /metrics on 127.0.0.1', async () => {
    const metrics = new Metrics('test');
    const server = await startMetricsServer({ metrics, port: 0 });
    cleanup.push(() => server.close());
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await scrape(`${server.url}/`)).status).toBe(404);
    expect((await scrape(`${server.url}/metrics`)).body).toContain('steward_messages_received_total');
  });
});
