import { get } from 'node:http';
import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { startObservability, type Observability } from '../../src/cli/observability.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function capture() {
  const lines: Array<{ msg: string; url?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { msg: string; url?: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function start(flags: Record<string, string>) {
  const { logger, lines } = capture();
  const obs: Observability = await startObservability({ flags, logger, metrics: new Metrics('test') });
  cleanup.push(() => obs.close());
  return { obs, lines };
}

function status(url: string): Promise<number> {
  return new Promise((resolve, rejectGet) => {
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', rejectGet);
  });
}

describe('observability flags', () => {
  it('should start the inspector and the metrics endpoint on 127.0.0.1 and log where they listen', async () => {
    const { obs, lines } = await start({ inspect: '0', metrics: '0' });
    expect(obs.inspect).toBeDefined();
    expect(obs.inspectorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(obs.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(await status(obs.inspectorUrl!)).toBe(200);
    expect(await status(obs.metricsUrl!)).toBe(200);
    expect(lines.find((l) => l.msg === 'inspector listening')?.url).toBe(obs.inspectorUrl);
    expect(lines.find((l) => l.msg === 'metrics listening')?.url).toBe(obs.metricsUrl);
    await obs.close();
    await expect(status(obs.inspectorUrl!)).rejects.toThrow();
  });

  it('should start nothing and inspect nothing without the flags', async () => {
    const { obs, lines } = await start({});
    expect(obs.inspect).toBeUndefined();
    expect(obs.inspectorUrl).toBeUndefined();
    expect(obs.metricsUrl).toBeUndefined();
    expect(lines).toEqual([]);
  });

  it('should inspect for the Stately bridge alone, without serving a page', async () => {
    const { obs } = await start({ 'inspect-stately': 'ws://127.0.0.1:9' });
    expect(obs.inspect).toBeDefined();
    expect(obs.inspectorUrl).toBeUndefined();
  });

  it('should refuse bad ports and URLs as usage errors that say what to type', async () => {
    await expect(start({ inspect: 'abc' })).rejects.toThrow(UsageError);
    await expect(start({ metrics: '70000' })).rejects.toThrow(/--metrics must be a whole number from 0 to 65535/);
    await expect(start({ 'inspect-stately': 'http://example.com' })).rejects.toThrow(/ws:\/\/ or wss:\/\//);
  });

  it('should say which port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    const error = await start({ inspect: String(port) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(
      `--inspect: cannot listen on 127.0.0.1:${port}: address already in use (another process listens there: stop it or choose another port)`,
    );
    expect((error as UsageError).hint).toBe(`--inspect ${port + 1}`);
  });
});
