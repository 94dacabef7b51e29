import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { Balancer, BalancerClient, BalancerError, type BalancerOptions } from '../../src/api/balancer.js';
import { parseBalancerConfig } from '../../src/config/balancer-config.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { ConfigDir, freePort } from '../helpers/balancer.js';
import { ANY, eventually, receiveWithin } from '../helpers/zmq.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(backends: unknown[], options: Omit<BalancerOptions, 'configFile'> = {}) {
  const dir = await ConfigDir.create(backends);
  cleanups.push(() => dir.remove());
  const balancer = await Balancer.start({ configFile: dir.file, bind: ANY, watchDebounceMs: 50, ...options });
  cleanups.push(() => balancer.stop());
  const endpoint = await balancer.endpoint();
  const client = new BalancerClient({ endpoint, timeoutMs: 5_000 });
  cleanups.push(() => client.close());
  return { balancer, endpoint, client, dir };
}

function dealer(endpoint: string): zmq.Dealer {
  const socket = new zmq.Dealer({ linger: 0 });
  socket.connect(endpoint);
  cleanups.push(() => socket.close());
  return socket;
}

/** Sends one raw frame from a DEALER, as stirr's clients do, and parses the one-frame answer. */
async function ask(socket: zmq.Dealer, frame: string | Buffer): Promise<unknown> {
  await socket.send(frame);
  const [reply, ...rest] = await receiveWithin(socket, 5_000);
  expect(rest).toEqual([]);
  return JSON.parse(reply!.toString());
}

async function rejection(promise: Promise<unknown>): Promise<BalancerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BalancerError);
    return error as BalancerError;
  }
  throw new Error('expected a BalancerError');
}

const base = (configuration: unknown, extra: object = {}) => ({ type: 'Base', configuration, ...extra });

