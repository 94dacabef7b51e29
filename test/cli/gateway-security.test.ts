import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayBackend, type GatewayBackendOptions } from '../../src/api/gateway-backend.js';
import { parseKeyFile } from '../../src/security/keys.js';
import { CliProcess, runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/zmq.js';

const started: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (started.length > 0) await started.pop()!();
});

interface Pair {
  readonly file: string;
  readonly publicKey: string;
  readonly secretKey: string;
}

let dir = '';
let keys: Record<'gateway' | 'node' | 'stranger', Pair>;

/** A pair made with the real `keygen`. */
async function keygen(name: string): Promise<Pair> {
  const file = join(dir, `${name}.key`);
  const { code, stderr } = await runCli(['keygen', '--out', file]);
  expect(code, stderr).toBe(0);
  return { file, ...parseKeyFile(readFileSync(file, 'utf8'), file) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'steward-gw-sec-'));
  const [gateway, node, stranger] = await Promise.all(['gateway', 'node', 'stranger'].map(keygen));
  keys = { gateway: gateway!, node: node!, stranger: stranger! };
  writeFileSync(join(dir, 'nodes.allow'), `# the nodes of the gateway\n${keys.node.publicKey}  # web1\n`);
});

/** An INI in the keys' folder: CURVE lines (relative paths) and node names are the test's. */
function ini(name: string, extra: string, hosts: Record<string, string[]> = { '127.0.0.1': ['web1'] }): string {
  const file = join(dir, name);
  const sections = Object.entries(hosts).map(([host, nodes]) => `[blastbeat:${host}]\n${nodes.map((n) => `node = ${n}`).join('\n')}\n`);
  writeFileSync(file, `[blastbeat]\nbind = 127.0.0.1:0\nzmq = tcp://127.0.0.1:*\nping-freq = 0.1\n${extra}\n${sections.join('\n')}`);
  return file;
}

async function gateway(args: string[]) {
  const p = new CliProcess(['--role', 'gateway', ...args]);
  started.push(() => p.stop());
  const listening = await p.waitForLog((l) => l.msg === 'gateway listening');
  return { p, http: (listening['http'] as string[])[0]!, zmq: (listening['zmq'] as string[])[0]! };
}

function node(zmq: string, name: string, who: 'node' | 'stranger' | 'plain', extra: Partial<GatewayBackendOptions> = {}) {
  const backend = GatewayBackend.start({
    endpoint: zmq,
    node: name,
    onRequest: () => ({ body: `${name} (${who})` }),
    ...(who === 'plain' ? {} : { curve: { serverKey: keys.gateway.publicKey, secretKey: keys[who].secretKey } }),
    ...extra,
  });
  started.push(() => backend.close());
  return backend;
}

/** One request on a connection of its own (no pool: a kept connection would keep its session bound). */
function get(base: string, path: string, host?: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, rejectGet) => {
    const req = http.request({ host: url.hostname, port: url.port, path, agent: false, headers: host ? { Host: `${host}:${url.port}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${path} within 10 s`)));
    req.on('error', rejectGet);
    req.end();
  });
}

const available = (p: CliProcess, name: string) => p.waitForLog((l) => l.msg === 'node available' && l['node'] === name);

