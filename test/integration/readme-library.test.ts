import { describe, expect, it } from 'vitest';

/** The README's library snippet, through the package's own entry point (dist/index.js, as `import 'steward'` resolves). */
describe('the package entry point', () => {
  it('should run the README example: broker, worker and client from one import', async () => {
    const { Broker, Worker, Client } = (await import('../../dist/index.js')) as unknown as typeof import('../../src/index.js');
    const broker = await Broker.start({ frontend: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', drainTimeoutMs: 200 });
    const { frontend, backend } = await broker.endpoints();
    const worker = Worker.start({ broker: backend, service: 'echo', concurrency: 8, handler: (req) => req.body as Buffer[] });
    await worker.registered();
    const client = new Client({ broker: frontend, timeout: 2500, retries: 2 });
    const counter = Worker.start({
      broker: backend,
      service: 'count',
      handler: async function* () {
        for (let i = 1; i <= 3; i++) yield `part ${i}`;
        return 'done';
      },
    });
    try {
      expect((await client.call('echo', 'hello'))[0]!.toString()).toBe('hello');
      await counter.registered();
      const parts: Array<[boolean, string]> = [];
      for await (const part of client.stream('count', 'go', { signal: AbortSignal.timeout(10_000) })) parts.push([part.final, part.text()]);
      expect(parts).toEqual([
        [false, 'part 1'],
        [false, 'part 2'],
        [false, 'part 3'],
        [true, 'done'],
      ]);
    } finally {
      client.close();
      await counter.stop();
      await worker.stop();
      await broker.stop();
    }
  });
});
