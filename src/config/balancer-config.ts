/**
 * The balancer's configuration file, in stirr's format (seed 000):
 *
 *   { "backends": [
 *       "plain strings are comments",
 *       { "group": "default", "type": "Base" | ["MySQL", "user", "password"],
 *         "weight": 1.0, "heartbeat": 15, "configuration": <any JSON> } ] }
 *
 * Health checks find their server in the backend's own `configuration`
 * (`host`/`port`, or `url` for Http), so the address a client is handed is
 * the address that is checked. Every problem is a ConfigError naming the
 * file, the backend's index and field, and the fix.
 */
import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { ConfigError } from './errors.js';
import { isJsonObject, jsonDepth, jsonTypeName, type JsonObject, type JsonValue } from '../protocol/json-limits.js';
import { BACKEND_TYPES, isBackendType, type BackendTypeName } from '../protocol/stirr.js';

/** What a backend's health check talks to, resolved from its type, args and configuration. */
export type HealthTarget =
  | { readonly kind: 'Base' }
  | { readonly kind: 'Tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'Http'; readonly url: string }
  | {
      readonly kind: 'MySQL';
      readonly host: string;
      readonly port: number;
      readonly user: string;
      readonly password: string;
      /** Down when Threads_connected / max_connections reaches this. */
      readonly maxLoad: number;
    }
  | { readonly kind: 'Redis'; readonly host: string; readonly port: number; readonly password: string | undefined };

export interface BackendSpec {
  /** Position in the file's `backends` array (comments included), as error messages name it. */
  readonly index: number;
  readonly group: string;
  readonly type: BackendTypeName;
  readonly args: readonly JsonValue[];
  readonly weight: number;
  readonly heartbeatMs: number;
  readonly configuration: JsonValue;
  /** The configuration as clients receive it, serialized once at load. */
  readonly payload: Buffer;
  readonly check: HealthTarget;
}

export interface BalancerConfig {
  readonly file: string;
  readonly backends: readonly BackendSpec[];
  /** sha256 of the file's text: an unchanged file is not applied again. */
  readonly digest: string;
}

export interface BalancerConfigLimits {
  readonly maxFileBytes: number;
  readonly maxDepth: number;
  readonly maxBackends: number;
}

export const DEFAULT_CONFIG_LIMITS: BalancerConfigLimits = { maxFileBytes: 16 * 1024 * 1024, maxDepth: 64, maxBackends: 10_000 };

export const DEFAULT_HEARTBEAT_SECONDS = 15;
const MIN_HEARTBEAT_SECONDS = 0.05;
const MAX_HEARTBEAT_SECONDS = 86_400;
const MAX_NAME_LENGTH = 255;
export const DEFAULT_MYSQL_MAX_LOAD = 0.9;

const BACKEND_FIELDS = ['group', 'type', 'weight', 'heartbeat', 'configuration'] as const;
const DEFAULT_PORTS = { MySQL: 3306, Redis: 6379 } as const;

class Checker {
  constructor(readonly file: string) {}

  fail(field: string, problem: string, fix: string): never {
    throw new ConfigError(this.file, field, problem, fix);
  }
}

function name(c: Checker, value: JsonValue | undefined, field: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    c.fail(field, `expected a non-empty string of at most ${MAX_NAME_LENGTH} characters, got ${jsonTypeName(value)}`, `"${fallback}"`);
  }
  return value;
}

function parseType(c: Checker, value: JsonValue | undefined, at: string): { type: BackendTypeName; args: readonly JsonValue[] } {
  const known = BACKEND_TYPES.join(', ');
  if (value === undefined) c.fail(`${at}.type`, 'missing', `add "type": "Base" (or one of ${known})`);
  let typeName: JsonValue | undefined = value;
  let args: readonly JsonValue[] = [];
  if (Array.isArray(value)) {
    if (value.length === 0) c.fail(`${at}.type`, 'an empty array', `["MySQL", "user", "password"] or a plain name such as "Base"`);
    typeName = value[0];
    args = value.slice(1);
  }
  if (typeof typeName !== 'string') {
    c.fail(`${at}.type`, `expected a type name or [name, args...], got ${jsonTypeName(typeName)}`, `one of ${known}`);
  }
  if (!isBackendType(typeName)) c.fail(`${at}.type`, `unknown type "${typeName}"`, `one of ${known}`);
  return { type: typeName, args };
}

function number(
  c: Checker,
  value: JsonValue | undefined,
  field: string,
  fallback: number,
  min: number,
  max: number,
  fix: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    c.fail(field, `expected a number from ${min} to ${max}, got ${typeof value === 'number' ? value : jsonTypeName(value)}`, fix);
  }
  return value;
}

