import { afterEach, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { Broker, type BrokerOptions } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { BrokerError, RemoteError, UnknownMethodError } from '../../src/api/errors.js';
import { Worker } from '../../src/api/worker.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { butlerReady, butlerReply } from '../../src/protocol/butler.js';
import { PythonPeer, runPython } from '../helpers/python.js';
import { ANY, eventually, receiveWithin } from '../helpers/zmq.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function broker(options: BrokerOptions = {}) {
  const b = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200, ...options });
  cleanups.push(() => b.stop());
  return { b, ...(await b.endpoints()) };
}

async function pythonWorker(backend: string, service: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []) {
  const p = new PythonPeer('butler_worker.py', [backend, service, ...extra], env);
  cleanups.push(() => p.kill());
  await p.waitForLine((l) => l === 'READY');
  return p;
}

function client(options: ConstructorParameters<typeof Client>[0]) {
  const c = new Client({ waitForWorker: true, ...options });
  cleanups.push(() => c.close());
  return c;
}

/** The Python butler client, one request; resolves with its exit code and printed body. */
const butlerClient = (frontend: string, service: string, ...args: string[]) => runPython('butler_client.py', [frontend, service, ...args], 15_000);

class Calculator {
  add(a: number, b: number) {
    return a + b;
  }
  divide(a: number, b: number) {
    if (b === 0) throw new RangeError('division by zero');
    return a / b;
  }
}

