import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import {
  DEFAULT_KEYWORDS_CONFIG,
  directEndpoints,
  loadKeywordsConfig,
  parseKeywordsConfig,
  registryBindEndpoint,
  registryConnectEndpoint,
} from '../../../src/config/keywords-config.js';
import { loadKeywordsFile, parseKeywordsFile } from '../../../src/config/keywords-file.js';

const SEED = `[zmq]
host = localhost
protocol = tcp
dispatch-port = 6511
broadcast-port = 6512

[zmq-router]
enable = yes
host = localhost
protocol = tcp
port = 6510
first-port = 6600
last-port = 6700

timeout = 1000
verbose = 0
process = thread
allow-spawn = yes
`;

function configError(text: string): ConfigError {
  try {
    parseKeywordsConfig(text, 'k.ini');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('keywords config', () => {
  it("should read the seed's example to exactly the seed's defaults", () => {
    const c = parseKeywordsConfig(SEED, 'k.ini');
    expect(c.zmq).toEqual(DEFAULT_KEYWORDS_CONFIG.zmq);
    expect(c.router).toEqual(DEFAULT_KEYWORDS_CONFIG.router);
    expect(c.file).toBe('k.ini');
  });

  it('should default everything for an empty file and ignore other sections', () => {
    const c = parseKeywordsConfig('[core]\nservice = x\n', 'k.ini');
    expect(c.router).toEqual(DEFAULT_KEYWORDS_CONFIG.router);
  });

  it('should read yes/no, process modes and the steward keys', () => {
    const c = parseKeywordsConfig('[zmq-router]\nenable = no\nallow-spawn = off\nprocess = multiprocessing\nheartbeat = 250\nliveness = 5\nverbose = 2\n', 'k.ini');
    expect(c.router).toMatchObject({ enable: false, allowSpawn: false, process: 'process', heartbeatMs: 250, liveness: 5, verbose: 2 });
  });

  it('should name file, section and key, the problem and the fix', () => {
    const e = configError('[zmq-router]\nfirst-port = lots\n');
    expect(e.file).toBe('k.ini');
    expect(e.field).toBe('[zmq-router] first-port');
    expect(e.problem).toMatch(/not a whole number from 1 to 65535/);
    expect(e.fix).toBe('first-port = 6600');
    expect(e.message).toContain('k.ini: [zmq-router] first-port');
  });

  it.each([
    ['[zmq-router]\nenable = maybe\n', '[zmq-router] enable', /not yes or no/],
    ['[zmq-router]\nverbose = 4\n', '[zmq-router] verbose', /0 to 3/],
    ['[zmq-router]\ntimeout = 0\n', '[zmq-router] timeout', /1 to/],
    ['[zmq-router]\nprotocol = ipc\n', '[zmq-router] protocol', /not supported/],
    ['[zmq-router]\nfirst-port = 7000\nlast-port = 7000\n', '[zmq-router] last-port', /no pair of ports/],
    ['[zmq-router]\nport = 6650\n', '[zmq-router] port', /inside first-port..last-port/],
    ['[zmq-router]\nfisrt-port = 1\n', '[zmq-router] fisrt-port', /unknown key/],
    ['[zmq-router]\nprocess =\n', '[zmq-router] process', /empty/],
    ['[zmq]\ndispatch-port = 7000\nbroadcast-port = 7000\n', '[zmq] broadcast-port', /equals dispatch-port/],
    ['[zmq]\nhost = two words\n', '[zmq] host', /not a host/],
    ['[zmq]\nport = 1\n', '[zmq] port', /unknown key/],
    ['[zmq\n', 'line 1', /malformed section header/],
  ])('should refuse %j', (text, field, problem) => {
    const e = configError(text);
    expect(e.field).toBe(field);
    expect(e.problem).toMatch(problem);
  });

  it('should derive endpoints, with localhost as the IPv4 loopback', () => {
    const c = parseKeywordsConfig(SEED, 'k.ini');
    expect(registryConnectEndpoint(c)).toBe('tcp://127.0.0.1:6510');
    expect(registryBindEndpoint(c)).toBe('tcp://127.0.0.1:6510');
    expect(directEndpoints(c, 'connect')).toEqual({ dispatch: 'tcp://127.0.0.1:6511', broadcast: 'tcp://127.0.0.1:6512' });
    const any = parseKeywordsConfig('[zmq-router]\nhost = *\n', 'k.ini');
    expect(registryBindEndpoint(any)).toBe('tcp://*:6510');
    expect(registryConnectEndpoint(any)).toBe('tcp://127.0.0.1:6510');
  });

  it('should load a file from disk, use defaults without one, and name a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kwcfg-'));
    const file = join(dir, 'c.ini');
    writeFileSync(file, '[zmq-router]\nport = 7000\n');
    expect((await loadKeywordsConfig(file)).router.port).toBe(7000);
    expect(await loadKeywordsConfig(undefined)).toBe(DEFAULT_KEYWORDS_CONFIG);
    await expect(loadKeywordsConfig(join(dir, 'missing.ini'))).rejects.toMatchObject({ name: 'ConfigError', field: '(file)' });
  });
});

