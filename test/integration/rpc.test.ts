import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { RemoteError, UnknownMethodError } from '../../src/api/errors.js';
import { Worker } from '../../src/api/worker.js';
import { ANY, eventually } from '../helpers/zmq.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function broker(options: Parameters<typeof Broker.start>[0] = {}) {
  const b = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200, ...options });
  cleanups.push(() => b.stop());
  return { b, ...(await b.endpoints()) };
}

function track(w: Worker): Worker {
  cleanups.push(() => w.stop());
  return w;
}

function client(options: ConstructorParameters<typeof Client>[0]) {
  const c = new Client({ waitForWorker: true, ...options });
  cleanups.push(() => c.close());
  return c;
}

interface Calculator {
  add(a: number, b: number): number;
  divide(a: number, b: number): Promise<number>;
  status(): number;
}

class CalculatorService implements Calculator {
  add(a: number, b: number) {
    return a + b;
  }
  async divide(a: number, b: number) {
    if (b === 0) throw new RangeError('division by zero');
    return a / b;
  }
  status() {
    return 404;
  }
  close() {
    return 'never callable';
  }
}

describe('RPC through the broker', () => {
  it('should call an object\'s methods through client.rpc() and rethrow a remote failure as a typed RemoteError', async () => {
    const { frontend, backend } = await broker();
    track(Worker.start({ broker: backend, service: 'calc', rpc: new CalculatorService() }));
    const c = client({ broker: frontend });
    const calc = c.rpc<Calculator>('calc');
    expect(await calc.add(2, 3)).toBe(5);
    expect(await calc.divide(1, 4)).toBe(0.25);
    expect(await calc.status()).toBe(404);
    const error = await calc.divide(1, 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ name: 'RemoteError', remoteName: 'RangeError', message: 'division by zero', service: 'calc', method: 'divide' });
    expect((error as RemoteError).remoteStack).toContain('RangeError: division by zero');
    expect((error as RemoteError).stack).toContain('--- remote RangeError in calc.divide ---');
  });

  it('should answer an unknown or reserved method with UnknownMethodError', async () => {
    const { frontend, backend } = await broker();
    track(Worker.start({ broker: backend, service: 'calc', rpc: new CalculatorService() }));
    const c = client({ broker: frontend });
    await expect(c.rpc('calc')['multiply']!(2, 3)).rejects.toBeInstanceOf(UnknownMethodError);
    await expect(c.invoke('calc', 'close')).rejects.toMatchObject({ name: 'UnknownMethodError', message: 'calc has no method close' });
  });

  it('should serve functions registered on a prepared worker, async ones too, with kwargs as a trailing object', async () => {
    const { frontend, backend } = await broker();
    const w = track(Worker.prepare({ broker: backend, service: 'fns' }));
    w.registerFunction(function greet(name: string, options?: { shout?: boolean }) {
      const text = `hello ${name}`;
      return options?.shout ? text.toUpperCase() : text;
    });
    w.registerFunction(async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    }, 'sleep');
    w.run();
    const c = client({ broker: frontend });
    expect(await c.rpc('fns')['greet']!('ada')).toBe('hello ada');
    expect(await c.invoke('fns', 'greet', ['ada'], { shout: true })).toBe('HELLO ADA');
    expect(await c.rpc('fns')['sleep']!(5)).toBe(5);
  });

  it('should answer a raw body that is no RPC request with a BadRequestError, through call() and send()', async () => {
    const { frontend, backend } = await broker();
    track(Worker.start({ broker: backend, service: 'calc', rpc: new CalculatorService() }));
    const c = client({ broker: frontend });
    const [reply] = await c.call('calc', 'add 1 2');
    expect(reply!.toString()).toMatch(/^500:exception:\{"name":"BadRequestError"/);
    expect(await c.send('calc', { method: 'add', args: [20, 22] })).toBe('42');
  });

  it('should discover services with send("mmi.NAME"): 200, or 404 for the steward client', async () => {
    const { frontend, backend } = await broker();
    const c = client({ broker: frontend });
    expect(await c.send('mmi.calc')).toBe('404');
    track(Worker.start({ broker: backend, service: 'calc', rpc: new CalculatorService() }));
    await eventually(async () => (await c.send('mmi.calc')) === '200', 3000, 20);
  });

  it('should run several calls at once with concurrency and keep heartbeating while they run', async () => {
    // Calls last longer than the broker's liveness window (3 x 100 ms): only heartbeats keep the worker registered.
    const { b, frontend, backend } = await broker({ heartbeatIntervalMs: 100, liveness: 3 });
    let running = 0;
    let peak = 0;
    const w = track(Worker.prepare({ broker: backend, service: 'slow', concurrency: 4, heartbeatIntervalMs: 100 }));
    w.registerFunction(async (i: number) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 1000));
      running -= 1;
      return i;
    }, 'work');
    w.run();
    const c = client({ broker: frontend, timeout: 5000, retries: 0 });
    await eventually(async () => (await c.send('mmi.slow')) === '200', 3000, 20);
    const results = await Promise.all([1, 2, 3, 4].map((i) => c.rpc('slow')['work']!(i)));
    expect(results).toEqual([1, 2, 3, 4]);
    expect(peak).toBe(4);
    expect(b.core()!.workerCount).toBe(1);
    expect(b.core()!.stats.workerLost).toBe(0);
  });

  it('should refuse to mix a handler with RPC', () => {
    expect(() => Worker.prepare({ service: 'x', handler: () => 'h', rpc: {} })).toThrow(/either a handler or rpc/);
    expect(() => Worker.prepare({ service: 'x', handler: () => 'h' }).registerFunction(() => 1, 'one')).toThrow(/answers with its handler/);
  });
});
