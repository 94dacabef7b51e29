import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';
import { eventually } from '../helpers/zmq.js';

const KEYWORDS = {
  keywords: [
    { name: 'TEMP', type: 'double', initial: 20.5, units: 'degC', min: -50, max: 150 },
    { name: 'MODE', type: 'enumerated', enumerators: ['Off', 'On', 'Auto'], initial: 'Off' },
    { name: 'NOTE', type: 'string', initial: 'a:b' },
    { name: 'SERIAL', type: 'string', initial: 'X1', readonly: true },
  ],
};

const running: CliProcess[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.stop();
});

function start(args: string[]): CliProcess {
  const p = new CliProcess(args);
  running.push(p);
  return p;
}

interface Setup {
  readonly dir: string;
  readonly config: string;
  readonly keywords: string;
  readonly ports: { registry: number; first: number; last: number };
}

/** A config file on free loopback ports with short heartbeats, and a keywords file. */
async function setup(pairs = 2, extra = ''): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-kw-'));
  const ports = await freePorts(1 + pairs * 2);
  const registry = ports[0]!;
  const first = ports[1]!;
  const last = first + pairs * 2 - 1;
  const config = join(dir, 'config.ini');
  writeFileSync(
    config,
    `[zmq]\nhost = localhost\n\n[zmq-router]\nport = ${registry}\nfirst-port = ${first}\nlast-port = ${last}\ntimeout = 500\nheartbeat = 100\nliveness = 3\n${extra}`,
  );
  const keywords = join(dir, 'keywords.json');
  writeFileSync(keywords, JSON.stringify(KEYWORDS));
  return { dir, config, keywords, ports: { registry, first, last } };
}

const listening = (msg: string) => (l: { msg: string }) => l.msg === msg;

async function registry(s: Setup, ...flags: string[]) {
  const p = start(['--role', 'registry', '-c', s.config, ...flags]);
  await p.waitForLog(listening('registry listening'));
  return p;
}

