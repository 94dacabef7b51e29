/**
 * The gateway's configuration: BlastBeat's INI file (seed 004), read and
 * validated up front. `[blastbeat]` holds the server, `[blastbeat:HOST[:PORT]]`
 * one virtual host each. Every bad value stops start-up with a ConfigError
 * naming the file, the section and key, and the fix; keys steward does not
 * know are reported as warnings (BlastBeat files may carry options of the C
 * server, such as `uid`), never silently dropped.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { resolve, dirname } from 'node:path';
import { ConfigError } from './errors.js';
import { iniValue, iniValues, readIni, type IniDocument, type IniEntry, type IniSection } from './gateway-ini.js';

/** Where an HTTP server listens: `HOST:PORT` parsed (port 0 picks a free one). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface VhostSettings {
  /** `host` or `host:port`. */
  readonly name: string;
  readonly nodes: readonly string[];
  readonly aliases: readonly string[];
  /** PEM certificate and key, for HTTPS (served by SNI name). */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly timeoutMs: number;
  /** 0: no limit of its own. */
  readonly maxSessions: number;
}

export interface GatewaySettings {
  readonly bind: readonly ListenAddress[];
  readonly bindSsl: readonly ListenAddress[];
  readonly zmq: string;
  readonly pingFreqMs: number;
  /** Default time a node has to answer; a virtual host may set its own. */
  readonly timeoutMs: number;
  /** Client connections at once. */
  readonly maxSessions: number;
  /** Sessions one node may hold at once, over all its virtual hosts. */
  readonly maxNodeSessions: number;
  readonly maxHeaders: number;
  readonly writeQueueBuffer: number;
  readonly maxHeadSize: number;
  readonly maxBodySize: number;
  readonly maxWebSocketMessage: number;
  readonly headerTimeoutMs: number;
  /** How long a request body may go without a byte from the client (408, or a cut, after). */
  readonly bodyTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly vhosts: readonly VhostSettings[];
}

export const GATEWAY_DEFAULTS = {
  bind: '0.0.0.0:8080',
  zmq: 'tcp://127.0.0.1:5000',
  pingFreqMs: 3_000,
  timeoutMs: 30_000,
  maxSessions: 10_000,
  // As many as the gateway takes by default, so a default setup refuses nothing it did
  // before; a gateway raised above it still cannot pile more than this onto one node
  // (the one left when the others of its host are down).
  maxNodeSessions: 10_000,
  maxHeaders: 100,
  writeQueueBuffer: 4 * 1024 * 1024,
  maxHeadSize: 16 * 1024,
  maxBodySize: 16 * 1024 * 1024,
  maxWebSocketMessage: 1024 * 1024,
  headerTimeoutMs: 10_000,
  // Between two reads of a body, as nginx's client_body_timeout (60 s) is. 30 s outlasts a lossy link's TCP
  // retransmissions (backoff 1+2+4+8 s) and equals the node's default `timeout`: a client that stalls holds
  // its session no longer than it did when the node's timeout ended it with a 504.
  bodyTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
} as const;

/** The uwsgi packet's 16-bit length bounds what a head may expand to. */
export const MAX_HEAD_SIZE_LIMIT = 48 * 1024;

interface KeySpec {
  readonly help: string;
}

const SERVER_KEYS: Record<string, KeySpec> = {
  bind: { help: 'HOST:PORT to serve HTTP on (repeatable)' },
  'bind-ssl': { help: 'HOST:PORT to serve HTTPS on (repeatable)' },
  zmq: { help: 'ZeroMQ endpoint the ROUTER binds for backend nodes' },
  'ping-freq': { help: 'seconds between pings to silent nodes' },
  timeout: { help: 'seconds a node has to answer' },
  sessions: { help: 'client connections at once' },
  'node-sessions': { help: 'sessions one node may hold at once' },
  'curve-secret-key-file': { help: 'CURVE key pair of the nodes\' ROUTER (steward keygen)' },
  'curve-allow': { help: 'public keys of the nodes let in, one per line' },
  'max-headers': { help: 'header fields per request' },
  'writequeue-buffer': { help: 'bytes queued for a slow client before it is cut off' },
  'max-head-size': { help: 'bytes of a request head' },
  'max-body-size': { help: 'bytes of a request body' },
  'websocket-max-message': { help: 'bytes of one WebSocket message' },
  'header-timeout': { help: 'seconds a client has to send a whole request head' },
  'body-timeout': { help: 'seconds a request body may go without a byte from the client' },
  'keepalive-timeout': { help: 'seconds an idle keep-alive connection stays open' },
};

