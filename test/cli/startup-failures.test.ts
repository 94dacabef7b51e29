import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli.js';
import { selfSigned } from '../helpers/gateway.js';
import { freePorts } from '../helpers/ports.js';

const GATEWAY_INI = fileURLToPath(new URL('../../examples/gateway/gateway.ini', import.meta.url));
const KEYWORDS = fileURLToPath(new URL('../../examples/keywords/keywords.json', import.meta.url));
const IN_USE = 'address already in use (another process listens there: stop it or choose another port)';

const procs: CliProcess[] = [];
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (procs.length) await procs.pop()!.stop();
  while (cleanups.length) await cleanups.pop()!();
});

/** A port on 127.0.0.1 held by this test process: what another program listening there looks like. */
async function heldPort(port = 0): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-startup-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Runs a start that must fail: exit code 2, and exactly this one line on stderr (no stack trace, no retries). */
async function expectStartFailure(args: string[], line: string): Promise<Awaited<ReturnType<typeof runCli>>> {
  const result = await runCli(args, 15_000);
  expect(result.stderr).toBe(`steward: ${line}\n`);
  expect(result.code).toBe(2);
  // A start failure is not a crash: nothing was restarted first.
  expect(result.logs.filter((l) => l.msg === 'child restarted')).toEqual([]);
  return result;
}

