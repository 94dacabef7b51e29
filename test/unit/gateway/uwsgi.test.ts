import { describe, expect, it } from 'vitest';
import { decodeUwsgi, decodeUwsgiRecord, encodeUwsgi, uwsgiRecord } from '../../../src/protocol/blastbeat/uwsgi.js';
import { encodeRequest, decodePath, hostName, requestVars } from '../../../src/protocol/blastbeat/request-vars.js';
import { parseRequestHead, type RequestHead } from '../../../src/protocol/blastbeat/http-head.js';

function bytes(b: Buffer | { type: string }): Buffer {
  if (!Buffer.isBuffer(b)) throw new Error(`expected bytes, got ${JSON.stringify(b)}`);
  return b;
}

function head(text: string): RequestHead {
  const r = parseRequestHead(text);
  if (r.type !== 'head') throw new Error(r.reason);
  return r.head;
}

describe('uwsgi packet', () => {
  it('should count the 4-byte header in the length field (BlastBeat quirk)', () => {
    const packet = bytes(encodeUwsgi([['A', 'bc']]));
    // total = 4 header + (2 + 1) key + (2 + 2) value = 11
    expect([...packet]).toEqual([0, 11, 0, 0, 1, 0, 0x41, 2, 0, 0x62, 0x63]);
  });

  it('should use the vars-only length under the standard convention', () => {
    const packet = bytes(encodeUwsgi([['A', 'bc']], 'standard'));
    expect([...packet.subarray(0, 4)]).toEqual([0, 7, 0, 0]);
  });

  it('should encode an empty value and lengths over 255 little-endian', () => {
    const long = 'x'.repeat(300);
    const packet = bytes(encodeUwsgi([['K', ''], ['L', long]]));
    expect([...packet.subarray(0, 4)]).toEqual([0, (4 + 5 + 305) & 0xff, (4 + 5 + 305) >> 8, 0]);
    expect([...packet.subarray(4, 9)]).toEqual([1, 0, 0x4b, 0, 0]);
    expect([...packet.subarray(9, 14)]).toEqual([1, 0, 0x4c, 300 & 0xff, 300 >> 8]);
  });

  it('should keep latin1 bytes as they are', () => {
    const packet = bytes(encodeUwsgi([['H', '\u00e9']]));
    expect(packet[packet.length - 1]).toBe(0xe9);
    const back = decodeUwsgi(packet);
    expect(back).toEqual({ type: 'uwsgi', vars: [['H', '\u00e9']] });
  });

  it('should refuse a packet whose total length does not fit 16 bits', () => {
    expect(encodeUwsgi([['BIG', 'y'.repeat(65_530)]])).toMatchObject({ type: 'rejected', reason: 'uwsgi_too_large' });
  });

  it('should round-trip vars in order', () => {
    const vars = [['REQUEST_METHOD', 'GET'], ['PATH_INFO', '/a b'], ['HTTP_X', 'y']] as const;
    expect(decodeUwsgi(bytes(encodeUwsgi(vars)))).toEqual({ type: 'uwsgi', vars: vars.map((v) => [...v]) });
  });

  it.each([
    ['short header', Buffer.from([0, 4, 0])],
    ['bad modifier', Buffer.from([5, 4, 0, 0])],
    ['length mismatch', Buffer.from([0, 12, 0, 0, 1, 0, 0x41, 0, 0])],
    ['truncated key', Buffer.from([0, 7, 0, 0, 5, 0, 0x41])],
    ['truncated value', Buffer.from([0, 11, 0, 0, 1, 0, 0x41, 9, 0, 0x62, 0x63])],
    ['missing value length', Buffer.from([0, 7, 0, 0, 1, 0, 0x41])],
    ['empty key', Buffer.from([0, 8, 0, 0, 0, 0, 0, 0])],
  ])('should reject a malformed packet: %s', (_name, packet) => {
    expect(decodeUwsgi(packet)).toMatchObject({ type: 'rejected' });
  });

  it('should decode straight into a record, a repeated key keeping its last value', () => {
    const packet = bytes(encodeUwsgi([['A', '1'], ['B', '2'], ['A', '3']]));
    expect(decodeUwsgiRecord(packet)).toEqual({ type: 'uwsgi.record', vars: { A: '3', B: '2' } });
    expect(uwsgiRecord([['A', '1'], ['A', '3']])).toEqual({ A: '3' });
    expect(decodeUwsgiRecord(Buffer.from([0, 9, 0, 0]))).toMatchObject({ type: 'rejected', reason: 'uwsgi_bad_length' });
  });

  it('should decode a standard-convention packet when asked to', () => {
    const packet = bytes(encodeUwsgi([['A', 'b']], 'standard'));
    expect(decodeUwsgi(packet)).toMatchObject({ type: 'rejected', reason: 'uwsgi_bad_length' });
    expect(decodeUwsgi(packet, { convention: 'standard' })).toEqual({ type: 'uwsgi', vars: [['A', 'b']] });
  });
});

