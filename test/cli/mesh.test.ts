import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PYTHON } from '../helpers/python.js';

const procs: CliProcess[] = [];
afterEach(async () => {
  while (procs.length) await procs.pop()!.stop();
});

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

    mesh.signal('SIGINT');
    expect(await mesh.exit(20_000)).toBe(0);
  });
});
