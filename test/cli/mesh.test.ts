import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli.js';
import { imageFixtures } from '../helpers/images.js';
import { freePorts } from '../helpers/ports.js';
import { execFile } from 'node:child_process';
import { PYTHON } from '../helpers/python.js';
import { eventually } from '../helpers/zmq.js';

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

/** Every command line the mesh printed, as printed: steward's, the Python one-liner and curl. */
function everyPrintedLine(lines: string[]): string[] {
  return lines.map((l) => l.trim()).filter((l) => l.startsWith('node dist/main.js ') || l.startsWith('/usr/bin/python3 -c ') || l.startsWith('curl '));
}

/** Runs `command` until `done` accepts its output (bounded): parts that register or ping first answer within a beat or two. */
async function until<T>(command: () => Promise<T>, done: (r: T) => boolean): Promise<T> {
  let result = await command();
  for (let i = 0; i < 40 && !done(result); i++) {
    await new Promise((r) => setTimeout(r, 250));
    result = await command();
  }
  return result;
}

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

interface Expected {
  /** The picture the printed api.images commands name, and what its info must say. */
  readonly picture: { name: string; format: string; width: number; height: number };
  /** The folder api.images serves (from the printed "Pictures" line). */
  readonly root: string;
}

/**
 * Runs every command the mesh printed, in the order printed, exactly as
 * printed (split on spaces), and checks each answer. A printed line this
 * does not know fails the test, so a new line needs its check here.
 */
async function runEveryPrintedCommand(mesh: CliProcess, expected: Expected): Promise<void> {
  const lines = everyPrintedLine(mesh.lines);
  let ran = 0;
  for (const line of lines) {
    if (line.startsWith('/usr/bin/python3 -c ')) {
      const script = line.slice(line.indexOf('"') + 1, line.lastIndexOf('"'));
      const balancer = await run(PYTHON, ['-c', script]);
      expect(balancer.stdout, line).toContain('web-');
      ran++;
      continue;
    }
    if (line.startsWith('curl ')) {
      // The example node answers the gateway's first ping within a ping period.
      const page = await until(() => run('curl', line.split(/\s+/).slice(1)), (r) => r.stdout.startsWith('hello'));
      expect(page, line).toMatchObject({ code: 0, stdout: 'hello from web1 through the steward gateway: GET /hello\n' });
      ran++;
      continue;
    }
    const c = line.slice('node dist/main.js '.length).split(/\s+/);
    const has = (...words: string[]) => words.every((w) => c.includes(w));
    if (has('--call', 'echo')) expect(await runCli(c), line).toMatchObject({ code: 0, stdout: 'hello' });
    else if (has('--mmi', 'api.images')) expect(await runCli(c), line).toMatchObject({ code: 0, stdout: '200' });
    else if (has('--rpc', 'info')) {
      const info = await runCli(c);
      expect(info.code, `${line}: ${info.stderr}`).toBe(0);
      expect(JSON.parse(info.stdout)).toMatchObject(expected.picture);
    } else if (has('--stream', 'resize_images')) {
      // One line per picture written as it is written, then the summary.
      const streamed = await runCli(c);
      expect(streamed.code, `${line}: ${streamed.stderr}`).toBe(0);
      const name = expected.picture.name.replace(/(\.\w+)$/, '.64x48$1');
      expect(streamed.stdout.split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
        { input: expected.picture.name, output: name, width: 64, height: 48 },
        { written: [name], failed: 0 },
      ]);
      expect(existsSync(join(expected.root, name))).toBe(true);
    } else if (has('--rpc', 'resize_image')) {
      const resized = await runCli(c);
      expect(resized.code, `${line}: ${resized.stderr}`).toBe(0);
      const name = JSON.parse(resized.stdout) as string;
      expect(name).toBe(expected.picture.name.replace(/(\.\w+)$/, '.160x100$1'));
      expect(existsSync(join(expected.root, name))).toBe(true);
    } else if (has('--call', 'mmi.services')) {
      const services = await runCli(c);
      expect(JSON.parse(services.stdout).map((s: { name: string }) => s.name).sort(), line).toEqual(['api.images', 'echo']);
    } else if (c[1] === 'show' && has('TEMP', 'MODE')) {
      // The dispatcher registers with the registry within a heartbeat or two.
      expect(await until(() => runCli(c), (r) => r.code === 0), line).toMatchObject({ code: 0, stdout: 'TEMP = 20.5\nMODE = Auto' });
    } else if (c[1] === 'modify') expect(await runCli(c), line).toMatchObject({ code: 0, stdout: 'SETPOINT = 22.5' });
    else if (c[1] === 'show' && has('--monitor')) {
      const monitor = new CliProcess(c);
      procs.push(monitor);
      await monitor.waitForLog((l) => l.msg === 'monitoring');
      // A change to watch: the printed modify again, with another value.
      const modify = printedCommands(mesh.lines).find((m) => m[1] === 'modify')!;
      expect(await runCli(modify.map((a) => (a === 'SETPOINT=22.5' ? 'SETPOINT=23.5' : a)))).toMatchObject({ code: 0 });
      await monitor.waitForLine((l) => l === 'SETPOINT = 23.5');
    } else if (c[1] === 'worker' && has('--service', 'upper')) {
      procs.push(new CliProcess(c));
      await mesh.waitForLog((l) => l.msg === 'worker registered' && l['service'] === 'upper', 15_000);
    } else if (has('--call', 'upper')) expect(await runCli(c), line).toMatchObject({ code: 0, stdout: 'HELLO' });
    else throw new Error(`the mesh printed a command this test does not check: ${line}`);
    ran++;
  }
  expect(ran).toBe(lines.length);
  expect(ran).toBe(13);
}

