/**
 * Hostile HTTP and WebSocket traffic for the gateway's client side, and
 * what a correct gateway must make of it, written without the gateway's own
 * parsers: request pipelines with semantic faults whose answers are known
 * (a bad Content-Length is 400, a head over the limit 431...), byte-level
 * mangling whose answers are only required to be well-formed, slow and
 * aborted senders, and WebSocket sessions whose every frame is judged by a
 * small reference reader (RFC 6455). The test that drives them is
 * gateway-http.test.ts.
 */
import fc from 'fast-check';

/** The limits the gateway under test is started with; the generators aim at both sides of them. */
export const LIMITS = {
  maxHeadSize: 2048,
  maxHeaders: 20,
  maxBodySize: 16 * 1024,
  maxWebSocketMessage: 4096,
} as const;

export const HOST = '127.0.0.1';
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'] as const;
const WITH_BODY = new Set<string>(['POST', 'PUT', 'PATCH']);

const bytes = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const latin1 = (s: string) => Buffer.from(s, 'latin1');

// ---- requests ----

/** A request as the generator built it, before any fault. */
export interface Request {
  readonly method: string;
  readonly target: string;
  readonly version: '1.0' | '1.1';
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** Sent chunked (HTTP/1.1 only), in these piece sizes. */
  readonly chunks: readonly number[] | undefined;
  readonly expectContinue: boolean;
  /** The client asked the connection to close after this one (or HTTP/1.0 without keep-alive). */
  readonly closes: boolean;
}

/** A fault whose answer is known: the status, and whether the gateway reads the request first (forwarding its head). */
export interface Fault {
  readonly name: string;
  readonly status: 400 | 404 | 413 | 431 | 501 | 505;
  /** The head is valid and goes to the node; the fault is in the body, found after. */
  readonly inBody: boolean;
}

export interface PlannedRequest {
  readonly request: Request;
  readonly fault: Fault | undefined;
  /** The faulty request sent this many times in a row (a burst of pipelined refusals). */
  readonly repeat: number;
  readonly bytes: Buffer;
}

const tokenArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
const valueArb = fc.stringMatching(/^[ -~]{0,40}$/).map((s) => s.trim());
// Percent signs included, malformed escapes too: the node echoes the target as sent.
const pathArb = fc.stringMatching(/^\/[A-Za-z0-9._~%/-]{0,30}$/);
const queryArb = fc.option(fc.stringMatching(/^[A-Za-z0-9=&_.-]{0,20}$/), { nil: undefined });

const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'te', 'trailer']);

export const requestArb: fc.Arbitrary<Request> = fc
  .record({
    method: fc.constantFrom(...METHODS),
    path: pathArb,
    query: queryArb,
    // One request in eight is HTTP/1.0.
    v10: fc.nat({ max: 7 }).map((n) => n === 0),
    extra: fc.array(fc.tuple(tokenArb, valueArb), { maxLength: 5 }),
    body: fc.uint8Array({ maxLength: 3000 }).map(bytes),
    chunked: fc.boolean(),
    pieces: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 6 }),
    expectContinue: fc.boolean(),
    close: fc.integer({ min: 0, max: 5 }),
  })
  .map((r) => {
    const version = r.v10 ? '1.0' : '1.1';
    const hasBody = WITH_BODY.has(r.method);
    const body = hasBody ? r.body : Buffer.alloc(0);
    const chunked = hasBody && version === '1.1' && r.chunked;
    const headers: Array<[string, string]> = [['Host', HOST]];
    for (const [k, v] of r.extra) if (!RESERVED.has(k.toLowerCase())) headers.push([k, v]);
    if (chunked) headers.push(['Transfer-Encoding', 'chunked']);
    else if (hasBody) headers.push(['Content-Length', String(body.length)]);
    const expectContinue = hasBody && r.expectContinue;
    if (expectContinue) headers.push(['Expect', '100-continue']);
    // One request in six asks to close; an HTTP/1.0 one keeps the connection only when it asks (half of the rest do).
    const wantsClose = r.close === 0;
    if (version === '1.0' && !wantsClose && r.close % 2 === 1) headers.push(['Connection', 'keep-alive']);
    if (version === '1.1' && wantsClose) headers.push(['Connection', 'close']);
    const closes = version === '1.0' ? !headers.some(([k]) => k === 'Connection') : wantsClose;
    return {
      method: r.method,
      target: r.query === undefined ? r.path : `${r.path}?${r.query}`,
      version,
      headers,
      body,
      chunks: chunked ? r.pieces : undefined,
      expectContinue,
      closes,
    } satisfies Request;
  });

