import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { loadBalancerConfig, parseBalancerConfig, type BalancerConfig } from '../../../src/config/balancer-config.js';

const FILE = '/etc/stirr/config.json';

function parse(value: unknown): BalancerConfig {
  return parseBalancerConfig(typeof value === 'string' ? value : JSON.stringify(value), FILE);
}

function configError(value: unknown): ConfigError {
  try {
    parse(value);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const base = { type: 'Base', configuration: {} };

describe('balancer config', () => {
  it("should read the seed's format: comments, defaults, type with arguments", () => {
    const config = parse({
      backends: [
        'all strings are mere comments',
        { type: 'Base', configuration: { dsn: 'a' } },
        { group: 'db', type: ['MySQL', 'root', 'letmein'], weight: 2.5, heartbeat: 15, configuration: { host: 'db1', port: 3307 } },
      ],
    });
    expect(config.file).toBe(FILE);
    expect(config.backends).toHaveLength(2);
    const [a, b] = config.backends;
    expect(a).toMatchObject({ index: 1, group: 'default', type: 'Base', args: [], weight: 1, heartbeatMs: 15_000, check: { kind: 'Base' } });
    expect(a!.payload.toString()).toBe('{"dsn":"a"}');
    expect(b).toMatchObject({
      index: 2,
      group: 'db',
      type: 'MySQL',
      args: ['root', 'letmein'],
      weight: 2.5,
      check: { kind: 'MySQL', host: 'db1', port: 3307, user: 'root', password: 'letmein', maxLoad: 0.9 },
    });
  });

  it('should take any JSON as configuration, handed out verbatim', () => {
    const config = parse({ backends: [{ type: 'Base', configuration: [1, 'two', null] }, { type: 'Base', configuration: 'dsn://x' }] });
    expect(config.backends.map((b) => b.payload.toString())).toEqual(['[1,"two",null]', '"dsn://x"']);
  });

  it('should resolve health targets from the configuration', () => {
    const config = parse({
      backends: [
        { type: 'Tcp', configuration: { host: '127.0.0.1', port: 7000 } },
        { type: 'Http', configuration: { url: 'http://127.0.0.1:8080/health' } },
        { type: 'Http', configuration: { host: '::1', port: 80, path: '/up' } },
        { type: 'Redis', configuration: {} },
        { type: ['Redis', 'secret'], configuration: { port: 6380 } },
        { type: ['MySQL', 'app', 'pw', 0.5], configuration: {} },
      ],
    });
    expect(config.backends.map((b) => b.check)).toEqual([
      { kind: 'Tcp', host: '127.0.0.1', port: 7000 },
      { kind: 'Http', url: 'http://127.0.0.1:8080/health' },
      { kind: 'Http', url: 'http://[::1]:80/up' },
      { kind: 'Redis', host: '127.0.0.1', port: 6379, password: undefined },
      { kind: 'Redis', host: '127.0.0.1', port: 6380, password: 'secret' },
      { kind: 'MySQL', host: '127.0.0.1', port: 3306, user: 'app', password: 'pw', maxLoad: 0.5 },
    ]);
  });

  it('should give a digest that changes with the text', () => {
    expect(parse({ backends: [base] }).digest).not.toBe(parse({ backends: [base, base] }).digest);
  });

  const bad: Array<[string, unknown, string, RegExp]> = [
    ['not JSON', '{"backends": [', '(file)', /not valid JSON/],
    ['a root that is not an object', '[]', '(root)', /expected an object/],
    ['an unknown top-level field', { backends: [], extra: 1 }, 'extra', /unknown field/],
    ['backends missing', {}, 'backends', /expected an array/],
    ['a backend that is a number', { backends: ['c', 5] }, 'backends[1]', /backend object or a comment/],
    ['a missing type', { backends: [{ configuration: {} }] }, 'backends[0].type', /missing/],
    ['an unknown type', { backends: ['c', { type: 'Oracle', configuration: {} }] }, 'backends[1].type', /unknown type "Oracle"/],
    ['an empty type array', { backends: [{ type: [], configuration: {} }] }, 'backends[0].type', /empty array/],
    ['a type that is a number', { backends: [{ type: 3, configuration: {} }] }, 'backends[0].type', /type name/],
    ['a missing configuration', { backends: [base, { type: 'Base' }] }, 'backends[1].configuration', /missing/],
    ['a negative weight', { backends: [{ ...base, weight: -1 }] }, 'backends[0].weight', /from 0/],
    ['a string weight', { backends: [{ ...base, weight: '2' }] }, 'backends[0].weight', /a string/],
    ['a zero heartbeat', { backends: [{ ...base, heartbeat: 0 }] }, 'backends[0].heartbeat', /from 0.05/],
    ['an empty group', { backends: [{ ...base, group: '' }] }, 'backends[0].group', /non-empty string/],
    ['a misspelt field', { backends: [{ ...base, weigth: 2 }] }, 'backends[0].weigth', /unknown field/],
    ['Tcp without a port', { backends: [{ type: 'Tcp', configuration: { host: 'h' } }] }, 'backends[0].configuration.port', /port number/],
    ['Tcp with a port out of range', { backends: [{ type: 'Tcp', configuration: { host: 'h', port: 70000 } }] }, 'backends[0].configuration.port', /port number/],
    ['Tcp without a host', { backends: [{ type: 'Tcp', configuration: { port: 1 } }] }, 'backends[0].configuration.host', /host/],
    ['Tcp with arguments', { backends: [{ type: ['Tcp', 'x'], configuration: { host: 'h', port: 1 } }] }, 'backends[0].type', /no arguments/],
    ['Tcp with a string configuration', { backends: [{ type: 'Tcp', configuration: 'h:1' }] }, 'backends[0].configuration', /host and port/],
    ['Http with a bad url', { backends: [{ type: 'Http', configuration: { url: 'ftp://x' } }] }, 'backends[0].configuration.url', /http/],
    ['MySQL without a user', { backends: [{ type: 'MySQL', configuration: {} }] }, 'backends[0].type[1]', /user name/],
    ['MySQL with a numeric password', { backends: [{ type: ['MySQL', 'u', 5], configuration: {} }] }, 'backends[0].type[2]', /string/],
    ['MySQL with a bad max load', { backends: [{ type: ['MySQL', 'u', 'p', 2], configuration: {} }] }, 'backends[0].type[3]', /number/],
    ['Redis with too many arguments', { backends: [{ type: ['Redis', 'a', 'b'], configuration: {} }] }, 'backends[0].type', /at most 1/],
  ];

  for (const [what, value, field, problem] of bad) {
    it(`should name file, field and fix for ${what}`, () => {
      const error = configError(value);
      expect(error.file).toBe(FILE);
      expect(error.field).toBe(field);
      expect(error.problem).toMatch(problem);
      expect(error.fix.length).toBeGreaterThan(0);
      expect(error.message).toContain(FILE);
      expect(error.message).toContain(field);
    });
  }

  it('should refuse nesting deeper than the limit', () => {
    const deep = `{"backends": [{"type": "Base", "configuration": ${'['.repeat(100)}${']'.repeat(100)}}]}`;
    expect(configError(deep).problem).toMatch(/nested deeper/);
  });

  describe('files', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'steward-balancer-config-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('should load a file and name it in errors', async () => {
      const file = join(dir, 'good.json');
      await writeFile(file, JSON.stringify({ backends: [base] }));
      expect((await loadBalancerConfig(file)).backends).toHaveLength(1);
      const broken = join(dir, 'broken.json');
      await writeFile(broken, JSON.stringify({ backends: [{ type: 'Base' }] }));
      await expect(loadBalancerConfig(broken)).rejects.toMatchObject({ name: 'ConfigError', file: broken, field: 'backends[0].configuration' });
    });

    it('should say when a file is missing or too large', async () => {
      const missing = join(dir, 'missing.json');
      await expect(loadBalancerConfig(missing)).rejects.toMatchObject({ file: missing, field: '(file)', problem: expect.stringMatching(/ENOENT/) });
      const big = join(dir, 'big.json');
      await writeFile(big, JSON.stringify({ backends: [{ type: 'Base', configuration: 'x'.repeat(2000) }] }));
      await expect(loadBalancerConfig(big, { maxFileBytes: 1000, maxDepth: 64, maxBackends: 10 })).rejects.toMatchObject({
        problem: expect.stringMatching(/larger than 1000/),
      });
    });
  });
});
