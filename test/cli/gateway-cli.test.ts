import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayBackend } from '../../src/api/gateway-backend.js';
import { CliProcess, runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/zmq.js';

const started: Array<{ stop(): Promise<void> } | GatewayBackend> = [];
afterEach(async () => {
  while (started.length > 0) {
    const x = started.pop()!;
    if (x instanceof GatewayBackend) x.close();
    else await x.stop();
  }
});

function iniFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-gw-cli-'));
  const file = join(dir, 'gateway.ini');
  writeFileSync(file, text);
  return file;
}

const GOOD = `[blastbeat]
bind = 127.0.0.1:0
zmq = tcp://127.0.0.1:*
ping-freq = 0.1
uid = nobody

[blastbeat:127.0.0.1]
node = cli1
`;

describe('steward --role gateway', () => {
  it('should start from a bare FILE.ini, log where it listens, serve a node, and stop on SIGTERM with 0', async () => {
    const file = iniFile(GOOD);
    const p = new CliProcess(['--role', 'gateway', file, '--log-level', 'info']);
    started.push(p);
    const listening = await p.waitForLog((l) => l.msg === 'gateway listening');
    const httpUrl = (listening['http'] as string[])[0]!;
    const zmqEndpoint = (listening['zmq'] as string[])[0]!;
    expect(httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(zmqEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(p.logs.some((l) => l.level === 40 && String(l.msg).includes('uid (line 5): unknown key'))).toBe(true);

    const backend = GatewayBackend.start({ endpoint: zmqEndpoint, node: 'cli1', onRequest: (req) => ({ body: `cli says ${req.path}` }) });
    started.push(backend);
    let body = '';
    await eventually(async () => {
      const res = await fetch(`${httpUrl}/ping`);
      body = await res.text();
      return res.status === 200;
    }, 5_000, 50);
    expect(body).toBe('cli says /ping');

    p.signal('SIGTERM');
    expect(await p.exit()).toBe(0);
  });

  it('should take the file with -c and let --bind override it', async () => {
    const file = iniFile(GOOD.replace('bind = 127.0.0.1:0', 'bind = 127.0.0.1:1'));
    const p = new CliProcess(['--role', 'gateway', '-c', file, '--bind', '127.0.0.1:0']);
    started.push(p);
    const listening = await p.waitForLog((l) => l.msg === 'gateway listening');
    expect((listening['http'] as string[])[0]).not.toBe('http://127.0.0.1:1');
  });

  it('should exit 2 naming the file, section, key and fix for a bad config', async () => {
    const file = iniFile('[blastbeat]\nping-freq = often\n');
    const { code, stderr } = await runCli(['--role', 'gateway', '-c', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(file);
    expect(stderr).toContain('[blastbeat] ping-freq (line 2)');
    expect(stderr).toContain('fix:');
  });

  it('should exit 2 when no file is given, and print its usage with --help', async () => {
    const missing = await runCli(['--role', 'gateway']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('needs its INI file');
    const help = await runCli(['--role', 'gateway', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('steward --role gateway -c FILE.ini');
  });
});
