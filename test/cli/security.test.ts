import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseKeyFile } from '../../src/security/keys.js';
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

async function startBroker(extra: string[]) {
  const broker = start(['--role', 'broker', '--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:*', ...extra]);
  const line = await broker.waitForLog((l) => l.msg === 'broker listening');
  const endpoints = line['endpoints'] as Record<string, string[]>;
  return { broker, frontend: endpoints['broker.frontend']![0]!, backend: endpoints['broker.backend']![0]! };
}

/** Keys made with the real `keygen`: the broker's pair, a worker's and a client's, and an allow-list of the last two. */
let dir = '';
let keys: { broker: string; worker: string; client: string; stranger: string; allow: string; brokerPublic: string };

async function keygen(name: string): Promise<{ file: string; publicKey: string }> {
  const file = join(dir, `${name}.key`);
  const { code, stdout, stderr } = await runCli(['keygen', '--out', file]);
  expect(code, stderr).toBe(0);
  return { file, publicKey: stdout.trim() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'steward-sec-'));
  const [broker, worker, client, stranger] = await Promise.all(['broker', 'worker', 'client', 'stranger'].map(keygen));
  const allow = join(dir, 'broker.allow');
  writeFileSync(allow, `# who may talk to the broker\n${worker!.publicKey}  # echo worker\n`);
  appendFileSync(allow, `${client!.publicKey}\n`);
  keys = { broker: broker!.file, worker: worker!.file, client: client!.file, stranger: stranger!.file, allow, brokerPublic: broker!.publicKey };
});

