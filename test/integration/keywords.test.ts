import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { Dispatcher, type DispatcherOptions } from '../../src/api/dispatcher.js';
import {
  DispatcherUnavailableError,
  KeywordClient,
  KeywordRejectedError,
  KeywordTimeoutError,
  RegistryUnavailableError,
  ServiceNotFoundError,
  type KeywordUpdate,
} from '../../src/api/keywords/index.js';
import { Registry } from '../../src/api/registry.js';
import { DEFAULT_ROUTER, DEFAULT_ZMQ, type KeywordsConfig } from '../../src/config/keywords-config.js';
import { parseKeywordsFile } from '../../src/config/keywords-file.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { broadcastTopic, decodeBroadcast, request } from '../../src/protocol/keywords.js';
import { freePorts } from '../helpers/ports.js';
import { eventually, receiveWithin } from '../helpers/zmq.js';

const KEYWORDS = parseKeywordsFile(
  {
    keywords: [
      { name: 'TEMP', type: 'double', initial: 20.5, units: 'degC', min: -50, max: 150 },
      { name: 'COUNT', type: 'integer', initial: 0 },
      { name: 'GAIN', type: 'float', initial: 0.1 },
      { name: 'READY', type: 'boolean', initial: false },
      { name: 'MODE', type: 'enumerated', enumerators: ['Off', 'On', 'Auto'], initial: 'Off' },
      { name: 'NOTE', type: 'string', initial: 'a:b' },
      { name: 'SERIAL', type: 'string', initial: 'X1', readonly: true },
    ],
  },
  'test',
);

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A config on free loopback ports: the registry's port and `pairs` port pairs, short heartbeats. */
async function mesh(pairs = 3, router: Partial<KeywordsConfig['router']> = {}): Promise<KeywordsConfig> {
  const ports = await freePorts(1 + pairs * 2);
  return {
    file: undefined,
    zmq: DEFAULT_ZMQ,
    router: {
      ...DEFAULT_ROUTER,
      port: ports[0]!,
      firstPort: ports[1]!,
      lastPort: ports[1]! + pairs * 2 - 1,
      heartbeatMs: 100,
      liveness: 3,
      timeoutMs: 400,
      allowSpawn: false,
      ...router,
    },
  };
}

async function registry(config: KeywordsConfig, metrics?: Metrics) {
  const r = await Registry.start({ config, ...(metrics ? { metrics } : {}) });
  cleanup.push(() => r.stop());
  return r;
}

async function dispatcher(config: KeywordsConfig, service = 'svc', extra: Partial<DispatcherOptions> = {}) {
  const d = await Dispatcher.start({ service, keywords: KEYWORDS, config, ...extra });
  cleanup.push(() => d.stop());
  return d;
}

