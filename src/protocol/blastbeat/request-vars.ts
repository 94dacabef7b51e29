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

function pair(key: string, value: string): string {
  return String.fromCharCode(key.length & 0xff, key.length >>> 8) + key + String.fromCharCode(value.length & 0xff, value.length >>> 8) + value;
}

const FIXED_KEYS = [
  'REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'CONTENT_TYPE', 'CONTENT_LENGTH',
  'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL', 'REMOTE_ADDR', 'REMOTE_PORT', 'REQUEST_URI',
] as const;

/**
 * The `uwsgi` message body for a request, or a Rejection when its vars
 * overflow the 16-bit length. The same bytes as `encodeUwsgi(requestVars())`,
 * built straight into one string: this runs once per request.
 */
export function encodeRequest(head: RequestHead, peer: PeerInfo): Buffer | Rejection {
  const values = [
    head.method,
    '',
    decodePath(head.path),
    head.query,
    head.contentType ?? '',
    head.body.kind === 'length' ? String(head.body.length) : '',
    hostName(head.host),
    String(peer.localPort),
    head.version === '1.1' ? 'HTTP/1.1' : 'HTTP/1.0',
    peer.remoteAddress,
    String(peer.remotePort),
    head.target,
  ];
  let body = '';
  for (let i = 0; i < FIXED_KEYS.length; i++) body += pair(FIXED_KEYS[i] as string, values[i] as string);
  if (peer.tls) body += pair('HTTPS', 'on');
  for (const [name, value] of head.headers) {
    if (value.length > UWSGI_MAX_PACKET) return encodeUwsgi([[name, value]]);
    body += pair(cgiHeaderName(name), value);
  }
  if (body.length + UWSGI_HEADER_SIZE > UWSGI_MAX_PACKET) return encodeUwsgi(requestVars(head, peer));
  return uwsgiPacket(body);
}
