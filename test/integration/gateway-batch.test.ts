import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.js';
import { BATCH, packUnits, unitSize, type BatchUnit } from '../../src/protocol/blastbeat/batch.js';
import { GatewayBackend } from '../../src/api/gateway-backend.js';
import { encodeUwsgi } from '../../src/protocol/blastbeat/uwsgi.js';
import { decodeBackendFrames, decodeGatewayFrames, KIND_FRAME, type GatewayMessage } from '../../src/protocol/blastbeat/message.js';
import { Cleanup, rawExchange, startBackend, startGateway, statuses } from '../helpers/gateway.js';
import { ANY, eventually, withTimeout } from '../helpers/zmq.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const EMPTY = Buffer.alloc(0);
const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
const ok = (body: string) => Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');

function pack(units: readonly BatchUnit[]): Buffer {
  return packUnits(units, 0, units.length, units.reduce((n, u) => n + unitSize(u), 0));
}

/** A node written against the wire by hand: records what arrives, as plain messages or batches. */
function rawNode(name: string, endpoint: string) {
  const socket = new zmq.Dealer({ routingId: name, linger: 0 });
  cleanup.add(() => socket.close());
  socket.connect(endpoint);
  const requests: GatewayMessage[] = [];
  const types: string[] = [];
  void (async () => {
    for await (const frames of socket) {
      types.push((frames[1] as Buffer).toString());
      const decoded = decodeGatewayFrames(frames);
      const list = Array.isArray(decoded) ? (decoded as readonly GatewayMessage[]) : [decoded as GatewayMessage];
      for (const m of list) if (m.type === 'gateway.message' && m.kind === 'uwsgi') requests.push(m);
    }
  })().catch(() => undefined);
  return { socket, requests, types };
}

describe('the batch extension between the gateway and its nodes', () => {
  it('should take a node batch answering several sessions at once', async () => {
    const gw = await startGateway(cleanup);
    const node = rawNode('n1', gw.zmq);
    await node.socket.send([EMPTY, KIND_FRAME.pong, BATCH]);
    await eventually(() => gw.gateway.availableNodes().includes('n1'));
    const a = rawExchange(gw.port, [GET('/a')], { done: (t) => t.endsWith('alpha') });
    const b = rawExchange(gw.port, [GET('/b')], { done: (t) => t.endsWith('beta') });
    await eventually(() => node.requests.length === 2);
    const sids = Object.fromEntries(
      node.requests.map((m) => [m.body.includes(Buffer.from('/a')) ? 'a' : 'b', m.sid] as const),
    ) as Record<'a' | 'b', Buffer>;
    await node.socket.send([EMPTY, BATCH, pack([[sids.b, KIND_FRAME.headers, ok('beta')], [sids.a, KIND_FRAME.headers, ok('alpha')]])]);
    expect(statuses((await a).text)).toEqual([200]);
    expect((await b).text.endsWith('beta')).toBe(true);
  });

  it('should never send a batch to a node that did not offer to read them', async () => {
    const gw = await startGateway(cleanup);
    const node = rawNode('n1', gw.zmq);
    await node.socket.send([EMPTY, KIND_FRAME.pong, EMPTY]);
    await eventually(() => gw.gateway.availableNodes().includes('n1'));
    const exchanges = Array.from({ length: 30 }, (_, i) => rawExchange(gw.port, [GET(`/${i}`)], { done: (t) => t.endsWith('done') }));
    await eventually(() => node.requests.length === 30);
    for (const m of node.requests) await node.socket.send([m.sid, KIND_FRAME.headers, ok('done')]);
    for (const e of exchanges) expect(statuses((await e).text)).toEqual([200]);
    expect(node.types.filter((t) => t === 'batch')).toEqual([]);
    expect(node.types).toContain('uwsgi');
  });

  it('should drop a malformed batch whole, count it, and keep serving', async () => {
    const metrics = new Metrics('gateway');
    const gw = await startGateway(cleanup, { metrics });
    const node = rawNode('n1', gw.zmq);
    await node.socket.send([EMPTY, KIND_FRAME.pong, BATCH]);
    await eventually(() => gw.gateway.availableNodes().includes('n1'));
    const pending = rawExchange(gw.port, [GET('/x')], { done: (t) => t.endsWith('fine') });
    await eventually(() => node.requests.length === 1);
    const sid = (node.requests[0] as GatewayMessage).sid;
    const good = pack([[sid, KIND_FRAME.headers, ok('fine')]]);
    // The answer, then an unknown type: refused whole, so the client must not see "fine" from it.
    await node.socket.send([EMPTY, BATCH, pack([[sid, KIND_FRAME.headers, ok('fine')], [sid, KIND_FRAME.uwsgi, EMPTY]])]);
    await node.socket.send([EMPTY, BATCH, good.subarray(0, good.length - 1)]);
    await eventually(async () => (await metrics.value('steward_dropped_total', { reason: 'bad_batch' })) === 2);
    await node.socket.send([EMPTY, BATCH, good]);
    const { text } = await pending;
    expect(statuses(text)).toEqual([200]);
    expect(text.split('fine').length).toBe(2);
  });

  it('should answer many concurrent requests through a GatewayBackend, each with its own body', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: (r) => ({ body: `you asked for ${r.path}` }) });
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const res = await fetch(`${gw.http}/item/${i}`);
        return `${res.status} ${await res.text()}`;
      }),
    );
    expect(answers).toEqual(Array.from({ length: 200 }, (_, i) => `200 you asked for /item/${i}`));
  });

  it('should have a GatewayBackend answer a batch of requests with one batch', async () => {
    // The gateway's side played by hand: a ROUTER that offers batches and sends three requests as one.
    const router = new zmq.Router({ linger: 0 });
    cleanup.add(() => router.close());
    await router.bind(ANY);
    const backend = GatewayBackend.start({ endpoint: router.lastEndpoint as string, node: 'n1', onRequest: (r) => ({ body: r.path }) });
    cleanup.add(() => backend.close());
    const next = async () => {
      const [, ...frames] = await withTimeout(router.receive(), 5_000, 'a message from the node');
      return frames as Buffer[];
    };
    expect(await next()).toEqual([EMPTY, KIND_FRAME.pong, BATCH]);
    const request = (path: string) => encodeUwsgi([['REQUEST_METHOD', 'GET'], ['PATH_INFO', path], ['CONTENT_LENGTH', '']]) as Buffer;
    const sids = [Buffer.from('s1'), Buffer.from('s2'), Buffer.from('s3')];
    await router.send([Buffer.from('n1'), EMPTY, BATCH, pack(sids.map((sid, i) => [sid, KIND_FRAME.uwsgi, request(`/p${i}`)]))]);
    const frames = await next();
    expect(frames[1]).toEqual(BATCH);
    const answers = decodeBackendFrames([Buffer.from('n1'), ...frames]) as readonly { sid: Buffer; kind: string; body: Buffer }[];
    expect(answers.map((m) => `${m.sid}:${m.kind}:${m.body.toString().split('\r\n\r\n')[1]}`)).toEqual(['s1:headers:/p0', 's2:headers:/p1', 's3:headers:/p2']);
  });
});