describe('startup failures: at once, exit code 2, one line naming the flag, the endpoint and the cause', () => {
  it('should refuse a --frontend another broker holds, without restarting the socket', async () => {
    const first = new CliProcess(['--role', 'broker', '--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:*']);
    procs.push(first);
    const listening = await first.waitForLog((l) => l.msg === 'broker listening');
    const taken = (listening['endpoints'] as Record<string, string[]>)['broker.frontend']![0]!;
    const result = await expectStartFailure(
      ['--role', 'broker', '--frontend', taken, '--backend', 'tcp://127.0.0.1:*'],
      `--frontend: cannot bind ${taken} (broker.frontend): ${IN_USE}`,
    );
    expect(result.logs.some((l) => l.msg === 'child failed to start; the supervisor fails its own start' && l['child'] === 'frontend')).toBe(true);
    // The first broker is untouched.
    expect(first.child.exitCode).toBeNull();
  });

  it('should name the default endpoint of a flag that was not given', async () => {
    const port = await heldPort();
    await expectStartFailure(
      ['--role', 'broker', '--frontend', 'tcp://127.0.0.1:*', '--backend', `tcp://127.0.0.1:${port}`],
      `--backend: cannot bind tcp://127.0.0.1:${port} (broker.backend): ${IN_USE}`,
    );
  });

  it('should refuse a protocol libzmq does not have', async () => {
    await expectStartFailure(
      ['--role', 'broker', '--frontend', 'bogus://x', '--backend', 'tcp://127.0.0.1:*'],
      '--frontend: cannot bind bogus://x (broker.frontend): protocol "bogus" not supported (use tcp://, ipc:// or inproc://)',
    );
  });

  it('should refuse a port past 65535, which libzmq would wrap to another port', async () => {
    await expectStartFailure(
      ['--role', 'broker', '--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:99999'],
      '--backend: cannot bind tcp://127.0.0.1:99999 (broker.backend): port "99999" is not a port number (1-65535, or * for any free one)',
    );
  });

  it('should refuse a host that is no interface of this machine', async () => {
    await expectStartFailure(
      ['--role', 'broker', '--frontend', 'tcp://nohost.invalid:5555', '--backend', 'tcp://127.0.0.1:*'],
      // The broker's own ZMTP ROUTER resolves the host with node (libzmq says "no such network interface or host").
      '--frontend: cannot bind tcp://nohost.invalid:5555 (broker.frontend): cannot resolve the host name',
    );
  });

  it('should say permission denied for a port below 1024 bound without root', async () => {
    const asRoot = process.getuid?.() === 0;
    if (!asRoot && Number(readSysctl('net/ipv4/ip_unprivileged_port_start') ?? 1024) <= 80) return; // this machine lets anyone bind port 80
    // As root, drop to nobody for this one process: root may bind any port.
    const prefix = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const broker = new CliProcess(['--role', 'broker', '--frontend', 'tcp://127.0.0.1:80', '--backend', 'tcp://127.0.0.1:*'], {}, prefix);
    procs.push(broker);
    expect(await broker.exit(15_000)).toBe(2);
    expect(broker.stderr).toBe('steward: --frontend: cannot bind tcp://127.0.0.1:80 (broker.frontend): permission denied (ports below 1024 need root)\n');
  });

  it('should refuse a taken --bind for the sink and the balancer, and a taken --port for the registry', async () => {
    const port = await heldPort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    await expectStartFailure(['--role', 'sink', '--bind', endpoint], `--bind: cannot bind ${endpoint} (sink.socket): ${IN_USE}`);
    await expectStartFailure(
      ['--role', 'balancer', '-c', fileURLToPath(new URL('../../examples/balancer/config.json', import.meta.url)), '--bind', endpoint],
      `--bind: cannot bind ${endpoint} (balancer.socket): ${IN_USE}`,
    );
    await expectStartFailure(['--role', 'registry', '--port', String(port)], `--port: cannot bind tcp://127.0.0.1:${port} (registry.socket): ${IN_USE}`);
  });

  it("should name the config file's section when a dispatcher's own port is taken", async () => {
    const port = await heldPort();
    const ini = tempFile('keywords.ini', `[zmq]\nhost = 127.0.0.1\ndispatch-port = ${port}\nbroadcast-port = ${port + 1}\n\n[zmq-router]\nenable = no\n`);
    await expectStartFailure(
      ['--role', 'dispatcher', '-s', 'thermo', '-k', KEYWORDS, '-c', ini],
      `[zmq] host, dispatch-port and broadcast-port in ${ini}: cannot bind tcp://127.0.0.1:${port} (dispatcher.thermo.dispatch.0): ${IN_USE}`,
    );
  });

  it("should refuse the gateway's taken HTTP port, HTTPS port and nodes' ROUTER", async () => {
    const port = await heldPort();
    await expectStartFailure(
      ['--role', 'gateway', '-c', GATEWAY_INI, '--bind', `127.0.0.1:${port}`, '--zmq', 'tcp://127.0.0.1:*'],
      `--bind: cannot listen on 127.0.0.1:${port} (gateway.http): ${IN_USE}`,
    );
    await expectStartFailure(
      ['--role', 'gateway', '-c', GATEWAY_INI, '--bind', '127.0.0.1:0', '--zmq', `tcp://127.0.0.1:${port}`],
      `--zmq: cannot bind tcp://127.0.0.1:${port} (gateway.zmq): ${IN_USE}`,
    );
    const tls = await selfSigned(['localhost']);
    cleanups.push(() => rmSync(tls.dir, { recursive: true, force: true }));
    const ini = tempFile(
      'gateway.ini',
      `[blastbeat]\nbind = 127.0.0.1:0\nbind-ssl = 127.0.0.1:${port}\nzmq = tcp://127.0.0.1:*\n\n[blastbeat:localhost]\nnode = web1\ncertificate = ${tls.cert}\nkey = ${tls.key}\n`,
    );
    await expectStartFailure(['--role', 'gateway', '-c', ini], `bind-ssl in the INI file: cannot listen on 127.0.0.1:${port} (gateway.https): ${IN_USE}`);
  });

  it("should refuse a worker's connect specs: a bad protocol, a host that does not resolve, for --broker and --sink", async () => {
    await expectStartFailure(
      ['--role', 'worker', '--service', 'echo', '--broker', 'bogus://x'],
      '--broker: cannot connect bogus://x (worker.link.0.socket): protocol "bogus" not supported (use tcp://, ipc:// or inproc://)',
    );
    await expectStartFailure(
      ['--role', 'worker', '--service', 'echo', '--broker', 'tcp://nohost.invalid:5556'],
      '--broker: cannot connect tcp://nohost.invalid:5556 (worker.link.0.socket): cannot resolve the host name "nohost.invalid"',
    );
    await expectStartFailure(
      ['--role', 'worker', '--service', 'echo', '--broker', 'tcp://127.0.0.1:5556', '--sink', 'tcp://nohost.invalid:5558'],
      '--sink: cannot connect tcp://nohost.invalid:5558 (worker.sink): cannot resolve the host name "nohost.invalid"',
    );
  });

  it("should refuse a client's --broker before waiting out its retries", async () => {
    await expectStartFailure(
      ['--role', 'client', '--broker', 'tcp://nohost.invalid:5555', '--call', 'echo', 'hi'],
      '--broker: cannot connect tcp://nohost.invalid:5555 (client): cannot resolve the host name "nohost.invalid"',
    );
    await expectStartFailure(
      ['--role', 'client', '--broker', 'tcp://127.0.0.1:*', '--call', 'echo', 'hi'],
      '--broker: cannot connect tcp://127.0.0.1:* (client): a port of * only makes sense to bind; connect to a port number',
    );
  });

  it("should name show's config file when its registry host does not resolve", async () => {
    const ini = tempFile('keywords.ini', '[zmq-router]\nhost = nohost.invalid\nport = 6510\n');
    await expectStartFailure(
      ['--role', 'show', '-s', 'thermo', '-c', ini, 'TEMP'],
      `[zmq-router] host in ${ini}: cannot connect tcp://nohost.invalid:6510 (show.registry): cannot resolve the host name "nohost.invalid"`,
    );
  });

  it('should refuse a taken --inspect or --metrics port, with the next port to try', async () => {
    const port = await heldPort();
    const inspect = await runCli(['--role', 'broker', '--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:*', '--inspect', String(port)]);
    expect(inspect.code).toBe(2);
    expect(inspect.stderr).toBe(`steward: --inspect: cannot listen on 127.0.0.1:${port}: ${IN_USE}\ntry: --inspect ${port + 1}\n`);
    const metrics = await runCli(['--role', 'sink', '--bind', 'tcp://127.0.0.1:*', '--metrics', String(port)]);
    expect(metrics.code).toBe(2);
    expect(metrics.stderr).toBe(`steward: --metrics: cannot listen on 127.0.0.1:${port}: ${IN_USE}\ntry: --metrics ${port + 1}\n`);
  });

  it('should fail the whole mesh when one of its ports is taken, naming --base-port', async () => {
    const [base] = await freePorts(50);
    const port = await heldPort(base);
    // The broker's frontend is the base port itself.
    await expectStartFailure(['--role', 'mesh', '--base-port', String(port)], `--base-port: cannot bind tcp://127.0.0.1:${port} (broker.frontend): ${IN_USE}`);
  });
});

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${path}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
