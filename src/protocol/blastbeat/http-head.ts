/**
 * HTTP/1.x request heads (RFC 9112): the request line and header fields of a
 * complete head, validated and reduced to what the gateway routes and
 * forwards on. Strict where leniency is how requests get smuggled (spaces
 * before a colon, folded lines, Content-Length beside Transfer-Encoding,
 * conflicting lengths); every refusal is a reason with a status
 * (`http-status.ts`). Pure: no sockets, no XState.
 */
import type { RequestErrorReason } from './http-status.js';

export interface HeadLimits {
  /** Bytes of the head, request line to the blank line included. */
  readonly maxHeadSize: number;
  readonly maxHeaders: number;
  /** Largest Content-Length accepted, and the largest chunked body. */
  readonly maxBodySize: number;
}

export const DEFAULT_HEAD_LIMITS: HeadLimits = {
  maxHeadSize: 16 * 1024,
  maxHeaders: 100,
  maxBodySize: 16 * 1024 * 1024,
};

/** How the request body is delimited. */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' };

export interface RequestHead {
  readonly method: string;
  /** The request target as sent. */
  readonly target: string;
  /** Path part, still percent-encoded. */
  readonly path: string;
  readonly query: string;
  readonly version: '1.0' | '1.1';
  /** Header fields in arrival order, names lower-cased; repeated fields are joined (RFC 9110 5.3). */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  /** Host without surrounding whitespace, lower-cased; from an absolute-form target if it has one. */
  readonly host: string;
  readonly contentType: string | undefined;
  readonly body: BodyFraming;
  /** Whether the connection may carry another request after this one. */
  readonly keepAlive: boolean;
  readonly expectContinue: boolean;
  /** Set when the request asks for a WebSocket (`Upgrade: websocket`). */
  readonly upgrade: 'websocket' | undefined;
}

export interface HeadRejection {
  readonly type: 'rejected';
  readonly reason: RequestErrorReason;
  readonly detail?: string;
}

export type HeadResult = { readonly type: 'head'; readonly head: RequestHead } | HeadRejection;

const headReject = (reason: RequestErrorReason, detail?: string): HeadRejection =>
  detail === undefined ? { type: 'rejected', reason } : { type: 'rejected', reason, detail };

/** tchar (RFC 9110 5.6.2) as a lookup table over latin1 codes. */
const TOKEN = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = 1;
  return t;
})();

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Field values: visible latin1, space and tab; no other controls (a CR or NUL here is an attack). */
function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** Target bytes: visible ASCII and obs-text; no controls, no spaces. */
function isTarget(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false;
  }
  return true;
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function hasToken(list: string, token: string): boolean {
  const parts = list.toLowerCase().split(',');
  for (const p of parts) if (trimOws(p) === token) return true;
  return false;
}

const MAX_LENGTH_DIGITS = 15;

function parseLength(value: string): number | undefined {
  // "5, 5" is legal for a repeated field with one value (RFC 9110 8.6).
  let result: number | undefined;
  for (const part of value.split(',')) {
    const v = trimOws(part);
    if (v.length === 0 || v.length > MAX_LENGTH_DIGITS) return undefined;
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return undefined;
      n = n * 10 + (c - 0x30);
    }
    if (result !== undefined && result !== n) return undefined;
    result = n;
  }
  return result;
}

interface Target {
  readonly path: string;
  readonly query: string;
  readonly authority: string | undefined;
}

