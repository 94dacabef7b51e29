/**
 * The gateway's client side under hostile traffic: hundreds of raw TCP
 * connections carrying request pipelines with faults whose answers are known,
 * byte-mangled requests and junk, slow senders, clients that stall mid-body,
 * connections reset mid-request,
 * and WebSocket sessions full of broken frames (http-traffic.ts makes them).
 * Every byte the gateway sends back must read as well-formed HTTP responses
 * (or WebSocket frames after a 101) followed by a close; answers that are
 * known must be exactly those; the gateway's own answers must be exactly what
 * `steward_gateway_errors_total` counts, status by status; no session may be
 * left behind; and a good client must still be served, over HTTP and
 * WebSocket. `FUZZ_HTTP_CONNECTIONS` and `FUZZ_SEED` make runs longer or
 * reproducible.
 */
import * as net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Gateway } from '../../src/api/gateway.js';
import { GatewayBackend } from '../../src/api/gateway-backend.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { acceptKey } from '../../src/protocol/blastbeat/websocket.js';
import { rawExchange } from '../helpers/gateway.js';
import { ANY, eventually, withTimeout } from '../helpers/zmq.js';
import { FUZZ_SEED } from './frames.js';
import {
  HOST,
  LIMITS,
  WS_KEY,
  expectedAnswers,
  handshakeArb,
  mangledArb,
  partialBodyArb,
  partialHeadArb,
  pipelineArb,
  predictWebSocket,
  readServerFrames,
  readServerStream,
  split,
  splitsArb,
  stalledBodyArb,
  wsStreamArb,
  type Handshake,
  type Pipeline,
} from './http-traffic.js';

const CONNECTIONS = (() => {
  const n = Number(process.env['FUZZ_HTTP_CONNECTIONS']);
  return Number.isSafeInteger(n) && n > 0 ? n : 400;
})();
/** Connections open at once. */
const CONCURRENCY = 32;
/** Every gateway timeout below is at most 5 s: a connection still open after this is a hang. */
const CONNECTION_LIMIT_MS = 20_000;
/** Bytes read per connection before the test gives up on it (the answers to 64 KiB of pipelined junk fit). */
const MAX_RECEIVED = 4 * 1024 * 1024;
const NODE = 'web1';

type Plan =
  /** Requests with at most one known fault, read until the answers are all in, then half-closed. */
  | { readonly kind: 'pipeline'; readonly pipeline: Pipeline; readonly cuts: readonly number[] }
  /** Mangled bytes, then a half-close or nothing (the gateway's timeouts end it). */
  | { readonly kind: 'mangled'; readonly data: Buffer; readonly cuts: readonly number[]; readonly halfClose: boolean }
  /** A head that never completes, trickled: 408. */
  | { readonly kind: 'slow'; readonly data: Buffer; readonly cuts: readonly number[] }
  /** A valid head and part of its body, trickled, then nothing on an open connection: 408 (after a 100 Continue asked for). */
  | { readonly kind: 'stall'; readonly data: Buffer; readonly expected: readonly number[]; readonly cuts: readonly number[] }
  /** Reset (RST) before any answer can exist: an incomplete head, or a head whose body the node still waits for. */
  | { readonly kind: 'reset'; readonly data: Buffer }
  | { readonly kind: 'websocket'; readonly handshake: Handshake; readonly frames: Buffer; readonly cuts: readonly number[] };

const planArb: fc.Arbitrary<Plan> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('pipeline' as const), pipeline: pipelineArb, cuts: splitsArb }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('mangled' as const), data: mangledArb, cuts: splitsArb, halfClose: fc.nat({ max: 4 }).map((n) => n > 0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('slow' as const), data: partialHeadArb, cuts: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 3 }) }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(stalledBodyArb, fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 4 }))
      .map(([stalled, cuts]) => ({ kind: 'stall' as const, data: stalled.bytes, expected: stalled.expected, cuts })),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reset' as const), data: fc.oneof(partialHeadArb, partialBodyArb) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('websocket' as const), handshake: handshakeArb, frames: wsStreamArb, cuts: splitsArb }) },
);

interface Outcome {
  readonly received: Buffer;
  /** How the connection ended: the gateway closed it (after our half-close or by itself), it was reset, or we gave up. */
  readonly how: 'closed' | 'reset' | 'aborted' | 'timeout' | 'overflow';
}

/**
 * One raw conversation: writes the pieces (with `gapMs` between them), then
 * half-closes, stays, or resets; reads everything until the gateway closes.
 * `until` half-closes as soon as what was read satisfies it.
 */