describe('steward keygen', () => {
  it('should write a key pair only its owner can read, and print the public key', async () => {
    const text = readFileSync(keys.broker, 'utf8');
    const pair = parseKeyFile(text, keys.broker);
    expect(pair.publicKey).toBe(keys.brokerPublic);
    expect(statSync(keys.broker).mode & 0o777).toBe(0o600);
  });

  it('should refuse to replace a key file without --force, and print a pair without --out', async () => {
    const again = await runCli(['keygen', '--out', keys.broker]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${keys.broker}: file: exists already`);
    const printed = await runCli(['--role', 'keygen']);
    expect(printed.code).toBe(0);
    expect(parseKeyFile(printed.stdout, 'stdout').secretKey).toHaveLength(40);
  });
});

describe('CURVE between real processes', () => {
  it('should serve allowed peers and refuse and log everyone else', async () => {
    const { broker, frontend, backend } = await startBroker(['--curve-secret-key-file', keys.broker, '--curve-allow', keys.allow]);
    const worker = start(['--role', 'worker', '--service', 'echo', '--broker', backend, '--heartbeat', '200', '--curve-server-key', keys.brokerPublic, '--curve-secret-key-file', keys.worker]);
    await broker.waitForLog((l) => l.msg === 'worker registered');

    const ok = await runCli(['--role', 'client', '--call', 'echo', 'hello', '--broker', frontend, '--curve-server-key', keys.brokerPublic, '--curve-secret-key-file', keys.client]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('hello');

    const strangerPublic = parseKeyFile(readFileSync(keys.stranger, 'utf8'), keys.stranger).publicKey;
    const bad = await runCli(['--role', 'client', '--call', 'echo', 'hi', '--broker', frontend, '--timeout', '500', '--retries', '0', '--curve-server-key', keys.brokerPublic, '--curve-secret-key-file', keys.stranger]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('no reply from echo within 500 ms');
    expect(bad.logs.find((l) => l.msg.includes('refused this client'))).toMatchObject({ publicKey: strangerPublic });
    const refusal = await broker.waitForLog((l) => l.msg === 'peer refused');
    expect(refusal).toMatchObject({ server: 'broker', reason: 'unknown_key', key: strangerPublic, address: '127.0.0.1' });

    const plain = await runCli(['--role', 'client', '--call', 'echo', 'hi', '--broker', frontend, '--timeout', '500', '--retries', '0']);
    expect(plain.code).toBe(1);
    await broker.waitForLog((l) => l.msg === 'handshake refused');
    expect(worker.child.exitCode).toBeNull();
  });

  it('should let in a key added to the allow-list on SIGHUP', async () => {
    const allow = join(dir, 'hup.allow');
    writeFileSync(allow, '# nobody yet\n');
    const { broker, frontend } = await startBroker(['--curve-secret-key-file', keys.broker, '--curve-allow', allow]);
    const ask = ['--role', 'client', '--mmi', 'echo', '--broker', frontend, '--timeout', '500', '--retries', '0', '--curve-server-key', keys.brokerPublic, '--curve-secret-key-file', keys.client];
    expect((await runCli(ask)).code).toBe(1);
    appendFileSync(allow, `${parseKeyFile(readFileSync(keys.client, 'utf8'), keys.client).publicKey}\n`);
    broker.signal('SIGHUP');
    await broker.waitForLog((l) => l.msg === 'allow-list replaced' && l['allowed'] === 1);
    const after = await runCli(ask);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('404');
  });

  it('should exit 2 naming the file, field and fix for bad CURVE flags', async () => {
    const noKey = await runCli(['--role', 'broker', '--curve-allow', keys.allow]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--curve-allow needs --curve-secret-key-file');
    const noAllow = await runCli(['--role', 'broker', '--curve-secret-key-file', keys.broker]);
    expect(noAllow.code).toBe(2);
    expect(noAllow.stderr).toContain('without an allow-list any key would be let in');
    const badAllow = join(dir, 'bad.allow');
    writeFileSync(badAllow, 'public-key = nope\n');
    const bad = await runCli(['--role', 'broker', '--curve-secret-key-file', keys.broker, '--curve-allow', badAllow]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`bad configuration: ${badAllow}: line 1:`);
    const missing = await runCli(['--role', 'worker', '--service', 'echo', '--curve-server-key', join(dir, 'missing.pub')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing.pub: file: no such file');
  });

  it('should run a keyword mesh (registry, dispatcher, show, modify) over CURVE', async () => {
    const ports = await freePorts(5);
    const config = join(dir, 'kw.ini');
    writeFileSync(config, `[zmq]\nhost = localhost\n\n[zmq-router]\nport = ${ports[0]}\nfirst-port = ${ports[1]}\nlast-port = ${ports[4]}\ntimeout = 500\nheartbeat = 100\nliveness = 3\nallow-spawn = no\n`);
    const kw = join(dir, 'keywords.json');
    writeFileSync(kw, JSON.stringify({ keywords: [{ name: 'TEMP', type: 'double', initial: 20.5 }] }));
    const curve = ['--curve-secret-key-file', keys.broker, '--curve-allow', keys.allow];
    const registry = start(['--role', 'registry', '-c', config, ...curve]);
    await registry.waitForLog((l) => l.msg === 'registry listening');
    const dispatcher = start(['--role', 'dispatcher', '--service', 'thermo', '--keywords', kw, '-c', config, ...curve]);
    await dispatcher.waitForLog((l) => l.msg === 'dispatcher listening');

    const asClient = ['-c', config, '--curve-server-key', keys.brokerPublic, '--curve-secret-key-file', keys.client];
    const modify = await runCli(['--role', 'modify', '-s', 'thermo', 'TEMP=22.5', ...asClient]);
    expect(modify.code, modify.stderr).toBe(0);
    const show = await runCli(['--role', 'show', '-s', 'thermo', 'TEMP', ...asClient]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('TEMP = 22.5');

    const refused = await runCli(['--role', 'show', '-s', 'thermo', 'TEMP', '-c', config, '--timeout', '300', '--curve-server-key', keys.brokerPublic, '--curve-secret-key-file', keys.stranger]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('registry-unavailable');
    await registry.waitForLog((l) => l.msg === 'peer refused');
  });
});

describe('limits between real processes', () => {
  it('should tell a client its request is over --max-message-size or --max-frames', async () => {
    const { frontend } = await startBroker(['--max-message-size', '2048', '--max-frames', '12']);
    const big = await runCli(['--role', 'client', '--call', 'echo', 'x'.repeat(3000), '--broker', frontend, '--retries', '0']);
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/echo: 413 request for echo exceeds the broker's message size limit \(\d+ bytes > 2048\)/);
    const many = await runCli(['--role', 'client', '--call', 'echo', ...Array.from({ length: 12 }, (_, i) => String(i)), '--broker', frontend, '--retries', '0']);
    expect(many.code).toBe(1);
    expect(many.stderr).toContain('413 request for echo exceeds the broker\'s frame count limit (14 frames > 12)');
  });

  it('should refuse limit flags out of range', async () => {
    const bad = await runCli(['--role', 'broker', '--max-frames', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-frames must be a whole number from 8');
    const clients = await runCli(['--role', 'broker', '--max-clients', '0']);
    expect(clients.code).toBe(2);
  });
});