/** Body bytes in the chunked coding, cut in the planned piece sizes (cycled), then the last chunk. */
export function chunkedBody(body: Buffer, pieces: readonly number[]): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < body.length; i++) {
    const n = Math.min(pieces[i % pieces.length] as number, body.length - at);
    out.push(latin1(`${n.toString(16)}\r\n`), body.subarray(at, at + n), latin1('\r\n'));
    at += n;
  }
  out.push(latin1('0\r\n\r\n'));
  return Buffer.concat(out);
}

export function serialize(r: Request, headLines?: readonly string[], body?: Buffer): Buffer {
  const lines = headLines ?? [`${r.method} ${r.target} HTTP/${r.version}`, ...r.headers.map(([k, v]) => `${k}: ${v}`)];
  const head = latin1(`${lines.join('\r\n')}\r\n\r\n`);
  return Buffer.concat([head, body ?? (r.chunks ? chunkedBody(r.body, r.chunks) : r.body)]);
}

const headLinesOf = (r: Request) => [`${r.method} ${r.target} HTTP/${r.version}`, ...r.headers.map(([k, v]) => `${k}: ${v}`)];
const withHeader = (r: Request, name: string, value: string) => [...headLinesOf(r), `${name}: ${value}`];
/** The head's lines without these fields. */
const without = (r: Request, ...names: string[]) => headLinesOf(r).filter((l) => !names.some((n) => l.toLowerCase().startsWith(`${n}:`)));
const fault = (name: string, status: Fault['status'], inBody = false): Fault => ({ name, status, inBody });

/**
 * One semantic fault applied to a request: its bytes and the answer RFC 9112
 * and docs/gateway.md prescribe. Returns undefined when the fault does not fit
 * the request (a body fault on a request without a body).
 */
type FaultMaker = (r: Request, pick: number) => { bytes: Buffer; fault: Fault } | undefined;

const BAD_REQUEST_LINES = ['GET  / HTTP/1.1', 'GET /', 'GET / HTTP/1.1 extra', ' GET / HTTP/1.1', 'G\u0001T / HTTP/1.1', 'GET /\u0000 HTTP/1.1', 'GET / HTTP/1.1\r', 'GET / http/1.1', 'GET / HTTP/1', 'GET / HTTP/11.1'];
const BAD_LENGTHS = ['abc', '-1', '1.5', '0x10', '', '12 34', '1,2', '9999999999999999'];
const BAD_CHUNKS = ['zz\r\nxx\r\n0\r\n\r\n', '3\r\nabcdef\r\n0\r\n\r\n', '3\r\nabc0\r\n\r\n', '1234567890123\r\n', '-1\r\n', '\r\n\r\n', '3;' + 'x'.repeat(5000) + '\r\nabc\r\n0\r\n\r\n'];

const unknownHost: FaultMaker = (r) => ({ bytes: serialize(r, [headLinesOf(r)[0] as string, 'Host: nowhere.example', ...headLinesOf(r).slice(2)]), fault: fault('unknown_host', 404) });