function converse(
  port: number,
  pieces: readonly Buffer[],
  options: { ending: 'half-close' | 'stay' | 'reset'; gapMs?: number; until?: (received: Buffer) => boolean },
): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const parts: Buffer[] = [];
    let size = 0;
    let reset = false;
    let ended = false;
    let settled = false;
    const finish = (how: Outcome['how']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(parts), how });
    };
    const timer = setTimeout(() => finish('timeout'), CONNECTION_LIMIT_MS);
    const end = () => {
      if (ended || socket.destroyed) return;
      ended = true;
      socket.end();
    };
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      size += d.length;
      if (size > MAX_RECEIVED) finish('overflow');
      else if (options.until?.(Buffer.concat(parts))) end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET') reset = true;
    });
    socket.on('close', () => finish(reset ? 'reset' : 'closed'));
    socket.once('connect', () => {
      void (async () => {
        for (let i = 0; i < pieces.length; i++) {
          if (socket.destroyed || ended) return;
          await new Promise<void>((written) => socket.write(pieces[i] as Buffer, () => written()));
          if (options.gapMs !== undefined && i < pieces.length - 1) await new Promise((r) => setTimeout(r, options.gapMs));
        }
        if (options.ending === 'reset') {
          socket.resetAndDestroy();
          finish('aborted');
        } else if (options.ending === 'half-close') end();
      })();
    });
  });
}

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i] as T, i);
      }
    }),
  );
}

const finals = (received: Buffer) => readServerStream(received).responses.filter((r) => r.status >= 200).length;
const add = (m: Map<string, number>, key: string, n = 1) => m.set(key, (m.get(key) ?? 0) + n);

async function counter(metrics: Metrics, name: string, filter: Record<string, string>, by: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return out;
  for (const v of (await metric.get()).values) {
    if (!Object.entries(filter).every(([k, want]) => String(v.labels[k]) === want)) continue;
    add(out, String(v.labels[by] ?? ''), v.value);
  }
  return out;
}

function since(now: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of now) if (n - (before.get(k) ?? 0) > 0) out[k] = n - (before.get(k) ?? 0);
  return out;
}

const sorted = (m: Map<string, number> | Record<string, number>) => Object.fromEntries([...(m instanceof Map ? m : Object.entries(m))].sort(([a], [b]) => a.localeCompare(b)));

