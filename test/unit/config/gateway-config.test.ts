import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { iniValue, iniValues, parseIni } from '../../../src/config/gateway-ini.js';
import { gatewaySettings } from '../../../src/api/gateway.js';
import { gatewaySettingsFromIni, loadGatewayConfig, parseDuration, parseListenAddress, parseSize } from '../../../src/config/gateway.js';
import { selfSigned } from '../../helpers/gateway.js';

const FILE = 'gw.ini';
const load = (text: string) => gatewaySettingsFromIni(parseIni(text, FILE));

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('no ConfigError thrown');
}

describe('INI reader', () => {
  it('should keep sections and keys in order, repeated keys as lists', () => {
    const doc = parseIni('; comment\n# another\n[a]\nk = 1\nk=2\nquoted = "x y"\n\n[b:c:80]\nname: v\n', FILE);
    expect(doc.sections.map((s) => s.name)).toEqual(['a', 'b:c:80']);
    const a = doc.sections[0]!;
    expect(iniValues(a, 'k').map((e) => e.value)).toEqual(['1', '2']);
    expect(iniValue(a, 'k')).toMatchObject({ value: '2', line: 5 });
    expect(iniValue(a, 'quoted')!.value).toBe('x y');
    expect(iniValue(doc.sections[1]!, 'name')!.value).toBe('v');
  });

  it('should name the file and line of a syntax error', () => {
    const e = configError(() => parseIni('[a]\nnot a pair\n', FILE));
    expect(e.message).toContain('gw.ini: line 2');
    expect(configError(() => parseIni('[open\n', FILE)).message).toContain('line 1');
  });
});

