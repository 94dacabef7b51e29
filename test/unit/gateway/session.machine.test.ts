import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { chartOf } from '../../../src/actors/inspect/chart.js';
import { gatewaySession } from '../../../src/machines/gateway/session.machine.js';
import { backendMessage, clientData } from '../../../src/machines/gateway/session-steps.js';
import type { LifeChange, RouteDecision, SessionCommand, SessionLimits } from '../../../src/machines/gateway/session-types.js';
import { DEFAULT_HEAD_LIMITS } from '../../../src/protocol/blastbeat/http-head.js';
import { decodeUwsgi, uwsgiRecord } from '../../../src/protocol/blastbeat/uwsgi.js';
import { encodeFrame, Opcode, WebSocketReader } from '../../../src/protocol/blastbeat/websocket.js';
import type { BackendKind } from '../../../src/protocol/blastbeat/message.js';

const LIMITS: SessionLimits = {
  head: DEFAULT_HEAD_LIMITS,
  maxWebSocketMessage: 64,
  headerTimeoutMs: 1000,
  bodyTimeoutMs: 1500,
  idleTimeoutMs: 5000,
  closeTimeoutMs: 500,
  maxPipelined: 1024,
};

const NODE: RouteDecision = { kind: 'node', node: 'n1', id: Buffer.from('n1'), vhost: 'h', timeoutMs: 2000 };

