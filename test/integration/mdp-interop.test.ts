import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { Worker } from '../../src/api/worker.js';
import { runPython, startPython } from '../helpers/python.js';
import { ANY, eventually } from '../helpers/zmq.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function broker() {
  const b = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200 });
  cleanups.push(() => b.stop());
  return b.endpoints();
}

function kill(child: ChildProcess) {
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}

describe('MDP/0.1 interop with peers written in Python from RFC 7', () => {
  it('should route a Python client to a Python worker', async () => {
    const { frontend, backend } = await broker();
    kill(await startPython('mdp_worker.py', [backend, 'py.echo']));
    const result = await runPython('mdp_client.py', [frontend, 'py.echo', 'hello', 'world']);
    expect(result).toMatchObject({ code: 0, stdout: 'py:HELLO\npy:WORLD\n' });
  });

  it('should route a Python client to a steward worker', async () => {
    const { frontend, backend } = await broker();
    const w = Worker.start({ broker: backend, service: 'ts.echo', handler: (r) => [`ts:${r.text()}`] });
    cleanups.push(() => w.stop());
    const result = await runPython('mdp_client.py', [frontend, 'ts.echo', 'hi']);
    expect(result).toMatchObject({ code: 0, stdout: 'ts:hi\n' });
  });

  it('should route a steward client to a Python worker', async () => {
    const { frontend, backend } = await broker();
    kill(await startPython('mdp_worker.py', [backend, 'py.echo']));
    const c = new Client({ broker: frontend, timeout: 3000 });
    cleanups.push(() => c.close());
    await eventually(() => c.available('py.echo'), 5000, 20);
    expect((await c.call('py.echo', ['x', 'y'])).map(String)).toEqual(['py:X', 'py:Y']);
  });

  it('should answer MMI to a Python client', async () => {
    const { frontend, backend } = await broker();
    kill(await startPython('mdp_worker.py', [backend, 'py.echo']));
    const c = new Client({ broker: frontend });
    cleanups.push(() => c.close());
    await eventually(() => c.available('py.echo'), 5000, 20);
    expect(await runPython('mdp_client.py', [frontend, 'mmi.service', 'py.echo'])).toMatchObject({ code: 0, stdout: '200\n' });
    expect(await runPython('mdp_client.py', [frontend, 'mmi.service', 'absent'])).toMatchObject({ code: 0, stdout: '404\n' });
    expect(await runPython('mdp_client.py', [frontend, 'mmi.nonsense'])).toMatchObject({ code: 0, stdout: '501\n' });
  });
});