export const FAULTS: readonly FaultMaker[] = [
  (r, pick) => {
    const line = BAD_REQUEST_LINES[pick % BAD_REQUEST_LINES.length] as string;
    return { bytes: serialize(r, [line, ...headLinesOf(r).slice(1)]), fault: fault('bad_request_line', 400) };
  },
  (r, pick) => ({ bytes: serialize(r, [`${r.method} ${r.target} ${['HTTP/2.0', 'HTTP/0.9', 'HTTP/3.0'][pick % 3]}`, ...headLinesOf(r).slice(1)]), fault: fault('version', 505) }),
  (r) => ({ bytes: serialize(r, [`${r.method} not-a-path HTTP/${r.version}`, ...headLinesOf(r).slice(1)]), fault: fault('bad_target', 400) }),
  (r) => ({ bytes: serialize(r, without(r, 'host')), fault: fault('missing_host', 400) }),
  (r) => ({ bytes: serialize(r, withHeader(r, 'Host', 'other.example')), fault: fault('duplicate_host', 400) }),
  (r) => ({ bytes: serialize(r, [...headLinesOf(r), 'X-Folded: a', ' continued']), fault: fault('obs_fold', 400) }),
  (r) => ({ bytes: serialize(r, [...headLinesOf(r), 'X-Space : a']), fault: fault('space_before_colon', 400) }),
  (r, pick) => ({ bytes: serialize(r, [...headLinesOf(r), `X-Ctl: a${String.fromCharCode([0, 1, 0x7f, 0x1b][pick % 4] as number)}b`]), fault: fault('control_in_value', 400) }),
  (r) => ({ bytes: serialize(r, [...headLinesOf(r), 'no colon here']), fault: fault('no_colon', 400) }),
  (r) => ({ bytes: serialize(r, withHeader(r, 'X-Huge', 'a'.repeat(LIMITS.maxHeadSize + 10))), fault: fault('head_too_large', 431) }),
  (r, pick) => ({
    bytes: serialize(r, [...headLinesOf(r), ...Array.from({ length: LIMITS.maxHeaders + 1 + (pick % 30) }, (_, i) => `X-N${i}: ${i}`)]),
    fault: fault('too_many_headers', 431),
  }),
  (r, pick) => {
    const bad = BAD_LENGTHS[pick % BAD_LENGTHS.length] as string;
    return { bytes: serialize(r, [...without(r, 'content-length', 'transfer-encoding'), `Content-Length: ${bad}`]), fault: fault('bad_content_length', 400) };
  },
  (r) => ({ bytes: serialize(r, [...without(r, 'content-length', 'transfer-encoding'), 'Content-Length: 5', 'Content-Length: 6']), fault: fault('conflicting_lengths', 400) }),
  (r) => ({ bytes: serialize(r, [...without(r, 'content-length', 'transfer-encoding'), 'Content-Length: 3', 'Transfer-Encoding: chunked']), fault: fault('ambiguous_length', 400) }),
  (r, pick) => ({
    bytes: serialize(r, [...without(r, 'content-length', 'transfer-encoding'), `Transfer-Encoding: ${['gzip', 'chunked, gzip', 'identity'][pick % 3]}`]),
    fault: fault('transfer_coding', 501),
  }),
  (r) => ({
    bytes: serialize(r, [...without(r, 'content-length', 'transfer-encoding'), `Content-Length: ${LIMITS.maxBodySize + 1}`], Buffer.alloc(0)),
    fault: fault('declared_too_large', 413),
  }),
  (r) => ({ bytes: serialize(r, [`CONNECT ${HOST}:443 HTTP/${r.version}`, ...headLinesOf(r).slice(1)]), fault: fault('connect', 501) }),
  // 404; the connection goes on to the next request only without a body to skip and while it stays open.
  unknownHost,
  // Faults in a chunked body: the head is fine and reaches the node, the body is refused as it arrives.
  (r, pick) =>
    r.chunks !== undefined ? { bytes: serialize(r, undefined, latin1(BAD_CHUNKS[pick % BAD_CHUNKS.length] as string)), fault: fault('bad_chunk', 400, true) } : undefined,
  (r) => (r.chunks !== undefined ? { bytes: serialize(r, undefined, chunkedBody(Buffer.alloc(LIMITS.maxBodySize + 100, 0x61), [4000])), fault: fault('chunked_too_large', 413, true) } : undefined),
];

/** A pipeline of requests sent on one connection, with at most one fault, and every answer known. */
export interface Pipeline {
  readonly requests: readonly PlannedRequest[];
}

const plannedOk = (request: Request): PlannedRequest => ({ request, fault: undefined, repeat: 1, bytes: serialize(request) });

/**
 * Requests around a burst of pipelined refusals the connection survives
 * (404s to bodiless keep-alive requests), arriving together: the gateway
 * answers them all from one read.
 */
const burstArb: fc.Arbitrary<Pipeline> = fc
  .tuple(
    fc.array(requestArb, { maxLength: 2 }),
    requestArb.filter((r) => r.body.length === 0 && r.chunks === undefined && !r.closes),
    fc.integer({ min: 10, max: 80 }),
    fc.array(requestArb, { maxLength: 2 }),
  )
  .map(([before, refused, repeat, after]) => {
    const made = unknownHost(refused, 0) as { bytes: Buffer; fault: Fault };
    const burst: PlannedRequest = { request: refused, fault: made.fault, repeat, bytes: Buffer.concat(Array.from({ length: repeat }, () => made.bytes)) };
    return { requests: [...before.map(plannedOk), burst, ...after.map(plannedOk)] };
  });

const singleFaultArb: fc.Arbitrary<Pipeline> = fc
  .tuple(
    fc.array(requestArb, { minLength: 1, maxLength: 4 }),
    fc.option(
      fc.record({
        index: fc.nat({ max: 3 }),
        maker: fc.nat({ max: FAULTS.length - 1 }),
        pick: fc.nat({ max: 1000 }),
        repeat: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 10, max: 80 }) }),
      }),
      { nil: undefined, freq: 3 },
    ),
  )
  .map(([requests, f]) => ({
    requests: requests.map((request, i) => {
      if (f !== undefined && i === f.index % requests.length) {
        const made = (FAULTS[f.maker] as FaultMaker)(request, f.pick);
        if (made) return { request, fault: made.fault, repeat: f.repeat, bytes: Buffer.concat(Array.from({ length: f.repeat }, () => made.bytes)) };
      }
      return plannedOk(request);
    }),
  }));

