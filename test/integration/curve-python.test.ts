/**
 * CURVE with peers in another language: Python (Debian's python3-zmq) MDP
 * workers and clients through a CURVE broker, and a Python BlastBeat node
 * behind a CURVE gateway. The keys are steward key files (what `keygen`
 * writes); the peers read them with pyzmq's own tools (test/peers/steward_curve.py).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { generateKeyPair, writeKeyFile, type CurveKeyPair } from '../../src/security/keys.js';
import { AUTH_REFUSED_METRIC } from '../../src/security/refusals.js';
import { Cleanup, startGateway } from '../helpers/gateway.js';
import { captureLogs } from '../helpers/logs.js';
import { PythonPeer, runPython } from '../helpers/python.js';
import { ANY, eventually } from '../helpers/zmq.js';

interface KeyFile extends CurveKeyPair {
  readonly file: string;
}

let dir = '';
let server: KeyFile;
/** The server's public key alone, as `steward keygen --out server.key > server.pub` hands it out. */
let serverPub = '';
let worker: KeyFile;
let client: KeyFile;
let node: KeyFile;
let stranger: KeyFile;

/** A pair written exactly as `steward keygen --out` writes it (0600, `name = value` lines). */
async function keyFile(name: string): Promise<KeyFile> {
  const pair = generateKeyPair();
  const file = join(dir, `${name}.key`);
  await writeKeyFile(file, pair);
  return { ...pair, file };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steward-pycurve-'));
  [server, worker, client, node, stranger] = await Promise.all(['server', 'worker', 'client', 'node', 'stranger'].map(keyFile)) as [KeyFile, KeyFile, KeyFile, KeyFile, KeyFile];
  serverPub = join(dir, 'server.pub');
  await writeFile(serverPub, `${server.publicKey}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function curveBroker() {
  const metrics = new Metrics('broker');
  const { logger, lines } = captureLogs();
  const broker = await Broker.start({
    frontend: ANY,
    backend: ANY,
    drainTimeoutMs: 200,
    curve: { secretKey: server.secretKey, allow: [worker.publicKey, client.publicKey] },
    metrics,
    logger,
  });
  cleanup.add(() => broker.stop());
  return { broker, metrics, lines, ...(await broker.endpoints()) };
}

/** A Python peer, killed by its own pid after the test. */
function python(script: string, args: string[]): PythonPeer {
  const p = new PythonPeer(script, args);
  cleanup.add(() => p.kill());
  return p;
}

const refusals = (metrics: Metrics, server: string, reason: string) => metrics.value(AUTH_REFUSED_METRIC, { server, reason });

describe("steward's key files read by pyzmq", () => {
  it('should give pyzmq (zmq.auth.load_certificate, z85, curve_public) the same pair steward wrote', async () => {
    for (const pair of [server, worker, stranger]) {
      const read = await runPython('steward_curve.py', [pair.file]);
      expect(read, read.stderr).toMatchObject({ code: 0, stdout: `${pair.publicKey}\n` });
    }
  });
});

describe('Python MDP peers through a CURVE broker', () => {
  it('should serve a Python client (keys as text) from a Python worker (a key file) when both keys are allowed', async () => {
    const { frontend, backend, broker, metrics } = await curveBroker();
    // The worker names the server key by a file of the bare key, the client by the key itself.
    python('mdp_worker.py', [backend, 'py.echo', '--curve-server-key', serverPub, '--curve-secret-key-file', worker.file]);
    await eventually(() => broker.core()?.workerCount === 1, 10_000, 50);
    const clientKeys = ['--curve-server-key', server.publicKey, '--curve-public-key', client.publicKey, '--curve-secret-key', client.secretKey];
    const reply = await runPython('mdp_client.py', [frontend, 'py.echo', 'hello', 'world', ...clientKeys]);
    expect(reply, reply.stderr).toMatchObject({ code: 0, stdout: 'py:HELLO\npy:WORLD\n' });
    // A steward client with an allowed key reaches the same Python worker.
    const c = new Client({ broker: frontend, timeout: 2_500, retries: 0, curve: { serverKey: server.publicKey, secretKey: client.secretKey } });
    cleanup.add(() => c.close());
    expect((await c.call('py.echo', 'ts')).map(String)).toEqual(['py:TS']);
    expect(await metrics.value(AUTH_REFUSED_METRIC)).toBe(0);
  });

  it('should give a Python client whose key is not on the list nothing, and count the refusal', async () => {
    const { frontend, backend, broker, metrics, lines } = await curveBroker();
    python('mdp_worker.py', [backend, 'py.echo', '--curve-server-key', server.file, '--curve-secret-key-file', worker.file]);
    await eventually(() => broker.core()?.workerCount === 1, 10_000, 50);
    const refused = await runPython('mdp_client.py', [frontend, 'py.echo', 'let me in', '--curve-server-key', serverPub, '--curve-secret-key-file', stranger.file], 10_000, { TIMEOUT_MS: '1000' });
    expect(refused).toMatchObject({ code: 1, stdout: '', stderr: 'timeout\n' });
    await eventually(async () => (await refusals(metrics, 'broker', 'unknown_key')) >= 1);
    expect(lines.find((l) => l.msg === 'peer refused' && l['key'] === stranger.publicKey)).toMatchObject({ server: 'broker', reason: 'unknown_key', mechanism: 'CURVE' });

    // Without CURVE the handshake fails before ZAP is asked; counted under its own reason.
    const plain = await runPython('mdp_client.py', [frontend, 'py.echo', 'plain'], 10_000, { TIMEOUT_MS: '1000' });
    expect(plain).toMatchObject({ code: 1, stdout: '' });
    await eventually(async () => (await refusals(metrics, 'broker', 'handshake')) >= 1);
  });

  it('should not register a Python worker whose key is not on the list', async () => {
    const { backend, broker, metrics } = await curveBroker();
    python('mdp_worker.py', [backend, 'py.intruder', '--curve-server-key', serverPub, '--curve-secret-key-file', stranger.file]);
    await eventually(async () => (await refusals(metrics, 'broker', 'unknown_key')) >= 1);
    expect(broker.core()?.workerCount ?? 0).toBe(0);
  });
});

describe('a Python BlastBeat node behind a CURVE gateway', () => {
  async function curveGateway() {
    const metrics = new Metrics('gateway');
    const gw = await startGateway(cleanup, { metrics, curve: { secretKey: server.secretKey, allow: [node.publicKey] } });
    return { ...gw, metrics };
  }

  it('should serve HTTP through a Python node whose key is allowed', async () => {
    const gw = await curveGateway();
    const py = python('blastbeat_backend.py', [gw.zmq, 'n1', '--curve-server-key', serverPub, '--curve-secret-key-file', node.file]);
    await py.waitForLine((l) => l === 'ready');
    await eventually(() => gw.gateway.availableNodes().includes('n1'), 10_000, 20);
    const res = await fetch(`${gw.http}/hello`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`hello from python n1 pid ${py.child.pid}\n`);
    expect(await gw.metrics.value(AUTH_REFUSED_METRIC)).toBe(0);
  });

  it('should never make a Python node with an unknown key available', async () => {
    const gw = await curveGateway();
    const py = python('blastbeat_backend.py', [gw.zmq, 'n1', '--curve-server-key', server.publicKey, '--curve-secret-key-file', stranger.file]);
    await py.waitForLine((l) => l === 'ready');
    await eventually(async () => (await refusals(gw.metrics, 'gateway', 'unknown_key')) >= 1);
    expect(gw.gateway.availableNodes()).toEqual([]);
    expect((await fetch(`${gw.http}/hello`)).status).toBe(503);
  });
});
