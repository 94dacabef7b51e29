import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { Broker, type BrokerOptions } from '../../src/api/broker.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { MdpCommand } from '../../src/protocol/mdp.js';
import { RawMdpClient, RawMdpWorker } from '../helpers/mdp-peers.js';
import { ANY, eventually, freeEndpoint, receiveWithin } from '../helpers/zmq.js';

const open: Array<{ close(): void } | Broker> = [];
afterEach(async () => {
  while (open.length) {
    const x = open.pop()!;
    if (x instanceof Broker) await x.stop();
    else x.close();
  }
});

let transport: BrokerOptions['transport'] = 'auto';

async function broker(options: BrokerOptions = {}) {
  const b = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 100, transport, ...options });
  open.push(b);
  return { b, ...(await b.endpoints()) };
}

function track<T extends { close(): void }>(x: T): T {
  open.push(x);
  return x;
}

// Every case over both ZeroMQ stacks the broker can speak on: steward's own ZMTP ROUTER (the default for
// plain tcp:// and ipc://) and libzmq (CURVE, or --transport libzmq).
describe.each(['auto', 'libzmq'] as const)('broker speaking MDP/0.1 (transport %s)', (which) => {
  beforeEach(() => {
    transport = which;
  });

  it('should route a request to a worker and the reply back to the client', async () => {
    const { frontend, backend } = await broker();
    const worker = track(new RawMdpWorker(backend));
    await worker.ready('echo');
    const client = track(new RawMdpClient(frontend));
    await client.request('echo', ['hello', 'world']);
    const req = await worker.nextRequest();
    expect(req.body.map(String)).toEqual(['hello', 'world']);
    await worker.reply(req.envelope, ['HELLO']);
    expect(await client.reply()).toEqual(['MDPC01', 'echo', 'HELLO']);
  });

  it('should serve clients and workers on one shared endpoint', async () => {
    // One endpoint: find a free port, then give the same address for both.
    const ep = await freeEndpoint();
    const one = await Broker.start({ frontend: ep, backend: ep, drainTimeoutMs: 100 });
    open.push(one);
    const worker = track(new RawMdpWorker(ep));
    await worker.ready('svc');
    const client = track(new RawMdpClient(ep));
    await client.request('svc', ['x']);
    const req = await worker.nextRequest();
    await worker.reply(req.envelope, ['y']);
    expect(await client.reply()).toEqual(['MDPC01', 'svc', 'y']);
  });

  it('should queue a request until a worker for its service registers', async () => {
    const { frontend, backend } = await broker();
    const client = track(new RawMdpClient(frontend));
    await client.request('late', ['q']);
    await new Promise((r) => setTimeout(r, 100));
    const worker = track(new RawMdpWorker(backend));
    await worker.ready('late');
    const req = await worker.nextRequest();
    expect(req.body.map(String)).toEqual(['q']);
  });

  it('should share the load of one service among its workers, least recently used first', async () => {
    const { frontend, backend } = await broker();
    const workers = [track(new RawMdpWorker(backend, 'w1')), track(new RawMdpWorker(backend, 'w2'))];
    for (const w of workers) await w.ready('shared');
    await new Promise((r) => setTimeout(r, 50));
    const client = track(new RawMdpClient(frontend));
    await client.request('shared', ['a']);
    await client.request('shared', ['b']);
    const [ra, rb] = await Promise.all(workers.map((w) => w.nextRequest()));
    expect([ra!.body.map(String)[0], rb!.body.map(String)[0]].sort()).toEqual(['a', 'b']);
  });

  it('should answer MMI: 200 for a served service, 404 for an unknown one, 501 for an unknown mmi name', async () => {
    const { frontend, backend } = await broker();
    const worker = track(new RawMdpWorker(backend));
    await worker.ready('echo');
    await new Promise((r) => setTimeout(r, 50));
    const client = track(new RawMdpClient(frontend));
    await client.request('mmi.service', ['echo']);
    expect(await client.reply()).toEqual(['MDPC01', 'mmi.service', '200']);
    await client.request('mmi.service', ['nope']);
    expect(await client.reply()).toEqual(['MDPC01', 'mmi.service', '404']);
    await client.request('mmi.whatever', []);
    expect(await client.reply()).toEqual(['MDPC01', 'mmi.whatever', '501']);
  });

  it('should disconnect a worker that registers an mmi. service', async () => {
    const { backend } = await broker();
    const worker = track(new RawMdpWorker(backend));
    await worker.ready('mmi.evil');
    expect(await worker.nextCommand()).toBe(MdpCommand.Disconnect);
  });

  it('should disconnect a worker that sends anything but READY first', async () => {
    const { backend } = await broker();
    const worker = track(new RawMdpWorker(backend));
    await worker.heartbeat();
    expect(await worker.nextCommand()).toBe(MdpCommand.Disconnect);
  });

  it('should heartbeat workers and purge one that stays silent, after which MMI says 404', async () => {
    const { frontend, backend } = await broker({ heartbeatIntervalMs: 100, liveness: 3 });
    const worker = track(new RawMdpWorker(backend));
    await worker.ready('fragile');
    expect(await worker.nextCommand(1000)).toBe(MdpCommand.Heartbeat);
    const client = track(new RawMdpClient(frontend));
    await client.request('mmi.service', ['fragile']);
    expect((await client.reply())[2]).toBe('200');
    // The worker goes silent: after liveness x interval the broker purges it.
    await eventually(async () => {
      await client.request('mmi.service', ['fragile']);
      return (await client.reply())[2] === '404';
    }, 3000, 50);
  });

  it('should keep answering good clients through a stream of malformed frames', async () => {
    const metrics = new Metrics('broker');
    const { frontend, backend } = await broker({ metrics });
    const worker = track(new RawMdpWorker(backend));
    await worker.ready('echo');
    const raw = track(new zmq.Dealer({ linger: 0 }));
    raw.connect(frontend);
    const garbage: Buffer[][] = [
      [Buffer.from('x')],
      [Buffer.alloc(0)],
      [Buffer.alloc(0), Buffer.from('MDPC01')],
      [Buffer.alloc(0), Buffer.from('MDPW01'), Buffer.from([0x09])],
      [Buffer.alloc(0), Buffer.from('MDPW01'), Buffer.from([0x01]), Buffer.alloc(0)],
      [Buffer.alloc(0), Buffer.from('XXXXXX'), Buffer.from('a'), Buffer.from('b')],
      // Malformed too, but its "<tag>:<id>" says who asked: answered 400 rather than dropped on the socket.
      [Buffer.alloc(0), Buffer.from('EBv1:1'), Buffer.from('svc'), Buffer.from('notanumber'), Buffer.from('b')],
    ];
    const sent = 200;
    const answerable = Math.floor(sent / garbage.length);
    for (let i = 0; i < sent; i++) await raw.send(garbage[i % garbage.length]!);
    const client = track(new RawMdpClient(frontend));
    await client.request('echo', ['still here']);
    const req = await worker.nextRequest();
    await worker.reply(req.envelope, ['yes']);
    expect(await client.reply()).toEqual(['MDPC01', 'echo', 'yes']);
    await eventually(async () => (await metrics.value('steward_dropped_total', { socket: 'broker.frontend' })) >= sent - answerable);
    for (let i = 0; i < answerable; i++) expect((await receiveWithin(raw, 5_000)).map(String)).toEqual(['', 'EBv1:1', expect.stringMatching(/^400:malformed request/)]);
    expect(await metrics.value('steward_dropped_total', { socket: 'broker', reason: 'bad_expiration' })).toBe(answerable);
  });

  it('should never forward a reply for a request its worker no longer holds', async () => {
    const { frontend, backend } = await broker();
    const worker = track(new RawMdpWorker(backend, 'w'));
    await worker.ready('svc');
    const client = track(new RawMdpClient(frontend));
    await client.request('svc', ['1']);
    const req = await worker.nextRequest();
    await worker.reply(req.envelope, ['first']);
    expect((await client.reply())[2]).toBe('first');
    await worker.reply(req.envelope, ['again']);
    await expect(receiveWithin(client.socket, 300)).rejects.toThrow(/timed out/);
  });
});