function splitTarget(method: string, target: string): Target | undefined {
  if (target === '*') return method === 'OPTIONS' ? { path: '*', query: '', authority: undefined } : undefined;
  let rest = target;
  let authority: string | undefined;
  if (target.charCodeAt(0) !== 0x2f) {
    // absolute-form, which proxies send: scheme://authority/path?query
    const m = /^https?:\/\/([^/?#]+)(.*)$/i.exec(target);
    if (!m) return undefined;
    authority = (m[1] as string).toLowerCase();
    rest = (m[2] as string) === '' ? '/' : (m[2] as string);
    if (rest.charCodeAt(0) !== 0x2f) rest = `/${rest}`;
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  return q < 0 ? { path: rest, query: '', authority } : { path: rest.slice(0, q), query: rest.slice(q + 1), authority };
}

/** Host values: reg-name or IP literal with an optional port; enough to refuse header injection and junk. */
function isHost(value: string): boolean {
  if (value.length === 0 || value.length > 255) return false;
  return /^(\[[0-9a-f:.]+\]|[a-z0-9._~!$&'()*+,;=%-]+)(:[0-9]{1,5})?$/i.test(value);
}

/**
 * Parses one complete head: `text` runs from the request line to the end of
 * the last header line, the blank line excluded (the caller found it). Lines
 * may end in CRLF or a bare LF (RFC 9112 2.2 lets a recipient accept LF).
 */
export function parseRequestHead(text: string, limits: HeadLimits = DEFAULT_HEAD_LIMITS): HeadResult {
  const lines = text.split('\n');
  const first = stripCr(lines[0] ?? '');
  if (first === undefined) return headReject('bad_request_line', 'stray CR');
  const sp1 = first.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : first.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || first.indexOf(' ', sp2 + 1) >= 0) return headReject('bad_request_line', first.slice(0, 64));
  const method = first.slice(0, sp1);
  const target = first.slice(sp1 + 1, sp2);
  const protocol = first.slice(sp2 + 1);
  if (!isToken(method)) return headReject('bad_method', method.slice(0, 32));
  let version: '1.0' | '1.1';
  if (protocol === 'HTTP/1.1') version = '1.1';
  else if (protocol === 'HTTP/1.0') version = '1.0';
  else if (/^HTTP\/\d\.\d$/.test(protocol)) return headReject('unsupported_version', protocol);
  else return headReject('bad_request_line', protocol.slice(0, 32));
  if (method === 'CONNECT') return headReject('unsupported_method', 'CONNECT');
  if (!isTarget(target)) return headReject('bad_target');
  const split = splitTarget(method, target);
  if (!split) return headReject('bad_target', target.slice(0, 64));

  const headers: Array<[string, string]> = [];
  let host: string | undefined;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection = '';
  let upgrade: string | undefined;
  let expect: string | undefined;
  let contentType: string | undefined;
  let fields = 0;

  for (let i = 1; i < lines.length; i++) {
    const line = stripCr(lines[i] as string);
    if (line === undefined) return headReject('bad_header', 'stray CR');
    if (line.length === 0) return headReject('bad_header', 'empty line inside the head');
    if (++fields > limits.maxHeaders) return headReject('too_many_headers', `more than ${limits.maxHeaders}`);
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) return headReject('bad_header', 'folded line (obs-fold)');
    const colon = line.indexOf(':');
    if (colon <= 0) return headReject('bad_header', line.slice(0, 64));
    const rawName = line.slice(0, colon);
    if (!isToken(rawName)) return headReject('bad_header', `bad field name "${rawName.slice(0, 64)}"`);
    const value = trimOws(line.slice(colon + 1));
    if (!isFieldValue(value)) return headReject('bad_header', `control character in ${rawName}`);
    const name = rawName.toLowerCase();
    switch (name) {
      case 'host':
        if (host !== undefined) return headReject('duplicate_host');
        host = value;
        break;
      case 'content-length':
        contentLength = contentLength === undefined ? value : `${contentLength},${value}`;
        break;
      case 'transfer-encoding':
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        break;
      case 'connection':
        connection = connection === '' ? value : `${connection},${value}`;
        break;
      case 'upgrade':
        upgrade = value;
        break;
      case 'expect':
        expect = value;
        break;
      case 'content-type':
        contentType = value;
        break;
    }
    addField(headers, name, value);
  }

  const authority = split.authority;
  if (authority !== undefined) host = authority;
  if (host === undefined || host.length === 0) return headReject('missing_host');
  if (!isHost(host)) return headReject('bad_header', 'malformed Host');

  let body: BodyFraming = { kind: 'none' };
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) return headReject('ambiguous_length', 'Content-Length with Transfer-Encoding');
    if (version === '1.0') return headReject('unsupported_transfer_encoding', 'Transfer-Encoding in HTTP/1.0');
    if (trimOws(transferEncoding).toLowerCase() !== 'chunked') return headReject('unsupported_transfer_encoding', transferEncoding.slice(0, 64));
    body = { kind: 'chunked' };
  } else if (contentLength !== undefined) {
    const n = parseLength(contentLength);
    if (n === undefined) return headReject('bad_content_length', contentLength.slice(0, 64));
    if (n > limits.maxBodySize) return headReject('body_too_large', `${n} > ${limits.maxBodySize} bytes`);
    if (n > 0) body = { kind: 'length', length: n };
  }

  const close = connection !== '' && hasToken(connection, 'close');
  const keepAlive = version === '1.1' ? !close : connection !== '' && hasToken(connection, 'keep-alive') && !close;
  const wantsUpgrade = upgrade !== undefined && hasToken(upgrade, 'websocket');
  // A WebSocket handshake without "Connection: upgrade" is refused (RFC 6455 4.2.1), never served as plain
  // HTTP: nodes (BlastBeat's, GatewayBackend) read HTTP_UPGRADE alone, would take the request for a WebSocket
  // the gateway never opened, and leave the client waiting for an answer that never comes.
  if (wantsUpgrade && !(connection !== '' && hasToken(connection, 'upgrade'))) {
    return headReject('bad_websocket_handshake', 'Upgrade: websocket without Connection: upgrade');
  }

  return {
    type: 'head',
    head: {
      method,
      target,
      path: split.path,
      query: split.query,
      version,
      headers,
      host: host.toLowerCase(),
      contentType,
      body,
      keepAlive,
      expectContinue: expect !== undefined && expect.toLowerCase() === '100-continue',
      upgrade: wantsUpgrade ? 'websocket' : undefined,
    },
  };
}

/** Drops the CR of a CRLF line end; undefined when a CR appears anywhere else. */
function stripCr(line: string): string | undefined {
  const cr = line.indexOf('\r');
  if (cr < 0) return line;
  if (cr === line.length - 1) return line.slice(0, cr);
  return undefined;
}

function addField(headers: Array<[string, string]>, name: string, value: string): void {
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i] as [string, string];
    if (h[0] === name) {
      // Cookie pairs are joined with "; " (RFC 6265 5.4), every other list with ", ".
      h[1] = `${h[1]}${name === 'cookie' ? '; ' : ', '}${value}`;
      return;
    }
  }
  headers.push([name, value]);
}

/** Looks a (lower-case) field up in a parsed head. */
export function headerValue(head: RequestHead, name: string): string | undefined {
  for (const [n, v] of head.headers) if (n === name) return v;
  return undefined;
}
