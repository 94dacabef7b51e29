import { copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli.js';
import { imageFixtures } from '../helpers/images.js';
import { freePorts } from '../helpers/ports.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PYTHON } from '../helpers/python.js';

const procs: CliProcess[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  while (procs.length) await procs.pop()!.stop();
  while (cleanups.length) cleanups.pop()!();
});

/** The value after `flag` in a command's arguments. */
function valueOf(command: string[], flag: string): string {
  const i = command.indexOf(flag);
  expect(i, `${flag} in ${command.join(' ')}`).toBeGreaterThanOrEqual(0);
  return command[i + 1]!;
}

/** A command without CURVE key flags: what someone who does not hold the mesh's keys would type. */
function withoutKeys(command: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < command.length; i++) {
    if (command[i] === '--curve-server-key' || command[i] === '--curve-secret-key-file') i++;
    else out.push(command[i]!);
  }
  return out;
}

/** The printed command lines of `npm start`'s mesh, as argument lists for dist/main.js. */
function printedCommands(lines: string[]): string[][] {
  return lines
    .map((l) => l.trim())
    .filter((l) => l.startsWith('node dist/main.js '))
    .map((l) => l.slice('node dist/main.js '.length).split(/\s+/));
}

describe("npm start's local mesh", () => {
  it('should start every part under one supervisor, answer each printed command, and stop cleanly on SIGINT', async () => {
    const [base] = await freePorts(50);
    const [inspectPort] = await freePorts(1);
    const mesh = new CliProcess(['--role', 'mesh', '--base-port', String(base), '--inspect', String(inspectPort)]);
    procs.push(mesh);
    await mesh.waitForLine((l) => l.startsWith('Sink (worker events)'), 20_000);
    expect(mesh.lines.join('\n')).toContain(`Inspector (the live supervision tree, offline): http://127.0.0.1:${inspectPort}/`);
    // Plain TCP stays the default: no keys are made and no command carries key flags.
    expect(mesh.lines.join('\n')).not.toContain('--curve');
    expect(mesh.logs.some((l) => l.msg.includes('CURVE'))).toBe(false);
    const commands = printedCommands(mesh.lines);
    const byRole = (role: string, has: string) => commands.find((c) => c[1] === role && c.includes(has))!;

    const echo = await runCli(byRole('client', '--call'));
    expect(echo).toMatchObject({ code: 0, stdout: 'hello' });
    const mmi = await runCli(byRole('client', '--mmi'));
    expect(mmi).toMatchObject({ code: 0, stdout: '200' });
    const services = await runCli(commands.find((c) => c.includes('mmi.services'))!);
    expect(JSON.parse(services.stdout).map((s: { name: string }) => s.name).sort()).toEqual(['api.images', 'echo']);

    // The dispatcher registers with the registry within a heartbeat or two; ask until it answers (bounded).
    const show = byRole('show', 'TEMP');
    let shown = await runCli(show);
    for (let i = 0; i < 20 && shown.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      shown = await runCli(show);
    }
    expect(shown).toMatchObject({ code: 0, stdout: 'TEMP = 20.5\nMODE = Auto' });
    expect(await runCli(byRole('modify', 'SETPOINT=22.5'))).toMatchObject({ code: 0, stdout: 'SETPOINT = 22.5' });

    const python = mesh.lines.find((l) => l.includes('/usr/bin/python3 -c'))!.trim();
    const script = python.slice(python.indexOf('"') + 1, python.lastIndexOf('"'));
    const balancer = await promisify(execFile)(PYTHON, ['-c', script], { timeout: 10_000 });
    expect(balancer.stdout).toContain('web-');

    const curl = mesh.lines.find((l) => l.trim().startsWith('curl '))!.trim().split(/\s+/)[1]!;
    let page = await fetch(curl);
    // The example node answers the gateway's first ping within a ping period; ask until it is available (bounded).
    for (let i = 0; i < 40 && page.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 250));
      page = await fetch(curl);
    }
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('hello from web1 through the steward gateway: GET /hello\n');

    const state = (await (await fetch(`http://127.0.0.1:${inspectPort}/api/state`)).json()) as { actors: Array<{ name: string }> };
    const names = state.actors.map((a) => a.name);
    for (const part of ['mesh', 'broker', 'sink', 'worker.echo', 'worker.images', 'balancer', 'registry', 'dispatcher.thermo', 'gateway']) {
      expect(names).toContain(part);
    }

    // --base-port makes a keywords.ini for show/modify; it goes with the mesh.
    const keywordsIni = byRole('show', 'TEMP')[byRole('show', 'TEMP').indexOf('-c') + 1]!;
    expect(existsSync(keywordsIni)).toBe(true);
    mesh.signal('SIGINT');
    expect(await mesh.exit(20_000)).toBe(0);
    expect(existsSync(dirname(keywordsIni))).toBe(false);
  });

  it('should run every part with CURVE under --curve: the printed commands work, a client without the keys gets nothing, and SIGINT removes the keys', async () => {
    const [base] = await freePorts(50);
    const images = await imageFixtures();
    cleanups.push(images.cleanup);
    // The printed --rpc command asks about some-picture.png: give it one.
    copyFileSync(join(images.dir, 'a.png'), join(images.dir, 'some-picture.png'));
    const mesh = new CliProcess(['--role', 'mesh', '--curve', '--base-port', String(base), '--images-root', images.dir]);
    procs.push(mesh);
    await mesh.waitForLine((l) => l.startsWith('Sink (worker events)'), 20_000);

    const made = await mesh.waitForLog((l) => l.msg === 'mesh: CURVE on, keys made');
    const dir = made['dir'] as string;
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const file of ['client.key', 'worker.key']) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    for (const server of ['broker', 'sink', 'balancer', 'registry', 'dispatcher.thermo', 'gateway']) {
      await mesh.waitForLog((l) => l.msg === 'ZAP handler ready' && l['actor'] === `${server}.zap`);
    }

    const commands = printedCommands(mesh.lines);
    for (const c of commands) expect(c, c.join(' ')).toContain('--curve-server-key');
    const byRole = (role: string, has: string) => commands.find((c) => c[1] === role && c.includes(has))!;
    const call = byRole('client', '--call');
    expect(await runCli(call)).toMatchObject({ code: 0, stdout: 'hello' });
    expect(await runCli(byRole('client', '--mmi'))).toMatchObject({ code: 0, stdout: '200' });
    const services = await runCli(commands.find((c) => c.includes('mmi.services'))!);
    expect(JSON.parse(services.stdout).map((s: { name: string }) => s.name).sort()).toEqual(['api.images', 'echo']);
    const info = await runCli(byRole('client', '--rpc'));
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ format: 'png', width: 300, height: 200 });

    // The printed worker command, with a real handler in place of ./my-handler.js, serves through the mesh.
    const handler = join(images.dir, 'upper.mjs');
    writeFileSync(handler, 'export default (request) => [request.text().toUpperCase()];\n');
    const workerCommand = byRole('worker', '--handler').map((a) => (a === './my-handler.js' ? handler : a));
    procs.push(new CliProcess(workerCommand));
    await mesh.waitForLog((l) => l.msg === 'worker registered' && l['service'] === 'upper', 15_000);
    expect(await runCli(call.map((a) => (a === 'echo' ? 'upper' : a)))).toMatchObject({ code: 0, stdout: 'HELLO' });

    const show = byRole('show', 'TEMP');
    let shown = await runCli(show);
    for (let i = 0; i < 20 && shown.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      shown = await runCli(show);
    }
    expect(shown).toMatchObject({ code: 0, stdout: 'TEMP = 20.5\nMODE = Auto' });
    const monitor = new CliProcess(byRole('show', '--monitor'));
    procs.push(monitor);
    await monitor.waitForLog((l) => l.msg === 'monitoring');
    expect(await runCli(byRole('modify', 'SETPOINT=22.5'))).toMatchObject({ code: 0, stdout: 'SETPOINT = 22.5' });
    await monitor.waitForLine((l) => l === 'SETPOINT = 22.5');

    const python = mesh.lines.find((l) => l.includes('/usr/bin/python3 -c'))!.trim();
    const script = python.slice(python.indexOf('"') + 1, python.lastIndexOf('"'));
    expect(script).toContain('curve_serverkey');
    const balancer = await promisify(execFile)(PYTHON, ['-c', script], { timeout: 10_000 });
    expect(balancer.stdout).toContain('web-');

    // The gateway's HTTP side is plain; its example node got in with its own key.
    const curl = mesh.lines.find((l) => l.trim().startsWith('curl '))!.trim().split(/\s+/)[1]!;
    let page = await fetch(curl);
    for (let i = 0; i < 40 && page.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 250));
      page = await fetch(curl);
    }
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('hello from web1 through the steward gateway: GET /hello\n');

    // Without the keys: a plain client and plain keyword tools get nothing within their timeout.
    const frontend = valueOf(call, '--broker');
    const plain = await runCli(['--role', 'client', '--broker', frontend, '--call', 'echo', 'hello', '--timeout', '1000', '--retries', '0']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('no reply from echo within 1000 ms');
    await mesh.waitForLog((l) => l.msg === 'handshake refused' && l['server'] === 'broker');
    const plainShow = await runCli([...withoutKeys(show), '--timeout', '500']);
    expect(plainShow.code).toBe(1);
    expect(plainShow.stderr).toContain('registry-unavailable');
    // With the server's key but a pair of its own (not on the list): encrypted, and still refused.
    const stranger = await runCli([...withoutKeys(call), '--curve-server-key', valueOf(call, '--curve-server-key'), '--timeout', '1000', '--retries', '0']);
    expect(stranger.code).toBe(1);
    await mesh.waitForLog((l) => l.msg === 'peer refused' && l['server'] === 'broker' && l['reason'] === 'unknown_key');

    mesh.signal('SIGINT');
    expect(await mesh.exit(20_000)).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });
  it('should run two brokers with --brokers 2, every worker registered with both, and print commands that name both', async () => {
    const [base] = await freePorts(50);
    const mesh = new CliProcess(['--role', 'mesh', '--brokers', '2', '--base-port', String(base)]);
    procs.push(mesh);
    await mesh.waitForLine((l) => l.startsWith('Sink (worker events)'), 20_000);
    const commands = printedCommands(mesh.lines);
    const call = commands.find((c) => c[1] === 'client' && c.includes('--call') && c.includes('echo'))!;
    const frontends = call.flatMap((a, i) => (a === '--broker' ? [call[i + 1]!] : []));
    expect(frontends).toEqual([`tcp://127.0.0.1:${base}`, `tcp://127.0.0.1:${base! + 7}`]);
    const worker = commands.find((c) => c[1] === 'worker')!;
    expect(worker.flatMap((a, i) => (a === '--broker' ? [worker[i + 1]!] : []))).toEqual([`tcp://127.0.0.1:${base! + 1}`, `tcp://127.0.0.1:${base! + 8}`]);
    expect(mesh.lines.join('\n')).toContain('2 brokers');
    expect(await runCli(call)).toMatchObject({ code: 0, stdout: 'hello' });
    // Each broker alone has both workers.
    for (const frontend of frontends) {
      for (const service of ['echo', 'api.images']) {
        expect(await runCli(['--role', 'client', '--broker', frontend, '--mmi', service])).toMatchObject({ code: 0, stdout: '200' });
      }
    }
    mesh.signal('SIGINT');
    expect(await mesh.exit(20_000)).toBe(0);
  });
});