export const pipelineArb: fc.Arbitrary<Pipeline> = fc.oneof({ weight: 5, arbitrary: singleFaultArb }, { weight: 1, arbitrary: burstArb });

/** What a client must read for a pipeline: interim 100s, the answers in order, and where the connection ends. */
export interface ExpectedAnswer {
  readonly status: number;
  /** The node's echo for answers it made. */
  readonly body?: string;
}

export function expectedAnswers(p: Pipeline): ExpectedAnswer[] {
  const out: ExpectedAnswer[] = [];
  for (const { request: r, fault: f, repeat } of p.requests) {
    const forwarded = f === undefined || f.inBody;
    // The gateway says "100 Continue" when it hands a request with a body to a node (Content-Length: 0 is none).
    if (forwarded && r.expectContinue && (r.chunks !== undefined || r.body.length > 0)) out.push({ status: 100 });
    if (f === undefined) {
      out.push({ status: 200, body: `echo:${r.method} ${r.target} ${r.body.length}` });
      if (r.closes) return out;
      continue;
    }
    // A refusal keeps the connection only without a body to skip (RFC 9112 9.6 leaves the rest unreadable).
    const keeps = f.status === 404 && !r.closes && r.body.length === 0 && r.chunks === undefined;
    for (let k = 0; k < (keeps ? repeat : 1); k++) out.push({ status: f.status });
    if (!keeps) return out;
  }
  return out;
}

// ---- byte-level mangling ----

/** HTTP pieces random bytes should hit, so the parser gets past its first checks. */
const HTTP_TOKENS = [
  'GET / HTTP/1.1\r\n',
  `Host: ${HOST}\r\n`,
  'Host: \r\n',
  'Content-Length: 5\r\n',
  'Content-Length: 99999999999\r\n',
  'Transfer-Encoding: chunked\r\n',
  'Connection: close\r\n',
  'Expect: 100-continue\r\n',
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  '0\r\n\r\n',
  'ffffffff\r\n',
  ' ',
  ':',
  'HTTP/1.1',
  'HTTP/1.0',
  '%00',
  '\u0000',
  '\u00ff',
].map(latin1);

export const junkArb: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...HTTP_TOKENS) },
      { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }).map(bytes) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: LIMITS.maxHeadSize + 200 }).map((n) => Buffer.alloc(n, 0x61)) },
    ),
    { maxLength: 24 },
  )
  .map((parts) => Buffer.concat(parts));

type ByteMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; data: Buffer }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'bare-lf' }
  | { kind: 'grow'; at: number; by: number };

const fraction = fc.integer({ min: 0, max: 1_000_000 });
const byteMutationArb: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fraction }),
  fc.record({ kind: fc.constant('insert' as const), at: fraction, data: junkArb }),
  fc.record({ kind: fc.constant('delete' as const), at: fraction, length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fraction, value: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fraction, length: fc.integer({ min: 1, max: 200 }) }),
  fc.constant({ kind: 'bare-lf' as const }),
  fc.record({ kind: fc.constant('grow' as const), at: fraction, by: fc.integer({ min: 1, max: LIMITS.maxHeadSize * 2 }) }),
);

function mangle(data: Buffer, mutations: readonly ByteMutation[]): Buffer {
  let out = data;
  for (const m of mutations) {
    const at = 'at' in m ? Math.floor((m.at / 1_000_001) * (out.length + 1)) : 0;
    switch (m.kind) {
      case 'truncate':
        out = out.subarray(0, at);
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), m.data, out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
        break;
      case 'flip':
        if (out.length > 0) {
          out = Buffer.from(out);
          out[Math.min(at, out.length - 1)] = m.value;
        }
        break;
      case 'duplicate':
        out = Buffer.concat([out.subarray(0, at + m.length), out.subarray(at)]);
        break;
      case 'bare-lf':
        out = latin1(out.toString('latin1').replace(/\r\n/g, '\n'));
        break;
      case 'grow':
        out = Buffer.concat([out.subarray(0, at), Buffer.alloc(m.by, 0x78), out.subarray(at)]);
        break;
    }
  }
  return out;
}

/** Pipelines mangled byte by byte, or plain junk: only a well-formed answer (or a close) is required. */
export const mangledArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(pipelineArb, fc.array(byteMutationArb, { minLength: 1, maxLength: 3 })).map(([p, ms]) => mangle(Buffer.concat(p.requests.map((r) => r.bytes)), ms)) },
  { weight: 1, arbitrary: junkArb },
);

/** Where to cut a byte stream into writes (each cut a fraction of the length). */
export const splitsArb = fc.array(fraction, { maxLength: 6 });

