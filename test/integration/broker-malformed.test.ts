import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { Worker } from '../../src/api/worker.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { clientRequestUnit, decodeUnits, Kind } from '../../src/protocol/steward-wire.js';
import { ANY, eventually, receiveWithin, strings } from '../helpers/zmq.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function start() {
  const metrics = new Metrics('broker');
  const broker = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200, metrics });
  cleanup.push(() => broker.stop());
  return { broker, metrics, ...(await broker.endpoints()) };
}

function dealer(endpoint: string) {
  const raw = new zmq.Dealer({ linger: 0 });
  cleanup.push(() => raw.close());
  raw.connect(endpoint);
  return raw;
}

const FAR = () => String(Date.now() + 60_000);

describe('broker: malformed client requests', () => {
  it('should answer malformed tagged and compact requests 400, drop what it cannot address, and still serve a good client', async () => {
    const { broker, metrics, frontend, backend } = await start();
    const raw = dealer(frontend);

    // No "<tag>:<id>": nobody to tell which attempt failed, so dropped and counted on the socket.
    // Sent first on the same connection, so the first answer this DEALER reads proves it got none.
    await raw.send(['', 'no tag here', 'svc', FAR(), 'body']);
    await raw.send(['', 'STW1:1', 'svc', 'tomorrow', 'body']);
    const steward = strings(await receiveWithin(raw, 5_000));
    expect(steward).toEqual(['', 'STW1:1', '400', 'malformed request: the expiration must be Unix time in ms, 1 to 16 ASCII digits (0 for none)']);

    await raw.send(['', '0.3.0:two', 'svc']);
    expect(strings(await receiveWithin(raw, 5_000))).toEqual([
      '',
      '0.3.0:two',
      '400:malformed request: a service frame and an expiration frame must follow the request id',
    ]);

    await raw.send(['', 'EBv1:3', '', FAR(), 'body']);
    expect(strings(await receiveWithin(raw, 5_000))).toEqual(['', 'EBv1:3', '400:malformed request: the service name is empty']);

    // The compact wire: the request id is read, the expiration is not a number.
    const compact = clientRequestUnit(77, 0, 'svc', [Buffer.from('x')]);
    compact[0]!.writeDoubleBE(Number.NaN, 9);
    await raw.send(compact);
    const units: Array<{ requestId: number; status: number; body: string }> = [];
    decodeUnits(await receiveWithin(raw, 5_000), 0, (m) => {
      if (!('type' in m) && m.kind === Kind.ClientReply) units.push({ requestId: m.requestId, status: m.status, body: m.body.map(String).join('') });
    });
    expect(units).toEqual([{ requestId: 77, status: 400, body: expect.stringMatching(/^malformed request: the expiration must be finite/) }]);

    const broker400 = (reason: string) => metrics.value('steward_dropped_total', { socket: 'broker', reason });
    expect(await broker400('bad_expiration')).toBe(1);
    expect(await broker400('tagged_too_few_frames')).toBe(1);
    expect(await broker400('bad_service_name')).toBe(1);
    expect(await broker400('sw_bad_expiration')).toBe(1);
    expect(await metrics.value('steward_broker_errors_total', { status: '400' })).toBe(4);
    await eventually(async () => (await metrics.value('steward_dropped_total', { socket: broker.ids.frontend, reason: 'unknown_protocol' })) === 1);
    // Nothing malformed was taken in as a request.
    expect(await metrics.value('steward_broker_requests_total')).toBe(0);

    const worker = Worker.start({ broker: backend, service: 'echo', heartbeatIntervalMs: 200, handler: (req) => [Buffer.from('echo:'), ...req.body] });
    cleanup.push(() => worker.stop());
    const client = new Client({ broker: frontend, timeout: 2_000, retries: 2 });
    cleanup.push(() => client.close());
    await eventually(() => client.available('echo'), 10_000, 50);
    expect(strings(await client.call('echo', 'still here'))).toEqual(['echo:', 'still here']);
  });
});
