/**
 * The CLI client's --stream: one line per partial reply as it arrives, then
 * the final one, for --call and --rpc; and Ctrl-C cancels the stream at the
 * broker and the worker. The client is the real dist/main.js; the broker and
 * the worker run in this process so the test can see what they saw.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/api/worker.js';
import { ImagesService } from '../../src/services/images.js';
import { CliProcess, runCli } from '../helpers/cli.js';
import { imageFixtures } from '../helpers/images.js';
import { testScope } from '../helpers/scope.js';
import { eventually } from '../helpers/zmq.js';

const COUNTDOWN = fileURLToPath(new URL('../../examples/handlers/countdown.mjs', import.meta.url));

const scope = testScope();

describe('steward CLI client: --stream', () => {
  it('should print each partial reply as it comes, then the final one, for --call', async () => {
    const { frontend, backend } = await scope.broker();
    const w = Worker.start({ broker: backend, service: 'parts', handler: async function* (req) {
      yield ['a', req.text()];
      yield 'b';
      return ['end', 'of', 'it'];
    } });
    scope.defer(() => w.stop());
    await w.registered();
    expect(await runCli(['--role', 'client', '--broker', frontend, '--stream', '--call', 'parts', 'x'])).toMatchObject({ code: 0, stdout: 'a x\nb\nend of it' });
    // A worker that does not stream: the final line alone.
    expect(await runCli(['--role', 'client', '--broker', frontend, '--stream', '--call', 'mmi.service', 'parts'])).toMatchObject({ code: 0, stdout: '200' });
  });

  it('should stream api.images resize_images with --rpc: one JSON line per picture written, then the summary', async () => {
    const { dir, cleanup } = await imageFixtures();
    scope.defer(cleanup);
    const { frontend, backend } = await scope.broker();
    const w = Worker.start({ broker: backend, service: 'api.images', rpc: new ImagesService({ root: dir }) });
    scope.defer(() => w.stop());
    await w.registered();
    const result = await runCli(['--role', 'client', '--broker', frontend, '--timeout', '10000', '--stream', '--rpc', 'api.images', 'resize_images', '40x30', 'a.png', 'photo.jpg']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { input: 'a.png', output: 'a.40x30.png', width: 40, height: 30 },
      { input: 'photo.jpg', output: 'photo.40x30.jpg', width: 40, height: 30 },
      { written: ['a.40x30.png', 'photo.40x30.jpg'], failed: 0 },
    ]);
  });

  it('should cancel the stream at the broker and the worker on Ctrl-C', async () => {
    const { b, frontend, backend } = await scope.broker();
    const { default: countdown } = (await import(COUNTDOWN)) as { default: (req: unknown) => AsyncGenerator<string, string> };
    const seen = { aborted: false, finished: false };
    const w = Worker.start({
      broker: backend,
      service: 'countdown',
      handler: async function* (req) {
        try {
          return yield* countdown(req);
        } finally {
          seen.finished = true;
          seen.aborted = req.signal.aborted;
        }
      },
    });
    scope.defer(() => w.stop());
    await w.registered();
    const client = new CliProcess(['--role', 'client', '--broker', frontend, '--stream', '--call', 'countdown', '100']);
    scope.defer(() => client.stop());
    await client.waitForLine((l) => l === '99');
    client.signal('SIGINT');
    await client.exit();
    await eventually(() => seen.finished, 5_000);
    expect(seen.aborted).toBe(true);
    expect(b.core()?.stats.cancelled.client).toBe(1);
    expect(client.lines).not.toContain('liftoff');
  });

  it('should refuse --stream with --mmi, and --window without --stream, with what to type', async () => {
    const mmi = await runCli(['--role', 'client', '--stream', '--mmi', 'x']);
    expect(mmi.code).toBe(2);
    expect(mmi.stderr).toContain('--stream goes with --call or --rpc');
    const window = await runCli(['--role', 'client', '--window', '4', '--call', 'x']);
    expect(window.code).toBe(2);
    expect(window.stderr).toContain('--window goes with --stream');
  });
});
