import { afterEach, describe, expect, it } from 'vitest';
import { BalancerClient } from '../../src/api/balancer.js';
import { CliProcess, runCli } from '../helpers/cli.js';
import { ConfigDir } from '../helpers/balancer.js';
import { eventually } from '../helpers/zmq.js';

// Runs the built dist/main.js: `npm test` builds first; alone, run `npm run build` before.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function configDir(backends: unknown[]): Promise<ConfigDir> {
  const dir = await ConfigDir.create(backends);
  cleanups.push(() => dir.remove());
  return dir;
}

async function balancer(dir: ConfigDir, extra: string[] = []) {
  const p = new CliProcess(['--role', 'balancer', '-c', dir.file, '--bind', 'tcp://127.0.0.1:*', ...extra]);
  cleanups.push(() => p.stop());
  const listening = await p.waitForLog((l) => l.msg === 'balancer listening');
  const endpoint = listening['endpoint'] as string;
  const client = new BalancerClient({ endpoint, timeoutMs: 5_000 });
  cleanups.push(() => client.close());
  return { p, endpoint, client };
}

describe('steward --role balancer', () => {
  it('should start, log the bound endpoint, answer a request, and exit 0 on SIGTERM', async () => {
    const dir = await configDir([{ type: 'Base', configuration: { dsn: 'x' } }]);
    const { p, endpoint, client } = await balancer(dir);
    expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(await client.get({ group: 'default', type: 'Base', algorithm: 'Casual', args: [] })).toEqual({ dsn: 'x' });
    p.signal('SIGTERM');
    expect(await p.exit()).toBe(0);
  });

  it('should exit 2 naming the file and the field when the configuration is wrong', async () => {
    const dir = await configDir(['comment', { type: 'Base', weight: -2, configuration: {} }]);
    const { code, stderr } = await runCli(['--role', 'balancer', '--config', dir.file, '--bind', 'tcp://127.0.0.1:*']);
    expect(code).toBe(2);
    expect(stderr).toContain(dir.file);
    expect(stderr).toContain('backends[1].weight');
    expect(stderr).toMatch(/fix:/);
  });

  it('should exit 2 when the configuration file is missing, defaulting to config.json', async () => {
    const { code, stderr } = await runCli(['--role', 'balancer', '--bind', 'tcp://127.0.0.1:*'], 15_000, {});
    expect(code).toBe(2);
    expect(stderr).toMatch(/config\.json: \(file\): cannot read it \(ENOENT\)/);
  });

  it('should reload on SIGHUP, and keep the old configuration when the new file is broken', async () => {
    const dir = await configDir([{ type: 'Base', configuration: 'v1' }]);
    const { p, client } = await balancer(dir, ['-d']);
    expect(await client.get()).toBe('v1');
    await dir.write([{ type: 'Base' }]);
    p.signal('SIGHUP');
    const rejected = await p.waitForLog((l) => l.msg.startsWith('configuration rejected') && l['cause'] === 'signal');
    expect(rejected['error']).toContain(`${dir.file}: backends[0].configuration: missing`);
    expect(await client.get()).toBe('v1');
    await dir.write([{ type: 'Base', configuration: 'v2' }]);
    p.signal('SIGHUP');
    await eventually(async () => (await client.get()) === 'v2', 5_000, 20);
    p.signal('SIGTERM');
    expect(await p.exit()).toBe(0);
  });

  it('should exit 2 for a --bind that is not an endpoint', async () => {
    const dir = await configDir([{ type: 'Base', configuration: 1 }]);
    const { code, stderr } = await runCli(['--role', 'balancer', '-c', dir.file, '--bind', '127.0.0.1:5555']);
    expect(code).toBe(2);
    expect(stderr).toContain('--bind must be protocol://interface:port, got "127.0.0.1:5555"');
  });

  it('should print stirr-style help', async () => {
    const { code, stdout } = await runCli(['--role', 'balancer', '--help']);
    expect(code).toBe(0);
    for (const flag of ['-c, --config PATH', '-d, --debug', '--bind ADDRESS', 'tcp://127.0.0.1:5555', 'config.json']) {
      expect(stdout).toContain(flag);
    }
  });
});