async function dispatcher(s: Setup, service = 'thermo') {
  const p = start(['--role', 'dispatcher', '--service', service, '--keywords', s.keywords, '-c', s.config]);
  await p.waitForLog(listening('dispatcher listening'));
  return p;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

describe('keyword roles as processes', () => {
  it('should register, look up, show, modify, and reject invalid writes', async () => {
    const s = await setup();
    const reg = await registry(s);
    const disp = await dispatcher(s);
    const line = await disp.waitForLog(listening('dispatcher listening'));
    expect(line['dispatch']).toBe(`tcp://127.0.0.1:${s.ports.first}`);
    await reg.waitForLog((l) => l.msg === 'dispatcher registered' && l['service'] === 'thermo');

    const shown = await runCli(['--role', 'show', '-s', 'thermo', '-c', s.config, 'TEMP', 'MODE', 'NOTE']);
    expect(shown.code).toBe(0);
    expect(shown.stdout.split('\n').filter((l) => !l.startsWith('{'))).toEqual(['TEMP = 20.5', 'MODE = Off', 'NOTE = a:b']);

    const modified = await runCli(['--role', 'modify', '-s', 'thermo', '-c', s.config, 'TEMP=21.25', 'MODE=auto', 'NOTE=x:y=z']);
    expect(modified.code).toBe(0);
    expect(modified.stdout.split('\n').filter((l) => !l.startsWith('{'))).toEqual(['TEMP = 21.25', 'MODE = Auto', 'NOTE = x:y=z']);

    const all = await runCli(['--role', 'show', '-s', 'thermo', '-c', s.config, '--binary']);
    expect(all.stdout.split('\n').filter((l) => !l.startsWith('{'))).toEqual(['TEMP = 21.25', 'MODE = 2', 'NOTE = x:y=z', 'SERIAL = X1']);

    const refused = await runCli(['--role', 'modify', '-s', 'thermo', '-c', s.config, 'TEMP=hot', 'SERIAL=X2', 'TEMP=999']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('thermo.TEMP: invalid-value');
    expect(refused.stderr).toContain('thermo.SERIAL: read-only');
    expect(refused.stderr).toMatch(/999 is above the maximum 150/);
    const after = await runCli(['--role', 'show', '-s', 'thermo', '-c', s.config, 'TEMP']);
    expect(after.stdout).toContain('TEMP = 21.25');
  });

  it('should print each broadcast of a monitored keyword in order, and exit 0 on SIGINT', async () => {
    const s = await setup();
    await registry(s);
    await dispatcher(s);
    const monitor = start(['--role', 'show', '-s', 'thermo', '-c', s.config, '--monitor', 'TEMP']);
    await monitor.waitForLog(listening('monitoring'));
    for (const v of ['1', '2.5', '-3']) {
      const r = await runCli(['--role', 'modify', '-s', 'thermo', '-c', s.config, `TEMP=${v}`]);
      expect(r.code).toBe(0);
    }
    await monitor.waitForLine((l) => l === 'TEMP = -3');
    expect(monitor.lines.filter((l) => l.startsWith('TEMP'))).toEqual(['TEMP = 1', 'TEMP = 2.5', 'TEMP = -3']);
    monitor.signal('SIGINT');
    expect(await monitor.exit()).toBe(0);
  });

  it('should tell a monitor its dispatcher left, and carry on when it returns', async () => {
    const s = await setup(2);
    await registry(s);
    const first = await dispatcher(s);
    const monitor = start(['--role', 'show', '-s', 'thermo', '-c', s.config, '--monitor', 'NOTE']);
    await monitor.waitForLog(listening('monitoring'));
    first.signal('SIGTERM');
    expect(await first.exit()).toBe(0);
    await monitor.waitForLog((l) => l.msg === 'broadcasts lost');
    expect(monitor.stderr).toMatch(/steward: thermo: lost the broadcasts at tcp:\/\/127\.0\.0\.1:\d+; waiting for the dispatcher to return/);
    await dispatcher(s);
    await monitor.waitForLog((l) => l.msg === 'broadcasts restored');
    expect((await runCli(['--role', 'modify', '-s', 'thermo', '-c', s.config, 'NOTE=second life'])).code).toBe(0);
    await monitor.waitForLine((l) => l === 'NOTE = second life');
  });

  it("should keep a monitor of svc deaf to svc2's broadcasts", async () => {
    const s = await setup(2);
    await registry(s);
    await dispatcher(s, 'svc');
    await dispatcher(s, 'svc2');
    const monitor = start(['--role', 'show', '-s', 'svc', '-c', s.config, '--monitor', 'NOTE']);
    await monitor.waitForLog(listening('monitoring'));
    expect((await runCli(['--role', 'modify', '-s', 'svc2', '-c', s.config, 'NOTE=svc2:first'])).code).toBe(0);
    expect((await runCli(['--role', 'modify', '-s', 'svc', '-c', s.config, 'NOTE=svc:second'])).code).toBe(0);
    await monitor.waitForLine((l) => l === 'NOTE = svc:second');
    expect(monitor.lines.filter((l) => l.startsWith('NOTE'))).toEqual(['NOTE = svc:second']);
  });

  it('should fail a monitor of an unknown service with a message and exit 1', async () => {
    const s = await setup();
    await registry(s);
    const r = await runCli(['--role', 'show', '-s', 'ghost', '-c', s.config, '--monitor', 'TEMP']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('steward: ghost.TEMP: no-such-service');
  });

  it('should drop a killed dispatcher after the heartbeat expiry, free its ports, and tell clients', async () => {
    const s = await setup(1);
    const reg = await registry(s);
    const disp = await dispatcher(s);
    disp.signal('SIGKILL');
    await disp.exit();
    const shown = await runCli(['--role', 'show', '-s', 'thermo', '-c', s.config, 'TEMP']);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toMatch(/thermo\.TEMP: (dispatcher-unavailable|no-such-service)/);
    await reg.waitForLog((l) => l.msg.startsWith('dispatcher silent past the expiry') && l['service'] === 'thermo');
    const gone = await runCli(['--role', 'show', '-s', 'thermo', '-c', s.config, 'TEMP']);
    expect(gone.stderr).toMatch(/no-such-service: no dispatcher is registered for "thermo"/);
    // The one pair is free: another dispatcher gets it.
    const next = await dispatcher(s, 'other');
    expect((await next.waitForLog(listening('dispatcher listening')))['dispatch']).toBe(`tcp://127.0.0.1:${s.ports.first}`);
  });

  it('should start a registry inside the dispatcher when none runs (process = thread)', async () => {
    const s = await setup(2, 'allow-spawn = yes\nprocess = thread\n');
    const disp = await dispatcher(s);
    await disp.waitForLog((l) => l.msg === 'no registry answered; starting one');
    await disp.waitForLog(listening('registry listening'));
    const shown = await runCli(['--role', 'show', '-s', 'thermo', '-c', s.config, 'NOTE']);
    expect(shown.stdout).toContain('NOTE = a:b');
  });

  it('should start a registry as a child process when process is not thread, and stop it on exit', async () => {
    const s = await setup(2, 'allow-spawn = yes\nprocess = fork\n');
    const disp = await dispatcher(s);
    await disp.waitForLog((l) => l.msg === 'child process started');
    // The child's logs share the dispatcher's stdout.
    await disp.waitForLog((l) => l.msg === 'registry listening' && l['name'] === 'registry');
    const shown = await runCli(['--role', 'show', '-s', 'thermo', '-c', s.config, 'MODE']);
    expect(shown.stdout).toContain('MODE = Off');
    disp.signal('SIGTERM');
    expect(await disp.exit()).toBe(0);
    await eventually(() => portFree(s.ports.registry), 5000, 50);
  });

  it('should not leave a spawned registry process behind when the dispatcher is killed', async () => {
    const s = await setup(2, 'allow-spawn = yes\nprocess = fork\n');
    const disp = await dispatcher(s);
    await disp.waitForLog((l) => l.msg === 'registry listening' && l['name'] === 'registry');
    disp.signal('SIGKILL');
    await disp.exit();
    await eventually(() => portFree(s.ports.registry), 5000, 50);
  });

  it('should refuse a dispatcher when the port range is exhausted, and keep the registry up', async () => {
    const s = await setup(1);
    const reg = await registry(s);
    await dispatcher(s, 'first');
    const second = start(['--role', 'dispatcher', '--service', 'second', '--keywords', s.keywords, '-c', s.config]);
    expect(await second.exit()).toBe(1);
    expect(second.lines.join('\n')).toMatch(/ports-exhausted|no free port pair/);
    await reg.waitForLog((l) => l.msg === 'port range exhausted; registration refused');
    const shown = await runCli(['--role', 'show', '-s', 'first', '-c', s.config, 'TEMP']);
    expect(shown.code).toBe(0);
  });

  it('should log each request with -v', async () => {
    const s = await setup();
    const reg = await registry(s, '-v');
    await dispatcher(s);
    await reg.waitForLog((l) => l.msg === 'request' && l['request'] === 'registry.register');
  });

  it('should exit 2 with the file, section and key of a bad config, and on bad usage', async () => {
    const s = await setup();
    const bad = join(s.dir, 'bad.ini');
    writeFileSync(bad, '[zmq-router]\nfirst-port = lots\n');
    const r = await runCli(['--role', 'registry', '-c', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}: [zmq-router] first-port: "lots" is not a whole number`);
    const noService = await runCli(['--role', 'dispatcher', '--keywords', s.keywords]);
    expect(noService.code).toBe(2);
    expect(noService.stderr).toContain('--service is required');
    const badAssign = await runCli(['--role', 'modify', '-s', 'thermo', 'TEMP']);
    expect(badAssign.code).toBe(2);
    const badKeywords = join(s.dir, 'bad.json');
    writeFileSync(badKeywords, JSON.stringify({ keywords: [{ name: 'T', type: 'integer', initial: 'x' }] }));
    const k = await runCli(['--role', 'dispatcher', '-s', 'x', '--keywords', badKeywords, '-c', s.config]);
    expect(k.code).toBe(2);
    expect(k.stderr).toContain('keywords[0].initial');
  });
});