function host(c: Checker, conf: JsonObject, at: string, fallback: string | undefined): string {
  const value = conf['host'];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    c.fail(`${at}.configuration.host`, `expected a host name or address, got ${jsonTypeName(value)}`, '"host": "127.0.0.1"');
  }
  return value;
}

function port(c: Checker, conf: JsonObject, at: string, fallback: number | undefined): number {
  const value = conf['port'];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65_535) {
    c.fail(`${at}.configuration.port`, `expected a port number from 1 to 65535, got ${jsonTypeName(value)}`, `"port": ${fallback ?? 8080}`);
  }
  return value;
}

function objectConfiguration(c: Checker, conf: JsonValue, at: string, type: BackendTypeName): JsonObject {
  if (!isJsonObject(conf)) {
    c.fail(`${at}.configuration`, `a ${type} backend is checked at the host and port of its configuration, which is ${jsonTypeName(conf)}`, `{"host": "127.0.0.1", "port": ...}`);
  }
  return conf;
}

function optionalString(c: Checker, value: JsonValue | undefined, field: string, fix: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') c.fail(field, `expected a string, got ${jsonTypeName(value)}`, fix);
  return value;
}

function noArgs(c: Checker, args: readonly JsonValue[], at: string, type: BackendTypeName): void {
  if (args.length > 0) c.fail(`${at}.type`, `${type} takes no arguments, got ${args.length}`, `"type": "${type}"`);
}

function healthTarget(c: Checker, type: BackendTypeName, args: readonly JsonValue[], conf: JsonValue, at: string): HealthTarget {
  switch (type) {
    case 'Base':
      // stirr's Base ignored arguments; so does steward, for old files.
      return { kind: 'Base' };
    case 'Tcp': {
      noArgs(c, args, at, type);
      const o = objectConfiguration(c, conf, at, type);
      return { kind: 'Tcp', host: host(c, o, at, undefined), port: port(c, o, at, undefined) };
    }
    case 'Http': {
      noArgs(c, args, at, type);
      const o = objectConfiguration(c, conf, at, type);
      const url = o['url'];
      if (url !== undefined) {
        if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(url)) {
          c.fail(`${at}.configuration.url`, `expected an http:// or https:// URL, got ${jsonTypeName(url)}`, '"url": "http://127.0.0.1:8080/health"');
        }
        try {
          new URL(url);
        } catch {
          c.fail(`${at}.configuration.url`, `not a valid URL: ${url}`, '"url": "http://127.0.0.1:8080/health"');
        }
        return { kind: 'Http', url };
      }
      const path = optionalString(c, o['path'], `${at}.configuration.path`, '"path": "/health"') ?? '/';
      if (!path.startsWith('/')) c.fail(`${at}.configuration.path`, 'must start with "/"', `"path": "/${path}"`);
      const h = host(c, o, at, undefined);
      const hostPart = h.includes(':') ? `[${h}]` : h;
      return { kind: 'Http', url: `http://${hostPart}:${port(c, o, at, undefined)}${path}` };
    }
    case 'MySQL': {
      const [user, password, maxLoad] = args;
      if (typeof user !== 'string' || user.length === 0) {
        c.fail(`${at}.type[1]`, `MySQL needs a user name, got ${jsonTypeName(user)}`, '["MySQL", "user", "password"]');
      }
      const pass = optionalString(c, password, `${at}.type[2]`, '["MySQL", "user", "password"]') ?? '';
      const load = number(c, maxLoad, `${at}.type[3]`, DEFAULT_MYSQL_MAX_LOAD, 0.01, 1, '["MySQL", "user", "password", 0.9]');
      if (args.length > 3) c.fail(`${at}.type`, `MySQL takes at most 3 arguments (user, password, max load), got ${args.length}`, '["MySQL", "user", "password"]');
      const o = objectConfiguration(c, conf, at, type);
      return { kind: 'MySQL', host: host(c, o, at, '127.0.0.1'), port: port(c, o, at, DEFAULT_PORTS.MySQL), user, password: pass, maxLoad: load };
    }
    case 'Redis': {
      const password = optionalString(c, args[0], `${at}.type[1]`, '["Redis", "password"]');
      if (args.length > 1) c.fail(`${at}.type`, `Redis takes at most 1 argument (password), got ${args.length}`, '["Redis", "password"]');
      const o = objectConfiguration(c, conf, at, type);
      return { kind: 'Redis', host: host(c, o, at, '127.0.0.1'), port: port(c, o, at, DEFAULT_PORTS.Redis), password };
    }
  }
}