const VHOST_KEYS: Record<string, KeySpec> = {
  node: { help: 'name (ZeroMQ routing id) of a backend node (repeatable)' },
  alias: { help: 'another host name for this virtual host (repeatable)' },
  certificate: { help: 'PEM certificate file for HTTPS' },
  key: { help: 'PEM private key file for HTTPS' },
  timeout: { help: 'seconds a node of this host has to answer' },
  sessions: { help: 'sessions this host may hold at once' },
};

function where(section: IniSection, entry: IniEntry | undefined, key: string): string {
  return `[${section.name}] ${key}${entry ? ` (line ${entry.line})` : ''}`;
}

/** A listen address: `HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT`. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const t = text.trim();
  let host: string;
  let port: string;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(t);
  if (v6) {
    host = v6[1] as string;
    port = v6[2] as string;
  } else if (/^\d+$/.test(t)) {
    host = '0.0.0.0';
    port = t;
  } else {
    const colon = t.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = t.slice(0, colon) || '0.0.0.0';
    port = t.slice(colon + 1);
    if (host.includes(':') || !/^[A-Za-z0-9.-]+$/.test(host)) return undefined;
  }
  if (!/^\d{1,5}$/.test(port)) return undefined;
  const n = Number(port);
  if (n > 65535) return undefined;
  return { host, port: n };
}

/** Seconds as BlastBeat wrote them (`3`, `0.5`), or with a unit (`250ms`, `2s`). */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : n * 1000;
}

/** Bytes, with an optional K, M or G (powers of 1024). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*([kKmMgG])?[bB]?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

function nearest(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.replace(/[-_]/g, '');
  return known.find((k) => norm(k) === norm(key) || k.startsWith(key) || key.startsWith(k));
}

class Reader {
  readonly warnings: string[] = [];
  constructor(readonly file: string) {}

  fail(section: IniSection, entry: IniEntry | undefined, key: string, problem: string, fix: string): never {
    throw new ConfigError(this.file, where(section, entry, key), problem, fix);
  }

  checkKeys(section: IniSection, known: Record<string, KeySpec>): void {
    for (const entry of section.entries) {
      if (known[entry.key] !== undefined) continue;
      const guess = nearest(entry.key, Object.keys(known));
      this.warnings.push(
        `${this.file}: ${where(section, entry, entry.key)}: unknown key, ignored` +
          (guess ? ` (did you mean "${guess}"?)` : ` (known: ${Object.keys(known).join(', ')})`),
      );
    }
  }

  number(section: IniSection, key: string, parse: (v: string) => number | undefined, fallback: number, min: number, max: number, unit: string): number {
    const entry = iniValue(section, key);
    if (entry === undefined) return fallback;
    const n = parse(entry.value);
    if (n === undefined || !Number.isFinite(n) || n < min || n > max) {
      this.fail(section, entry, key, `"${entry.value}" is not ${unit} from ${min} to ${max}`, `${key} = ${fallback}`);
    }
    return n;
  }

  seconds(section: IniSection, key: string, fallbackMs: number, minMs: number, maxMs: number): number {
    const entry = iniValue(section, key);
    if (entry === undefined) return fallbackMs;
    const ms = parseDuration(entry.value);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      this.fail(section, entry, key, `"${entry.value}" is not a duration from ${minMs / 1000} to ${maxMs / 1000} seconds`, `${key} = ${fallbackMs / 1000} (seconds; or 250ms)`);
    }
    return ms;
  }

  integer(section: IniSection, key: string, fallback: number, min: number, max: number): number {
    return this.number(section, key, (v) => (/^\d+$/.test(v.trim()) ? Number(v) : undefined), fallback, min, max, 'a whole number');
  }

  size(section: IniSection, key: string, fallback: number, min: number, max: number): number {
    return this.number(section, key, parseSize, fallback, min, max, 'a size in bytes (K, M, G allowed)');
  }

  addresses(section: IniSection, key: string): ListenAddress[] {
    return iniValues(section, key).map((entry) => {
      const a = parseListenAddress(entry.value);
      if (!a) this.fail(section, entry, key, `"${entry.value}" is not HOST:PORT`, `${key} = 127.0.0.1:8080`);
      return a;
    });
  }

  pem(section: IniSection, entry: IniEntry, key: string, baseDir: string, marker: RegExp): string {
    const path = resolve(baseDir, entry.value);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      this.fail(section, entry, key, `cannot read "${path}" (${(error as { code?: string }).code ?? String(error)})`, `${key} = path/to/a/readable/pem/file`);
    }
    if (!marker.test(text)) this.fail(section, entry, key, `"${path}" is not a PEM file of the expected kind`, `${key} = a PEM file (-----BEGIN ...-----)`);
    return text;
  }
}

const NODE_NAME = /^[\x21-\x7e]{1,255}$/;

/** The CURVE files an INI names; the role loads them (and flags may replace either). */
export interface GatewayCurveFiles {
  readonly secretKeyFile: string;
  readonly allowFile: string;
}