function client(config: KeywordsConfig, timeoutMs?: number) {
  const c = new KeywordClient({ config, ...(timeoutMs ? { timeoutMs } : {}) });
  cleanup.push(() => c.close());
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('registry and dispatcher', () => {
  it('should register a dispatcher and let a client look it up', async () => {
    const config = await mesh();
    const r = await registry(config);
    const d = await dispatcher(config);
    const c = client(config);
    const location = await c.lookup('svc');
    expect(location).toEqual({ ...d.endpoints(), state: 'registered' });
    expect(location.dispatch).toBe(`tcp://127.0.0.1:${config.router.firstPort}`);
    expect(await c.list()).toEqual(['svc']);
    expect(r.table()?.get('svc')?.dispatch).toBe(location.dispatch);
    await expect(c.lookup('nope')).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it('should read and write every type, in ascii and binary form', async () => {
    const config = await mesh();
    await registry(config);
    await dispatcher(config);
    const svc = client(config).service('svc');
    expect(await svc.enumerate()).toEqual(['TEMP', 'COUNT', 'GAIN', 'READY', 'MODE', 'NOTE', 'SERIAL']);
    expect(await svc.keyword('TEMP').read()).toBe('20.5');
    expect(await svc.keyword('TEMP').read({ binary: true })).toBe(20.5);
    expect(await svc.keyword('COUNT').write(42)).toBe('42');
    expect(await svc.keyword('COUNT').read({ binary: true })).toBe(42);
    expect(await svc.keyword('GAIN').write('3.14159265')).toBe('3.1415927');
    expect(await svc.keyword('READY').write(true)).toBe('true');
    expect(await svc.keyword('READY').read({ binary: true })).toBe(true);
    expect(await svc.keyword('MODE').write('auto')).toBe('Auto');
    expect(await svc.keyword('MODE').read({ binary: true })).toBe(2);
    expect(await svc.keyword('MODE').write(1)).toBe('On');
    expect(await svc.keyword('NOTE').read({ binary: true })).toEqual(Buffer.from('a:b'));
    expect(await svc.keyword('TEMP').identify()).toMatchObject({ type: 'double', units: 'degC', min: -50, max: 150, readonly: false });
  });

  it('should reject invalid writes, read-only keywords and unknown keywords with typed errors, leaving values alone', async () => {
    const config = await mesh();
    await registry(config);
    await dispatcher(config);
    const svc = client(config).service('svc');
    const invalid = await rejection(svc.keyword('TEMP').write('hot'));
    expect(invalid).toBeInstanceOf(KeywordRejectedError);
    expect(invalid).toMatchObject({ code: 'invalid-value', service: 'svc', keyword: 'TEMP' });
    expect(await rejection(svc.keyword('TEMP').write(1000))).toMatchObject({ code: 'invalid-value', message: expect.stringMatching(/above the maximum 150/) });
    expect(await rejection(svc.keyword('MODE').write('Sideways'))).toMatchObject({ code: 'invalid-value' });
    expect(await rejection(svc.keyword('SERIAL').write('X2'))).toMatchObject({ code: 'read-only' });
    expect(await rejection(svc.keyword('NOPE').read())).toMatchObject({ code: 'no-such-keyword' });
    expect(await svc.keyword('TEMP').read()).toBe('20.5');
    expect(await svc.keyword('SERIAL').read()).toBe('X1');
  });

  it('should round-trip values containing ":" and arbitrary bytes, through reads and broadcasts', async () => {
    const config = await mesh();
    await registry(config);
    await dispatcher(config);
    const note = client(config).service('svc').keyword('NOTE');
    const seen: Buffer[] = [];
    await note.monitor((u) => seen.push(u.bytes));
    const values = [Buffer.from('a:b:c'), Buffer.from([0x00, 0x3a, 0xff, 0xfe, 0x0a, 0x00]), Buffer.from('κλειδί:τιμή'), Buffer.alloc(0), Buffer.from(':')];
    for (const v of values) {
      expect((await note.writeBytes(v)).equals(v)).toBe(true);
      expect((await note.readBytes()).equals(v)).toBe(true);
    }
    await eventually(() => seen.length === values.length, 3000);
    expect(seen.map((b) => b.toString('hex'))).toEqual(values.map((b) => b.toString('hex')));
  });

  it('should deliver every change to a monitor, in order, and end on unsubscribe', async () => {
    const config = await mesh();
    await registry(config);
    await dispatcher(config);
    const c = client(config);
    const count = c.service('svc').keyword('COUNT');
    const seen: KeywordUpdate[] = [];
    const sub = await count.monitor((u) => seen.push(u));
    const writer = client(config).service('svc').keyword('COUNT');
    for (let i = 1; i <= 50; i++) await writer.write(i, { wait: false });
    await writer.read();
    await eventually(() => seen.length === 50, 5000);
    expect(seen.map((u) => u.binary)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(seen.every((u, i) => i === 0 || u.seq > seen[i - 1]!.seq)).toBe(true);
    sub.unsubscribe();
    await writer.write(99);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(50);
  });

  it('should prime a monitor with the current value, and offer changes as an observable', async () => {
    const config = await mesh();
    await registry(config);
    const d = await dispatcher(config);
    const temp = client(config).service('svc').keyword('TEMP');
    const primed: string[] = [];
    await temp.monitor((u) => primed.push(u.ascii), { prime: true });
    expect(primed).toEqual(['20.5']);
    const values: number[] = [];
    const sub = temp.changes().subscribe((u) => values.push(u.binary as number));
    // The observable subscribes asynchronously: change the value until one arrives, then count from there.
    let n = 30;
    await eventually(() => {
      d.set('TEMP', n++);
      return values.length > 0;
    }, 3000, 50);
    d.set('TEMP', 1);
    d.set('TEMP', 2);
    await eventually(() => values.at(-1) === 2, 3000);
    expect(values.slice(-2)).toEqual([1, 2]);
    sub.unsubscribe();
  });

  it('should wait for the next change, for a change meeting a condition, and time out typed', async () => {
    const config = await mesh();
    await registry(config);
    const d = await dispatcher(config);
    const count = client(config).service('svc').keyword('COUNT');
    const next = count.wait({ timeout: 3000 });
    await new Promise((r) => setTimeout(r, 150));
    d.set('COUNT', 5);
    expect((await next).binary).toBe(5);
    const big = count.wait({ timeout: 3000, until: (u) => (u.binary as number) > 10 });
    await new Promise((r) => setTimeout(r, 150));
    for (const n of [6, 7, 11]) d.set('COUNT', n);
    expect((await big).binary).toBe(11);
    const none = await rejection(count.wait({ timeout: 300 }));
    expect(none).toBeInstanceOf(KeywordTimeoutError);
    expect(none).toMatchObject({ code: 'timeout' });
  });

  it("should never deliver svc2's broadcasts to a subscription to svc", async () => {
    const config = await mesh();
    await registry(config);
    const one = await dispatcher(config, 'svc');
    const two = await dispatcher(config, 'svc2');
    // One raw SUB socket on both publishers, subscribed to svc only: the topic alone must separate them.
    const sub = new zmq.Subscriber({ linger: 0 });
    cleanup.push(() => sub.close());
    sub.connect(one.endpoints()!.broadcast);
    sub.connect(two.endpoints()!.broadcast);
    sub.subscribe(broadcastTopic('svc'));
    const c = client(config);
    const all: string[] = [];
    await c.service('svc').monitorAll((u) => all.push(`${u.service}.${u.keyword}`));
    await new Promise((r) => setTimeout(r, 200));
    await c.service('svc2').keyword('NOTE').write('for svc2');
    await c.service('svc').keyword('NOTE').write('for svc');
    // Read until svc's change arrives, then a while longer: nothing of svc2 may show up (sync marks of svc may).
    const received: string[] = [];
    for (let i = 0; i < 50 && !received.includes('svc.NOTE=for svc'); i++) {
      const b = decodeBroadcast(await receiveWithin(sub, 2000));
      if (b.type === 'keywords.broadcast') received.push(`${b.service}.${b.keyword}=${b.value}`);
      else if (b.type === 'keywords.syncMark') expect(b.service).toBe('svc');
    }
    await expect(receiveWithin(sub, 300)).rejects.toThrow(/timed out/);
    expect(received).toEqual(['svc.NOTE=for svc']);
    await eventually(() => all.length === 1, 2000);
    expect(all).toEqual(['svc.NOTE']);
  });

  it('should drop a killed dispatcher after the heartbeat expiry, free its ports, and give clients a clear error', async () => {
    // Expiry 1 s, client timeout 200 ms: a read right after the kill meets a silent dispatcher the registry still lists.
    const config = await mesh(1, { liveness: 10 });
    const r = await registry(config);
    const d = await Dispatcher.start({ service: 'svc', keywords: KEYWORDS, config });
    const c = client(config, 200);
    const temp = c.service('svc').keyword('TEMP');
    expect(await temp.read()).toBe('20.5');
    // Stopped outright: no unregister, no goodbye, as if the process were killed.
    d.actor.stop();
    const unavailable = await rejection(temp.read());
    expect(unavailable).toBeInstanceOf(DispatcherUnavailableError);
    expect(unavailable.message).toMatch(/dispatcher of "svc" at tcp:\/\/127\.0\.0\.1:\d+ did not answer within 200 ms/);
    await eventually(() => r.table()?.get('svc') === undefined, 5000, 20);
    expect(await rejection(temp.read())).toBeInstanceOf(ServiceNotFoundError);
    // The only pair is free again.
    const again = await dispatcher(config, 'next');
    expect(again.endpoints()?.dispatch).toBe(`tcp://127.0.0.1:${config.router.firstPort}`);
  });

  it('should tell a monitor when its dispatcher goes away, and follow it to its new ports when it returns', async () => {
    const config = await mesh(3);
    await registry(config);
    const first = await Dispatcher.start({ service: 'svc', keywords: KEYWORDS, config });
    const firstBroadcast = first.endpoints()!.broadcast;
    const events: string[] = [];
    const values: string[] = [];
    // The monitor's first read must not time out on two busy cores: its timeout is not what this test is about.
    await client(config, 2_000)
      .service('svc')
      .keyword('NOTE')
      .monitor((u) => values.push(u.ascii), { onConnection: (e) => events.push(`${e.state} ${e.endpoint}`) });
    await first.stop();
    await eventually(() => events.length === 1, 3000);
    expect(events).toEqual([`lost ${firstBroadcast}`]);
    // Its freed pair goes to the back of the line: the new dispatcher lives elsewhere.
    const second = await dispatcher(config, 'svc');
    expect(second.endpoints()!.broadcast).not.toBe(firstBroadcast);
    await eventually(() => events.length === 2, 5000);
    expect(events[1]).toBe(`restored ${second.endpoints()!.broadcast}`);
    await eventually(async () => {
      second.set('NOTE', `back ${values.length}`);
      return values.length > 0;
    }, 3000, 100);
    expect(values[0]).toMatch(/^back/);
  });

  it('should let a restarted dispatcher take its service over once the dead one expires', async () => {
    const config = await mesh(2);
    const r = await registry(config);
    const dead = await Dispatcher.start({ service: 'svc', keywords: KEYWORDS, config });
    dead.actor.stop();
    // A new instance (another token) is refused while the registry still lists the old one, and keeps asking.
    const next = await dispatcher(config, 'svc', { retryMs: 100 });
    expect(r.table()?.get('svc')?.dispatch).toBe(next.endpoints()?.dispatch);
    expect(await client(config).service('svc').keyword('TEMP').read()).toBe('20.5');
  });

  it('should start a registry itself when none answers and allow-spawn = yes', async () => {
    const config = await mesh(2, { allowSpawn: true, process: 'thread' });
    const d = await Dispatcher.start({ service: 'svc', keywords: KEYWORDS, config });
    const c = client(config);
    expect(await c.lookup('svc')).toMatchObject({ dispatch: d.endpoints()!.dispatch });
    expect(await c.service('svc').keyword('TEMP').read()).toBe('20.5');
    // A second dispatcher registers with the registry the first one started.
    const other = await dispatcher(config, 'other');
    expect((await c.lookup('other')).dispatch).toBe(other.endpoints()!.dispatch);
    await d.stop();
    // The registry stopped with the dispatcher that started it.
    expect(await rejection(c.lookup('other'))).toBeInstanceOf(RegistryUnavailableError);
  });

  it('should refuse a dispatcher when the port range is exhausted, and keep serving the others', async () => {
    const config = await mesh(1);
    await registry(config);
    await dispatcher(config, 'first');
    const refused = await rejection(Dispatcher.start({ service: 'second', keywords: KEYWORDS, config }));
    expect(refused).toBeInstanceOf(KeywordRejectedError);
    expect(refused).toMatchObject({ code: 'ports-exhausted' });
    expect(refused.message).toMatch(/no free port pair/);
    expect(await client(config).service('first').keyword('TEMP').read()).toBe('20.5');
  });

  it('should register again, on the same ports, with a registry that restarted', async () => {
    const config = await mesh(2);
    const first = await Registry.start({ config });
    const d = await dispatcher(config);
    const before = d.endpoints();
    await first.stop();
    const second = await registry(config);
    await eventually(() => second.table()?.get('svc') !== undefined, 5000, 20);
    expect(second.table()?.get('svc')?.dispatch).toBe(before?.dispatch);
    expect(await client(config).service('svc').keyword('TEMP').read()).toBe('20.5');
  });

  it('should bind the [zmq] ports directly when the registry is disabled', async () => {
    const [dispatchPort, broadcastPort] = await freePorts(2);
    const base = await mesh(1);
    const config: KeywordsConfig = { ...base, zmq: { ...base.zmq, dispatchPort: dispatchPort!, broadcastPort: broadcastPort! }, router: { ...base.router, enable: false } };
    const d = await dispatcher(config);
    expect(d.endpoints()).toEqual({ dispatch: `tcp://127.0.0.1:${dispatchPort}`, broadcast: `tcp://127.0.0.1:${broadcastPort}` });
    const note = client(config).service('svc').keyword('NOTE');
    const seen: string[] = [];
    await note.monitor((u) => seen.push(u.ascii));
    expect(await note.write('direct:yes')).toBe('direct:yes');
    await eventually(() => seen.length === 1, 2000);
  });

  it('should answer lookups in time or fail typed when no registry runs', async () => {
    const config = await mesh(1);
    const c = client(config, 200);
    const error = await rejection(c.service('svc').keyword('TEMP').read());
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error.message).toMatch(/no registry answered at tcp:\/\/127\.0\.0\.1:\d+ within 200 ms/);
  });

  it('should survive malformed frames on the registry and dispatcher sockets', async () => {
    const config = await mesh();
    const metrics = new Metrics('registry');
    await registry(config, metrics);
    const d = await dispatcher(config);
    const garbage: Buffer[][] = [
      [Buffer.from('x')],
      [Buffer.alloc(0)],
      [Buffer.alloc(0), Buffer.from('KWP1')],
      [Buffer.alloc(0), Buffer.from('KWP1'), Buffer.alloc(0), Buffer.from('lookup')],
      Array.from({ length: 40 }, () => Buffer.from('f')),
      request('1', 'register', [Buffer.from('svc')]),
      request('2', 'modify', [Buffer.from('svc'), Buffer.from('TEMP')]),
    ];
    for (const endpoint of [`tcp://127.0.0.1:${config.router.port}`, d.endpoints()!.dispatch]) {
      const raw = new zmq.Dealer({ linger: 0 });
      cleanup.push(() => raw.close());
      raw.connect(endpoint);
      for (let i = 0; i < 100; i++) await raw.send(garbage[i % garbage.length]!);
    }
    const c = client(config);
    expect(await c.lookup('svc')).toMatchObject({ state: 'registered' });
    expect(await c.service('svc').keyword('TEMP').read()).toBe('20.5');
    await eventually(async () => (await metrics.value('steward_dropped_total', { socket: 'registry.socket' })) >= 50);
  });
});
