import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, type DispatcherOptions } from '../../src/api/dispatcher.js';
import { DispatcherUnavailableError, KeywordClient, RegistryUnavailableError, type KeywordClientCurve } from '../../src/api/keywords/index.js';
import { Registry } from '../../src/api/registry.js';
import { DEFAULT_ROUTER, DEFAULT_ZMQ, type KeywordsConfig } from '../../src/config/keywords-config.js';
import { parseKeywordsFile } from '../../src/config/keywords-file.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { AUTH_REFUSED_METRIC } from '../../src/security/refusals.js';
import { captureLogs } from '../helpers/logs.js';
import { freePorts } from '../helpers/ports.js';
import { eventually } from '../helpers/zmq.js';

const KEYWORDS = parseKeywordsFile({ keywords: [{ name: 'TEMP', type: 'double', initial: 20.5 }] }, 'test');

/** One pair for the registry and its dispatchers (a keyword mesh), one for the allowed client, one for a stranger. */
const mesh = zmq.curveKeyPair();
const own = zmq.curveKeyPair();
const clientKeys = zmq.curveKeyPair();
const stranger = zmq.curveKeyPair();

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function config(router: Partial<KeywordsConfig['router']> = {}): Promise<KeywordsConfig> {
  const ports = await freePorts(5);
  return {
    file: undefined,
    zmq: DEFAULT_ZMQ,
    router: { ...DEFAULT_ROUTER, port: ports[0]!, firstPort: ports[1]!, lastPort: ports[4]!, heartbeatMs: 100, liveness: 3, timeoutMs: 400, allowSpawn: false, ...router },
  };
}

async function registry(cfg: KeywordsConfig, allow: readonly string[] = [clientKeys.publicKey]) {
  const metrics = new Metrics('registry');
  const { logger, lines } = captureLogs();
  const r = await Registry.start({ config: cfg, curve: { secretKey: mesh.secretKey, allow }, metrics, logger });
  cleanup.push(() => r.stop());
  return { registry: r, metrics, lines };
}

async function dispatcher(cfg: KeywordsConfig, extra: Partial<DispatcherOptions> = {}) {
  const metrics = new Metrics('dispatcher');
  const d = await Dispatcher.start({
    service: 'svc',
    keywords: KEYWORDS,
    config: cfg,
    curve: { secretKey: mesh.secretKey, allow: [clientKeys.publicKey] },
    metrics,
    ...extra,
  });
  cleanup.push(() => d.stop());
  return { dispatcher: d, metrics };
}

function client(cfg: KeywordsConfig, curve: KeywordClientCurve | undefined, extra: { direct?: { dispatch: string; broadcast: string } } = {}) {
  const c = new KeywordClient({ config: cfg, timeoutMs: 400, ...(curve ? { curve } : {}), ...extra });
  cleanup.push(() => c.close());
  return c;
}

const refused = (metrics: Metrics, server: string, reason: string) => metrics.value(AUTH_REFUSED_METRIC, { server, reason });

describe('registry and dispatcher with CURVE', () => {
  it('should serve an allowed client: lookup, read, write and broadcasts, all encrypted', async () => {
    const cfg = await config();
    await registry(cfg);
    await dispatcher(cfg);
    const c = client(cfg, { serverKey: mesh.publicKey, secretKey: clientKeys.secretKey });
    const temp = c.service('svc').keyword('TEMP');
    expect(await temp.read()).toBe('20.5');
    const seen: string[] = [];
    await temp.monitor((u) => seen.push(u.ascii));
    expect(await temp.write(21)).toBe('21');
    await eventually(() => seen.includes('21'), 5_000);
  });

  it('should give a client with an unknown key nothing from the registry, and log and count it', async () => {
    const cfg = await config();
    const { metrics, lines } = await registry(cfg);
    await dispatcher(cfg);
    const c = client(cfg, { serverKey: mesh.publicKey, secretKey: stranger.secretKey });
    await expect(c.lookup('svc')).rejects.toBeInstanceOf(RegistryUnavailableError);
    await eventually(async () => (await refused(metrics, 'registry', 'unknown_key')) >= 1);
    expect(lines.find((l) => l.msg === 'peer refused')).toMatchObject({ server: 'registry', key: stranger.publicKey, address: '127.0.0.1' });
  });

  it('should give a plain-TCP client nothing from the registry', async () => {
    const cfg = await config();
    const { metrics } = await registry(cfg);
    const c = client(cfg, undefined);
    await expect(c.lookup('svc')).rejects.toBeInstanceOf(RegistryUnavailableError);
    await eventually(async () => (await refused(metrics, 'registry', 'handshake')) >= 1);
  });

  it('should give a client with an unknown key nothing from the dispatcher either', async () => {
    const cfg = await config();
    await registry(cfg);
    const { dispatcher: d, metrics } = await dispatcher(cfg);
    const direct = d.endpoints()!;
    const c = client(cfg, { serverKey: mesh.publicKey, secretKey: stranger.secretKey }, { direct });
    await expect(c.service('svc').keyword('TEMP').read()).rejects.toBeInstanceOf(DispatcherUnavailableError);
    await eventually(async () => (await refused(metrics, 'dispatcher.svc', 'unknown_key')) >= 1);
    const plain = client(cfg, undefined, { direct });
    await expect(plain.service('svc').keyword('TEMP').read()).rejects.toBeInstanceOf(DispatcherUnavailableError);
    await eventually(async () => (await refused(metrics, 'dispatcher.svc', 'handshake')) >= 1);
  });

  it('should keep a dispatcher with an unknown key out of the registry', async () => {
    const cfg = await config();
    const { metrics } = await registry(cfg);
    const intruder = Dispatcher.launch({ service: 'svc', keywords: KEYWORDS, config: cfg, curve: { secretKey: stranger.secretKey, registryKey: mesh.publicKey, allow: [] } });
    cleanup.push(() => intruder.stop());
    await eventually(async () => (await refused(metrics, 'registry', 'unknown_key')) >= 1);
    const c = client(cfg, { serverKey: mesh.publicKey, secretKey: clientKeys.secretKey });
    await expect(c.list()).resolves.toEqual([]);
  });

  it('should work with a dispatcher of its own pair, allowed by the registry and known to the client', async () => {
    const cfg = await config();
    await registry(cfg, [clientKeys.publicKey, own.publicKey]);
    await dispatcher(cfg, { curve: { secretKey: own.secretKey, registryKey: mesh.publicKey, allow: [clientKeys.publicKey] } });
    const c = client(cfg, { serverKey: mesh.publicKey, dispatcherKey: own.publicKey, secretKey: clientKeys.secretKey });
    expect(await c.service('svc').keyword('TEMP').read()).toBe('20.5');
  });

  it("should start a registry with the dispatcher's pair and allow-list when none answers (process = thread)", async () => {
    const cfg = await config({ allowSpawn: true, process: 'thread' });
    await dispatcher(cfg);
    const c = client(cfg, { serverKey: mesh.publicKey, secretKey: clientKeys.secretKey });
    expect(await c.service('svc').keyword('TEMP').read()).toBe('20.5');
    const bad = client(cfg, { serverKey: mesh.publicKey, secretKey: stranger.secretKey });
    await expect(bad.lookup('svc')).rejects.toBeInstanceOf(RegistryUnavailableError);
  });
});