function parseBackend(c: Checker, entry: JsonObject, index: number): BackendSpec {
  const at = `backends[${index}]`;
  for (const key of Object.keys(entry)) {
    if (!(BACKEND_FIELDS as readonly string[]).includes(key)) {
      c.fail(`${at}.${key}`, 'unknown field', `remove it, or use one of ${BACKEND_FIELDS.join(', ')}`);
    }
  }
  const group = name(c, entry['group'], `${at}.group`, 'default');
  const { type, args } = parseType(c, entry['type'], at);
  const weight = number(c, entry['weight'], `${at}.weight`, 1, 0, Number.MAX_SAFE_INTEGER, '"weight": 1.0');
  const heartbeat = number(
    c,
    entry['heartbeat'],
    `${at}.heartbeat`,
    DEFAULT_HEARTBEAT_SECONDS,
    MIN_HEARTBEAT_SECONDS,
    MAX_HEARTBEAT_SECONDS,
    `seconds between health checks, e.g. "heartbeat": ${DEFAULT_HEARTBEAT_SECONDS}`,
  );
  const configuration = entry['configuration'];
  if (configuration === undefined) {
    c.fail(`${at}.configuration`, 'missing', 'add "configuration": the JSON a client receives for this backend');
  }
  return {
    index,
    group,
    type,
    args,
    weight,
    heartbeatMs: Math.round(heartbeat * 1000),
    configuration,
    payload: Buffer.from(JSON.stringify(configuration)),
    check: healthTarget(c, type, args, configuration, at),
  };
}

/** Parses and validates the text of a configuration file. Throws ConfigError. */
export function parseBalancerConfig(text: string, file: string, limits: BalancerConfigLimits = DEFAULT_CONFIG_LIMITS): BalancerConfig {
  const c: Checker = new Checker(file);
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > limits.maxFileBytes) {
    c.fail('(file)', `${bytes.length} bytes, larger than ${limits.maxFileBytes}`, 'split the backends over several balancers');
  }
  if (jsonDepth(bytes, limits.maxDepth) > limits.maxDepth) {
    c.fail('(file)', `nested deeper than ${limits.maxDepth} levels`, 'flatten the configurations');
  }
  let root: JsonValue;
  try {
    root = JSON.parse(text) as JsonValue;
  } catch (error) {
    c.fail('(file)', `not valid JSON: ${error instanceof Error ? error.message : String(error)}`, 'fix the JSON syntax (stirr comments are strings inside "backends", not // or #)');
  }
  if (!isJsonObject(root)) c.fail('(root)', `expected an object with "backends", got ${jsonTypeName(root)}`, '{"backends": [...]}');
  for (const key of Object.keys(root)) {
    if (key !== 'backends') c.fail(key, 'unknown field', 'remove it; the file holds only "backends"');
  }
  const list = root['backends'];
  if (!Array.isArray(list)) c.fail('backends', `expected an array, got ${jsonTypeName(list)}`, '"backends": [{"type": "Base", "configuration": {}}]');
  if (list.length > limits.maxBackends) c.fail('backends', `${list.length} entries, more than ${limits.maxBackends}`, 'split the backends over several balancers');
  const backends: BackendSpec[] = [];
  list.forEach((entry: JsonValue, index: number) => {
    if (typeof entry === 'string') return; // a comment, as in stirr
    if (!isJsonObject(entry)) {
      c.fail(`backends[${index}]`, `expected a backend object or a comment string, got ${jsonTypeName(entry)}`, '{"type": "Base", "configuration": {}}');
    }
    backends.push(parseBackend(c, entry, index));
  });
  return { file, backends, digest: createHash('sha256').update(text).digest('hex') };
}

/** Reads and validates a configuration file, bounded in size. Throws ConfigError. */
export async function loadBalancerConfig(file: string, limits: BalancerConfigLimits = DEFAULT_CONFIG_LIMITS): Promise<BalancerConfig> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new ConfigError(file, '(file)', 'not a regular file', 'pass the path of a JSON file with -c PATH');
    if (info.size > limits.maxFileBytes) {
      throw new ConfigError(file, '(file)', `${info.size} bytes, larger than ${limits.maxFileBytes}`, 'split the backends over several balancers');
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as { code?: string }).code ?? String(error);
    throw new ConfigError(file, '(file)', `cannot read it (${code})`, 'create it, or pass another path with -c PATH');
  }
  return parseBalancerConfig(text, file, limits);
}