/** `curve-secret-key-file` and `curve-allow`: both or neither, paths from the INI's folder. */
function curveFiles(r: Reader, server: IniSection, baseDir: string): GatewayCurveFiles | undefined {
  const keyEntry = iniValue(server, 'curve-secret-key-file');
  const allowEntry = iniValue(server, 'curve-allow');
  if (keyEntry === undefined && allowEntry === undefined) return undefined;
  if (keyEntry === undefined) {
    r.fail(server, undefined, 'curve-secret-key-file', `missing: curve-allow (line ${allowEntry?.line ?? 0}) needs the ROUTER's key pair`, 'steward keygen --out gateway.key, then curve-secret-key-file = gateway.key');
  }
  if (allowEntry === undefined) {
    r.fail(server, undefined, 'curve-allow', `missing: without an allow-list any node key would be let in (curve-secret-key-file is on line ${keyEntry.line})`, 'curve-allow = nodes.allow (the nodes\' public keys, one per line)');
  }
  for (const [entry, key] of [[keyEntry, 'curve-secret-key-file'], [allowEntry, 'curve-allow']] as const) {
    if (entry.value.trim() === '') r.fail(server, entry, key, 'no file given', `${key} = FILE`);
  }
  return { secretKeyFile: resolve(baseDir, keyEntry.value), allowFile: resolve(baseDir, allowEntry.value) };
}

