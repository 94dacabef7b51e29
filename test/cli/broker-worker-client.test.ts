import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';

const procs: CliProcess[] = [];
afterEach(async () => {
  while (procs.length) await procs.pop()!.stop();
});

function start(args: string[]): CliProcess {
  const p = new CliProcess(args);
  procs.push(p);
  return p;
}

/** Starts a broker on ephemeral ports and reads its endpoints back from its log. */
async function startBroker(extra: string[] = []) {
  const broker = start(['--role', 'broker', '--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:*', ...extra]);
  const line = await broker.waitForLog((l) => l.msg === 'broker listening');
  const endpoints = line['endpoints'] as Record<string, string[]>;
  return { broker, frontend: endpoints['broker.frontend']![0]!, backend: endpoints['broker.backend']![0]! };
}

describe('steward CLI: broker, worker, client', () => {

  it('should print its version and exit 0', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('should list the roles for --help and explain each role with --role X --help', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/broker\s+route client requests/);
    const broker = await runCli(['--role', 'broker', '--help']);
    expect(broker.code).toBe(0);
    expect(broker.stdout).toContain('--frontend ENDPOINT');
  });

  it('should exit 2 with what to type instead on bad usage', async () => {
    const unknown = await runCli(['--role', 'brokr']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown role "brokr"');
    const noService = await runCli(['--role', 'worker']);
    expect(noService.code).toBe(2);
    expect(noService.stderr).toMatch(/--service is required\ntry: steward --role worker --service echo/);
    const badFlag = await runCli(['--role', 'broker', '--heartbeat', 'soon']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--heartbeat must be a whole number');
    const unknownFlag = await runCli(['--role', 'broker', '--frontdoor', 'x']);
    expect(unknownFlag.code).toBe(2);
  });

  it('should call an echo worker through the broker and answer --mmi', async () => {
    const { frontend, backend } = await startBroker();
    const worker = start(['--role', 'worker', '--service', 'echo', '--broker', backend]);
    await worker.waitForLog((l) => l.msg === 'worker started');
    const mmi = await runCli(['--role', 'client', '--broker', frontend, '--mmi', 'echo', '--retries', '5', '--timeout', '1000']);
    expect(mmi.code).toBe(0);
    // The worker may not be registered at the very first instant; ask until it is (bounded).
    let answer = mmi.stdout;
    for (let i = 0; i < 20 && answer !== '200'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = (await runCli(['--role', 'client', '--broker', frontend, '--mmi', 'echo'])).stdout;
    }
    expect(answer).toBe('200');
    const call = await runCli(['--role', 'client', '--broker', frontend, '--call', 'echo', 'hello', 'world']);
    expect(call).toMatchObject({ code: 0, stdout: 'hello\nworld' });
  });

  it('should purge a killed worker after the heartbeat expiry, after which its service answers 404', async () => {
    const { broker, frontend, backend } = await startBroker(['--heartbeat', '100']);
    const worker = start(['--role', 'worker', '--service', 'mortal', '--broker', backend, '--heartbeat', '100']);
    await broker.waitForLog((l) => l.msg === 'worker registered' && l['service'] === 'mortal');
    worker.signal('SIGKILL');
    await broker.waitForLog((l) => l.msg === 'worker left' && l['reason'] === 'expired');
    const mmi = await runCli(['--role', 'client', '--broker', frontend, '--mmi', 'mortal']);
    expect(mmi).toMatchObject({ code: 0, stdout: '404' });
  });

  it('should exit 1 with a clear message when a call that waits for a worker times out', async () => {
    const { frontend } = await startBroker();
    const call = await runCli(['--role', 'client', '--broker', frontend, '--call', 'nobody', '--timeout', '100', '--retries', '1', '--wait-for-worker']);
    expect(call.code).toBe(1);
    expect(call.stderr).toContain('no reply from nobody within 100 ms (2 attempts)');
  });

  it('should exit 1 at once saying no worker serves the service, naming every broker that said so', async () => {
    const one = await startBroker();
    const two = await startBroker();
    const call = await runCli(['--role', 'client', '--broker', one.frontend, '--broker', two.frontend, '--call', 'nobody', '--timeout', '60000']);
    expect(call.code).toBe(1);
    expect(call.stderr).toContain('steward: no worker serves nobody (brokers');
    expect(call.stderr).toContain(one.frontend);
    expect(call.stderr).toContain(two.frontend);
  });

  it('should send its one call to the broker that answers when the first one given is down', async () => {
    const live = await startBroker();
    start(['--role', 'worker', '--service', 'echo', '--broker', live.backend]);
    await live.broker.waitForLog((l) => l.msg === 'worker registered');
    const [down] = await freePorts(1);
    // No retries and a long timeout: had the call gone to the dead broker first, it would wait out the whole minute.
    for (const order of [[`tcp://127.0.0.1:${down}`, live.frontend], [live.frontend, `tcp://127.0.0.1:${down}`]]) {
      const call = await runCli(['--role', 'client', ...order.flatMap((b) => ['--broker', b]), '--call', 'echo', 'up', '--timeout', '60000', '--retries', '0']);
      expect(call).toMatchObject({ code: 0, stdout: 'up' });
    }
  }, 30_000);

  it('should reach a worker registered with only the second of two brokers: the first says it has none, the client asks the other', async () => {
    const one = await startBroker();
    const two = await startBroker();
    start(['--role', 'worker', '--service', 'echo', '--broker', two.backend]);
    await two.broker.waitForLog((l) => l.msg === 'worker registered');
    for (let i = 0; i < 3; i++) {
      const call = await runCli(['--role', 'client', '--broker', one.frontend, '--broker', two.frontend, '--call', 'echo', `hi-${i}`]);
      expect(call).toMatchObject({ code: 0, stdout: `hi-${i}` });
    }
  });

  it('should shut down gracefully on SIGTERM and SIGINT with exit code 0', async () => {
    const { broker, backend } = await startBroker();
    const worker = start(['--role', 'worker', '--service', 'echo', '--broker', backend]);
    await broker.waitForLog((l) => l.msg === 'worker registered');
    worker.signal('SIGINT');
    expect(await worker.exit()).toBe(0);
    await broker.waitForLog((l) => l.msg === 'worker left' && l['reason'] === 'disconnected');
    broker.signal('SIGTERM');
    expect(await broker.exit()).toBe(0);
  });

  it('should load a handler module given with --handler', async () => {
    const { frontend, backend } = await startBroker();
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'steward-handler-'));
    const file = join(dir, 'upper.mjs');
    writeFileSync(file, 'export default (req) => req.text().toUpperCase();\n');
    const worker = start(['--role', 'worker', '--service', 'upper', '--broker', backend, '--handler', file]);
    await worker.waitForLog((l) => l.msg === 'worker started');
    const call = await runCli(['--role', 'client', '--broker', frontend, '--call', 'upper', 'shout']);
    expect(call).toMatchObject({ code: 0, stdout: 'SHOUT' });
    const bad = await runCli(['--role', 'worker', '--service', 'x', '--handler', join(dir, 'missing.mjs')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cannot load the module');
  });
});