describe('butler wire interop with peers written in Python from the butler spec', () => {
  it('should route a Python butler client to a Python butler worker over RPC', async () => {
    const { frontend, backend } = await broker();
    const worker = await pythonWorker(backend, 'py.calc');
    expect(await butlerClient(frontend, 'py.calc', '--rpc', 'add', '--args', '[1, 2]', '--id', 'r-1')).toMatchObject({ code: 0, stdout: '3\n' });
    expect(worker.lines).toContain('REQUEST 0.3.0:r-1 {"method": "add", "args": [1, 2], "kwargs": {}}');
    expect(await butlerClient(frontend, 'py.calc', '--rpc', 'fail', '--args', '["boom"]')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^500:exception:\{"name": "ValueError", "message": "boom", "traceback": "Traceback/),
    });
    expect(await butlerClient(frontend, 'py.calc', '--rpc', 'nope')).toMatchObject({ code: 0, stdout: '404\n' });
    expect(await butlerClient(frontend, 'py.calc', '--rpc', 'timeout')).toMatchObject({ code: 0, stdout: '404\n' });
  });

  it('should route a Python butler client to a steward RPC worker: result, 500 exception, 404', async () => {
    const { frontend, backend } = await broker();
    const w = Worker.start({ broker: backend, service: 'ts.calc', rpc: new Calculator() });
    cleanups.push(() => w.stop());
    expect(await butlerClient(frontend, 'ts.calc', '--rpc', 'add', '--args', '[2, 3]', '--tag', 'EBv1')).toMatchObject({ code: 0, stdout: '5\n' });
    const failed = await butlerClient(frontend, 'ts.calc', '--rpc', 'divide', '--args', '[1, 0]');
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(/^500:exception:/);
    const exception = JSON.parse(failed.stdout.trim().slice('500:exception:'.length)) as Record<string, string>;
    expect(exception).toMatchObject({ name: 'RangeError', message: 'division by zero' });
    expect(exception['traceback']).toContain('RangeError: division by zero');
    expect(await butlerClient(frontend, 'ts.calc', '--rpc', 'multiply')).toMatchObject({ code: 0, stdout: '404\n' });
  });

  it('should route a steward client to a Python butler worker, rethrowing its exceptions as RemoteError', async () => {
    const { frontend, backend } = await broker();
    await pythonWorker(backend, 'py.calc');
    const c = client({ broker: frontend, timeout: 5000 });
    const calc = c.rpc<{ add(a: number, b: number): number; fail(m: string): never; echo(...a: unknown[]): unknown }>('py.calc');
    expect(await calc.add(40, 2)).toBe(42);
    expect(await c.invoke('py.calc', 'echo', [1], { size: '150x180' })).toEqual({ args: [1], kwargs: { size: '150x180' } });
    const error = await calc.fail('it broke').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ remoteName: 'ValueError', message: 'it broke', service: 'py.calc', method: 'fail' });
    expect((error as RemoteError).remoteStack).toMatch(/^Traceback \(most recent call last\)/);
    await expect(c.invoke('py.calc', 'rotate')).rejects.toBeInstanceOf(UnknownMethodError);
  });

  it('should let a butler client call an MDP worker and an MDP client call a butler worker', async () => {
    const { frontend, backend } = await broker();
    const mdp = new PythonPeer('mdp_worker.py', [backend, 'py.mdp']);
    cleanups.push(() => mdp.kill());
    await mdp.waitForLine((l) => l === 'READY');
    await pythonWorker(backend, 'py.butler');
    expect(await butlerClient(frontend, 'py.mdp', 'hi')).toMatchObject({ code: 0, stdout: 'py:HI\n' });
    expect(await runPython('mdp_client.py', [frontend, 'py.butler', 'hello'])).toMatchObject({ code: 0, stdout: 'py:HELLO\n' });
  });

  it('should refuse, never cut, a request with several body frames for a butler worker: MDP dropped and counted, steward told 415', async () => {
    const metrics = new Metrics('broker');
    const { frontend, backend } = await broker({ metrics });
    const worker = await pythonWorker(backend, 'py.butler');
    // MDP/0.1 has no error reply: the Python client hears nothing, the broker counts why.
    expect(await runPython('mdp_client.py', [frontend, 'py.butler', 'one', 'two'], 10_000, { TIMEOUT_MS: '1000' })).toMatchObject({ code: 1 });
    const c = client({ broker: frontend, timeout: 2000, retries: 0 });
    const error = await c.call('py.butler', ['one', 'two']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ status: 415, message: expect.stringContaining("speaks butler's wire, which carries one body frame; the request has 2") });
    expect(await metrics.value('steward_dropped_total', { socket: 'broker', reason: 'multi_frame_to_butler' })).toBe(2);
    // The worker never saw either, and still serves whole requests.
    expect(worker.lines.filter((l) => l.startsWith('REQUEST'))).toEqual([]);
    expect(await runPython('mdp_client.py', [frontend, 'py.butler', 'one'])).toMatchObject({ code: 0, stdout: 'py:ONE\n' });
  });

  it('should answer mmi.<service> to a butler client with 200 or 400, and 404 to the steward client', async () => {
    const { frontend, backend } = await broker();
    await pythonWorker(backend, 'py.svc');
    const c = client({ broker: frontend });
    await eventually(async () => (await c.send('mmi.py.svc')) === '200', 5000, 20);
    expect(await butlerClient(frontend, 'mmi.py.svc')).toMatchObject({ code: 0, stdout: '200\n' });
    expect(await butlerClient(frontend, 'mmi.absent')).toMatchObject({ code: 0, stdout: '400\n' });
    expect(await c.send('mmi.absent')).toBe('404');
  });

  it('should answer an expired request "504:..." with its id and never hand it to the worker, and expire a queued one', async () => {
    const { frontend, backend } = await broker({ heartbeatIntervalMs: 100 });
    const worker = await pythonWorker(backend, 'py.svc');
    expect(await butlerClient(frontend, 'py.svc', 'late', '--expires-in', '-1000', '--id', 'old')).toMatchObject({
      code: 0,
      stdout: '504:request for py.svc expired before a worker took it\n',
    });
    expect(await butlerClient(frontend, 'py.svc', 'fresh', '--id', 'new')).toMatchObject({ code: 0, stdout: 'py:FRESH\n' });
    expect(worker.lines.filter((l) => l.startsWith('REQUEST'))).toEqual(['REQUEST 0.3.0:new fresh']);
    // Nobody serves py.none: the request waits in the queue until it expires, then the client is told.
    expect(await butlerClient(frontend, 'py.none', 'x', '--expires-in', '300', '--timeout', '5000')).toMatchObject({
      code: 0,
      stdout: '504:request for py.none expired before a worker took it\n',
    });
  });

  it('should retry on another worker when the Python worker holding the request is killed', async () => {
    const { frontend, backend } = await broker({ heartbeatIntervalMs: 200 });
    const doomed = await pythonWorker(backend, 'py.slow', { HEARTBEAT_MS: '200' });
    const c = client({ broker: frontend, timeout: 10_000, retries: 1 });
    const pending = c.rpc('py.slow')['sleep']!(30);
    await doomed.waitForLine((l) => l.startsWith('REQUEST'));
    const survivor = Worker.start({ broker: backend, service: 'py.slow', rpc: { sleep: () => 'from the survivor' }, heartbeatIntervalMs: 200 });
    cleanups.push(() => survivor.stop());
    doomed.kill('SIGKILL');
    expect(await pending).toBe('from the survivor');
    expect(doomed.child.signalCode).toBe('SIGKILL');
  });

  it('should tell the clients of a killed worker that it was lost, by request id, when they do not retry', async () => {
    const { frontend, backend } = await broker({ heartbeatIntervalMs: 200 });
    const doomed = await pythonWorker(backend, 'py.slow', { HEARTBEAT_MS: '200' });
    const butler = butlerClient(frontend, 'py.slow', '--rpc', 'sleep', '--args', '[30]', '--timeout', '10000');
    await doomed.waitForLine((l) => l.startsWith('REQUEST'));
    doomed.kill('SIGKILL');
    expect(await butler).toMatchObject({ code: 0, stdout: '410:the worker serving py.slow was lost (expired)\n' });

    const again = await pythonWorker(backend, 'py.slow', { HEARTBEAT_MS: '200' });
    const c = client({ broker: frontend, timeout: 10_000, retries: 0 });
    const pending = c.rpc('py.slow')['sleep']!(30).catch((e: unknown) => e);
    await again.waitForLine((l) => l.startsWith('REQUEST'));
    again.kill('SIGKILL');
    const error = await pending;
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ status: 410, message: 'py.slow: 410 the worker serving py.slow was lost (expired)' });
  });

  it('should heartbeat butler workers directly and answer theirs, so they stay registered whatever the broker interval', async () => {
    // The broker ticks every 1.5 s; the worker gives up after 3 x 150 ms of silence unless its heartbeats are answered.
    const { b, frontend, backend } = await broker({ heartbeatIntervalMs: 1500 });
    const worker = await pythonWorker(backend, 'py.steady', { HEARTBEAT_MS: '150' });
    await worker.waitForLine((l) => l === 'HEARTBEAT');
    await new Promise((r) => setTimeout(r, 2000));
    expect(worker.lines).not.toContain('RECONNECTING');
    expect(b.core()!.workerCount).toBe(1);
    expect(await butlerClient(frontend, 'py.steady', 'ok')).toMatchObject({ code: 0, stdout: 'py:OK\n' });
  });

  it('should send RECONNECT to a butler worker a restarted broker does not know, which then registers again', async () => {
    const first = await Broker.start({ frontend: ANY, backend: ANY, heartbeatIntervalMs: 100, drainTimeoutMs: 100 });
    const { frontend, backend } = await first.endpoints();
    const worker = await pythonWorker(backend, 'py.phoenix', { HEARTBEAT_MS: '100' }, ['--identity', 'phoenix-1']);
    const c = client({ broker: frontend, timeout: 500, retries: 20 });
    expect(await c.send('py.phoenix', 'one')).toBe('py:ONE');
    await first.stop();
    const second = await Broker.start({ frontend, backend, heartbeatIntervalMs: 100, drainTimeoutMs: 100 });
    cleanups.push(() => second.stop());
    await worker.waitForLine((l) => l === 'RECONNECT');
    expect(await c.send('py.phoenix', 'two')).toBe('py:TWO');
  });

  it('should re-register a butler worker that sends READY again under the same identity, not delete it', async () => {
    const { b, frontend, backend } = await broker();
    const dealer = new zmq.Dealer({ linger: 0, routingId: 'twice' });
    cleanups.push(() => dealer.close());
    dealer.connect(backend);
    await dealer.send(butlerReady('py.twice'));
    await dealer.send(butlerReady('py.twice'));
    await eventually(() => (b.core()?.summary().find((s) => s.name === 'py.twice')?.workers ?? 0) === 1);
    const c = client({ broker: frontend, timeout: 3000 });
    const reply = c.send('py.twice', 'x');
    const request = await receiveWithin(dealer, 3000);
    expect(request).toHaveLength(6);
    await dealer.send(butlerReply(request[0]!, request[2]!, Buffer.from('answered')));
    expect(await reply).toBe('answered');
    expect(b.core()!.workerCount).toBe(1);
  });
});
