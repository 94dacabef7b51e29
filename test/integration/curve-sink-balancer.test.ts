import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { Balancer, BalancerClient, BalancerError } from '../../src/api/balancer.js';
import { Sink, type SinkMessage } from '../../src/api/sink.js';
import { Worker } from '../../src/api/worker.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { AUTH_REFUSED_METRIC } from '../../src/security/refusals.js';
import { ConfigDir } from '../helpers/balancer.js';
import { ANY, eventually } from '../helpers/zmq.js';

const server = zmq.curveKeyPair();
const peer = zmq.curveKeyPair();
const stranger = zmq.curveKeyPair();

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('sink with CURVE', () => {
  it('should take events from a worker with an allowed key, and none from a stranger', async () => {
    const metrics = new Metrics('sink');
    const sink = await Sink.start({ bind: ANY, metrics, curve: { secretKey: server.secretKey, allow: [peer.publicKey] } });
    cleanup.push(() => sink.stop());
    const endpoint = await sink.endpoint();
    const seen: SinkMessage[] = [];
    const sub = sink.events$.subscribe((m) => seen.push(m));
    cleanup.push(() => sub.unsubscribe());

    const start = (keys: { secretKey: string }, service: string) => {
      // No broker: the sink link works on its own.
      const w = Worker.start({ broker: 'tcp://127.0.0.1:1', service, sink: endpoint, drainTimeoutMs: 100, sinkCurve: { serverKey: server.publicKey, secretKey: keys.secretKey } });
      cleanup.push(() => w.stop());
      return w;
    };
    const good = start(peer, 'good');
    const bad = start(stranger, 'bad');
    for (let i = 0; i < 5; i++) {
      good.emit({ i });
      bad.emit({ i });
    }
    await eventually(() => seen.length === 5, 10_000);
    await eventually(async () => (await metrics.value(AUTH_REFUSED_METRIC, { server: 'sink', reason: 'unknown_key' })) >= 1);
    expect(seen.every((m) => m.source === 'good')).toBe(true);
  });
});

describe('balancer with CURVE', () => {
  it('should answer an allowed client and leave a stranger to time out', async () => {
    const dir = await ConfigDir.create([{ type: 'Base', configuration: { dsn: 'mysql://a' } }]);
    cleanup.push(() => dir.remove());
    const metrics = new Metrics('balancer');
    const balancer = await Balancer.start({ configFile: dir.file, bind: ANY, metrics, curve: { secretKey: server.secretKey, allow: [peer.publicKey] } });
    cleanup.push(() => balancer.stop());
    const endpoint = await balancer.endpoint();

    const good = new BalancerClient({ endpoint, timeoutMs: 5_000, curve: { serverKey: server.publicKey, secretKey: peer.secretKey } });
    cleanup.push(() => good.close());
    expect(await good.get()).toEqual({ dsn: 'mysql://a' });

    const bad = new BalancerClient({ endpoint, timeoutMs: 400, curve: { serverKey: server.publicKey, secretKey: stranger.secretKey } });
    cleanup.push(() => bad.close());
    const error = await bad.get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BalancerError);
    expect(error).toMatchObject({ reason: 'timeout' });
    await eventually(async () => (await metrics.value(AUTH_REFUSED_METRIC, { server: 'balancer', reason: 'unknown_key' })) >= 1);
  });
});