describe('steward --role gateway with CURVE', () => {
  it('should take its key pair and allow-list from the INI, serve an allowed node and refuse and log the rest', async () => {
    const file = ini('curve.ini', 'curve-secret-key-file = gateway.key\ncurve-allow = nodes.allow', { '127.0.0.1': ['web1'], localhost: ['intruder', 'plain'] });
    const { p, http, zmq } = await gateway(['-c', file]);
    expect(p.logs.find((l) => l.msg === 'CURVE on')).toMatchObject({ publicKey: keys.gateway.publicKey, allowed: 1 });
    node(zmq, 'web1', 'node');
    await available(p, 'web1');
    expect(await get(http, '/')).toEqual({ status: 200, body: 'web1 (node)' });

    node(zmq, 'intruder', 'stranger');
    const refusal = await p.waitForLog((l) => l.msg === 'peer refused');
    expect(refusal).toMatchObject({ server: 'gateway', reason: 'unknown_key', key: keys.stranger.publicKey, address: '127.0.0.1' });
    node(zmq, 'plain', 'plain');
    await p.waitForLog((l) => l.msg === 'handshake refused' && l['server'] === 'gateway');
    // Neither became available: the host they serve has no node.
    const res = await get(http, '/', 'localhost');
    expect(res.status).toBe(503);
    expect(res.body).toContain('no node of "localhost" is available');
    expect(p.logs.filter((l) => l.msg === 'node available').map((l) => l['node'])).toEqual(['web1']);
  });

  it('should take the flags instead, and let a node in once its key is added and SIGHUP sent', async () => {
    const allow = join(dir, 'hup.allow');
    writeFileSync(allow, '# nobody yet\n');
    const { p, http, zmq } = await gateway(['-c', ini('plain.ini', ''), '--curve-secret-key-file', keys.gateway.file, '--curve-allow', allow]);
    node(zmq, 'web1', 'node');
    await p.waitForLog((l) => l.msg === 'peer refused' && l['key'] === keys.node.publicKey);
    appendFileSync(allow, `${keys.node.publicKey}\n`);
    p.signal('SIGHUP');
    await p.waitForLog((l) => l.msg === 'allow-list replaced' && l['allowed'] === 1);
    // A refused node does not retry by itself (libzmq, 400): a restarted one is let in.
    node(zmq, 'web1', 'node');
    await available(p, 'web1');
    expect(await get(http, '/')).toEqual({ status: 200, body: 'web1 (node)' });
  });

  it('should exit 2 naming the file, key and fix for half a CURVE setup', async () => {
    const noPair = await runCli(['--role', 'gateway', '-c', ini('half.ini', 'curve-allow = nodes.allow')]);
    expect(noPair.code).toBe(2);
    expect(noPair.stderr).toContain(`${join(dir, 'half.ini')}: [blastbeat] curve-secret-key-file: missing`);
    expect(noPair.stderr).toContain('fix: steward keygen');
    const noAllow = await runCli(['--role', 'gateway', '-c', ini('plain2.ini', ''), '--curve-secret-key-file', keys.gateway.file]);
    expect(noAllow.code).toBe(2);
    expect(noAllow.stderr).toContain('without an allow-list any key would be let in');
    const badPath = await runCli(['--role', 'gateway', '-c', ini('missing.ini', 'curve-secret-key-file = nowhere.key\ncurve-allow = nodes.allow')]);
    expect(badPath.code).toBe(2);
    expect(badPath.stderr).toContain(join(dir, 'nowhere.key'));
  });
});

describe('steward --role gateway --node-sessions', () => {
  it('should answer 503 once the only node holds its maximum of sessions', async () => {
    const { p, http, zmq } = await gateway(['-c', ini('limit.ini', 'node-sessions = 50'), '--node-sessions', '1']);
    const held: string[] = [];
    let release: () => void = () => undefined;
    const hold = new Promise<void>((resolve) => (release = resolve));
    started.push(() => release());
    node(zmq, 'web1', 'plain', {
      onRequest: async (req) => {
        held.push(req.path);
        if (req.path === '/hold') await hold;
        return { body: 'done' };
      },
    });
    await available(p, 'web1');
    const holder = get(http, '/hold');
    await eventually(() => held.includes('/hold'), 10_000);
    const refused = await get(http, '/second');
    expect(refused.status).toBe(503);
    expect(refused.body).toContain('every available node of "127.0.0.1" has its maximum of 1 sessions');
    expect(held).toEqual(['/hold']);
    release();
    expect(await holder).toEqual({ status: 200, body: 'done' });
  });

  it('should list the new flags in --help and refuse a limit of 0', async () => {
    const help = await runCli(['--role', 'gateway', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--node-sessions N', '--curve-secret-key-file FILE', '--curve-allow FILE']) expect(help.stdout).toContain(flag);
    const zero = await runCli(['--role', 'gateway', '-c', ini('zero.ini', ''), '--node-sessions', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--node-sessions must be a whole number from 1');
  });
});
