import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli.js';
import { imageFixtures } from '../helpers/images.js';

const procs: CliProcess[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  while (procs.length) await procs.pop()!.stop();
  while (cleanups.length) cleanups.pop()!();
});

function start(args: string[]): CliProcess {
  const p = new CliProcess(args);
  procs.push(p);
  return p;
}

async function startBroker() {
  const broker = start(['--role', 'broker', '--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:*']);
  const line = await broker.waitForLog((l) => l.msg === 'broker listening');
  const endpoints = line['endpoints'] as Record<string, string[]>;
  return { broker, frontend: endpoints['broker.frontend']![0]!, backend: endpoints['broker.backend']![0]! };
}

async function startSink() {
  const sink = start(['--role', 'sink', '--bind', 'tcp://127.0.0.1:*']);
  const line = await sink.waitForLog((l) => l.msg === 'sink listening');
  return { sink, endpoint: (line['endpoints'] as string[])[0]! };
}

describe('steward CLI: api.images worker, --rpc client, sink', () => {
  it('should resize and describe images through the broker, report them to the sink, and print remote errors', async () => {
    const { dir, cleanup } = await imageFixtures();
    cleanups.push(cleanup);
    const { broker, frontend, backend } = await startBroker();
    const { sink, endpoint } = await startSink();
    start(['--role', 'worker', '--service', 'api.images', '--broker', backend, '--root', dir, '--sink', endpoint, '--concurrency', '2']);
    await broker.waitForLog((l) => l.msg === 'worker registered' && l['service'] === 'api.images');
    const rpc = (...args: string[]) => runCli(['--role', 'client', '--broker', frontend, '--timeout', '10000', '--rpc', 'api.images', ...args]);

    expect(await rpc('resize_image', 'a.png', '150x180')).toMatchObject({ code: 0, stdout: '"a.150x180.png"' });
    expect(await sharp(join(dir, 'a.150x180.png')).metadata()).toMatchObject({ format: 'png', width: 150, height: 180 });
    expect(await rpc('resize_image', 'photo.jpg', '32x24')).toMatchObject({ code: 0, stdout: '"photo.32x24.jpg"' });
    const info = await rpc('info', 'photo.32x24.jpg');
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ name: 'photo.32x24.jpg', format: 'jpeg', width: 32, height: 24 });

    const missing = await rpc('info', 'missing.png');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('steward: api.images.info raised FileNotFoundError: no such file: missing.png\n');
    const badSize = await rpc('resize_image', 'a.png', 'huge');
    expect(badSize.code).toBe(1);
    expect(badSize.stderr).toContain('raised InvalidSizeError: bad size "huge": expected WIDTHxHEIGHT such as 150x180');
    const notImage = await rpc('info', 'notes.txt');
    expect(notImage.stderr).toContain('raised UnsupportedImageError: notes.txt is not an image');
    const escape = await rpc('info', '../../../etc/passwd');
    expect(escape.stderr).toContain('raised PathOutsideRootError');
    const unknown = await rpc('rotate', 'a.png');
    expect(unknown).toMatchObject({ code: 1, stderr: 'steward: api.images has no method rotate\n' });

    const first = await sink.waitForLog((l) => l.msg === 'sink event' && (l['event'] as { output?: string }).output === 'a.150x180.png');
    expect(first).toMatchObject({ source: 'api.images', event: { event: 'resized', input: 'a.png', width: 150, height: 180, format: 'png' } });
    await sink.waitForLog((l) => l.msg === 'sink event' && (l['event'] as { output?: string }).output === 'photo.32x24.jpg');
    const outputs = sink.logs.filter((l) => l.msg === 'sink event').map((l) => (l['event'] as { output: string }).output);
    expect(outputs).toEqual(['a.150x180.png', 'photo.32x24.jpg']);
  });

  it('should serve an RPC module given with --rpc, parse arguments as JSON when they parse, and explain bad usage', async () => {
    const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'steward-rpc-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'math.mjs');
    writeFileSync(file, 'export function add(a, b) { return a + b; }\nexport async function kind(x) { return typeof x; }\n');
    const { frontend, backend, broker } = await startBroker();
    start(['--role', 'worker', '--service', 'math', '--broker', backend, '--rpc', file]);
    await broker.waitForLog((l) => l.msg === 'worker registered' && l['service'] === 'math');
    const rpc = (...args: string[]) => runCli(['--role', 'client', '--broker', frontend, '--rpc', 'math', ...args]);
    expect(await rpc('add', '40', '2')).toMatchObject({ code: 0, stdout: '42' });
    expect(await rpc('add', '"4"', '2')).toMatchObject({ code: 0, stdout: '"42"' });
    expect(await rpc('kind', 'hello')).toMatchObject({ code: 0, stdout: '"string"' });
    expect(await rpc('kind', '{"a":1}')).toMatchObject({ code: 0, stdout: '"object"' });

    const noMethod = await runCli(['--role', 'client', '--rpc', 'math']);
    expect(noMethod.code).toBe(2);
    expect(noMethod.stderr).toContain('--rpc needs a method name');
    const both = await runCli(['--role', 'client', '--rpc', 'math', '--mmi', 'math']);
    expect(both.code).toBe(2);
    const handlerAndRpc = await runCli(['--role', 'worker', '--service', 'x', '--handler', file, '--rpc', file]);
    expect(handlerAndRpc).toMatchObject({ code: 2 });
    expect(handlerAndRpc.stderr).toContain('give --handler or --rpc, not both');
    writeFileSync(join(dir, 'empty.mjs'), 'export const version = 1;\n');
    const empty = await runCli(['--role', 'worker', '--service', 'x', '--rpc', join(dir, 'empty.mjs')]);
    expect(empty).toMatchObject({ code: 2 });
    expect(empty.stderr).toContain('exports no functions to serve');
    const noRoot = await runCli(['--role', 'worker', '--service', 'api.images', '--root', join(dir, 'absent')]);
    expect(noRoot).toMatchObject({ code: 2 });
    expect(noRoot.stderr).toContain('no such directory');
  });
});