describe('gateway settings', () => {
  it('should read BlastBeat\'s example with its defaults', () => {
    const { settings, warnings } = load('[blastbeat]\nbind = 0.0.0.0:8080\nzmq = tcp://0.0.0.0:5000\n\n[blastbeat:localhost:8000]\nnode = foobar1\n');
    expect(warnings).toEqual([]);
    expect(settings).toMatchObject({
      bind: [{ host: '0.0.0.0', port: 8080 }],
      zmq: 'tcp://0.0.0.0:5000',
      pingFreqMs: 3000,
      timeoutMs: 30_000,
      vhosts: [{ name: 'localhost:8000', nodes: ['foobar1'], aliases: [], timeoutMs: 30_000, maxSessions: 0 }],
      maxNodeSessions: 10_000,
      headerTimeoutMs: 10_000,
      bodyTimeoutMs: 30_000,
    });
  });

  it('should read node-sessions, and CURVE files relative to the INI\'s folder', () => {
    const { settings, curve } = gatewaySettingsFromIni(parseIni('[blastbeat]\nnode-sessions = 500\ncurve-secret-key-file = keys/gw.key\ncurve-allow = /etc/steward/nodes.allow\n', '/srv/gw/gw.ini'));
    expect(settings.maxNodeSessions).toBe(500);
    expect(curve).toEqual({ secretKeyFile: '/srv/gw/keys/gw.key', allowFile: '/etc/steward/nodes.allow' });
    expect(load('[blastbeat]\n').curve).toBeUndefined();
  });

  it('should read every key, repeated binds and nodes, per-host timeout and sessions', () => {
    const { settings } = load(
      [
        '[blastbeat]',
        'bind = 127.0.0.1:8080',
        'bind = [::1]:8081',
        'zmq = tcp://127.0.0.1:5000',
        'ping-freq = 0.5',
        'timeout = 250ms',
        'sessions = 100',
        'max-headers = 20',
        'writequeue-buffer = 1M',
        'max-head-size = 4K',
        'max-body-size = 2M',
        'websocket-max-message = 64K',
        'header-timeout = 2',
        'body-timeout = 750ms',
        'keepalive-timeout = 30',
        '[blastbeat:example.com]',
        'node = a',
        'node = b',
        'alias = www.example.com',
        'timeout = 5',
        'sessions = 10',
      ].join('\n'),
    );
    expect(settings).toMatchObject({
      bind: [{ host: '127.0.0.1', port: 8080 }, { host: '::1', port: 8081 }],
      pingFreqMs: 500,
      timeoutMs: 250,
      maxSessions: 100,
      maxHeaders: 20,
      writeQueueBuffer: 1024 * 1024,
      maxHeadSize: 4096,
      maxBodySize: 2 * 1024 * 1024,
      maxWebSocketMessage: 64 * 1024,
      headerTimeoutMs: 2000,
      bodyTimeoutMs: 750,
      idleTimeoutMs: 30_000,
      vhosts: [{ name: 'example.com', nodes: ['a', 'b'], aliases: ['www.example.com'], timeoutMs: 5000, maxSessions: 10 }],
    });
  });

  it('should stop on a body-timeout that is not a duration from 1 ms to an hour, naming the key and its default as the fix', () => {
    for (const value of ['soon', '0', '2h', '3601']) {
      const e = configError(() => load(`[blastbeat]\nbind = 127.0.0.1:8080\nbody-timeout = ${value}\n`));
      expect(e.file).toBe(FILE);
      expect(e.field).toBe('[blastbeat] body-timeout (line 3)');
      expect(e.problem).toContain(`"${value}" is not a duration`);
      expect(e.fix).toBe('body-timeout = 30 (seconds; or 250ms)');
    }
    expect(load('[blastbeat]\nbody_timeout = 5\n').warnings.join('\n')).toMatch(/body_timeout \(line 2\): unknown key.*did you mean "body-timeout"/);
  });

  it('should take bodyTimeoutMs in Gateway.start options, with the same default, and refuse one out of range', () => {
    expect(gatewaySettings({ vhosts: [] }).bodyTimeoutMs).toBe(30_000);
    expect(gatewaySettings({ vhosts: [], bodyTimeoutMs: 300 }).bodyTimeoutMs).toBe(300);
    const e = configError(() => gatewaySettings({ vhosts: [], bodyTimeoutMs: 0 }));
    expect(e.field).toBe('bodyTimeoutMs');
    expect(e.fix).toBe('bodyTimeoutMs: 30000');
  });

  it('should report unknown keys and sections with a guess, not drop them silently', () => {
    const { warnings } = load('[blastbeat]\nping_freq = 3\nuid = nobody\n[blastbeat:h]\nnode = n\nnodes = m\n[other]\nx = 1\n');
    expect(warnings).toHaveLength(4);
    const has = (re: RegExp) => expect(warnings.some((w) => re.test(w)), `${re} in ${warnings.join('\n')}`).toBe(true);
    has(/^gw\.ini: \[blastbeat\] ping_freq \(line 2\): unknown key.*did you mean "ping-freq"/);
    has(/^gw\.ini: \[blastbeat\] uid \(line 3\): unknown key/);
    has(/\[blastbeat:h\] nodes \(line 6\).*did you mean "node"/);
    has(/\[other\].*unknown section/);
  });

  it.each([
    ['no [blastbeat] section', '[x]\n', '[blastbeat]'],
    ['a bad bind', '[blastbeat]\nbind = nowhere\n', '[blastbeat] bind (line 2)'],
    ['a bad zmq endpoint', '[blastbeat]\nzmq = 5000\n', '[blastbeat] zmq'],
    ['a ping-freq that is not a duration', '[blastbeat]\nping-freq = soon\n', '[blastbeat] ping-freq (line 2)'],
    ['a negative session limit', '[blastbeat]\nsessions = -1\n', '[blastbeat] sessions'],
    ['a node session limit of 0', '[blastbeat]\nnode-sessions = 0\n', '[blastbeat] node-sessions (line 2)'],
    ['a CURVE allow-list without a key pair', '[blastbeat]\ncurve-allow = nodes.allow\n', '[blastbeat] curve-secret-key-file'],
    ['a CURVE key pair without an allow-list', '[blastbeat]\ncurve-secret-key-file = gw.key\n', '[blastbeat] curve-allow'],
    ['a head size beyond what uwsgi can carry', '[blastbeat]\nmax-head-size = 1M\n', '[blastbeat] max-head-size'],
    ['a host without nodes', '[blastbeat]\n[blastbeat:h]\nalias = x\n', '[blastbeat:h] node'],
    ['a bad node name', '[blastbeat]\n[blastbeat:h]\nnode = has space\n', '[blastbeat:h] node (line 3)'],
    ['a certificate without key', '[blastbeat]\n[blastbeat:h]\nnode = n\ncertificate = c.pem\n', '[blastbeat:h] key'],
    ['bind-ssl without any certificate', '[blastbeat]\nbind-ssl = 127.0.0.1:8443\n[blastbeat:h]\nnode = n\n', '[blastbeat] bind-ssl'],
    ['a host given twice', '[blastbeat]\n[blastbeat:h]\nnode = n\n[blastbeat:g]\nnode = n\nalias = h\n', '[blastbeat:g] alias'],
  ])('should stop on %s, naming file, section, key and fix', (_name, text, field) => {
    const e = configError(() => load(text));
    expect(e.file).toBe(FILE);
    expect(e.field).toContain(field);
    expect(e.fix.length).toBeGreaterThan(0);
  });

  it('should load certificate files relative to the INI file and check they are PEM that belong together', async () => {
    const [a, b] = await Promise.all([selfSigned(['a.test']), selfSigned(['b.test'])]);
    const dir = a.dir;
    copyFileSync(a.cert, join(dir, 'c.pem'));
    copyFileSync(a.key, join(dir, 'k.pem'));
    copyFileSync(b.key, join(dir, 'other-k.pem'));
    writeFileSync(join(dir, 'not.pem'), 'hello');
    writeFileSync(join(dir, 'gw.ini'), '[blastbeat]\nbind-ssl = 127.0.0.1:0\n[blastbeat:h]\nnode = n\ncertificate = c.pem\nkey = k.pem\n');
    const { settings } = loadGatewayConfig(join(dir, 'gw.ini'));
    expect(settings.vhosts[0]!.tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(settings.bind).toEqual([]);
    writeFileSync(join(dir, 'bad.ini'), '[blastbeat]\n[blastbeat:h]\nnode = n\ncertificate = not.pem\nkey = k.pem\n');
    expect(configError(() => loadGatewayConfig(join(dir, 'bad.ini'))).field).toContain('certificate');
    writeFileSync(join(dir, 'missing.ini'), '[blastbeat]\n[blastbeat:h]\nnode = n\ncertificate = nope.pem\nkey = k.pem\n');
    expect(configError(() => loadGatewayConfig(join(dir, 'missing.ini'))).problem).toMatch(/cannot read/);
    writeFileSync(join(dir, 'mismatch.ini'), '[blastbeat]\n[blastbeat:h]\nnode = n\ncertificate = c.pem\nkey = other-k.pem\n');
    expect(configError(() => loadGatewayConfig(join(dir, 'mismatch.ini'))).problem).toMatch(/do not load together/);
  }, 30_000);

  it('should refuse a missing file with the path in the message', () => {
    expect(configError(() => loadGatewayConfig('/nonexistent/gw.ini')).message).toContain('/nonexistent/gw.ini');
  });
});

describe('value syntax', () => {
  it('should parse listen addresses', () => {
    expect(parseListenAddress('127.0.0.1:80')).toEqual({ host: '127.0.0.1', port: 80 });
    expect(parseListenAddress(':80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseListenAddress('8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseListenAddress('[::1]:1')).toEqual({ host: '::1', port: 1 });
    expect(parseListenAddress('localhost:99999')).toBeUndefined();
    expect(parseListenAddress('a b:1')).toBeUndefined();
  });

  it('should parse durations in seconds or ms, and sizes with units', () => {
    expect(parseDuration('3')).toBe(3000);
    expect(parseDuration('0.25')).toBe(250);
    expect(parseDuration('40ms')).toBe(40);
    expect(parseDuration('-1')).toBeUndefined();
    expect(parseSize('16k')).toBe(16384);
    expect(parseSize('2M')).toBe(2 * 1024 * 1024);
    expect(parseSize('1.5M')).toBeUndefined();
  });
});
