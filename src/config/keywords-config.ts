/**
 * The keyword services' INI file, as Cauldron's ZMQ backend reads it, with
 * the seed's defaults:
 *
 *   [zmq]                      where a dispatcher binds when the registry is disabled
 *   host = localhost
 *   protocol = tcp
 *   dispatch-port = 6511
 *   broadcast-port = 6512
 *
 *   [zmq-router]               the registry (Cauldron's "router")
 *   enable = yes
 *   host = localhost
 *   protocol = tcp
 *   port = 6510
 *   first-port = 6600          port pairs handed to dispatchers
 *   last-port = 6700
 *   timeout = 1000             ms a client or dispatcher waits for the registry
 *   verbose = 0                0-3
 *   process = thread           how a dispatcher spawns a registry: thread (in its own process) or anything else (a child process)
 *   allow-spawn = yes
 *   heartbeat = 1000           steward: ms between dispatcher heartbeats
 *   liveness = 3               steward: heartbeats missed before a dispatcher is dropped
 *
 * Other sections are ignored (the file may hold other settings); an unknown
 * key in these two is an error, because a misspelt key silently falling back
 * to its default is the bug nobody finds.
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from './errors.js';
import { tcpEndpoint } from '../protocol/keywords.js';
import { IniSyntaxError, parseIni, type IniDocument } from './ini.js';

export interface ZmqSection {
  readonly host: string;
  readonly protocol: 'tcp';
  readonly dispatchPort: number;
  readonly broadcastPort: number;
}

export type SpawnMode = 'thread' | 'process';

export interface RouterSection {
  readonly enable: boolean;
  readonly host: string;
  readonly protocol: 'tcp';
  readonly port: number;
  readonly firstPort: number;
  readonly lastPort: number;
  readonly timeoutMs: number;
  readonly verbose: 0 | 1 | 2 | 3;
  readonly process: SpawnMode;
  readonly allowSpawn: boolean;
  readonly heartbeatMs: number;
  readonly liveness: number;
}

export interface KeywordsConfig {
  /** The file read, or undefined when every value is a default. */
  readonly file: string | undefined;
  readonly zmq: ZmqSection;
  readonly router: RouterSection;
}

export const DEFAULT_ZMQ: ZmqSection = { host: 'localhost', protocol: 'tcp', dispatchPort: 6511, broadcastPort: 6512 };

export const DEFAULT_ROUTER: RouterSection = {
  enable: true,
  host: 'localhost',
  protocol: 'tcp',
  port: 6510,
  firstPort: 6600,
  lastPort: 6700,
  timeoutMs: 1000,
  verbose: 0,
  process: 'thread',
  allowSpawn: true,
  heartbeatMs: 1000,
  liveness: 3,
};

export const DEFAULT_KEYWORDS_CONFIG: KeywordsConfig = { file: undefined, zmq: DEFAULT_ZMQ, router: DEFAULT_ROUTER };

const MAX_CONFIG_BYTES = 1024 * 1024;
const ZMQ_KEYS = ['host', 'protocol', 'dispatch-port', 'broadcast-port'] as const;
const ROUTER_KEYS = [
  'enable',
  'host',
  'protocol',
  'port',
  'first-port',
  'last-port',
  'timeout',
  'verbose',
  'process',
  'allow-spawn',
  'heartbeat',
  'liveness',
] as const;

class Reader {
  constructor(
    private readonly doc: IniDocument,
    private readonly file: string,
  ) {}

  error(section: string, key: string, problem: string, fix: string): ConfigError {
    return new ConfigError(this.file, `[${section}] ${key}`, problem, fix);
  }

  checkKeys(section: string, known: readonly string[]): void {
    for (const entry of this.doc.section(section)?.entries ?? []) {
      if (!known.includes(entry.key)) {
        throw this.error(section, entry.key, `unknown key (line ${entry.line})`, `remove it or use one of: ${known.join(', ')}`);
      }
    }
  }

  text(section: string, key: string, fallback: string): string {
    const e = this.doc.get(section, key);
    if (!e) return fallback;
    if (e.value === '' || /\s/.test(e.value) || e.value.length > 255) {
      throw this.error(section, key, `"${e.value}" is not a host name or address`, `${key} = ${fallback}`);
    }
    return e.value;
  }

  protocol(section: string): 'tcp' {
    const e = this.doc.get(section, 'protocol');
    if (e && e.value.toLowerCase() !== 'tcp') {
      throw this.error(section, 'protocol', `"${e.value}" is not supported (dispatchers need TCP ports)`, 'protocol = tcp');
    }
    return 'tcp';
  }

  int(section: string, key: string, fallback: number, min: number, max: number): number {
    const e = this.doc.get(section, key);
    if (!e) return fallback;
    const n = /^\d+$/.test(e.value) ? Number(e.value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw this.error(section, key, `"${e.value}" is not a whole number from ${min} to ${max}`, `${key} = ${fallback}`);
    }
    return n;
  }

  bool(section: string, key: string, fallback: boolean): boolean {
    const e = this.doc.get(section, key);
    if (!e) return fallback;
    const v = e.value.toLowerCase();
    if (['yes', 'true', 'on', '1'].includes(v)) return true;
    if (['no', 'false', 'off', '0'].includes(v)) return false;
    throw this.error(section, key, `"${e.value}" is not yes or no`, `${key} = ${fallback ? 'yes' : 'no'}`);
  }