function boot(route: (host: string) => RouteDecision = (host) => (host === 'h' ? NODE : { kind: 'unknown-host' }), limits = LIMITS, viaActor = false) {
  const clock = new SimulatedClock();
  const commands: SessionCommand[] = [];
  const actor = createActor(gatewaySession, {
    clock,
    input: {
      sid: Buffer.alloc(16, 7),
      peer: { remoteAddress: '127.0.0.1', remotePort: 40000, localPort: 8080, tls: false },
      limits,
      route: (host) => route(host),
      out: (c) => commands.push(c),
      now: () => clock.now(),
    },
  });
  actor.start();
  const take = () => commands.splice(0, commands.length);
  const ctx = () => actor.getSnapshot().context.session;
  // As the connection does (actors/gateway-connection.ts): per-message work runs on the context, the life change it
  // leads to goes to the actor. `viaActor` sends the same as actor events instead (the path tests and rare senders use).
  const change = (c: LifeChange | undefined) => {
    if (c !== undefined) actor.send({ type: c });
  };
  const bytes = (s: string | Buffer) => (Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'));
  return {
    actor,
    take,
    /** The exchange phase while the session is doing HTTP, else its life state. */
    state: () => {
      const snapshot = actor.getSnapshot();
      return snapshot.value === 'http' ? snapshot.context.session.exchange : snapshot.value;
    },
    data: (s: string | Buffer) => (viaActor ? actor.send({ type: 'conn.data', data: bytes(s) }) : change(clientData(ctx(), bytes(s)))),
    backend: (kind: BackendKind, body: string | Buffer = '') =>
      viaActor ? actor.send({ type: 'backend.message', kind, body: bytes(body) }) : change(backendMessage(ctx(), kind, bytes(body))),
    /** Moves the clock and lets the sweeper wake the session, as the gateway machine does. */
    after: (ms: number) => {
      clock.increment(ms);
      actor.send({ type: 'session.tick', now: clock.now() });
    },
  };
}

const written = (cs: SessionCommand[]) => cs.flatMap((c) => (c.type === 'conn.write' ? [c.data.toString('latin1')] : [])).join('');
const toBackend = (cs: SessionCommand[]) =>
  cs.flatMap((c) => (c.type === 'backend.send' ? [{ node: c.node.toString(), kind: c.kind, body: c.body }] : []));
const types = (cs: SessionCommand[]) => cs.map((c) => c.type);

function vars(body: Buffer): Record<string, string> {
  const p = decodeUwsgi(body);
  if (p.type !== 'uwsgi') throw new Error(p.reason);
  return uwsgiRecord(p.vars);
}

const GET = 'GET /x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

describe('gateway session: HTTP', () => {
  it('should bind to a node, forward the head as uwsgi and write the response in one piece', () => {
    const s = boot();
    s.data(GET);
    const out = s.take();
    expect(out[0]).toEqual({ type: 'session.bind', node: 'n1', vhost: 'h' });
    const [uwsgi] = toBackend(out);
    expect(uwsgi).toMatchObject({ node: 'n1', kind: 'uwsgi' });
    expect(vars(uwsgi!.body)).toMatchObject({ REQUEST_METHOD: 'GET', PATH_INFO: '/x', QUERY_STRING: 'y=1', HTTP_HOST: 'h', REMOTE_PORT: '40000' });
    expect(s.state()).toBe('waiting');
    const response = Buffer.from(OK);
    s.backend('headers', response);
    const w = s.take();
    expect(w).toEqual([{ type: 'conn.write', data: response }]);
    expect(s.state()).toBe('reading');
  });

  it('should keep the connection for the next request, on the same node, without binding again', () => {
    const s = boot();
    s.data(GET);
    s.backend('headers', OK);
    s.take();
    s.data(GET);
    expect(types(s.take())).toEqual(['backend.send']);
    expect(s.state()).toBe('waiting');
  });

  it('should hold a pipelined request until the response before it is complete', () => {
    const s = boot();
    s.data(`${GET}GET /second HTTP/1.1\r\nHost: h\r\n\r\n`);
    expect(toBackend(s.take())).toHaveLength(1);
    s.backend('headers', 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab');
    expect(toBackend(s.take())).toHaveLength(0);
    s.backend('body', 'cd');
    const out = s.take();
    expect(written(out)).toBe('cd');
    const [second] = toBackend(out);
    expect(vars(second!.body)['PATH_INFO']).toBe('/second');
  });

  it('should stream a Content-Length body to the node as body messages', () => {
    const s = boot();
    s.data('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nab');
    s.data('cdef');
    const sent = toBackend(s.take());
    expect(sent.map((m) => [m.kind, m.body.toString()])).toEqual([['uwsgi', sent[0]!.body.toString()], ['body', 'ab'], ['body', 'cdef']]);
    expect(vars(sent[0]!.body)['CONTENT_LENGTH']).toBe('6');
  });

  it('should de-chunk a chunked request body and end it with an empty body message', () => {
    const s = boot();
    s.data('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    s.data('0\r\n\r\n');
    const sent = toBackend(s.take()).slice(1);
    expect(sent.map((m) => [m.kind, m.body.toString()])).toEqual([['body', 'abc'], ['body', '']]);
  });

  it('should answer Expect: 100-continue when the request goes to a node', () => {
    const s = boot();
    s.data('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n');
    expect(written(s.take())).toBe('HTTP/1.1 100 Continue\r\n\r\n');
  });

  it('should frame chunk messages and keep the connection after the empty chunk', () => {
    const s = boot();
    s.data(GET);
    s.take();
    s.backend('headers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    s.backend('chunk', 'hello');
    s.backend('chunk', '');
    expect(written(s.take())).toBe('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(s.state()).toBe('reading');
  });

  it('should close after a close-delimited response when the node sends end', () => {
    const s = boot();
    s.data(GET);
    s.take();
    s.backend('headers', 'HTTP/1.0 200 OK\r\n\r\nsome');
    s.backend('body', ' more');
    s.backend('end');
    const out = s.take();
    expect(written(out)).toBe('HTTP/1.0 200 OK\r\n\r\nsome more');
    expect(types(out)).toContain('conn.end');
    expect(toBackend(out)).toHaveLength(0);
    expect(s.state()).toBe('closing');
  });

  it('should take a raw response sent as body before any headers message', () => {
    const s = boot();
    s.data(GET);
    s.take();
    s.backend('body', OK);
    expect(written(s.take())).toBe(OK);
    expect(s.state()).toBe('reading');
  });

  it('should drop response bytes beyond the Content-Length', () => {
    const s = boot();
    s.data(GET);
    s.take();
    s.backend('headers', `${OK}EXTRA`);
    const out = s.take();
    expect(written(out)).toBe(OK);
    expect(out).toContainEqual({ type: 'session.drop', reason: 'excess_response_bytes' });
  });

  it('should close after the response when the client asked for it', () => {
    const s = boot();
    s.data('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    s.backend('headers', OK);
    expect(types(s.take())).toContain('conn.end');
    s.actor.send({ type: 'conn.closed' });
    expect(s.actor.getSnapshot().status).toBe('done');
    expect(s.actor.getSnapshot().output).toEqual({ reason: 'keep_alive_done', requests: 1 });
  });

  it('should give up at once, telling the node end, when the client ends in the middle of a request body (found by fuzzing)', () => {
    for (const request of ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n']) {
      const s = boot();
      s.data(request);
      s.take();
      // It used to wait for the node until its timeout, then answer 504 to a client long gone.
      s.actor.send({ type: 'conn.end' });
      const out = s.take();
      expect(toBackend(out).map((m) => m.kind)).toEqual(['end']);
      expect(types(out)).toContain('conn.end');
      expect(types(out)).not.toContain('session.error');
      expect(s.state()).toBe('closing');
    }
  });

  it('should still answer a complete request when the client ends after sending it', () => {
    const s = boot();
    s.data('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc');
    s.actor.send({ type: 'conn.end' });
    s.take();
    expect(s.state()).toBe('waiting');
    s.backend('headers', OK);
    expect(written(s.take())).toBe(OK);
    expect(s.state()).toBe('closing');
  });

  it('should tell the node end and release it when the client goes away', () => {
    const s = boot();
    s.data(GET);
    s.take();
    s.actor.send({ type: 'conn.closed' });
    const out = s.take();
    expect(toBackend(out).map((m) => m.kind)).toEqual(['end']);
    expect(out).toContainEqual({ type: 'session.unbind', node: 'n1', vhost: 'h' });
  });
});

describe('gateway session: errors a user can read', () => {
  const status = (cs: SessionCommand[]) => /^HTTP\/1\.1 (\d+)/.exec(written(cs))?.[1];

  it('should answer 400 to a request without Host and close', () => {
    const s = boot();
    s.data('GET / HTTP/1.1\r\nAccept: x\r\n\r\n');
    const out = s.take();
    expect(status(out)).toBe('400');
    expect(types(out)).toContain('conn.end');
  });

  it('should answer 404 to an unknown host and keep the connection', () => {
    const s = boot();
    s.data('GET / HTTP/1.1\r\nHost: nowhere\r\n\r\n');
    const out = s.take();
    expect(status(out)).toBe('404');
    expect(types(out)).not.toContain('conn.end');
    expect(s.state()).toBe('reading');
  });

  it('should answer any number of pipelined refusals arriving in one read, and go on with the next request (found by fuzzing)', () => {
    const s = boot();
    // Past 32 the session re-entered its reading state once too often in one step, crashed, and lost every answer.
    s.data('GET / HTTP/1.1\r\nHost: nowhere\r\n\r\n'.repeat(200) + GET);
    const out = s.take();
    expect(written(out).match(/HTTP\/1\.1 404 /g)).toHaveLength(200);
    expect(toBackend(out).map((m) => m.kind)).toEqual(['uwsgi']);
    expect(s.state()).toBe('waiting');
    expect(s.actor.getSnapshot().status).toBe('active');
  });

  it('should answer 503 when no node of the host is available', () => {
    const s = boot(() => ({ kind: 'no-node', vhost: 'h' }));
    s.data(GET);
    expect(status(s.take())).toBe('503');
  });

  it('should answer 504 when the node does not answer within the timeout', () => {
    const s = boot();
    s.data(GET);
    s.take();
    s.after(1999);
    expect(s.take()).toEqual([]);
    s.after(1);
    const out = s.take();
    expect(status(out)).toBe('504');
    expect(toBackend(out).map((m) => m.kind)).toEqual(['end']);
  });

  it('should answer 502 when the node goes away before answering', () => {
    const s = boot();
    s.data(GET);
    s.take();
    s.actor.send({ type: 'backend.lost' });
    expect(status(s.take())).toBe('502');
  });

  it('should answer 502 when the node ends the session without a response', () => {
    const s = boot();
    s.data(GET);
    s.take();
    s.backend('end');
    const out = s.take();
    expect(status(out)).toBe('502');
    expect(toBackend(out)).toHaveLength(0);
  });

  it('should answer 502 to a response head it cannot parse', () => {
    const s = boot();
    s.data(GET);
    s.take();
    s.backend('headers', 'garbage');
    expect(status(s.take())).toBe('502');
  });

  it('should cut the connection when the node goes away mid-response (no status can follow a head)', () => {
    const s = boot();
    s.data(GET);
    s.backend('headers', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    s.take();
    s.actor.send({ type: 'backend.lost' });
    const out = s.take();
    expect(written(out)).toBe('');
    expect(types(out)).toContain('conn.end');
    expect(out).toContainEqual({ type: 'session.error', status: 0, reason: 'backend_lost_mid_response' });
  });

  it('should cut off a head that is still incomplete at the header timeout with 408', () => {
    const s = boot();
    s.data('GET / HTTP/1.1\r\n');
    s.after(500);
    s.data('Ho');
    s.after(499);
    expect(s.take()).toEqual([]);
    s.after(1);
    const out = s.take();
    expect(status(out)).toBe('408');
    expect(types(out)).toContain('conn.end');
  });

  it('should close an idle keep-alive connection silently', () => {
    const s = boot();
    s.after(5000);
    const out = s.take();
    expect(out).toEqual([{ type: 'conn.end' }]);
    s.after(500);
    expect(s.actor.getSnapshot().output).toEqual({ reason: 'idle', requests: 0 });
  });

  it('should answer 413 to a declared body over the limit', () => {
    const s = boot(undefined, { ...LIMITS, head: { ...DEFAULT_HEAD_LIMITS, maxBodySize: 10 } });
    s.data('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n');
    expect(status(s.take())).toBe('413');
  });

  it('should answer 413 to a chunked body that grows over the limit, before any response', () => {
    const s = boot(undefined, { ...LIMITS, head: { ...DEFAULT_HEAD_LIMITS, maxBodySize: 10 } });
    s.data('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n');
    s.data('hello world\r\n');
    expect(status(s.take())).toBe('413');
  });

  it('should pause reading while pipelined bytes pile up, and resume for the next request', () => {
    const s = boot(undefined, { ...LIMITS, maxPipelined: 50 });
    s.data(GET);
    s.data(`${GET}${GET}`);
    expect(s.take()).toContainEqual({ type: 'conn.pause' });
    s.backend('headers', OK);
    expect(s.take()).toContainEqual({ type: 'conn.resume' });
  });
});

describe('gateway session: a client body that stalls', () => {
  const status = (cs: SessionCommand[]) => /^HTTP\/1\.1 (\d+)/.exec(written(cs))?.[1];
  const POST = (framing: string) => `POST /up HTTP/1.1\r\nHost: h\r\n${framing}\r\n\r\n`;
  const STALLED = [
    ['a Content-Length body', `${POST('Content-Length: 10')}abc`],
    ['a chunked body between chunks', `${POST('Transfer-Encoding: chunked')}3\r\nabc\r\n`],
    ['a chunked body inside a chunk', `${POST('Transfer-Encoding: chunked')}5\r\nab`],
  ] as const;

  it.each(STALLED)('should answer 408 to %s that gets no byte for the body timeout, tell the node end and close', (_name, request) => {
    const s = boot();
    s.data(request);
    expect(toBackend(s.take()).map((m) => m.kind)).toEqual(['uwsgi', 'body']);
    s.after(1499);
    expect(s.take()).toEqual([]);
    s.after(1);
    const out = s.take();
    expect(status(out)).toBe('408');
    expect(written(out)).toContain('Connection: close');
    expect(out).toContainEqual({ type: 'session.error', status: 408, reason: 'body_timeout' });
    expect(toBackend(out).map((m) => m.kind)).toEqual(['end']);
    expect(types(out)).toContain('conn.end');
    expect(s.state()).toBe('closing');
    s.actor.send({ type: 'conn.closed' });
    expect(s.actor.getSnapshot().output).toEqual({ reason: 'body_timeout', requests: 1 });
    expect(s.take()).toContainEqual({ type: 'session.unbind', node: 'n1', vhost: 'h' });
  });

  it('should not time the node while the client still owes body bytes: a stall is 408, never a 504 counted against the node', () => {
    // A body timeout longer than the node's: before, the node's timeout ran from the head and answered 504.
    const s = boot(undefined, { ...LIMITS, bodyTimeoutMs: 5000 });
    s.data(`${POST('Content-Length: 10')}abc`);
    s.take();
    s.after(2000);
    expect(s.take()).toEqual([]);
    s.after(2999);
    expect(s.take()).toEqual([]);
    s.after(1);
    const out = s.take();
    expect(status(out)).toBe('408');
    expect(out).not.toContainEqual(expect.objectContaining({ reason: 'backend_timeout' }));
  });

  it('should start the body timeout again on every byte, and the node\'s timeout once the request is whole', () => {
    for (const [request, pieces] of [
      [POST('Content-Length: 6'), ['a', 'b', 'c', 'd', 'e', 'f']],
      // Framing bytes are progress too: a chunk-size line arriving a byte at a time.
      [POST('Transfer-Encoding: chunked'), ['2', '\r', '\n', 'ab', '\r\n', '0', '\r\n', '\r\n']],
    ] as const) {
      const s = boot();
      s.data(request);
      s.take();
      // Each gap is under the body timeout (1500 ms); together they are far over it and over the node's (2000 ms).
      for (const piece of pieces) {
        s.after(1400);
        s.data(piece);
      }
      const forwarded = s.take();
      expect(types(forwarded).every((t) => t === 'backend.send')).toBe(true);
      expect(s.state()).toBe('waiting');
      // The node has the whole request now: its own timeout runs from here.
      s.after(1999);
      expect(s.take()).toEqual([]);
      s.after(1);
      expect(status(s.take())).toBe('504');
    }
  });

  it('should leave a complete request alone: the node answers after the body timeout has passed', () => {
    const s = boot();
    s.data(`${POST('Content-Length: 3')}abc`);
    s.take();
    s.after(1900);
    expect(s.take()).toEqual([]);
    s.backend('headers', OK);
    expect(written(s.take())).toBe(OK);
    expect(s.state()).toBe('reading');
  });

  it('should answer 408 after the interim 100 Continue it sent for the body', () => {
    const s = boot();
    s.data(`${POST('Content-Length: 10\r\nExpect: 100-continue')}ab`);
    expect(written(s.take())).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    s.after(1500);
    expect(status(s.take())).toBe('408');
  });

  it('should cut the connection when the node has started its response (no status can follow a head)', () => {
    const s = boot();
    s.data(`${POST('Content-Length: 10')}abc`);
    s.after(500);
    s.backend('headers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(s.state()).toBe('streaming');
    s.after(500);
    // The node's progress gives the client no more time: its deadline runs from its last bytes.
    s.backend('chunk', 'partial');
    s.take();
    s.after(499);
    expect(s.take()).toEqual([]);
    s.after(1);
    const out = s.take();
    expect(written(out)).toBe('');
    expect(out).toContainEqual({ type: 'session.error', status: 0, reason: 'body_timeout_mid_response' });
    expect(toBackend(out).map((m) => m.kind)).toEqual(['end']);
    expect(types(out)).toContain('conn.end');
    expect(s.state()).toBe('closing');
  });

  it('should time a response by the node once the client has ended its side mid-body', () => {
    const s = boot();
    s.data(`${POST('Content-Length: 10')}abc`);
    s.backend('headers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    s.actor.send({ type: 'conn.end' });
    s.take();
    // No more bytes can come: no body timeout, the response goes on (and the connection closes after it).
    s.after(1500);
    expect(s.take()).toEqual([]);
    s.backend('chunk', '');
    expect(types(s.take())).toContain('conn.end');
  });
});

describe('gateway session: WebSocket', () => {
  const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
  const UPGRADE = `GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  const MASK = Buffer.from([9, 8, 7, 6]);
  const client = (op: number, payload: string | Buffer) => encodeFrame(op as Opcode, Buffer.from(payload), MASK);

  function open() {
    const s = boot();
    s.data(UPGRADE);
    const out = s.take();
    expect(written(out)).toContain('HTTP/1.1 101 Switching Protocols\r\n');
    expect(written(out)).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(toBackend(out).map((m) => m.kind)).toEqual(['uwsgi']);
    expect(s.state()).toBe('websocket');
    return s;
  }

  it('should forward the client text and binary messages apart', () => {
    const s = open();
    s.data(Buffer.concat([client(Opcode.Text, 'hi'), client(Opcode.Binary, Buffer.from([0, 1]))]));
    expect(toBackend(s.take()).map((m) => [m.kind, [...m.body]])).toEqual([['websocket', [104, 105]], ['websocket-binary', [0, 1]]]);
  });

  it('should write the node messages as text and binary frames', () => {
    const s = open();
    s.backend('websocket', 'yo');
    s.backend('websocket-binary', Buffer.from([2]));
    const reader = new WebSocketReader({ maxMessageSize: 1024 }, false);
    for (const c of s.take()) if (c.type === 'conn.write') reader.push(c.data);
    expect(reader.read()).toEqual({ kind: 'message', binary: false, data: Buffer.from('yo') });
    expect(reader.read()).toEqual({ kind: 'message', binary: true, data: Buffer.from([2]) });
  });

  it('should answer a ping with a pong carrying its payload', () => {
    const s = open();
    s.data(client(Opcode.Ping, 'p1'));
    expect(s.take()).toEqual([{ type: 'conn.write', data: Buffer.from([0x8a, 2, 0x70, 0x31]) }]);
  });

  it('should echo the close, tell the node end and close', () => {
    const s = open();
    s.data(client(Opcode.Close, Buffer.from([0x03, 0xe8])));
    const out = s.take();
    expect([...(out[0] as { data: Buffer }).data]).toEqual([0x88, 2, 0x03, 0xe8]);
    expect(toBackend(out).map((m) => m.kind)).toEqual(['end']);
    expect(types(out)).toContain('conn.end');
  });

  it('should close with 1009 a message over the size limit', () => {
    const s = open();
    s.data(client(Opcode.Binary, Buffer.alloc(65)));
    const out = s.take();
    expect([...(out[0] as { data: Buffer }).data.subarray(0, 4)]).toEqual([0x88, expect.any(Number), 0x03, 0xf1]);
    expect(toBackend(out).map((m) => m.kind)).toEqual(['end']);
    expect(s.state()).toBe('closing');
  });

  it('should start the close handshake when the node ends, and finish on the client close', () => {
    const s = open();
    s.backend('end');
    const out = s.take();
    expect([...(out[0] as { data: Buffer }).data]).toEqual([0x88, 2, 0x03, 0xe8]);
    expect(toBackend(out)).toHaveLength(0);
    expect(s.state()).toBe('wsClosing');
    s.data(client(Opcode.Close, Buffer.from([0x03, 0xe8])));
    expect(s.state()).toBe('closing');
  });

  it('should refuse an upgrade without a valid key', () => {
    const s = boot();
    s.data('GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
    expect(written(s.take())).toMatch(/^HTTP\/1\.1 400/);
  });
});

describe('gateway session: a statechart the inspector draws', () => {
  it('should give the live inspector its life states and the transitions between them, like any XState machine', () => {
    const chart = chartOf(gatewaySession);
    expect(chart?.machine).toBe('gatewaySession');
    expect(chart?.root.initial).toBe('http');
    expect(chart?.root.states.map((s) => s.key)).toEqual(['http', 'websocket', 'wsClosing', 'closing', 'closed']);
    const http = chart!.root.states[0]!;
    expect(http.on).toContainEqual({ event: 'session.upgraded', targets: ['gatewaySession.websocket'], guard: null, actions: [] });
    expect(http.on).toContainEqual({ event: 'always', targets: ['gatewaySession.closing'], guard: 'changes', actions: [] });
    expect(chart!.root.states[4]!.type).toBe('final');
    expect(chart!.root.on).toContainEqual({ event: 'session.tick', targets: [], guard: null, actions: ['step'] });
  });

  it('should show its life in the actor snapshot: the state moves on life changes only, the exchange phase is in the context', () => {
    const s = boot();
    s.data(GET);
    expect(s.actor.getSnapshot().value).toBe('http');
    expect(s.actor.getSnapshot().context.session.exchange).toBe('waiting');
    s.backend('headers', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    expect(s.actor.getSnapshot().value).toBe('closing');
  });

  it('should take the same events as actor events (the path rare senders use) with the same outcome', () => {
    const s = boot(undefined, LIMITS, true);
    s.data(GET);
    expect(s.state()).toBe('waiting');
    s.backend('headers', OK);
    expect(written(s.take())).toBe(OK);
    expect(s.state()).toBe('reading');
  });

  it('should fail its actor, and tell its connection, when per-message work throws', () => {
    const crashed: SessionCommand[] = [];
    const actor = createActor(gatewaySession, {
      input: {
        sid: Buffer.alloc(16, 1),
        peer: { remoteAddress: '127.0.0.1', remotePort: 1, localPort: 2, tls: false },
        limits: LIMITS,
        route: () => {
          throw new Error('routing table broke');
        },
        out: (c) => crashed.push(c),
        now: () => 0,
      },
    });
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    actor.send({ type: 'conn.data', data: Buffer.from(GET) });
    expect(actor.getSnapshot().status).toBe('error');
    expect(String(errors[0])).toContain('routing table broke');
    expect(crashed.map((c) => c.type)).toContain('session.crashed');
  });
});