export function split(data: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor((c / 1_000_001) * data.length)))].filter((p) => p > 0 && p < data.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(data.subarray(from, p));
    from = p;
  }
  out.push(data.subarray(from));
  return out.filter((c) => c.length > 0);
}

/** The start of a request that can never complete a head: no blank line, under the head limit. */
export const partialHeadArb: fc.Arbitrary<Buffer> = fc.tuple(requestArb, fraction).map(([r, cut]) => {
  const head = serialize(r, undefined, Buffer.alloc(0));
  // Up to the last header's line end, never its blank line; at least one byte.
  const end = Math.max(1, Math.floor((cut / 1_000_001) * (head.length - 3)));
  return head.subarray(0, Math.min(end, head.length - 3));
});

/**
 * A valid request that stops mid-body (Content-Length or chunked) on a connection its client keeps open:
 * the node waits for the rest, so the gateway's body timeout ends it with 408, after the 100 Continue it
 * owes a client that asked. `bytes` is everything sent: the whole head and part of the body.
 */
export interface StalledBody {
  readonly bytes: Buffer;
  readonly expected: readonly number[];
}

export const stalledBodyArb: fc.Arbitrary<StalledBody> = fc
  .tuple(
    requestArb.filter((r) => r.chunks !== undefined || r.body.length > 0),
    fraction,
  )
  .map(([r, cut]) => {
    const whole = serialize(r);
    const head = whole.indexOf('\r\n\r\n', 0, 'latin1') + 4;
    // Anywhere from right after the head to one byte short of the end (a chunked body's last CRLF included).
    const sent = head + Math.floor((cut / 1_000_001) * (whole.length - head));
    return { bytes: whole.subarray(0, sent), expected: r.expectContinue ? [100, 408] : [408] };
  });

/** A complete, valid head with part of its Content-Length body: the node waits for the rest. */
export const partialBodyArb: fc.Arbitrary<Buffer> = fc.tuple(fc.integer({ min: 2, max: 4000 }), fraction).map(([length, cut]) => {
  const sent = Math.floor((cut / 1_000_001) * (length - 1));
  return Buffer.concat([latin1(`POST /partial HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${length}\r\n\r\n`), Buffer.alloc(sent, 0x62)]);
});

// ---- WebSocket ----

export const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** The upgrade request, valid or broken in one way with its known answer. */
export interface Handshake {
  readonly bytes: Buffer;
  /** 101 for a valid one, 400 for a broken one. */
  readonly status: 101 | 400;
}

const upgradeLines = (o: { method?: string; version?: string; key?: string | null; wsVersion?: string | null; connection?: string }) =>
  [
    `${o.method ?? 'GET'} /ws HTTP/${o.version ?? '1.1'}`,
    `Host: ${HOST}`,
    'Upgrade: websocket',
    `Connection: ${o.connection ?? 'Upgrade'}`,
    ...(o.key === null ? [] : [`Sec-WebSocket-Key: ${o.key ?? WS_KEY}`]),
    ...(o.wsVersion === null ? [] : [`Sec-WebSocket-Version: ${o.wsVersion ?? '13'}`]),
  ].join('\r\n') + '\r\n\r\n';

export const handshakeArb: fc.Arbitrary<Handshake> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Handshake>({ bytes: latin1(upgradeLines({})), status: 101 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Handshake>(
      { bytes: latin1(upgradeLines({ key: 'short' })), status: 400 },
      { bytes: latin1(upgradeLines({ key: null })), status: 400 },
      { bytes: latin1(upgradeLines({ wsVersion: '8' })), status: 400 },
      { bytes: latin1(upgradeLines({ wsVersion: null })), status: 400 },
      { bytes: latin1(upgradeLines({ method: 'POST' })), status: 400 },
      { bytes: latin1(upgradeLines({ version: '1.0' })), status: 400 },
      // Without "Connection: upgrade" it is no handshake (RFC 6455 4.2.1), and no plain request either.
      { bytes: latin1(upgradeLines({ connection: 'keep-alive' })), status: 400 },
    ),
  },
);

/** One client frame, possibly broken on purpose. */
export interface FrameSpec {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly mask: Buffer;
  readonly payload: Buffer;
  /** A length to declare instead of the payload's (the payload is then sent as is, short). */
  readonly declared?: bigint;
}

export function encodeClientFrame(f: FrameSpec): Buffer {
  const length = f.declared ?? BigInt(f.payload.length);
  const head: number[] = [(f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0x0f)];
  const maskBit = f.masked ? 0x80 : 0;
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65536n) head.push(maskBit | 126, Number(length >> 8n), Number(length & 0xffn));
  else {
    head.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((length >> shift) & 0xffn));
  }
  const payload = Buffer.from(f.payload);
  if (f.masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (f.mask[i & 3] as number);
  return Buffer.concat([Buffer.from(head), f.masked ? f.mask : Buffer.alloc(0), payload]);
}