  raw(section: string, key: string): string | undefined {
    return this.doc.get(section, key)?.value;
  }
}

/** Parses and validates the file's text; throws ConfigError naming the file, `[section] key`, the problem and the fix. */
export function parseKeywordsConfig(text: string, file: string): KeywordsConfig {
  let doc: IniDocument;
  try {
    doc = parseIni(text);
  } catch (error) {
    if (error instanceof IniSyntaxError) throw new ConfigError(file, `line ${error.line}`, error.problem, error.fix);
    throw error;
  }
  const r = new Reader(doc, file);
  r.checkKeys('zmq', ZMQ_KEYS);
  r.checkKeys('zmq-router', ROUTER_KEYS);

  const zmq: ZmqSection = {
    host: r.text('zmq', 'host', DEFAULT_ZMQ.host),
    protocol: r.protocol('zmq'),
    dispatchPort: r.int('zmq', 'dispatch-port', DEFAULT_ZMQ.dispatchPort, 1, 65535),
    broadcastPort: r.int('zmq', 'broadcast-port', DEFAULT_ZMQ.broadcastPort, 1, 65535),
  };
  if (zmq.dispatchPort === zmq.broadcastPort) {
    throw r.error('zmq', 'broadcast-port', `equals dispatch-port (${zmq.dispatchPort}); a dispatcher needs two ports`, `broadcast-port = ${zmq.dispatchPort + 1}`);
  }

  const D = DEFAULT_ROUTER;
  const firstPort = r.int('zmq-router', 'first-port', D.firstPort, 1, 65535);
  const lastPort = r.int('zmq-router', 'last-port', D.lastPort, 1, 65535);
  if (lastPort - firstPort + 1 < 2) {
    throw r.error('zmq-router', 'last-port', `${lastPort} leaves no pair of ports after first-port ${firstPort}`, `last-port = ${firstPort + 1} or more`);
  }
  const port = r.int('zmq-router', 'port', D.port, 1, 65535);
  if (port >= firstPort && port <= lastPort) {
    throw r.error('zmq-router', 'port', `${port} lies inside first-port..last-port (${firstPort}-${lastPort}), which are handed to dispatchers`, `port = ${firstPort - 1 >= 1 ? firstPort - 1 : lastPort + 1}`);
  }
  const heartbeatMs = r.int('zmq-router', 'heartbeat', D.heartbeatMs, 10, 3_600_000);
  const processValue = r.raw('zmq-router', 'process');
  if (processValue === '') throw r.error('zmq-router', 'process', 'is empty', 'process = thread');
  const router: RouterSection = {
    enable: r.bool('zmq-router', 'enable', D.enable),
    host: r.text('zmq-router', 'host', D.host),
    protocol: r.protocol('zmq-router'),
    port,
    firstPort,
    lastPort,
    timeoutMs: r.int('zmq-router', 'timeout', D.timeoutMs, 1, 3_600_000),
    verbose: r.int('zmq-router', 'verbose', D.verbose, 0, 3) as RouterSection['verbose'],
    // The seed: "thread" uses threads; anything else full processes.
    process: processValue === undefined || processValue.toLowerCase() === 'thread' ? 'thread' : 'process',
    allowSpawn: r.bool('zmq-router', 'allow-spawn', D.allowSpawn),
    heartbeatMs,
    liveness: r.int('zmq-router', 'liveness', D.liveness, 1, 100),
  };
  return { file, zmq, router };
}

/** Reads a config file; no file means the seed's defaults. */
export async function loadKeywordsConfig(file: string | undefined): Promise<KeywordsConfig> {
  if (file === undefined) return DEFAULT_KEYWORDS_CONFIG;
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw new ConfigError(file, '(file)', `cannot be read: ${(error as Error).message}`, 'pass an existing file with -c, or leave -c out for the defaults');
  }
  if (size > MAX_CONFIG_BYTES) throw new ConfigError(file, '(file)', `is ${size} bytes, more than ${MAX_CONFIG_BYTES}`, 'point -c at the INI file');
  return parseKeywordsConfig(await readFile(file, 'utf8'), file);
}

/** An address to connect to: `localhost` and the wildcards become the IPv4 loopback (libzmq binds names poorly). */
export function connectHost(host: string): string {
  if (host === 'localhost' || host === '*' || host === '0.0.0.0') return '127.0.0.1';
  return host;
}

/** An address to bind: `localhost` becomes the IPv4 loopback; wildcards stay. */
export function bindHost(host: string): string {
  return host === 'localhost' ? '127.0.0.1' : host;
}

export const tcp = tcpEndpoint;

export function registryConnectEndpoint(config: KeywordsConfig): string {
  return tcp(connectHost(config.router.host), config.router.port);
}

export function registryBindEndpoint(config: KeywordsConfig): string {
  return tcp(bindHost(config.router.host), config.router.port);
}

/** `[zmq]` endpoints, used when the registry is disabled. */
export function directEndpoints(config: KeywordsConfig, side: 'bind' | 'connect'): { dispatch: string; broadcast: string } {
  const host = side === 'bind' ? bindHost(config.zmq.host) : connectHost(config.zmq.host);
  return { dispatch: tcp(host, config.zmq.dispatchPort), broadcast: tcp(host, config.zmq.broadcastPort) };
}
