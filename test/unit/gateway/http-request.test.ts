import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseRequestHead, DEFAULT_HEAD_LIMITS } from '../../../src/protocol/blastbeat/http-head.js';
import { RequestStream, type BodyItem } from '../../../src/protocol/blastbeat/request-stream.js';
import { ChunkedDecoder, encodeChunk, LAST_CHUNK } from '../../../src/protocol/blastbeat/chunked.js';
import { statusOfRequestError } from '../../../src/protocol/blastbeat/http-status.js';

function parse(text: string, limits = DEFAULT_HEAD_LIMITS) {
  return parseRequestHead(text, limits);
}

function drainBody(s: RequestStream): { data: string; ended: boolean; error?: string } {
  let data = '';
  for (let guard = 0; guard < 10_000; guard++) {
    const item: BodyItem | undefined = s.readBody();
    if (item === undefined) return { data, ended: false };
    if (item.kind === 'end') return { data, ended: true };
    if (item.kind === 'error') return { data, ended: false, error: item.reason };
    data += item.data.toString('latin1');
  }
  throw new Error('body never ended');
}

describe('request head', () => {
  it('should parse a GET with host, keep-alive by default in HTTP/1.1', () => {
    const r = parse('GET /a/b?c=d HTTP/1.1\r\nHost: Example.COM:8000\r\nAccept: */*');
    expect(r).toMatchObject({
      type: 'head',
      head: { method: 'GET', path: '/a/b', query: 'c=d', version: '1.1', host: 'example.com:8000', keepAlive: true, body: { kind: 'none' } },
    });
  });

  it('should close HTTP/1.0 unless it asks for keep-alive, and honour Connection: close', () => {
    expect(parse('GET / HTTP/1.0\r\nHost: h')).toMatchObject({ head: { keepAlive: false } });
    expect(parse('GET / HTTP/1.0\r\nHost: h\r\nConnection: Keep-Alive')).toMatchObject({ head: { keepAlive: true } });
    expect(parse('GET / HTTP/1.1\r\nHost: h\r\nConnection: close')).toMatchObject({ head: { keepAlive: false } });
  });

  it('should recognise a WebSocket upgrade and Expect: 100-continue', () => {
    const r = parse('GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: x');
    expect(r).toMatchObject({ head: { upgrade: 'websocket' } });
    expect(parse('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue')).toMatchObject({ head: { expectContinue: true } });
  });

  it('should refuse Upgrade: websocket without Connection: upgrade rather than pass it on as plain HTTP (found by fuzzing)', () => {
    // Served as plain HTTP, the node saw HTTP_UPGRADE=websocket, took it for a WebSocket, and the client got a 504.
    expect(parse('GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: x')).toMatchObject({
      type: 'rejected',
      reason: 'bad_websocket_handshake',
    });
    expect(parse('GET /ws HTTP/1.0\r\nHost: h\r\nUpgrade: WebSocket')).toMatchObject({ type: 'rejected', reason: 'bad_websocket_handshake' });
    // Other upgrades are not the gateway's business: the request goes on as plain HTTP.
    expect(parse('GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade')).toMatchObject({ type: 'head', head: { upgrade: undefined } });
  });

  it('should take the host from an absolute-form target', () => {
    expect(parse('GET http://Other:9/x?y HTTP/1.1\r\nHost: h')).toMatchObject({ head: { host: 'other:9', path: '/x', query: 'y' } });
  });

  it('should join repeated fields, cookies with "; "', () => {
    const r = parse('GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nCookie: x=1\r\naccept: b\r\nCookie: y=2');
    expect(r).toMatchObject({ head: { headers: [['host', 'h'], ['accept', 'a, b'], ['cookie', 'x=1; y=2']] } });
  });

  it.each([
    ['no Host', 'GET / HTTP/1.1\r\nAccept: x', 'missing_host', 400],
    ['empty Host', 'GET / HTTP/1.1\r\nHost: ', 'missing_host', 400],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b', 'duplicate_host', 400],
    ['junk in Host', 'GET / HTTP/1.1\r\nHost: a b', 'bad_header', 400],
    ['bad request line', 'GET /\r\nHost: h', 'bad_request_line', 400],
    ['two spaces', 'GET  / HTTP/1.1\r\nHost: h', 'bad_request_line', 400],
    ['bad method', 'G(T / HTTP/1.1\r\nHost: h', 'bad_method', 400],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: h', 'unsupported_version', 505],
    ['relative target', 'GET foo HTTP/1.1\r\nHost: h', 'bad_target', 400],
    ['CONNECT', 'CONNECT h:443 HTTP/1.1\r\nHost: h', 'unsupported_method', 501],
    ['space before colon', 'GET / HTTP/1.1\r\nHost: h\r\nX-A : 1', 'bad_header', 400],
    ['folded line', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  more', 'bad_header', 400],
    ['no colon', 'GET / HTTP/1.1\r\nHost: h\r\nnocolon', 'bad_header', 400],
    ['NUL in value', 'GET / HTTP/1.1\r\nHost: h\r\nX: a\u0000b', 'bad_header', 400],
    ['stray CR', 'GET / HTTP/1.1\r\nHost: h\r\nX: a\rb', 'bad_header', 400],
    ['CL and TE', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked', 'ambiguous_length', 400],
    ['conflicting CL', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2', 'bad_content_length', 400],
    ['negative CL', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1', 'bad_content_length', 400],
    ['gzip TE', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip', 'unsupported_transfer_encoding', 501],
    ['TE in 1.0', 'POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked', 'unsupported_transfer_encoding', 501],
    ['CL over the limit', `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${DEFAULT_HEAD_LIMITS.maxBodySize + 1}`, 'body_too_large', 413],
  ] as const)('should refuse %s', (_name, text, reason, status) => {
    const r = parse(text);
    expect(r).toMatchObject({ type: 'rejected', reason });
    if (r.type === 'rejected') expect(statusOfRequestError(r.reason)).toBe(status);
  });

  it('should refuse more header fields than the limit', () => {
    const lines = Array.from({ length: 5 }, (_, i) => `X-${i}: v`).join('\r\n');
    expect(parse(`GET / HTTP/1.1\r\nHost: h\r\n${lines}`, { ...DEFAULT_HEAD_LIMITS, maxHeaders: 5 })).toMatchObject({ reason: 'too_many_headers' });
  });

  it('should accept equal repeated Content-Length values', () => {
    expect(parse('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5')).toMatchObject({ head: { body: { kind: 'length', length: 5 } } });
  });
});

describe('request stream', () => {
  it('should hand out pipelined requests one at a time with their bodies', () => {
    const s = new RequestStream();
    s.push(Buffer.from('POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\n\r\n'));
    expect(s.readHead()).toMatchObject({ head: { path: '/a' } });
    expect(drainBody(s)).toEqual({ data: 'hello', ended: true });
    expect(s.readHead()).toMatchObject({ head: { path: '/b' } });
    expect(s.inBody).toBe(false);
    expect(s.readHead()).toBeUndefined();
  });

  it('should find a head sent one byte at a time, with a bare-LF variant', () => {
    for (const text of ['GET /x HTTP/1.1\r\nHost: h\r\n\r\n', 'GET /x HTTP/1.1\nHost: h\n\n']) {
      const s = new RequestStream();
      let got: unknown;
      for (const byte of Buffer.from(text)) {
        expect(got).toBeUndefined();
        s.push(Buffer.from([byte]));
        got = s.readHead();
      }
      expect(got).toMatchObject({ head: { path: '/x', host: 'h' } });
    }
  });

  it('should skip empty lines between requests', () => {
    const s = new RequestStream();
    s.push(Buffer.from('\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n'));
    expect(s.readHead()).toMatchObject({ type: 'head' });
  });

  it('should refuse a head over the size limit, even without its blank line', () => {
    const limits = { ...DEFAULT_HEAD_LIMITS, maxHeadSize: 64 };
    const s = new RequestStream(limits);
    s.push(Buffer.from(`GET / HTTP/1.1\r\nHost: h\r\nX: ${'a'.repeat(100)}`));
    expect(s.readHead()).toMatchObject({ type: 'rejected', reason: 'head_too_large' });
    const t = new RequestStream(limits);
    t.push(Buffer.from(`GET / HTTP/1.1\r\nHost: h\r\nX: ${'a'.repeat(100)}\r\n\r\n`));
    expect(t.readHead()).toMatchObject({ type: 'rejected', reason: 'head_too_large' });
  });

  it('should decode a chunked body split at every position', () => {
    const wire = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n';
    for (let cut = 1; cut < wire.length; cut++) {
      const s = new RequestStream();
      s.push(Buffer.from(wire.slice(0, cut)));
      let head = s.readHead();
      let body = '';
      let ended = false;
      const pump = () => {
        if (head === undefined) head = s.readHead();
        if (head !== undefined && !ended) {
          const r = drainBody(s);
          body += r.data;
          ended = r.ended;
          expect(r.error).toBeUndefined();
        }
      };
      pump();
      s.push(Buffer.from(wire.slice(cut)));
      pump();
      expect(body).toBe('hello world');
      expect(ended).toBe(true);
      expect(s.readHead()).toMatchObject({ head: { path: '/next' } });
    }
  });

  it('should return the bytes after an upgrade head', () => {
    const s = new RequestStream();
    s.push(Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x80', 'latin1'));
    expect(s.readHead()).toMatchObject({ head: { upgrade: 'websocket' } });
    expect([...s.takeRest()]).toEqual([0x81, 0x80]);
  });
});

describe('chunked coding', () => {
  const limits = { maxBodySize: 100, maxLineLength: 64, maxTrailerSize: 128 };

  function decode(wire: string, l = limits) {
    const d = new ChunkedDecoder(l);
    const buf = Buffer.from(wire, 'latin1');
    let at = 0;
    let out = '';
    for (let guard = 0; guard < 1000; guard++) {
      const r = d.next(buf, at);
      if (r.kind === 'error') return { error: r.reason };
      at += r.consumed;
      if (r.kind === 'data') out += r.data.toString('latin1');
      if (r.kind === 'done') return { out, rest: wire.slice(at) };
      if (r.kind === 'more') return { out, more: true };
    }
    throw new Error('no progress');
  }

  it('should decode sizes in either case and ignore extensions and trailers', () => {
    expect(decode('A\r\n0123456789\r\na\r\n0123456789\r\n0\r\nX: y\r\n\r\nrest')).toEqual({ out: '01234567890123456789', rest: 'rest' });
  });

  it.each([
    ['a missing size', '\r\n'],
    ['junk in the size', '5x\r\n'],
    ['data longer than its size', '2\r\nabc\r\n'],
    ['an overlong size', '1234567890abc\r\n'],
    ['CR without LF', '2\rab'],
  ])('should refuse %s', (_name, wire) => {
    expect(decode(wire)).toEqual({ error: 'bad_chunk' });
  });

  it('should refuse a body over the limit', () => {
    expect(decode('65\r\n')).toMatchObject({ more: true });
    expect(decode(`65\r\n${'x'.repeat(101)}\r\n0\r\n\r\n`)).toEqual({ error: 'body_too_large' });
  });

  it('should frame chunks, an empty one being the last', () => {
    expect(encodeChunk(Buffer.from('hello world!!')).toString()).toBe('d\r\nhello world!!\r\n');
    expect(encodeChunk(Buffer.alloc(0))).toBe(LAST_CHUNK);
    expect(LAST_CHUNK.toString()).toBe('0\r\n\r\n');
  });

  it('should decode what it encodes, however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 6 }), fc.integer({ min: 1, max: 7 }), (chunks, step) => {
        const wire = Buffer.concat([...chunks.map((c) => encodeChunk(Buffer.from(c))), LAST_CHUNK]);
        const d = new ChunkedDecoder({ maxBodySize: 1 << 20, maxLineLength: 64, maxTrailerSize: 64 });
        const out: Buffer[] = [];
        let done = false;
        for (let i = 0; i < wire.length && !done; i += step) {
          const piece = wire.subarray(i, Math.min(wire.length, i + step));
          let at = 0;
          while (at < piece.length || piece.length === 0) {
            const r = d.next(piece, at);
            if (r.kind === 'error') throw new Error(r.detail);
            at += r.consumed;
            if (r.kind === 'data') out.push(Buffer.from(r.data));
            if (r.kind === 'done') {
              done = true;
              break;
            }
            if (r.kind === 'more') break;
          }
        }
        expect(done).toBe(true);
        expect(Buffer.concat(out).equals(Buffer.concat(chunks.map((c) => Buffer.from(c))))).toBe(true);
      }),
    );
  });
});