const maskArb = fc.uint8Array({ minLength: 4, maxLength: 4 }).map(bytes);
const frame = (opcode: number, payload: Buffer, mask: Buffer, fin = true): FrameSpec => ({ fin, rsv: 0, opcode, masked: true, mask, payload });
const utf8Arb = fc.string({ unit: 'grapheme', maxLength: 60 }).map((s) => Buffer.from(s, 'utf8'));
const smallBinary = fc.uint8Array({ maxLength: 300 }).map(bytes);

/** A message split into 1..3 fragments: the first carries the opcode, the rest are continuations. */
function fragments(opcode: number, payload: Buffer, cuts: readonly number[], mask: Buffer): FrameSpec[] {
  const parts = split(payload, cuts);
  if (parts.length === 0) return [frame(opcode, payload, mask)];
  return parts.map((p, i) => frame(i === 0 ? opcode : 0, p, mask, i === parts.length - 1));
}

const goodFramesArb: fc.Arbitrary<FrameSpec[]> = fc.oneof(
  fc.tuple(utf8Arb, fc.array(fraction, { maxLength: 2 }), maskArb).map(([p, c, m]) => fragments(1, p, c, m)),
  fc.tuple(smallBinary, fc.array(fraction, { maxLength: 2 }), maskArb).map(([p, c, m]) => fragments(2, p, c, m)),
  fc.tuple(fc.uint8Array({ maxLength: 125 }).map(bytes), maskArb).map(([p, m]) => [frame(9, p, m)]),
  fc.tuple(fc.uint8Array({ maxLength: 125 }).map(bytes), maskArb).map(([p, m]) => [frame(10, p, m)]),
);

const closePayload = (code: number, reason: Buffer) => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]);

const badFramesArb: fc.Arbitrary<FrameSpec[]> = fc.oneof(
  fc.tuple(utf8Arb, maskArb).map(([p, m]) => [{ ...frame(1, p, m), masked: false }]),
  fc.tuple(smallBinary, fc.integer({ min: 1, max: 7 }), maskArb).map(([p, rsv, m]) => [{ ...frame(2, p, m), rsv }]),
  fc.tuple(smallBinary, fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15), maskArb).map(([p, op, m]) => [frame(op, p, m)]),
  fc.tuple(fc.uint8Array({ maxLength: 20 }).map(bytes), maskArb).map(([p, m]) => [frame(9, p, m, false)]),
  fc.tuple(fc.integer({ min: 126, max: 300 }), maskArb).map(([n, m]) => [frame(9, Buffer.alloc(n, 1), m)]),
  fc.tuple(fc.integer({ min: LIMITS.maxWebSocketMessage + 1, max: LIMITS.maxWebSocketMessage + 2000 }), maskArb).map(([n, m]) => [frame(2, Buffer.alloc(n, 2), m)]),
  fc.tuple(fc.bigInt({ min: 1n << 32n, max: (1n << 64n) - 1n }), maskArb).map(([declared, m]) => [{ ...frame(2, Buffer.alloc(16), m), declared }]),
  fc.tuple(fc.integer({ min: 1, max: 4 }), maskArb).map(([k, m]) => [
    frame(1, Buffer.alloc(LIMITS.maxWebSocketMessage - 10, 0x61), m, false),
    frame(0, Buffer.alloc(10 + k, 0x61), m),
  ]),
  fc.tuple(fc.constantFrom(Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])), utf8Arb, maskArb).map(
    ([bad, good, m]) => [frame(1, Buffer.concat([good, bad]), m)],
  ),
  fc.tuple(smallBinary, maskArb).map(([p, m]) => [frame(0, p, m)]),
  fc.tuple(smallBinary, smallBinary, maskArb).map(([a, b, m]) => [frame(2, a, m, false), frame(1, b, m)]),
  maskArb.map((m) => [frame(8, Buffer.from([3]), m)]),
  fc.tuple(fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000, 65535), maskArb).map(([code, m]) => [frame(8, closePayload(code, Buffer.alloc(0)), m)]),
  fc.tuple(fc.constantFrom(1000, 1001, 3000), maskArb).map(([code, m]) => [frame(8, closePayload(code, Buffer.from([0xff, 0xfe])), m)]),
);

const closeFramesArb: fc.Arbitrary<FrameSpec[]> = fc.oneof(
  maskArb.map((m) => [frame(8, Buffer.alloc(0), m)]),
  fc
    .tuple(fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 4999), fc.string({ maxLength: 30 }), maskArb)
    .map(([code, reason, m]) => [frame(8, closePayload(code, Buffer.from(reason, 'utf8').subarray(0, 123)), m)]),
);