describe('request vars', () => {
  const peer = { remoteAddress: '127.0.0.1', remotePort: 51234, localPort: 8080, tls: false };

  it('should produce the vars of docs/gateway.md "The uwsgi packet" in order, then the headers as HTTP_<NAME>', () => {
    const h = head('POST /p%20q?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nX-Forwarded-For: a');
    expect(requestVars(h, peer)).toEqual([
      ['REQUEST_METHOD', 'POST'],
      ['SCRIPT_NAME', ''],
      ['PATH_INFO', '/p q'],
      ['QUERY_STRING', 'x=1'],
      ['CONTENT_TYPE', 'text/plain'],
      ['CONTENT_LENGTH', '3'],
      ['SERVER_NAME', 'example.com'],
      ['SERVER_PORT', '8080'],
      ['SERVER_PROTOCOL', 'HTTP/1.1'],
      ['REMOTE_ADDR', '127.0.0.1'],
      ['REMOTE_PORT', '51234'],
      ['REQUEST_URI', '/p%20q?x=1'],
      ['HTTP_HOST', 'example.com:8080'],
      ['HTTP_CONTENT_TYPE', 'text/plain'],
      ['HTTP_CONTENT_LENGTH', '3'],
      ['HTTP_X_FORWARDED_FOR', 'a'],
    ]);
  });

  it('should write REMOTE_PORT in host byte order', () => {
    // 0x1F90 = 8080; BlastBeat printed the network-order short, 0x901F = 36895.
    const h = head('GET / HTTP/1.1\r\nHost: h');
    const record = uwsgiRecord(requestVars(h, { ...peer, remotePort: 8080 }));
    expect(record['REMOTE_PORT']).toBe('8080');
  });

  it('should encode a minimal GET to exactly these bytes', () => {
    const h = head('GET / HTTP/1.1\r\nHost: h');
    const packet = bytes(encodeRequest(h, { remoteAddress: '1.2.3.4', remotePort: 1, localPort: 80, tls: true }));
    const pair = (k: string, v: string) => [k.length, 0, ...Buffer.from(k), v.length, 0, ...Buffer.from(v)];
    const body = [
      ...pair('REQUEST_METHOD', 'GET'),
      ...pair('SCRIPT_NAME', ''),
      ...pair('PATH_INFO', '/'),
      ...pair('QUERY_STRING', ''),
      ...pair('CONTENT_TYPE', ''),
      ...pair('CONTENT_LENGTH', ''),
      ...pair('SERVER_NAME', 'h'),
      ...pair('SERVER_PORT', '80'),
      ...pair('SERVER_PROTOCOL', 'HTTP/1.1'),
      ...pair('REMOTE_ADDR', '1.2.3.4'),
      ...pair('REMOTE_PORT', '1'),
      ...pair('REQUEST_URI', '/'),
      ...pair('HTTPS', 'on'),
      ...pair('HTTP_HOST', 'h'),
    ];
    const total = 4 + body.length;
    expect([...packet]).toEqual([0, total & 0xff, total >> 8, 0, ...body]);
  });

  it('should encode the same bytes on its fast path as the generic encoder', () => {
    for (const text of [
      'GET / HTTP/1.1\r\nHost: h',
      'POST /a%2Fb?q=1&r=%20 HTTP/1.0\r\nHost: example.com:81\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nCookie: a=1\r\nCookie: b=2',
      `GET /x HTTP/1.1\r\nHost: h\r\nX-Latin: caf\u00e9\r\nX-Long: ${'v'.repeat(300)}`,
    ]) {
      for (const tls of [false, true]) {
        const h = head(text);
        const p = { ...peer, tls };
        expect(bytes(encodeRequest(h, p)).equals(bytes(encodeUwsgi(requestVars(h, p))))).toBe(true);
      }
    }
  });

  it('should decode percent escapes in PATH_INFO and leave malformed ones', () => {
    expect(decodePath('/a%2Fb%zz%4')).toBe('/a/b%zz%4');
    expect(decodePath('/plain')).toBe('/plain');
  });

  it('should strip the port from SERVER_NAME, keeping IPv6 brackets', () => {
    expect(hostName('example.com:81')).toBe('example.com');
    expect(hostName('[::1]:81')).toBe('[::1]');
    expect(hostName('[::1]')).toBe('[::1]');
  });
});