/** Validates a parsed BlastBeat INI document. Relative certificate paths are resolved against the file's folder. */
export function gatewaySettingsFromIni(doc: IniDocument): { settings: GatewaySettings; warnings: string[]; curve?: GatewayCurveFiles } {
  const r = new Reader(doc.file);
  const baseDir = dirname(resolve(doc.file));
  const servers = doc.sections.filter((s) => s.name.toLowerCase() === 'blastbeat');
  if (servers.length === 0) {
    throw new ConfigError(doc.file, '[blastbeat]', 'section missing', 'add a [blastbeat] section with bind = HOST:PORT and zmq = tcp://HOST:PORT');
  }
  if (servers.length > 1) {
    throw new ConfigError(doc.file, `[blastbeat] (line ${servers[1]!.line})`, 'section given twice', 'merge the [blastbeat] sections into one');
  }
  const server = servers[0] as IniSection;
  r.checkKeys(server, SERVER_KEYS);
  for (const s of doc.sections) {
    if (s.name === '') r.warnings.push(`${doc.file}: keys before any [section] (line ${s.entries[0]?.line ?? 0}) are ignored`);
    else if (s.name.toLowerCase() !== 'blastbeat' && !s.name.toLowerCase().startsWith('blastbeat:')) {
      r.warnings.push(`${doc.file}: [${s.name}] (line ${s.line}): unknown section, ignored (virtual hosts are [blastbeat:HOST[:PORT]])`);
    }
  }

  const bind = r.addresses(server, 'bind');
  const bindSsl = r.addresses(server, 'bind-ssl');
  const zmqEntry = iniValue(server, 'zmq');
  const zmq = zmqEntry?.value ?? GATEWAY_DEFAULTS.zmq;
  if (!/^(tcp|ipc|inproc):\/\/\S+$/.test(zmq)) r.fail(server, zmqEntry, 'zmq', `"${zmq}" is not a ZeroMQ endpoint`, 'zmq = tcp://127.0.0.1:5000');
  const timeoutMs = r.seconds(server, 'timeout', GATEWAY_DEFAULTS.timeoutMs, 1, 3_600_000);

  const vhosts: VhostSettings[] = [];
  const seen = new Map<string, string>();
  for (const section of doc.sections) {
    if (!section.name.toLowerCase().startsWith('blastbeat:')) continue;
    r.checkKeys(section, VHOST_KEYS);
    const name = section.name.slice('blastbeat:'.length).trim().toLowerCase();
    if (!/^[a-z0-9._-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(name)) {
      r.fail(section, undefined, 'name', `"${name}" is not HOST or HOST:PORT`, 'name the section [blastbeat:example.com] or [blastbeat:example.com:8080]');
    }
    const nodes = iniValues(section, 'node').map((e) => {
      if (!NODE_NAME.test(e.value)) r.fail(section, e, 'node', `"${e.value}" is not a node name (1-255 visible ASCII characters)`, 'node = foobar1');
      return e.value;
    });
    if (nodes.length === 0) r.fail(section, undefined, 'node', 'no node given', 'add node = NAME, the routing id your backend sets');
    const aliases = iniValues(section, 'alias').map((e) => e.value.trim().toLowerCase());
    for (const n of [name, ...aliases]) {
      const previous = seen.get(n);
      if (previous !== undefined) r.fail(section, undefined, 'alias', `"${n}" already names [blastbeat:${previous}]`, 'give each host name to one virtual host');
      seen.set(n, name);
    }
    const certEntry = iniValue(section, 'certificate');
    const keyEntry = iniValue(section, 'key');
    if ((certEntry === undefined) !== (keyEntry === undefined)) {
      r.fail(section, certEntry ?? keyEntry, certEntry ? 'key' : 'certificate', 'certificate and key go together', 'give both certificate = FILE and key = FILE, or neither');
    }
    const tls =
      certEntry && keyEntry
        ? { cert: r.pem(section, certEntry, 'certificate', baseDir, /-----BEGIN CERTIFICATE-----/), key: r.pem(section, keyEntry, 'key', baseDir, /-----BEGIN [A-Z ]*PRIVATE KEY-----/) }
        : undefined;
    if (tls && certEntry) {
      try {
        createSecureContext({ cert: tls.cert, key: tls.key });
      } catch (error) {
        r.fail(section, certEntry, 'certificate', `certificate and key do not load together (${error instanceof Error ? error.message : String(error)})`, 'give the key that belongs to this certificate, both in PEM');
      }
    }
    vhosts.push({
      name,
      nodes,
      aliases,
      ...(tls ? { tls } : {}),
      timeoutMs: r.seconds(section, 'timeout', timeoutMs, 1, 3_600_000),
      maxSessions: r.integer(section, 'sessions', 0, 0, 10_000_000),
    });
  }
  if (vhosts.length === 0) r.warnings.push(`${doc.file}: no [blastbeat:HOST] section: every request will get 404`);
  if (bindSsl.length > 0 && !vhosts.some((v) => v.tls)) {
    r.fail(server, iniValue(server, 'bind-ssl'), 'bind-ssl', 'no virtual host has a certificate', 'add certificate = FILE and key = FILE to a [blastbeat:HOST] section');
  }

  const settings: GatewaySettings = {
    bind: bind.length > 0 || bindSsl.length > 0 ? bind : [parseListenAddress(GATEWAY_DEFAULTS.bind) as ListenAddress],
    bindSsl,
    zmq,
    pingFreqMs: r.seconds(server, 'ping-freq', GATEWAY_DEFAULTS.pingFreqMs, 10, 3_600_000),
    timeoutMs,
    maxSessions: r.integer(server, 'sessions', GATEWAY_DEFAULTS.maxSessions, 1, 10_000_000),
    maxNodeSessions: r.integer(server, 'node-sessions', GATEWAY_DEFAULTS.maxNodeSessions, 1, 10_000_000),
    maxHeaders: r.integer(server, 'max-headers', GATEWAY_DEFAULTS.maxHeaders, 1, 10_000),
    writeQueueBuffer: r.size(server, 'writequeue-buffer', GATEWAY_DEFAULTS.writeQueueBuffer, 1024, 1024 ** 3),
    maxHeadSize: r.size(server, 'max-head-size', GATEWAY_DEFAULTS.maxHeadSize, 256, MAX_HEAD_SIZE_LIMIT),
    maxBodySize: r.size(server, 'max-body-size', GATEWAY_DEFAULTS.maxBodySize, 0, 1024 ** 4),
    maxWebSocketMessage: r.size(server, 'websocket-max-message', GATEWAY_DEFAULTS.maxWebSocketMessage, 1, 1024 ** 3),
    headerTimeoutMs: r.seconds(server, 'header-timeout', GATEWAY_DEFAULTS.headerTimeoutMs, 1, 3_600_000),
    bodyTimeoutMs: r.seconds(server, 'body-timeout', GATEWAY_DEFAULTS.bodyTimeoutMs, 1, 3_600_000),
    idleTimeoutMs: r.seconds(server, 'keepalive-timeout', GATEWAY_DEFAULTS.idleTimeoutMs, 1, 86_400_000),
    vhosts,
  };
  const curve = curveFiles(r, server, baseDir);
  return { settings, warnings: r.warnings, ...(curve ? { curve } : {}) };
}

export function loadGatewayConfig(file: string): { settings: GatewaySettings; warnings: string[]; curve?: GatewayCurveFiles } {
  return gatewaySettingsFromIni(readIni(file));
}