/** How a client's frames end: complete, cut anywhere, or with junk after them. */
interface StreamEnd {
  readonly cut?: number;
  readonly junk?: Buffer;
}

/** What follows a handshake: good frames with bad ones among them, maybe a close, maybe a cut or junk at the end. */
export const wsStreamArb: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.array(fc.oneof({ weight: 6, arbitrary: goodFramesArb }, { weight: 1, arbitrary: badFramesArb }), { maxLength: 8 }),
    fc.option(closeFramesArb, { nil: undefined }),
    fc.oneof(
      { weight: 4, arbitrary: fc.constant<StreamEnd>({}) },
      { weight: 1, arbitrary: fraction.map((cut): StreamEnd => ({ cut })) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((u): StreamEnd => ({ junk: bytes(u) })) },
    ),
  )
  .map(([groups, close, end]) => {
    let out = Buffer.concat([...groups.flat(), ...(close ?? [])].map(encodeClientFrame));
    if (end.cut !== undefined) out = out.subarray(0, Math.floor((end.cut / 1_000_001) * out.length));
    if (end.junk !== undefined) out = Buffer.concat([out, end.junk]);
    return out;
  });

/** What the gateway must make of a client's frames (RFC 6455), decided by a reference reader. */
export interface WsPrediction {
  /** Payloads of the pongs it must send, in order. */
  readonly pongs: Buffer[];
  /** Messages it must hand to the node (which echoes them). */
  readonly messages: Array<{ readonly binary: boolean; readonly data: Buffer }>;
  /** How the session ends: the client's close echoed, a protocol error closed with its code, or still open when the client stops. */
  readonly end: { readonly kind: 'close' | 'error'; readonly code: number } | { readonly kind: 'open' };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const isUtf8Text = (b: Buffer) => {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
};

/** Close codes a peer may send (RFC 6455 7.4.1 and the IANA registry): not 1004-1006, 1015, or unassigned ones. */
const validCloseCode = (c: number) => (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);

/**
 * The reference reader. A frame's header is judged as soon as it is there
 * (reserved bits, mask, opcode, control frame rules, and the message size
 * with this frame's declared length: a reader must refuse before buffering
 * an oversized payload); the rest (a continuation with nothing to continue,
 * a new message inside a fragmented one, UTF-8, the close payload) once the
 * payload is. Which of two faults found at the same point is reported does
 * not matter: both are 1002.
 */
export function predictWebSocket(stream: Buffer, maxMessage: number): WsPrediction {
  const pongs: Buffer[] = [];
  const messages: Array<{ binary: boolean; data: Buffer }> = [];
  const done = (end: WsPrediction['end']): WsPrediction => ({ pongs, messages, end });
  const error = (code: number) => done({ kind: 'error', code });
  let at = 0;
  let fragmented: { binary: boolean; parts: Buffer[]; size: bigint } | undefined;
  for (;;) {
    if (stream.length - at < 2) return done({ kind: 'open' });
    const b0 = stream[at] as number;
    const b1 = stream[at + 1] as number;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const control = opcode >= 8;
    if ((b0 & 0x70) !== 0 || (b1 & 0x80) === 0) return error(1002);
    if (control && (opcode > 10 || !fin || (b1 & 0x7f) > 125)) return error(1002);
    if (!control && opcode > 2) return error(1002);
    let length = BigInt(b1 & 0x7f);
    let header = 2;
    if (length === 126n) {
      if (stream.length - at < 4) return done({ kind: 'open' });
      length = BigInt(stream.readUInt16BE(at + 2));
      header = 4;
    } else if (length === 127n) {
      if (stream.length - at < 10) return done({ kind: 'open' });
      length = stream.readBigUInt64BE(at + 2);
      header = 10;
    }
    if (!control && (fragmented?.size ?? 0n) + length > BigInt(maxMessage)) return error(1009);
    const total = header + 4 + Number(length);
    if (stream.length - at < total) return done({ kind: 'open' });
    const mask = stream.subarray(at + header, at + header + 4);
    const payload = Buffer.from(stream.subarray(at + header + 4, at + total));
    for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    at += total;
    if (opcode === 9) pongs.push(payload);
    else if (opcode === 8) {
      if (payload.length === 0) return done({ kind: 'close', code: 1000 });
      if (payload.length === 1) return error(1002);
      const code = payload.readUInt16BE(0);
      if (!validCloseCode(code)) return error(1002);
      if (!isUtf8Text(payload.subarray(2))) return error(1007);
      return done({ kind: 'close', code });
    } else if (!control) {
      if (opcode === 0 && fragmented === undefined) return error(1002);
      if (opcode !== 0 && fragmented !== undefined) return error(1002);
      fragmented ??= { binary: opcode === 2, parts: [], size: 0n };
      fragmented.parts.push(payload);
      fragmented.size += length;
      if (fin) {
        const data = Buffer.concat(fragmented.parts);
        if (!fragmented.binary && !isUtf8Text(data)) return error(1007);
        messages.push({ binary: fragmented.binary, data });
        fragmented = undefined;
      }
    }
  }
}

// ---- what the gateway sent back ----

export interface Response {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** Made by the gateway itself (`Server: steward-gateway`), not by the node. */
  readonly gateway: boolean;
}

export interface ServerStream {
  readonly responses: Response[];
  /** Bytes after a 101. */
  readonly upgraded: Buffer | undefined;
  /** Why the bytes are not a sequence of well-formed responses. */
  readonly malformed: string | undefined;
}

const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+): ([\t\x20-\x7e\x80-\xff]*)$/;