describe('gateway HTTP and WebSocket fuzzing', () => {
  let gateway: Gateway;
  let node: GatewayBackend;
  let metrics: Metrics;
  let port: number;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    metrics = new Metrics('gateway');
    gateway = await Gateway.start({
      bind: ['127.0.0.1:0'],
      zmq: ANY,
      // Generous: a node answering late under load would read as a wrong 504. The node's timeout runs only
      // once it has the whole request, so a body that stalls (a 'stall' plan, a mangled one that stays open)
      // ends by the body timeout instead: 408.
      vhosts: [{ name: HOST, nodes: [NODE], timeoutMs: 5_000 }],
      metrics,
      maxHeadSize: LIMITS.maxHeadSize,
      maxHeaders: LIMITS.maxHeaders,
      maxBodySize: LIMITS.maxBodySize,
      maxWebSocketMessage: LIMITS.maxWebSocketMessage,
      headerTimeoutMs: 2_000,
      bodyTimeoutMs: 2_000,
      idleTimeoutMs: 1_000,
      pingFreqMs: 500,
      drainTimeoutMs: 200,
    });
    const { http, zmq } = await gateway.endpoints();
    port = Number(new URL(http[0] ?? 'http://x:0').port);
    node = GatewayBackend.start({
      endpoint: zmq,
      node: NODE,
      // The node says what it got, so each answer is checked against its request.
      onRequest: (req) => ({ body: `echo:${req.method} ${req.uri} ${req.body.length}` }),
      onWebSocket: (ws) => {
        ws.onMessage = (data) => ws.send(data);
      },
    });
    await eventually(() => gateway.availableNodes().includes(NODE), 5_000);
  });

  afterAll(async () => {
    node?.close();
    await gateway?.stop();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it(`should answer ${CONNECTIONS} connections of hostile HTTP and WebSocket traffic with well-formed responses or a close, count every refusal, leak no session, and still serve a good client`, async () => {
    const plans = fc.sample(planArb, { seed: FUZZ_SEED, numRuns: CONNECTIONS });
    const errorsBefore = await counter(metrics, 'steward_gateway_errors_total', {}, 'status');
    const wsErrorsBefore = await counter(metrics, 'steward_gateway_errors_total', { status: '0' }, 'reason');
    const dropsBefore = await counter(metrics, 'steward_dropped_total', { socket: gateway.ids.http }, 'reason');
    const connectionsBefore = await metrics.value('steward_gateway_connections_total', { scheme: 'http' });

    const problems: string[] = [];
    /** The gateway's own answers the clients read, by status. */
    const answered = new Map<string, number>();
    /** WebSocket protocol errors the reference reader says the gateway must close with, by counter reason. */
    const wsErrors = new Map<string, number>();
    const kinds = new Map<string, number>();
    let bytesSent = 0;

    await pool(plans, CONCURRENCY, async (plan, i) => {
      add(kinds, plan.kind);
      const problem = (what: string, received?: Buffer) =>
        problems.push(`#${i} ${plan.kind}: ${what}${received ? ` (read ${JSON.stringify(received.toString('latin1').slice(0, 300))})` : ''}`);
      let outcome: Outcome;
      switch (plan.kind) {
        case 'pipeline': {
          const data = Buffer.concat(plan.pipeline.requests.map((r) => r.bytes));
          bytesSent += data.length;
          const expected = expectedAnswers(plan.pipeline);
          const wanted = expected.filter((e) => e.status >= 200).length;
          outcome = await converse(port, split(data, plan.cuts), { ending: 'stay', until: (r) => finals(r) >= wanted });
          const read = readServerStream(outcome.received);
          const got = read.responses.map((r) => r.status);
          // A malformed stream is reported below, with every plan's.
          if (read.malformed) break;
          if (JSON.stringify(got) !== JSON.stringify(expected.map((e) => e.status))) {
            const faults = plan.pipeline.requests.map((r) => r.fault?.name ?? 'ok').join(',');
            problem(`answers ${JSON.stringify(got)}, expected ${JSON.stringify(expected.map((e) => e.status))} for [${faults}]`, outcome.received);
          } else {
            expected.forEach((e, k) => {
              const body = read.responses[k]?.body.toString('latin1');
              if (e.body !== undefined && body !== e.body) problem(`answer ${k} is ${JSON.stringify(body)}, expected ${JSON.stringify(e.body)}`);
            });
          }
          break;
        }
        case 'mangled':
          bytesSent += plan.data.length;
          outcome = await converse(port, split(plan.data, plan.cuts), { ending: plan.halfClose ? 'half-close' : 'stay' });
          break;
        case 'slow': {
          bytesSent += plan.data.length;
          outcome = await converse(port, split(plan.data, plan.cuts), { ending: 'stay', gapMs: 50 });
          const got = readServerStream(outcome.received).responses.map((r) => r.status);
          if (JSON.stringify(got) !== '[408]') problem(`answers ${JSON.stringify(got)}, expected [408]`, outcome.received);
          break;
        }
        case 'stall': {
          bytesSent += plan.data.length;
          // Gaps of 50 ms between the pieces keep starting the body timeout again (2 s); then the client stops.
          outcome = await converse(port, split(plan.data, plan.cuts), { ending: 'stay', gapMs: 50 });
          const got = readServerStream(outcome.received).responses.map((r) => r.status);
          if (JSON.stringify(got) !== JSON.stringify(plan.expected)) problem(`answers ${JSON.stringify(got)}, expected ${JSON.stringify(plan.expected)}`, outcome.received);
          break;
        }
        case 'reset':
          bytesSent += plan.data.length;
          outcome = await converse(port, [plan.data], { ending: 'reset' });
          // Nothing was answerable before the reset, and nothing after it can be read.
          return;
        case 'websocket': {
          const data = Buffer.concat([plan.handshake.bytes, plan.frames]);
          bytesSent += data.length;
          outcome = await converse(port, split(data, plan.cuts), { ending: 'half-close' });
          const read = readServerStream(outcome.received);
          const first = read.responses[0];
          if (first?.status !== plan.handshake.status) {
            problem(`handshake answered ${first?.status}, expected ${plan.handshake.status}`, outcome.received);
            break;
          }
          if (plan.handshake.status !== 101) break;
          if (first.headers.get('sec-websocket-accept') !== acceptKey(WS_KEY)) problem('wrong Sec-WebSocket-Accept');
          const frames = readServerFrames(read.upgraded ?? Buffer.alloc(0));
          if (frames.malformed) {
            problem(`server frames: ${frames.malformed}`);
            break;
          }
          const expected = predictWebSocket(plan.frames, LIMITS.maxWebSocketMessage);
          if (expected.end.kind === 'error') add(wsErrors, `websocket_${expected.end.code}`);
          const pongs = frames.frames.filter((f) => f.opcode === 10).map((f) => f.payload.toString('hex'));
          if (JSON.stringify(pongs) !== JSON.stringify(expected.pongs.map((p) => p.toString('hex')))) problem(`pongs ${pongs.length}, expected ${expected.pongs.length}`);
          // The node's echoes race the end of the session: those that made it are the first messages, in order.
          const echoes = frames.frames.filter((f) => f.opcode === 1 || f.opcode === 2);
          echoes.forEach((f, k) => {
            const m = expected.messages[k];
            if (!m || m.binary !== (f.opcode === 2) || !m.data.equals(f.payload)) problem(`echo ${k} is not message ${k}`);
          });
          if (frames.frames.some((f) => f.opcode === 9)) problem('the gateway pinged a client');
          const close = frames.frames.find((f) => f.opcode === 8);
          const code = close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined;
          if (expected.end.kind === 'open' ? close !== undefined : code !== expected.end.code) {
            problem(`closed with ${close ? code : 'no close frame'}, expected ${JSON.stringify(expected.end)}`);
          }
          break;
        }
      }
      if (outcome.how !== 'closed') problem(`connection ${outcome.how}`, outcome.received);
      const read = readServerStream(outcome.received);
      if (read.malformed) problem(read.malformed);
      if (read.upgraded !== undefined && plan.kind !== 'websocket') problem('upgraded a connection that asked for no upgrade');
      for (const r of read.responses) if (r.gateway) add(answered, String(r.status));
    });

    console.log(
      `gateway HTTP fuzzing: ${CONNECTIONS} connections ${JSON.stringify(sorted(kinds))}, ${bytesSent} bytes sent; ` +
        `gateway answers ${JSON.stringify(sorted(answered))}, WebSocket errors ${JSON.stringify(sorted(wsErrors))}`,
    );
    expect(problems.slice(0, 20)).toEqual([]);

    // Nothing left behind: every session ended, released its node binding, and told the node.
    await eventually(() => gateway.tables.sessions.size === 0, 10_000, 50).catch(() => undefined);
    expect(gateway.tables.sessions.size).toBe(0);
    expect(gateway.tables.nodes.get(NODE)?.sessions).toBe(0);
    expect(gateway.tables.list.map((v) => v.sessions)).toEqual([0]);
    await eventually(async () => (await metrics.value('steward_gateway_sessions')) === 0 && node.sessionCount === 0, 10_000, 50).catch(() => undefined);
    expect(await metrics.value('steward_gateway_sessions')).toBe(0);
    expect(node.sessionCount).toBe(0);

    // Every connection was taken, and the gateway's own answers are exactly what it counted, status by status;
    // its WebSocket closes for protocol errors exactly what the reference reader predicts.
    expect((await metrics.value('steward_gateway_connections_total', { scheme: 'http' })) - connectionsBefore).toBe(CONNECTIONS);
    const counted = since(await counter(metrics, 'steward_gateway_errors_total', {}, 'status'), errorsBefore);
    const countedWs = since(await counter(metrics, 'steward_gateway_errors_total', { status: '0' }, 'reason'), wsErrorsBefore);
    delete counted['0'];
    expect(sorted(counted)).toEqual(sorted(answered));
    expect(sorted(countedWs)).toEqual(sorted(wsErrors));
    // The HTTP side dropped nothing (no client was too slow, no node message was out of place).
    expect(since(await counter(metrics, 'steward_dropped_total', { socket: gateway.ids.http }, 'reason'), dropsBefore)).toEqual({});
    expect(unhandled).toEqual([]);

    // A good client is still served, over HTTP and WebSocket.
    const { text } = await rawExchange(port, [`GET /good?x=1 HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`]);
    expect(readServerStream(Buffer.from(text, 'latin1')).responses.map((r) => [r.status, r.body.toString()])).toEqual([[200, 'echo:GET /good?x=1 0']]);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/good`);
    try {
      await withTimeout(new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject)), 5_000, 'the good WebSocket');
      const echo = withTimeout(new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString()))), 5_000, 'the echo');
      ws.send('héllo');
      expect(await echo).toBe('héllo');
      const closed = withTimeout(new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code))), 5_000, 'the close');
      ws.close(1000);
      expect(await closed).toBe(1000);
    } finally {
      ws.terminate();
    }
  });
});
