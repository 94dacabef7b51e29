import { writeFile, mkdtemp, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { TimeoutError } from '../../src/api/errors.js';
import { Worker } from '../../src/api/worker.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { CurveClientOptions } from '../../src/security/curve.js';
import { AUTH_REFUSED_METRIC } from '../../src/security/refusals.js';
import { loadAllowList } from '../../src/security/allow-list.js';
import { reloadAllowList } from '../../src/security/zap-handler.js';
import { captureLogs } from '../helpers/logs.js';
import { ANY, eventually, receiveWithin } from '../helpers/zmq.js';

const server = zmq.curveKeyPair();
const workerKeys = zmq.curveKeyPair();
const clientKeys = zmq.curveKeyPair();
const stranger = zmq.curveKeyPair();

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function curveBroker(allow: readonly string[] = [workerKeys.publicKey, clientKeys.publicKey], allowFile?: string) {
  const metrics = new Metrics('broker');
  const { logger, lines } = captureLogs();
  const broker = await Broker.start({
    frontend: ANY,
    backend: ANY,
    drainTimeoutMs: 200,
    curve: { secretKey: server.secretKey, publicKey: server.publicKey, allow, ...(allowFile ? { allowFile } : {}) },
    metrics,
    logger,
  });
  cleanup.push(() => broker.stop());
  return { broker, metrics, lines, ...(await broker.endpoints()) };
}

function echoWorker(backend: string, keys: { secretKey: string; publicKey: string } | undefined, service = 'echo') {
  const worker = Worker.start({
    broker: backend,
    service,
    heartbeatIntervalMs: 200,
    handler: (req) => req.body as Buffer[],
    ...(keys ? { curve: { serverKey: server.publicKey, secretKey: keys.secretKey } } : {}),
  });
  cleanup.push(() => worker.stop());
  return worker;
}

function client(frontend: string, curve: CurveClientOptions | undefined, timeout = 400) {
  const c = new Client({ broker: frontend, timeout, retries: 0, ...(curve ? { curve } : {}) });
  cleanup.push(() => c.close());
  return c;
}

const refused = (metrics: Metrics, reason: string) => metrics.value(AUTH_REFUSED_METRIC, { server: 'broker', reason });

describe('a broker with CURVE and an allow-list', () => {
  it('should serve a worker and a client whose keys are allowed', async () => {
    const { frontend, backend } = await curveBroker();
    echoWorker(backend, workerKeys);
    const c = client(frontend, { serverKey: server.publicKey, secretKey: clientKeys.secretKey }, 2_500);
    await eventually(() => c.available('echo'), 10_000, 50);
    expect((await c.call('echo', 'hello'))[0]!.toString()).toBe('hello');
  });

  it('should let nothing through from a client with an unknown key, and log and count the refusal', async () => {
    const { frontend, backend, metrics, lines } = await curveBroker();
    echoWorker(backend, workerKeys);
    const good = client(frontend, { serverKey: server.publicKey, secretKey: clientKeys.secretKey }, 2_500);
    await eventually(() => good.available('echo'), 10_000, 50);

    const bad = client(frontend, { serverKey: server.publicKey, secretKey: stranger.secretKey });
    await expect(bad.call('echo', 'let me in')).rejects.toBeInstanceOf(TimeoutError);
    await eventually(async () => (await refused(metrics, 'unknown_key')) >= 1);
    const line = lines.find((l) => l.msg === 'peer refused' && l['key'] === stranger.publicKey);
    expect(line).toMatchObject({ server: 'broker', reason: 'unknown_key', address: '127.0.0.1', mechanism: 'CURVE' });
  });

  it('should let nothing through from a client with a fresh key it never allowed', async () => {
    const { frontend, backend, metrics } = await curveBroker();
    echoWorker(backend, workerKeys);
    const anonymous = client(frontend, { serverKey: server.publicKey });
    await expect(anonymous.call('echo', 'hi')).rejects.toBeInstanceOf(TimeoutError);
    await eventually(async () => (await refused(metrics, 'unknown_key')) >= 1);
  });

  it('should let nothing through from a plain-TCP client, and count the failed handshake', async () => {
    const { frontend, backend, metrics } = await curveBroker();
    echoWorker(backend, workerKeys);
    const plain = client(frontend, undefined);
    await expect(plain.call('echo', 'hi')).rejects.toBeInstanceOf(TimeoutError);

    // A raw MDP client too: its request never reaches the broker.
    const raw = new zmq.Dealer({ linger: 0 });
    cleanup.push(() => raw.close());
    raw.connect(frontend);
    await raw.send(['', 'MDPC01', 'echo', 'hi']);
    await expect(receiveWithin(raw, 400)).rejects.toThrow(/timed out/);
    await eventually(async () => (await refused(metrics, 'handshake')) >= 1);
  });

  it('should not register a worker with an unknown key', async () => {
    const { frontend, backend, broker, metrics } = await curveBroker();
    echoWorker(backend, stranger, 'intruder');
    echoWorker(backend, workerKeys, 'echo');
    const c = client(frontend, { serverKey: server.publicKey, secretKey: clientKeys.secretKey }, 2_500);
    await eventually(() => c.available('echo'), 10_000, 50);
    await eventually(async () => (await refused(metrics, 'unknown_key')) >= 1);
    expect(await c.available('intruder')).toBe(false);
    expect(broker.core()?.workerCount).toBe(1);
  });
});

describe('allow-list reload', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'steward-allow-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should let in a key added to the file once the handler reloads it', async () => {
    const file = join(dir, 'clients.allow');
    await writeFile(file, `# workers\n${workerKeys.publicKey}\n`);
    const { frontend, backend, broker, metrics, lines } = await curveBroker(await loadAllowList(file), file);
    echoWorker(backend, workerKeys);

    const before = client(frontend, { serverKey: server.publicKey, secretKey: clientKeys.secretKey });
    await expect(before.call('echo', 'hi')).rejects.toBeInstanceOf(TimeoutError);
    await eventually(async () => (await refused(metrics, 'unknown_key')) >= 1);

    await appendFile(file, `${clientKeys.publicKey}  # the client\n`);
    expect(reloadAllowList(broker.actor.system, broker.ids.root)).toBe(true);
    await eventually(() => lines.some((l) => l.msg === 'allow-list replaced' && l['allowed'] === 2));
    const after = client(frontend, { serverKey: server.publicKey, secretKey: clientKeys.secretKey }, 2_500);
    await eventually(() => after.available('echo'), 10_000, 50);
    expect((await after.call('echo', 'in'))[0]!.toString()).toBe('in');
  });

  it('should keep the current list when the file turns bad', async () => {
    const file = join(dir, 'bad.allow');
    await writeFile(file, `${workerKeys.publicKey}\n${clientKeys.publicKey}\n`);
    const { frontend, backend, broker, lines } = await curveBroker(await loadAllowList(file), file);
    echoWorker(backend, workerKeys);
    await writeFile(file, 'this is not a key\n');
    reloadAllowList(broker.actor.system, broker.ids.root);
    await eventually(() => lines.some((l) => l.msg === 'allow-list reload failed; the current list stays'));
    const c = client(frontend, { serverKey: server.publicKey, secretKey: clientKeys.secretKey }, 2_500);
    await eventually(() => c.available('echo'), 10_000, 50);
  });
});