describe('keywords file', () => {
  it('should read every type with its initial value, units and access', () => {
    const defs = parseKeywordsFile(
      {
        keywords: [
          { name: 'TEMP', type: 'double', initial: 20.5, units: 'degC', min: -50, max: 150 },
          { name: 'MODE', type: 'enumerated', enumerators: ['Off', 'On'], initial: 'On' },
          { name: 'COUNT', type: 'integer', initial: '0x10' },
          { name: 'READY', type: 'boolean', initial: true },
          { name: 'GAIN', type: 'float' },
          { name: 'SERIAL', type: 'string', initial: 'A:1', readonly: true },
        ],
      },
      'k.json',
    );
    expect(defs.map((d) => [d.descriptor.name, d.initial.ascii.toString()])).toEqual([
      ['TEMP', '20.5'],
      ['MODE', 'On'],
      ['COUNT', '16'],
      ['READY', 'true'],
      ['GAIN', '0'],
      ['SERIAL', 'A:1'],
    ]);
    expect(defs[0]!.descriptor).toMatchObject({ units: 'degC', readonly: false });
    expect(defs[5]!.descriptor.readonly).toBe(true);
  });

  it('should accept a bare array', () => {
    expect(parseKeywordsFile([{ name: 'A', type: 'boolean' }], 'k.json')).toHaveLength(1);
  });

  it.each([
    [{}, 'keywords', /missing or not a list/],
    [{ keywords: [{ name: 'A', type: 'nope' }] }, 'keywords[0].type', /must be one of/],
    [{ keywords: [{ type: 'string' }] }, 'keywords[0].name', /must be 1-64/],
    [{ keywords: [{ name: 'A', type: 'integer', initial: 'x' }] }, 'keywords[0].initial', /not a valid integer/],
    [{ keywords: [{ name: 'A', type: 'integer', initial: 500, max: 10 }] }, 'keywords[0].initial', /above the maximum/],
    [{ keywords: [{ name: 'A', type: 'string', initial: { a: 1 } }] }, 'keywords[0].initial', /text, a number/],
    [{ keywords: [{ name: 'A', type: 'string' }, { name: 'A', type: 'string' }] }, 'keywords[1].name', /declared twice/],
    [{ keywords: [{ name: 'A', type: 'string', writable: true }] }, 'keywords[0].writable', /unknown field/],
    [{ keywords: [null] }, 'keywords[0]', /not an object/],
  ])('should refuse %j naming %s', (json, field, problem) => {
    try {
      parseKeywordsFile(json, 'k.json');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
      expect((error as ConfigError).problem).toMatch(problem);
    }
  });

  it('should name a file that is not JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kwfile-'));
    const file = join(dir, 'k.json');
    writeFileSync(file, '{ nope');
    await expect(loadKeywordsFile(file)).rejects.toMatchObject({ name: 'ConfigError', problem: expect.stringMatching(/not valid JSON/) });
  });
});