/** The folder named by the printed "Pictures (api.images): DIR" line. */
function picturesRoot(mesh: CliProcess): string {
  const line = mesh.lines.find((l) => l.startsWith('Pictures (api.images): '))!;
  return line.slice('Pictures (api.images): '.length).split(/ \(|\.$/)[0]!;
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
    const root = picturesRoot(mesh);
    await runEveryPrintedCommand(mesh, { root, picture: { name: 'sample.png', format: 'png', width: 320, height: 200 } });
    const commands = printedCommands(mesh.lines);
    const byRole = (role: string, has: string) => commands.find((c) => c[1] === role && c.includes(has))!;

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
    // The sample picture's folder was made for this run.
    expect(existsSync(root)).toBe(false);
  });

  it('should run every part with CURVE under --curve: the printed commands work, a client without the keys gets nothing, and SIGINT removes the keys', async () => {
    const [base] = await freePorts(50);
    const images = await imageFixtures();
    cleanups.push(images.cleanup);
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
    // The fixtures' first picture by name is a.png (300x200): the printed api.images commands name it.
    await runEveryPrintedCommand(mesh, { root: images.dir, picture: { name: 'a.png', format: 'png', width: 300, height: 200 } });
    const byRole = (role: string, has: string) => commands.find((c) => c[1] === role && c.includes(has))!;
    const call = byRole('client', '--call');
    const show = byRole('show', 'TEMP');
    expect(everyPrintedLine(mesh.lines).find((l) => l.startsWith('/usr/bin/python3'))).toContain('curve_serverkey');

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
    // The second broker is a process of its own: the printed command kills it, calls go on through the first,
    // and the mesh starts it again, with both workers registered.
    const kill = mesh.lines.find((l) => l.trim().startsWith('pkill -f -- '))!.trim();
    const pattern = /^pkill -f -- '(.*)'$/.exec(kill)![1]!;
    expect(pattern).toBe(`--frontend tcp://127.0.0.1:${base! + 7}`);
    const killed = await run('pkill', ['-f', '--', pattern]);
    expect(killed.code).toBe(0);
    await mesh.waitForLog((l) => l.msg === 'child process exited' && l['child'] === 'broker.2');
    expect(await runCli(call)).toMatchObject({ code: 0, stdout: 'hello' });
    await mesh.waitForLog((l) => l.msg === 'child restarted' && l['child'] === 'broker.2', 20_000);
    await eventually(async () => (await runCli(['--role', 'client', '--broker', frontends[1]!, '--mmi', 'echo'])).stdout === '200', 20_000, 200);
    mesh.signal('SIGINT');
    expect(await mesh.exit(20_000)).toBe(0);
  });
});
