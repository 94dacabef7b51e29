/**
 * A request head as the CGI-style vars a BlastBeat backend reads from the
 * `uwsgi` packet (docs/gateway.md "The uwsgi packet"), in BlastBeat's order, then a few that uwsgi
 * and WSGI servers add (REQUEST_URI, HTTPS), then every header as
 * `HTTP_<NAME>`. Pure: no sockets, no XState.
 */
import type { RequestHead } from './http-head.js';
import { encodeUwsgi, uwsgiPacket, UWSGI_HEADER_SIZE, UWSGI_MAX_PACKET, type UwsgiVar } from './uwsgi.js';
import type { Rejection } from '../codec.js';

/** Where the request came from and arrived at. */
export interface PeerInfo {
  readonly remoteAddress: string;
  /** A number in host byte order (BlastBeat printed the network-order value). */
  readonly remotePort: number;
  readonly localPort: number;
  readonly tls: boolean;
}

const MAX_CACHED_NAMES = 512;
const httpNames = new Map<string, string>();

/** `user-agent` -> `HTTP_USER_AGENT`, cached: the same few names come with every request. */
export function cgiHeaderName(name: string): string {
  let cgi = httpNames.get(name);
  if (cgi === undefined) {
    cgi = `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
    if (httpNames.size < MAX_CACHED_NAMES) httpNames.set(name, cgi);
  }
  return cgi;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Percent-decodes a path to latin1 bytes, as CGI's PATH_INFO is; malformed escapes stay as they are. */
export function decodePath(path: string): string {
  if (!path.includes('%')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 && i + 2 < path.length) {
      const hi = hexDigit(path.charCodeAt(i + 1));
      const lo = hexDigit(path.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out += String.fromCharCode(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += path[i];
  }
  return out;
}

/** The Host header without its port; IPv6 literals keep their brackets. */
export function hostName(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

export function requestVars(head: RequestHead, peer: PeerInfo): UwsgiVar[] {
  const vars: UwsgiVar[] = [
    ['REQUEST_METHOD', head.method],
    ['SCRIPT_NAME', ''],
    ['PATH_INFO', decodePath(head.path)],
    ['QUERY_STRING', head.query],
    ['CONTENT_TYPE', head.contentType ?? ''],
    ['CONTENT_LENGTH', head.body.kind === 'length' ? String(head.body.length) : ''],
    ['SERVER_NAME', hostName(head.host)],
    ['SERVER_PORT', String(peer.localPort)],
    ['SERVER_PROTOCOL', `HTTP/${head.version}`],
    ['REMOTE_ADDR', peer.remoteAddress],
    ['REMOTE_PORT', String(peer.remotePort)],
    ['REQUEST_URI', head.target],
  ];
  if (peer.tls) vars.push(['HTTPS', 'on']);
  for (const [name, value] of head.headers) vars.push([cgiHeaderName(name), value]);
  return vars;
}

function length16(n: number): string {
  return String.fromCharCode(n & 0xff, n >>> 8);
}

function pair(key: string, value: string): string {
  return length16(key.length) + key + length16(value.length) + value;
}

/** A key's length and bytes, encoded once: only the value changes from request to request. */
const keyOf = (key: string) => length16(key.length) + key;
const K_METHOD = keyOf('REQUEST_METHOD');
const EMPTY_SCRIPT_NAME = pair('SCRIPT_NAME', '');
const K_PATH = keyOf('PATH_INFO');
const K_QUERY = keyOf('QUERY_STRING');
const K_CONTENT_TYPE = keyOf('CONTENT_TYPE');
const K_CONTENT_LENGTH = keyOf('CONTENT_LENGTH');
const K_SERVER_NAME = keyOf('SERVER_NAME');
const K_URI = keyOf('REQUEST_URI');
const HTTPS_ON = pair('HTTPS', 'on');

const headerKeys = new Map<string, string>();

/** `user-agent` -> the encoded key `HTTP_USER_AGENT`, cached like `cgiHeaderName`. */
function headerKey(name: string): string {
  let key = headerKeys.get(name);
  if (key === undefined) {
    key = keyOf(cgiHeaderName(name));
    if (headerKeys.size < MAX_CACHED_NAMES) headerKeys.set(name, key);
  }
  return key;
}

const value = (key: string, v: string) => key + length16(v.length) + v;

/**
 * The vars that depend only on the connection (SERVER_PORT, SERVER_PROTOCOL,
 * REMOTE_ADDR, REMOTE_PORT, HTTPS), encoded once per connection rather than
 * once per request.
 */
export interface PeerVars {
  /** SERVER_PORT .. REMOTE_PORT for an HTTP/1.1 request, and for HTTP/1.0. */
  readonly http11: string;
  readonly http10: string;
  /** `HTTPS=on` over TLS, else empty. */
  readonly tls: string;
}

export function peerVars(peer: PeerInfo): PeerVars {
  const port = pair('SERVER_PORT', String(peer.localPort));
  const remote = pair('REMOTE_ADDR', peer.remoteAddress) + pair('REMOTE_PORT', String(peer.remotePort));
  return {
    http11: port + pair('SERVER_PROTOCOL', 'HTTP/1.1') + remote,
    http10: port + pair('SERVER_PROTOCOL', 'HTTP/1.0') + remote,
    tls: peer.tls ? HTTPS_ON : '',
  };
}

/**
 * The `uwsgi` message body for a request, or a Rejection when its vars
 * overflow the 16-bit length. The same bytes as `encodeUwsgi(requestVars())`,
 * built straight into one string from keys encoded once and the
 * connection's own vars (`peerVars`, which a caller keeps per connection):
 * this runs once per request.
 */
export function encodeRequest(head: RequestHead, peer: PeerInfo, vars: PeerVars = peerVars(peer)): Buffer | Rejection {
  let body =
    value(K_METHOD, head.method) +
    EMPTY_SCRIPT_NAME +
    value(K_PATH, decodePath(head.path)) +
    value(K_QUERY, head.query) +
    value(K_CONTENT_TYPE, head.contentType ?? '') +
    value(K_CONTENT_LENGTH, head.body.kind === 'length' ? String(head.body.length) : '') +
    value(K_SERVER_NAME, hostName(head.host)) +
    (head.version === '1.1' ? vars.http11 : vars.http10) +
    value(K_URI, head.target) +
    vars.tls;
  const headers = head.headers;
  for (let i = 0; i < headers.length; i++) {
    const [name, v] = headers[i] as readonly [string, string];
    if (v.length > UWSGI_MAX_PACKET) return encodeUwsgi([[name, v]]);
    body += headerKey(name) + length16(v.length) + v;
  }
  if (body.length + UWSGI_HEADER_SIZE > UWSGI_MAX_PACKET) return encodeUwsgi(requestVars(head, peer));
  return uwsgiPacket(body);
}