/**
 * Reads a server's bytes as HTTP/1.1 responses, strictly: every response
 * here carries a Content-Length (the gateway's own and the test node's),
 * nothing follows a `Connection: close` one, and no byte is left over.
 */
export function readServerStream(data: Buffer): ServerStream {
  const responses: Response[] = [];
  const bad = (why: string, at: number): ServerStream => ({
    responses,
    upgraded: undefined,
    malformed: `${why} at byte ${at}: ${JSON.stringify(data.toString('latin1', at, at + 120))}`,
  });
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at, 'latin1');
    if (end < 0) return bad('incomplete head', at);
    const [statusLine = '', ...lines] = data.toString('latin1', at, end).split('\r\n');
    const m = /^HTTP\/1\.1 ([1-5]\d\d) [\x20-\x7e]+$/.exec(statusLine);
    if (!m) return bad('bad status line', at);
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const f = FIELD.exec(line);
      if (!f) return bad(`bad header line ${JSON.stringify(line)}`, at);
      headers.set((f[1] as string).toLowerCase(), f[2] as string);
    }
    const start = at;
    at = end + 4;
    const gateway = headers.get('server') === 'steward-gateway';
    if (status === 101) {
      responses.push({ status, headers, body: Buffer.alloc(0), gateway });
      return { responses, upgraded: data.subarray(at), malformed: undefined };
    }
    if (status < 200) {
      responses.push({ status, headers, body: Buffer.alloc(0), gateway });
      continue;
    }
    const length = headers.get('content-length');
    if (length === undefined || !/^\d{1,9}$/.test(length)) return bad('no Content-Length', start);
    if (at + Number(length) > data.length) return bad('body cut short', start);
    const body = data.subarray(at, at + Number(length));
    at += Number(length);
    responses.push({ status, headers, body, gateway });
    if (gateway && !new RegExp(`^${status} [A-Za-z ]+: [^\\r\\n]*\\n$`).test(body.toString('utf8'))) return bad('gateway body', start);
    if (/(^|,)\s*close\s*(,|$)/i.test(headers.get('connection') ?? '') && at < data.length) return bad('bytes after Connection: close', at);
  }
  return { responses, upgraded: undefined, malformed: undefined };
}

export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** A server's frames after the handshake: final, unmasked, known opcodes, nothing after a close. */
export function readServerFrames(data: Buffer): { frames: ServerFrame[]; malformed: string | undefined } {
  const frames: ServerFrame[] = [];
  let at = 0;
  while (at < data.length) {
    const bad = (why: string) => ({ frames, malformed: `${why} at byte ${at} of ${data.length}` });
    if (frames.at(-1)?.opcode === 8) return bad('bytes after a close frame');
    if (data.length - at < 2) return bad('frame header cut short');
    const b0 = data[at] as number;
    const b1 = data[at + 1] as number;
    if ((b0 & 0xf0) !== 0x80) return bad(`first byte 0x${b0.toString(16)} (every frame final, no reserved bits)`);
    const opcode = b0 & 0x0f;
    if (![1, 2, 8, 9, 10].includes(opcode)) return bad(`opcode ${opcode}`);
    if ((b1 & 0x80) !== 0) return bad('masked server frame');
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      length = data.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (opcode >= 8 && length > 125) return bad('control frame over 125 bytes');
    if (data.length - at < header + length) return bad('frame payload cut short');
    const payload = data.subarray(at + header, at + header + length);
    if (opcode === 8 && payload.length === 1) return bad('close payload of one byte');
    frames.push({ opcode, payload });
    at += header + length;
  }
  return { frames, malformed: undefined };
}
