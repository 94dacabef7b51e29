import { describe, expect, it } from 'vitest';
import { parseResponseHead } from '../../../src/protocol/blastbeat/response.js';
import { gatewayResponse } from '../../../src/protocol/blastbeat/http-status.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('backend response head', () => {
  it('should find the head and its Content-Length, body bytes following', () => {
    expect(parseResponseHead(b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'), 'GET')).toEqual({
      type: 'response.head',
      status: 200,
      headLength: 38,
      framing: { kind: 'length', length: 5 },
      close: false,
      informational: false,
    });
  });

  it('should recognise chunked, close-delimited and body-less responses', () => {
    expect(parseResponseHead(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), 'GET')).toMatchObject({ framing: { kind: 'chunked' } });
    expect(parseResponseHead(b('HTTP/1.0 200 OK\n\n'), 'GET')).toMatchObject({ framing: { kind: 'close' }, headLength: 17 });
    expect(parseResponseHead(b('HTTP/1.1 204 No Content\r\n\r\n'), 'GET')).toMatchObject({ framing: { kind: 'none' } });
    expect(parseResponseHead(b('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n'), 'HEAD')).toMatchObject({ framing: { kind: 'none' } });
    expect(parseResponseHead(b('HTTP/1.1 100 Continue\r\n\r\n'), 'POST')).toMatchObject({ informational: true, framing: { kind: 'none' } });
    expect(parseResponseHead(b('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'), 'GET')).toMatchObject({ close: true });
  });

  it.each([
    ['no blank line', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n'],
    ['a bad status line', 'HTTP/1.1 2000 OK\r\n\r\n'],
    ['not HTTP', 'hello\r\n\r\n'],
    ['conflicting lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'],
    ['a bad length', 'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n'],
    ['a stray CR', 'HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n'],
    ['a 101', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'],
  ])('should refuse %s', (_name, text) => {
    expect(parseResponseHead(b(text), 'GET')).toMatchObject({ type: 'rejected', reason: 'bad_response_head' });
  });
});

describe('gateway responses', () => {
  it('should be complete HTTP/1.1 responses with a length', () => {
    const text = gatewayResponse(404, 'unknown host "x"', false).toString();
    expect(text).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    const [head, body] = text.split('\r\n\r\n');
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body!)}`);
    expect(head).not.toContain('Connection: close');
    expect(gatewayResponse(400, 'x', true).toString()).toContain('Connection: close\r\n');
  });
});