describe('balancer on real sockets', () => {
  it('should answer a DEALER client sending one JSON frame, as stirr did', async () => {
    const { endpoint } = await start([base({ dsn: 'mysql://a' })]);
    const socket = dealer(endpoint);
    expect(await ask(socket, '{"group": "default", "type": "Base", "algorithm": "Casual", "args": []}')).toEqual({ dsn: 'mysql://a' });
    expect(await ask(socket, '{}')).toEqual({ dsn: 'mysql://a' });
  });

  it('should answer a REQ client through the same ROUTER', async () => {
    const { endpoint } = await start([base({ dsn: 'x' })]);
    const req = new zmq.Request({ linger: 0 });
    req.connect(endpoint);
    cleanups.push(() => req.close());
    await req.send('{"type": "Base"}');
    const [reply] = await receiveWithin(req, 5_000);
    expect(JSON.parse(reply!.toString())).toEqual({ dsn: 'x' });
    // REQ insists on alternating: a second round trip proves the envelope went back intact.
    await req.send('{"group": "nope"}');
    const [second] = await receiveWithin(req, 5_000);
    expect(JSON.parse(second!.toString())).toMatchObject({ reason: 'unknown_group' });
  });

  it('should return configurations from BalancerClient.get and throw typed errors', async () => {
    const { client } = await start([base({ n: 1 }, { group: 'web' })]);
    expect(await client.get({ group: 'web' })).toEqual({ n: 1 });
    const error = await rejection(client.get({ group: 'db' }));
    expect(error.name).toBe('BalancerError');
    expect(error.reason).toBe('unknown_group');
    expect(error.message).toBe('unknown group "db"');
    expect(error.cause).toEqual({ reason: 'unknown_group', error: 'unknown group "db"' });
  });

  it('should pipeline many requests from one client and answer each in order', async () => {
    const { client } = await start([1, 2, 3].map((n) => base(n)));
    const answers = await Promise.all(Array.from({ length: 300 }, () => client.get({ algorithm: 'RoundRobin' })));
    expect(answers.slice(0, 6)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(answers.filter((a) => a === 2)).toHaveLength(100);
  });

  it('should answer each kind of bad input with a clear error and keep serving', async () => {
    const metrics = new Metrics('balancer');
    const { endpoint } = await start([base('ok')], { metrics });
    const socket = dealer(endpoint);
    const cases: Array<[string | Buffer, string, RegExp]> = [
      ['this is not json', 'bad_json', /not valid JSON/],
      ['[1, 2, 3]', 'not_object', /must be a JSON object, got an array/],
      ['"just a string"', 'not_object', /got a string/],
      ['{"group": 42}', 'bad_field', /"group" must be a string, got a number/],
      ['{"args": {"a": 1}}', 'bad_field', /"args" must be an array, got an object/],
      [Buffer.alloc(100 * 1024, 0x20), 'too_large', /102400 bytes, the limit is 65536/],
      [`{"args": ${'['.repeat(200)}${']'.repeat(200)}}`, 'too_deep', /nested deeper than 32/],
    ];
    for (const [frame, reason, message] of cases) {
      const answer = (await ask(socket, frame)) as { error: string; reason: string };
      expect(answer.reason).toBe(reason);
      expect(answer.error).toMatch(message);
    }
    // A multi-frame message and an empty frame are answered too.
    await socket.send([Buffer.from('{}'), Buffer.from('{}')]);
    expect(JSON.parse((await receiveWithin(socket, 5_000))[0]!.toString())).toMatchObject({ reason: 'bad_frames' });
    expect(await ask(socket, '{}')).toBe('ok');
    expect(await metrics.value('steward_balancer_errors_total')).toBe(cases.length + 1);
    expect(await metrics.value('steward_balancer_decisions_total')).toBe(1);
  });

  it('should name an unknown group, type or algorithm', async () => {
    const { client } = await start([base(1)]);
    expect((await rejection(client.get({ group: 'ghosts' }))).message).toBe('unknown group "ghosts"');
    const type = await rejection(client.get({ type: 'Oracle' }));
    expect([type.reason, type.message]).toEqual(['unknown_type', 'unknown type "Oracle" (known: Base, Tcp, Http, MySQL, Redis)']);
    expect((await rejection(client.get({ type: 'Redis' }))).message).toBe('no backend of type "Redis" in group "default"');
    const algorithm = await rejection(client.get({ algorithm: 'Fastest' }));
    expect(algorithm.reason).toBe('unknown_algorithm');
    expect(algorithm.message).toMatch(/^unknown algorithm "Fastest"/);
  });

  it('should answer Weighted over all-zero weights with an error, never crash', async () => {
    const { client } = await start([base(1, { weight: 0 }), base(2, { weight: 0 })]);
    expect((await rejection(client.get({ algorithm: 'Weighted' }))).reason).toBe('zero_weights');
    expect([1, 2]).toContain(await client.get());
  });

  it('should say so when every backend of the type is down', async () => {
    const port = await freePort();
    const { client, balancer } = await start([{ type: 'Tcp', heartbeat: 0.1, configuration: { host: '127.0.0.1', port } }]);
    await eventually(() => balancer.backends()[0]?.status === 'down', 5_000);
    const error = await rejection(client.get({ type: 'Tcp' }));
    expect(error.reason).toBe('all_down');
    expect(error.message).toMatch(new RegExp(`is up \\(1 down; last error: tcp 127.0.0.1:${port}: .*ECONNREFUSED`));
  });

  it('should reload when the file changes, and keep the old config when the new file is broken', async () => {
    const { client, balancer, dir } = await start([base('v1')]);
    expect(await client.get()).toBe('v1');
    await dir.write([base('v2')]);
    await eventually(async () => (await client.get()) === 'v2', 5_000, 20);
    await dir.write([{ type: 'Base', weight: 'heavy', configuration: 'v3' }]);
    await eventually(() => (balancer.configState()?.rejected ?? 0) >= 1, 5_000);
    expect(balancer.configState()?.lastError).toContain(`${dir.file}: backends[0].weight`);
    expect(await client.get()).toBe('v2');
    await dir.writeText('{"backends": [');
    await eventually(() => (balancer.configState()?.rejected ?? 0) >= 2, 5_000);
    expect(await client.get()).toBe('v2');
    await dir.write([base('v4')]);
    await eventually(async () => (await client.get()) === 'v4', 5_000, 20);
  });

  it('should reload on demand (the SIGHUP path), and keep the old config when the file is broken', async () => {
    const { client, balancer, dir } = await start([base('v1')], { watch: false });
    await dir.write([base('v2')]);
    // Not watching: nothing changes until asked.
    expect(await client.get()).toBe('v1');
    balancer.reload();
    await eventually(async () => (await client.get()) === 'v2', 5_000, 20);
    await dir.write([{ type: 'Base' }]);
    balancer.reload();
    await eventually(() => balancer.configState()?.rejected === 1, 5_000);
    expect(balancer.configState()?.lastError).toContain('backends[0].configuration: missing');
    expect(await client.get()).toBe('v2');
  });

  it('should answer every request while the file is reloaded again and again', async () => {
    const { client, balancer, dir } = await start([base('a')]);
    const answers: unknown[] = [];
    let writing = true;
    const load = (async () => {
      while (writing) answers.push(...(await Promise.all(Array.from({ length: 20 }, () => client.get()))));
    })();
    for (let i = 0; i < 10; i++) {
      await dir.write([base(i % 2 === 0 ? 'b' : 'a')]);
      await new Promise((r) => setTimeout(r, 60));
    }
    await eventually(() => (balancer.configState()?.applied ?? 0) >= 3, 5_000);
    writing = false;
    await load;
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((a) => a === 'a' || a === 'b')).toBe(true);
  });

  it('should report the bound endpoint and stop cleanly, freeing the port', async () => {
    const { balancer, endpoint } = await start([base(1)]);
    expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    await balancer.stop();
    const again = await Balancer.start({ config: parseBalancerConfig('{"backends": []}', 'x.json'), bind: endpoint, watch: false });
    cleanups.push(() => again.stop());
    expect(await again.endpoint()).toBe(endpoint);
  });
});
